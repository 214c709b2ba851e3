package harness

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/perf-tools/perf/results"
)

func TestParseSplit(t *testing.T) {
	for spec, want := range map[string]string{
		"X-Variant":           "X-Variant",
		" X-Variant ":         "X-Variant",
		"X-Variant:doc-view":  "X-Variant:doc-view",
		"x-variant : etag":    "x-variant:etag",
		"X_Exp.1:exp-2024.q1": "X_Exp.1:exp-2024.q1",
	} {
		s, err := ParseSplit(spec)
		if err != nil || s.String() != want {
			t.Errorf("ParseSplit(%q) = %v, %v; want %q", spec, s, err, want)
		}
	}
	for spec, says := range map[string]string{
		"":                "no header name",
		":doc-view":       "no header name",
		"X Variant":       "not allowed in a header name",
		"X-Variant:":      "no member name",
		"X-Variant:a=b":   "member name may not",
		"X-Variant:a,b":   "member name may not",
		"X-Variant:a:b":   "member name may not",
		"X-Variant:a b":   "member name may not",
		"X-Variänt":       "not allowed in a header name",
		"X-Variant\r\nX:": "not allowed in a header name",
	} {
		_, err := ParseSplit(spec)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", spec)) || !strings.Contains(err.Error(), says) {
			t.Errorf("ParseSplit(%q) = %v, want an error naming it and saying %q", spec, err, says)
		}
	}
}

func FuzzParseSplit(f *testing.F) {
	for _, s := range []string{"X-Variant", "X-Variant:doc-view", "", ":", "a:b:c", "X Y"} {
		f.Add(s, "doc-view=compact, etag=off")
	}
	f.Fuzz(func(t *testing.T, spec, value string) {
		s, err := ParseSplit(spec)
		if err != nil {
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", spec)) {
				t.Fatalf("ParseSplit(%q): error %v does not name the input", spec, err)
			}
			return
		}
		back, err := ParseSplit(s.String())
		if err != nil || *back != *s {
			t.Fatalf("ParseSplit(%q).String() = %q parses to %v, %v", spec, s.String(), back, err)
		}
		// A member's value is a part of the header's, without commas.
		if v := s.value([]byte(value)); s.member != "" && v != nil && (!strings.Contains(value, string(v)) || strings.Contains(string(v), ",")) {
			t.Fatalf("%s of %q = %q", s, value, v)
		}
	})
}

func TestSplitValue(t *testing.T) {
	whole, _ := ParseSplit("X-Variant")
	member, _ := ParseSplit("X-Variant:doc-view")
	for _, tc := range []struct {
		split      *Split
		value      string
		want       string
		wantAbsent bool
	}{
		{whole, "doc-view=compact, etag=off", "doc-view=compact, etag=off", false},
		{member, "doc-view=compact, etag=off", "compact", false},
		{member, "etag=off,doc-view= full ", "full", false},
		{member, "etag=off, doc-viewer=x", "", true},
		{member, "doc-view", "", true},
		{member, "", "", true},
		{member, "Doc-View=compact", "", true}, // flag keys are case-sensitive
	} {
		got := tc.split.value([]byte(tc.value))
		if string(got) != tc.want || (got == nil) != tc.wantAbsent {
			t.Errorf("%s of %q = %q (nil %v), want %q", tc.split, tc.value, got, got == nil, tc.want)
		}
	}
}

// TestVariantsBound interns more distinct variants than an attack keeps:
// the first MaxVariants get their own ids, the rest share (other), and a
// missing or empty value is (none).
func TestVariantsBound(t *testing.T) {
	s, _ := ParseSplit("X-Variant")
	v := newVariants(s)
	if id := v.classify(nil); id != variantNone || v.name(id) != results.VariantNone {
		t.Fatalf("an empty value is variant %d %q, want (none)", id, v.name(id))
	}
	ids := map[int]bool{}
	for i := range MaxVariants {
		id := v.classify(fmt.Appendf(nil, "v%d", i))
		if id == variantOther || id == variantNone || ids[id] || v.name(id) != fmt.Sprintf("v%d", i) {
			t.Fatalf("variant v%d got id %d (%q)", i, id, v.name(id))
		}
		ids[id] = true
	}
	if id := v.classify([]byte("one-too-many")); id != variantOther || v.name(id) != results.VariantOther {
		t.Errorf("variant %d beyond the bound got id %d %q, want (other)", MaxVariants+1, id, v.name(id))
	}
	if id := v.classify([]byte("v7")); v.name(id) != "v7" {
		t.Errorf("a known variant after the bound is %q", v.name(id))
	}
	known := []byte("v42")
	if allocs := testing.AllocsPerRun(1000, func() { v.classify(known) }); allocs != 0 {
		t.Errorf("classifying a known variant costs %v allocations, want 0", allocs)
	}
}

// TestKeyInHeader checks that a {key} in a header's value takes the key
// drawn for the URL, in every request, and that a body's {key} is left as
// it is.
func TestKeyInHeader(t *testing.T) {
	keys := mustKeys(t, "zipf:1000")
	h := http.Header{"X-User-Id": {"user-{key}"}}
	tg, err := NewURLTargets("http://127.0.0.1:1/v1/items/{key}", keys, RequestOptions{Method: "POST", Header: h, Body: []byte("{key}"), KeepAlive: true})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 256)
	for n := range uint64(200) {
		req, _ := tg.request(n, buf)
		key := keys.Key(n)
		want := fmt.Sprintf("POST /v1/items/%d HTTP/1.1\r\n", key)
		if !strings.HasPrefix(string(req), want) || !strings.Contains(string(req), fmt.Sprintf("\r\nX-User-Id: user-%d\r\n", key)) ||
			!strings.HasSuffix(string(req), "Content-Length: 5\r\n\r\n{key}") {
			t.Fatalf("hit %d (key %d): request %q", n, key, req)
		}
	}
	// Only the header has a placeholder: the URL stays as it is.
	tg, err = NewURLTargets("http://127.0.0.1:1/", keys, RequestOptions{Method: "GET", Header: h})
	if err != nil {
		t.Fatal(err)
	}
	if req, _ := tg.request(3, buf); !strings.Contains(string(req), fmt.Sprintf("X-User-Id: user-%d\r\n", keys.Key(3))) {
		t.Errorf("request %q, want the key in the header", req)
	}
	key := []byte{}
	if allocs := testing.AllocsPerRun(1000, func() { key, _ = tg.request(5, key) }); allocs != 0 {
		t.Errorf("a request with a keyed header costs %v allocations, want 0", allocs)
	}

	_, err = NewURLTargets("http://127.0.0.1:1/", nil, RequestOptions{Method: "GET", Header: h})
	if err == nil || !strings.Contains(err.Error(), `"X-User-Id: user-{key}"`) || !strings.Contains(err.Error(), "--keys") {
		t.Errorf("a keyed header without keys: %v, want an error naming the header and --keys", err)
	}
	_, err = ReadTargets(strings.NewReader("GET http://127.0.0.1:1/\n"), "t.txt", "http", RequestOptions{Header: h})
	if err == nil || !strings.Contains(err.Error(), "X-User-Id") || !strings.Contains(err.Error(), "--url") {
		t.Errorf("a keyed header with a targets file: %v, want an error naming the header", err)
	}
}
