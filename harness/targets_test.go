package harness

import (
	"net/http"
	"strings"
	"testing"
)

func TestURLTargets(t *testing.T) {
	tg, err := NewURLTargets("http://example.test:8080/v1/items/{key}?x={key}", mustKeys(t, "uniform:1000"),
		RequestOptions{Method: "GET", Header: http.Header{"X-A": {"1"}}, KeepAlive: true})
	if err != nil {
		t.Fatal(err)
	}
	req, m := tg.request(42, nil)
	key := tg.keys.Key(42)
	want := "GET /v1/items/" + itoa(key) + "?x=" + itoa(key) + " HTTP/1.1\r\nHost: example.test:8080\r\nX-A: 1\r\nUser-Agent: perf-attack\r\n\r\n"
	if string(req) != want || m.ep != 0 || m.head || !m.replayable {
		t.Errorf("request =\n%q\nwant\n%q", req, want)
	}
	if tg.endpoints[0].addr != "example.test:8080" {
		t.Errorf("endpoint %q", tg.endpoints[0].addr)
	}
}

func itoa(n uint64) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}

func TestReadTargetsVegetaFormats(t *testing.T) {
	httpFmt := "GET http://a.test/x\nX-Y: 1\n\n# a comment\nHEAD https://b.test/y\n"
	tg, err := ReadTargets(strings.NewReader(httpFmt), "t.txt", "http", RequestOptions{KeepAlive: false})
	if err != nil {
		t.Fatal(err)
	}
	if len(tg.list) != 2 || len(tg.endpoints) != 2 || tg.endpoints[1].addr != "b.test:443" || tg.endpoints[1].tls == nil {
		t.Fatalf("targets %+v endpoints %+v", tg.list, tg.endpoints)
	}
	if r := string(tg.list[0].raw); !strings.Contains(r, "X-Y: 1\r\n") || !strings.Contains(r, "Connection: close\r\n") {
		t.Errorf("first request %q", r)
	}
	if !tg.list[1].head {
		t.Error("HEAD target not marked")
	}
	jsonFmt := `{"method":"POST","url":"http://a.test/p","body":"eyJrIjoxfQ==","header":{"Content-Type":["application/json"]}}` + "\n"
	tg, err = ReadTargets(strings.NewReader(jsonFmt), "t.json", "json", RequestOptions{KeepAlive: true})
	if err != nil {
		t.Fatal(err)
	}
	if r := string(tg.list[0].raw); !strings.HasPrefix(r, "POST /p HTTP/1.1\r\n") || !strings.HasSuffix(r, "Content-Length: 7\r\n\r\n{\"k\":1}") {
		t.Errorf("json target %q", r)
	}
	for _, bad := range []struct{ in, format, want string }{
		{"", "http", "no targets"},
		{"FETCH\n", "http", "target 1"},
		{"GET ftp://x/\n", "http", `scheme "ftp"`},
		{"{", "json", "no targets"},
		{`{"method":"GET"}` + "\n", "json", "target 1"},
		{"GET http://a/\n", "yaml", `format "yaml"`},
	} {
		if _, err := ReadTargets(strings.NewReader(bad.in), "f", bad.format, RequestOptions{}); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("ReadTargets(%q, %s) error = %v; want %q", bad.in, bad.format, err, bad.want)
		}
	}
}

func FuzzReadTargets(f *testing.F) {
	f.Add("GET http://a.test/x\nX-Y: 1\n", "http")
	f.Add("POST http://a.test/x\n@/dev/null\n", "http")
	f.Add(`{"method":"GET","url":"http://a.test/"}`, "json")
	f.Fuzz(func(t *testing.T, in, format string) {
		if strings.Contains(in, "@") {
			return // body files would read the disk
		}
		tg, err := ReadTargets(strings.NewReader(in), "fuzz", format, RequestOptions{KeepAlive: true})
		if err != nil {
			return
		}
		for _, e := range tg.list {
			if e.ep < 0 || e.ep >= len(tg.endpoints) || !strings.Contains(string(e.raw), " HTTP/1.1\r\nHost: ") {
				t.Fatalf("bad request %q", e.raw)
			}
		}
	})
}

// TestURLWithoutScheme checks that a --url written without its scheme, as
// people type host:port/path, gets the fix suggested instead of url.Parse's
// puzzling reading of it (scheme "localhost", or a colon in the first path
// segment); {key} placeholders stay in the suggestion.
func TestURLWithoutScheme(t *testing.T) {
	keys := mustKeys(t, "uniform:10")
	for _, raw := range []string{
		"localhost:8080/v1/items/1",
		"127.0.0.1:8080/v1/items/1",
		"localhost:8080/v1/items/{key}",
		"127.0.0.1:8080/v1/items/{key}?x={key}",
		"example.test/v1/items/{key}",
		"[::1]:8080/v1/items/1",
		"localhost:8080",
	} {
		want := `url "` + raw + `": no scheme; did you mean http://` + raw + `?`
		_, err := NewURLTargets(raw, keys, RequestOptions{Method: "GET"})
		if err == nil || err.Error() != want {
			t.Errorf("NewURLTargets(%q) error = %v\nwant %s", raw, err, want)
		}
		// The suggestion works.
		if _, err := NewURLTargets("http://"+raw, keys, RequestOptions{Method: "GET"}); err != nil {
			t.Errorf("NewURLTargets(%q): %v", "http://"+raw, err)
		}
	}
	// A target file's URL gets the same hint.
	_, err := ReadTargets(strings.NewReader("GET localhost:8080/x\n"), "t.txt", "http", RequestOptions{})
	if want := `url "localhost:8080/x": no scheme; did you mean http://localhost:8080/x?`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("ReadTargets error = %v, want it to contain %s", err, want)
	}
	// A URL with another scheme, or with no host, is not given the hint.
	for raw, want := range map[string]string{
		"ftp://localhost/x": `scheme "ftp": want http or https`,
		"http:/x":           "no host",
		"/v1/items/1":       `scheme "": want http or https`,
	} {
		if _, err := NewURLTargets(raw, nil, RequestOptions{Method: "GET"}); err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "did you mean") {
			t.Errorf("NewURLTargets(%q) error = %v, want %q and no suggestion", raw, err, want)
		}
	}
}
