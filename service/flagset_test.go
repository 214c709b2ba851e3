package service

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/perf-tools/perf/service/flags"
)

// flagsServer starts a server of items 0..n-1 with the flags file at path,
// the user id in X-User-Id or the uid cookie.
func flagsServer(t *testing.T, n uint64, path string) (*Server, *testURL, *testURL) {
	t.Helper()
	st := seededStore(t, n, DefaultValueSize)
	srv, pub, adm := startServer(t, st, Options{UserHeader: "X-User-Id", UserCookie: "uid", ErrorLog: log.New(io.Discard, "", 0)})
	if err := srv.LoadFlags(path); err != nil {
		t.Fatal(err)
	}
	srv.SetReady(true)
	return srv, pub, adm
}

// wantVariants is the X-Variant header a user gets, from the flags package's
// own Evaluate.
func wantVariants(t *testing.T, cfg *flags.Config, user string) string {
	t.Helper()
	var parts []string
	for _, key := range cfg.Flags() {
		r, _ := cfg.Evaluate(key, user)
		parts = append(parts, key+"="+r.Variant)
	}
	return strings.Join(parts, ", ")
}

func TestServeWithFlags(t *testing.T) {
	const n = 100
	_, pub, adm := flagsServer(t, n, "testdata/flags.json")
	cfg, err := flags.Load("testdata/flags.json")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for i := range 400 {
		user := "user-" + strconv.Itoa(i)
		id := uint64(i % n)
		req, _ := http.NewRequest(http.MethodGet, pub.URL+ItemsPath+strconv.FormatUint(id, 10), nil)
		switch i % 3 {
		case 0:
			req.Header.Set("X-User-Id", user)
		case 1:
			req.AddCookie(&http.Cookie{Name: "uid", Value: user})
		case 2:
			// Both: the header wins.
			req.Header.Set("X-User-Id", user)
			req.AddCookie(&http.Cookie{Name: "uid", Value: "someone-else"})
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got, want := resp.Header.Get(VariantHeader), wantVariants(t, cfg, user)
		if got != want {
			t.Fatalf("user %q: X-Variant %q, want %q", user, got, want)
		}
		seen[got]++
		full, _ := AppendDocument(nil, id, DefaultValueSize)
		if strings.Contains(got, "doc-view=compact") {
			var doc map[string]any
			if err := json.Unmarshal(body, &doc); err != nil {
				t.Fatalf("compact document %q: %v", body, err)
			}
			if _, ok := doc["payload"]; ok || doc["id"] != float64(id) || doc["name"] != "item-"+strconv.FormatUint(id, 10) || len(doc["tags"].([]any)) != 2 {
				t.Fatalf("compact document %s", body)
			}
			if len(body) >= len(full)/4 {
				t.Fatalf("compact document of %d bytes, full %d", len(body), len(full))
			}
		} else if string(body) != string(full) {
			t.Fatalf("user %q: full document differs: %q", user, body)
		}
		etag := resp.Header.Get("ETag")
		if wantTag := fmt.Sprintf("%q", strconv.FormatUint(uint64(crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli))), 16)); strings.Contains(got, "etag=on") != (etag != "") || (etag != "" && etag != wantTag) {
			t.Fatalf("user %q, %s: ETag %q, want %q when etag=on", user, got, etag, wantTag)
		}
	}
	// All four combinations, in about the split's shares.
	if len(seen) != 4 {
		t.Errorf("combinations seen: %v, want all four", seen)
	}

	// No user id: the defaults, counted.
	resp, _ := do(t, http.MethodGet, pub.URL+ItemsPath+"1")
	if got := resp.Header.Get(VariantHeader); got != "doc-view=full, etag=off" {
		t.Errorf("without a user id: X-Variant %q, want the defaults", got)
	}
	// Every answer carries it, not only reads.
	resp, _ = do(t, http.MethodGet, pub.URL+"/nowhere")
	if resp.StatusCode != 404 || resp.Header.Get(VariantHeader) == "" {
		t.Errorf("404: status %d, X-Variant %q", resp.StatusCode, resp.Header.Get(VariantHeader))
	}

	_, metrics := do(t, http.MethodGet, adm.URL+"/metrics")
	var compact200 float64
	for v, c := range seen {
		if strings.Contains(v, "doc-view=compact") {
			compact200 += float64(c)
		}
	}
	for _, want := range []string{
		fmt.Sprintf(`perf_serve_variant_requests_total{code="200",flag="doc-view",variant="compact"} %v`, compact200),
		fmt.Sprintf(`perf_serve_variant_requests_total{code="200",flag="doc-view",variant="full"} %v`, 400-compact200+1),
		`perf_serve_variant_requests_total{code="404",flag="etag",variant="off"} 1`,
		`perf_serve_requests_without_user_total 2`,
		`perf_serve_flags_generation 1`,
		`perf_serve_flags_last_reload_successful 1`,
		`perf_serve_variant_request_duration_seconds_count{flag="doc-view",variant="compact"} ` + strconv.FormatFloat(compact200, 'f', -1, 64),
	} {
		if !strings.Contains(string(metrics), want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestFlagsAdmin(t *testing.T) {
	_, _, adm := flagsServer(t, 10, "testdata/flags.json")
	cfg, _ := flags.Load("testdata/flags.json")
	resp, body := do(t, http.MethodGet, adm.URL+"/flags")
	var st flagsStatus
	if err := json.Unmarshal(body, &st); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /flags: %d %s: %v", resp.StatusCode, body, err)
	}
	if st.File != "testdata/flags.json" || st.SHA256 != cfg.Hash() || st.Generation != 1 || st.LoadedAt.IsZero() || st.LastError != nil || st.UserHeader != "X-User-Id" {
		t.Errorf("GET /flags: %+v", st)
	}
	if len(st.Flags) != 2 || st.Flags[0].Key != "doc-view" || len(st.Flags[0].Split) != 2 || st.Flags[0].Split[1] != (splitStatus{"compact", 50}) || st.Flags[1].DefaultVariant != "off" {
		t.Errorf("GET /flags: flags %+v", st.Flags)
	}

	resp, body = do(t, http.MethodGet, adm.URL+"/flags/evaluate?user=user-7&flag=doc-view")
	var ev struct {
		User  string       `json:"user"`
		Flags []evaluation `json:"flags"`
	}
	want, _ := cfg.Evaluate("doc-view", "user-7")
	if err := json.Unmarshal(body, &ev); err != nil || resp.StatusCode != 200 || len(ev.Flags) != 1 || ev.Flags[0].Variant != want.Variant || ev.Flags[0].Reason != flags.ReasonSplit {
		t.Errorf("evaluate: %d %s", resp.StatusCode, body)
	}
	_, body = do(t, http.MethodGet, adm.URL+"/flags/evaluate")
	if err := json.Unmarshal(body, &ev); err != nil || len(ev.Flags) != 2 || ev.Flags[0].Reason != flags.ReasonNoUser {
		t.Errorf("evaluate without a user: %s", body)
	}
	if resp, body = do(t, http.MethodGet, adm.URL+"/flags/evaluate?flag=nope&user=1"); resp.StatusCode != 404 || !strings.Contains(string(body), `no flag \"nope\"`) {
		t.Errorf("evaluate of an unknown flag: %d %s", resp.StatusCode, body)
	}

	// A server without flags says how to get them, and sends no X-Variant.
	st2 := seededStore(t, 1, DefaultValueSize)
	_, pub2, adm2 := startServer(t, st2, Options{})
	if resp, body := do(t, http.MethodGet, adm2.URL+"/flags"); resp.StatusCode != 404 || !strings.Contains(string(body), "--flags") {
		t.Errorf("GET /flags without flags: %d %s", resp.StatusCode, body)
	}
	if resp, _ := do(t, http.MethodGet, pub2.URL+ItemsPath+"0"); resp.Header.Get(VariantHeader) != "" {
		t.Errorf("X-Variant %q without flags", resp.Header.Get(VariantHeader))
	}
}

func TestFlagsRefused(t *testing.T) {
	st := seededStore(t, 1, DefaultValueSize)
	flag := func(key, variants string) string {
		return fmt.Sprintf(`%q: {"state": "ENABLED", "variants": %s, "defaultVariant": "a"}`, key, variants)
	}
	for _, tc := range []struct{ name, flags, want string }{
		{"bad view", flag("f", `{"a": {"view": "tiny"}}`), `flag "f": variant "a": "view" is "tiny": want "full" or "compact"`},
		{"bad delay", flag("f", `{"a": {"delay": "soon"}}`), `"delay" is "soon": want a duration`},
		{"delay too long", flag("f", `{"a": {"delay": "1m"}}`), `"delay" is "1m"`},
		{"delay not a string", flag("f", `{"a": {"delay": 5}}`), `"delay" is 5`},
		{"bad etag", flag("f", `{"a": {"etag": "yes"}}`), `"etag" is "yes": want true or false`},
		{"two flags set view", flag("f", `{"a": {"view": "full"}}`) + "," + flag("g", `{"a": {}, "b": {"view": "compact"}}`), `flags "f" and "g" both set "view"`},
		{"comma in a key", flag("f,g", `{"a": true}`), `flag "f,g": the key has ","`},
		{"space in a variant", `"f": {"state": "ENABLED", "variants": {"a b": true}, "defaultVariant": "a b"}`, `variant "a b": the name has " "`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := New(st, Options{})
			path := filepath.Join(t.TempDir(), "flags.json")
			os.WriteFile(path, []byte(`{"flags": {`+tc.flags+`}}`), 0o644)
			err := srv.LoadFlags(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("LoadFlags: %v, want an error naming %s and saying %q", err, path, tc.want)
			}
			if srv.flags.Load() != nil {
				t.Error("a refused file is in force")
			}
		})
	}
	// Values that are not perf serve's are the team's own: accepted.
	srv := New(st, Options{})
	path := filepath.Join(t.TempDir(), "flags.json")
	os.WriteFile(path, []byte(`{"flags": {`+flag("f", `{"a": {"color": "red"}, "b": "text"}`)+`}}`), 0o644)
	if err := srv.LoadFlags(path); err != nil {
		t.Fatal(err)
	}
}

func TestFlagsDelay(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.json")
	os.WriteFile(path, []byte(`{"flags": {"slow": {"state": "ENABLED", "defaultVariant": "fast",
		"variants": {"fast": {}, "slow": {"delay": "60ms"}},
		"targeting": {"fractional": [["fast", 50], ["slow", 50]]}}}}`), 0o644)
	_, pub, _ := flagsServer(t, 10, path)
	cfg, _ := flags.Load(path)
	c := dialTest(t, pub.URL)
	br := bufio.NewReader(c)
	// Pipelined: a slow answer does not hold back the fast one before it.
	for i := range 12 {
		user := "u" + strconv.Itoa(i)
		r, _ := cfg.Evaluate("slow", user)
		start := time.Now()
		fmt.Fprintf(c, "GET /v1/items/1 HTTP/1.1\r\nHost: x\r\nX-User-Id: %s\r\n\r\n", user)
		resps, _ := readResponses(t, br, "GET")
		took := time.Since(start)
		if got := resps[0].Header.Get(VariantHeader); got != "slow="+r.Variant {
			t.Fatalf("X-Variant %q, want slow=%s", got, r.Variant)
		}
		// A lower bound only: the delay is a sleep, which never ends early.
		if r.Variant == "slow" && took < 60*time.Millisecond {
			t.Errorf("user %s got the slow variant in %v, want at least its 60ms delay", user, took)
		}
	}
}

// waitFor waits until cond holds, for up to 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWatchFlags(t *testing.T) {
	for _, poll := range []time.Duration{0, 20 * time.Millisecond} {
		t.Run("poll="+poll.String(), func(t *testing.T) { testWatchFlags(t, poll) })
	}
}

func testWatchFlags(t *testing.T, poll time.Duration) {
	dir := t.TempDir()
	path := filepath.Join(dir, "flags.json")
	file := func(compact int) []byte {
		return fmt.Appendf(nil, `{"flags": {"doc-view": {"state": "ENABLED", "defaultVariant": "full",
			"variants": {"full": {"view": "full"}, "compact": {"view": "compact"}},
			"targeting": {"fractional": [["compact", %d], ["full", %d]]}}}}`, compact, 100-compact)
	}
	os.WriteFile(path, file(10), 0o644)
	st := seededStore(t, 1, DefaultValueSize)
	srv := New(st, Options{})
	if err := srv.LoadFlags(path); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var logs []string
	logf := func(format string, args ...any) {
		mu.Lock()
		logs = append(logs, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.WatchFlags(ctx, path, poll, logf); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	hashOf := func(b []byte) string { c, _ := flags.Parse("x", b); return c.Hash() }
	inForce := func(b []byte, gen uint64) func() bool {
		return func() bool { fs := srv.flags.Load(); return fs.cfg.Hash() == hashOf(b) && fs.gen == gen }
	}
	failing := func(want string) func() bool {
		return func() bool {
			srv.reload.mu.Lock()
			defer srv.reload.mu.Unlock()
			return srv.reload.failed != nil && strings.Contains(srv.reload.failed.Error(), want)
		}
	}

	replace := func(b []byte) {
		tmp := filepath.Join(dir, ".flags.json.tmp")
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	replace(file(30))
	waitFor(t, "a rename-replace to be in force", inForce(file(30), 2))

	// In place, as an editor without a backup file writes.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(file(50))
	f.Close()
	waitFor(t, "an in-place write to be in force", inForce(file(50), 3))

	// A bad file: the last good stays, the failure is counted once.
	replace([]byte(`{"flags": {"doc-view": {"state": "ENABLED"`))
	waitFor(t, "the bad file's failure", failing("line 1"))
	// Deleted: the same.
	os.Remove(path)
	waitFor(t, "the deleted file's failure", failing("no such file"))
	if !inForce(file(50), 3)() {
		t.Fatal("a bad or deleted file replaced the configuration in force")
	}
	// Back to a good one.
	replace(file(70))
	waitFor(t, "the good file after the bad ones", inForce(file(70), 4))
	if failing("")() {
		t.Error("a failure is still reported after a good file is in force")
	}

	// Each failure counted once, however often the file was read.
	mf, _ := srv.metrics.reg.Gather()
	counts := map[string]float64{}
	for _, fam := range mf {
		if fam.GetName() == "perf_serve_flags_reloads_total" {
			for _, m := range fam.GetMetric() {
				counts[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
			}
		}
	}
	if counts["success"] != 3 || counts["failure"] != 2 {
		t.Errorf("reloads: %v, want 3 successes and 2 failures", counts)
	}
	mu.Lock()
	defer mu.Unlock()
	if text := strings.Join(logs, "\n"); !strings.Contains(text, "keeping generation 3 in force") || !strings.Contains(text, "loaded "+path+": generation 4") {
		t.Errorf("logs:\n%s", text)
	}
}
