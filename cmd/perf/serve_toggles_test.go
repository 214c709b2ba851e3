package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/perf-tools/perf/internal/statsd"
	"github.com/perf-tools/perf/internal/statsd/statsdtest"
)

// flagsFile is a flags file whose experiment gives compact documents to
// compact% of users.
func flagsFile(compact int) []byte {
	return fmt.Appendf(nil, `{"flags": {"doc-view": {"state": "ENABLED", "defaultVariant": "full",
	"variants": {"full": {"view": "full"}, "compact": {"view": "compact"}},
	"targeting": {"fractional": [["compact", %d], ["full", %d]]}}}}
`, compact, 100-compact)
}

// adminFlags is what GET /flags says.
type adminFlags struct {
	SHA256     string `json:"sha256"`
	Generation uint64 `json:"generation"`
	LastError  *struct {
		Error string `json:"error"`
	} `json:"last_reload_error"`
}

func getFlags(t *testing.T, admin string) adminFlags {
	t.Helper()
	code, body := httpGetBody(t, admin+"/flags")
	var st adminFlags
	if err := json.Unmarshal(body, &st); code != 200 || err != nil {
		t.Fatalf("GET /flags: %d %s (%v)", code, body, err)
	}
	return st
}

// TestServeFlagsReloadUnderLoad changes a real perf serve's flags file
// every way it is changed in practice while perf attack holds a constant
// rate against it: a rename over it, a write in place, a file that does not
// parse, the file deleted, and a good one back. No request may fail, and
// the right configuration must be in force after each change.
func TestServeFlagsReloadUnderLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "flags.json")
	if err := os.WriteFile(path, flagsFile(10), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startServeProc(t, nil, "--data", t.TempDir(), "--seed", "1000", "--flags", path, "--user-header", "X-User-Id")
	p.waitReady()

	out := t.TempDir()
	done := make(chan result, 1)
	go func() {
		code, stdout, stderr := perf(t, "attack",
			"--url", p.publicURL+"/v1/items/{key}", "--keys", "uniform:1000",
			"-H", "X-User-Id: user-42",
			"--rate", "500", "--duration", "5s",
			"--out-dir", out, "--slo", "errors<=0",
			"--max-lag", "1s", "--min-achieved", "50")
		done <- result{code, stdout, stderr}
	}()
	waitUntil := func(what string, cond func(adminFlags) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			st := getFlags(t, p.adminURL)
			if cond(st) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s: /flags says %+v; stderr:\n%s", what, st, p.log())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	inForce := func(b []byte, gen uint64) func(adminFlags) bool {
		return func(st adminFlags) bool { return st.SHA256 == sum(b) && st.Generation == gen && st.LastError == nil }
	}
	failing := func(b []byte, gen uint64, why string) func(adminFlags) bool {
		return func(st adminFlags) bool {
			return st.SHA256 == sum(b) && st.Generation == gen && st.LastError != nil && strings.Contains(st.LastError.Error, why)
		}
	}
	replace := func(b []byte) {
		t.Helper()
		tmp := filepath.Join(dir, "flags.json.new")
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	// Wait for the attack's first requests, so every change happens under load.
	deadline := time.Now().Add(10 * time.Second)
	for metricSum(t, p.adminURL+"/metrics", "perf_serve_requests_total") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the attack did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}

	replace(flagsFile(30))
	waitUntil("a rename-replace", inForce(flagsFile(30), 2))
	if err := os.WriteFile(path, flagsFile(50), 0o644); err != nil { // in place: truncate and write
		t.Fatal(err)
	}
	waitUntil("a write in place", inForce(flagsFile(50), 3))
	replace([]byte(`{"flags": {"doc-view": `))
	waitUntil("a bad file to be refused", failing(flagsFile(50), 3, "unexpected end of JSON input"))
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	waitUntil("a deleted file to be refused", failing(flagsFile(50), 3, "no such file or directory"))
	replace(flagsFile(70))
	waitUntil("a good file after them", inForce(flagsFile(70), 4))

	r := <-done
	if r.code != exitOK {
		t.Fatalf("perf attack exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	run := readRunJSON(t, onlyRunDir(t, out))
	if run.Errors != 0 || run.StatusCodes["200"] != run.Requests || run.Requests != 2500 {
		t.Errorf("attack: %d requests, %d errors, codes %v; want 2500, all 200", run.Requests, run.Errors, run.StatusCodes)
	}
	served := metricSum(t, p.adminURL+"/metrics", `perf_serve_requests_total{code="200"}`)
	if served != float64(run.Requests) {
		t.Errorf("perf serve answered %v requests 200, perf attack sent %d", served, run.Requests)
	}
	for name, want := range map[string]float64{
		`perf_serve_flags_reloads_total{result="success"}`: 3,
		`perf_serve_flags_reloads_total{result="failure"}`: 2,
		"perf_serve_flags_generation":                      4,
		"perf_serve_flags_last_reload_successful":          1,
	} {
		if got := metricSum(t, p.adminURL+"/metrics", name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	// One user: every request was counted under exactly one doc-view variant.
	if got := metricSum(t, p.adminURL+"/metrics", "perf_serve_variant_requests_total"); got != served {
		t.Errorf("per-variant requests sum to %v, want %v", got, served)
	}
	for _, want := range []string{"flags: loaded " + path + ": generation 4", "flags: keeping generation 3 in force"} {
		if !strings.Contains(p.log(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, p.log())
		}
	}
}

// variantOf asks a perf serve which variants user is served with.
func variantOf(t *testing.T, public, user string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, public+"/v1/items/1", nil)
	req.Header.Set("X-User-Id", user)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.Header.Get("X-Variant")
}

// TestServeFlagsStickyAcrossProcesses checks sticky buckets where they
// matter: two perf serve processes put every user in the same variant; a
// reload that keeps a flag's weights moves nobody; and raising a rollout
// from 30% to 50% moves nobody out of it.
func TestServeFlagsStickyAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	pathA, pathB := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	os.WriteFile(pathA, flagsFile(30), 0o644)
	os.WriteFile(pathB, flagsFile(30), 0o644)
	a := startServeProc(t, nil, "--data", t.TempDir(), "--seed", "10", "--flags", pathA, "--user-header", "X-User-Id")
	b := startServeProc(t, nil, "--data", t.TempDir(), "--seed", "10", "--flags", pathB, "--user-header", "X-User-Id")
	a.waitReady()
	b.waitReady()
	const users = 300
	before := make([]string, users)
	compact := 0
	for i := range users {
		u := fmt.Sprintf("user-%d", i)
		before[i] = variantOf(t, a.publicURL, u)
		if got := variantOf(t, b.publicURL, u); got != before[i] {
			t.Fatalf("user %s: %q from one process, %q from the other", u, before[i], got)
		}
		if before[i] == "doc-view=compact" {
			compact++
		}
	}
	if compact < users*20/100 || compact > users*40/100 {
		t.Errorf("%d of %d users compact at 30%%", compact, users)
	}

	// B reloads with a new flag beside the same experiment: nobody moves.
	withToggle := strings.Replace(string(flagsFile(30)), `{"flags": {`, `{"flags": {"zz-toggle": {"state": "ENABLED", "defaultVariant": "off", "variants": {"on": true, "off": false}, "targeting": {"fractional": [["on", 50], ["off", 50]]}}, `, 1)
	os.WriteFile(pathB+".new", []byte(withToggle), 0o644)
	os.Rename(pathB+".new", pathB)
	waitGen := func(p *serveProc, gen uint64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for getFlags(t, p.adminURL).Generation != gen {
			if time.Now().After(deadline) {
				t.Fatalf("generation %d not in force; stderr:\n%s", gen, p.log())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitGen(b, 2)
	for i := range users {
		u := fmt.Sprintf("user-%d", i)
		got := variantOf(t, b.publicURL, u)
		if !strings.HasPrefix(got, before[i]+", zz-toggle=") {
			t.Fatalf("user %s: %q after adding a flag, was %q", u, got, before[i])
		}
	}

	// A raises the rollout to 50%: everyone compact stays compact.
	os.WriteFile(pathA+".new", flagsFile(50), 0o644)
	os.Rename(pathA+".new", pathA)
	waitGen(a, 2)
	grew := 0
	for i := range users {
		u := fmt.Sprintf("user-%d", i)
		got := variantOf(t, a.publicURL, u)
		if before[i] == "doc-view=compact" && got != before[i] {
			t.Fatalf("user %s left compact when the rollout grew from 30%% to 50%%", u)
		}
		if got == "doc-view=compact" && before[i] != got {
			grew++
		}
	}
	if grew == 0 {
		t.Error("raising the rollout to 50% moved nobody in")
	}
}

// promSamples returns the samples of a Prometheus metric at url, by their
// label text ({code="200",...}).
func promSamples(t *testing.T, url, name string) map[string]float64 {
	t.Helper()
	_, body := httpGetBody(t, url)
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		i := strings.LastIndexByte(rest, ' ')
		v, err := strconv.ParseFloat(rest[i+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		out[strings.TrimSpace(rest[:i])] = v
	}
	return out
}

var labelRE = regexp.MustCompile(`(\w+)="([^"]*)"`)

// TestServeStatsDAgainstDaemon runs perf serve with an experiment and
// --statsd pointed at Etsy's own StatsD daemon, attacks it with many
// users, and checks that what the daemon aggregated equals what perf
// serve's Prometheus counters say: exactly for counters, within the
// sampling's spread for timer counts.
func TestServeStatsDAgainstDaemon(t *testing.T) {
	d := statsdtest.Start(t)
	const rate = 0.5
	p := startServeProc(t, nil, "--data", t.TempDir(), "--seed", "1000",
		"--flags", "../../deploy/flags.json", "--user-header", "X-User-Id",
		"--statsd", d.Addr, "--statsd-prefix", "test.serve", "--statsd-sample-rate", strconv.FormatFloat(rate, 'f', -1, 64),
		"--statsd-interval", "100ms")
	p.waitReady()
	out := t.TempDir()
	code, stdout, stderr := perf(t, "attack",
		// ids 1000..1199 are not in the store: 404s, counted apart.
		"--url", p.publicURL+"/v1/items/{key}", "--keys", "uniform:1200",
		"-H", "X-User-Id: {key}",
		"--rate", "1000", "--duration", "2s", "--out-dir", out,
		"--max-lag", "1s", "--min-achieved", "50")
	if code != exitOK && code != exitGate {
		t.Fatalf("perf attack exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	requests := promSamples(t, p.adminURL+"/metrics", "perf_serve_requests_total")
	variants := promSamples(t, p.adminURL+"/metrics", "perf_serve_variant_requests_total")
	p.signal(syscall.SIGTERM)
	m := p.waitLine(regexp.MustCompile(`^statsd: (\d+) metrics in \d+ datagrams written to `))
	lines, _ := strconv.ParseUint(m[1], 10, 64)
	a := d.Wait(t, lines)
	if a.BadLines != 0 {
		t.Errorf("the daemon could not parse %v lines", a.BadLines)
	}

	var total float64
	for labels, want := range requests {
		code := labelRE.FindStringSubmatch(labels)[2]
		if got := a.Counters["test.serve.requests."+code]; got != want {
			t.Errorf("requests.%s: the daemon counted %v, Prometheus %v", code, got, want)
		}
		total += want
	}
	if requests[`{code="200"}`] < 1000 || requests[`{code="404"}`] < 100 {
		t.Fatalf("too few requests to compare: %v", requests)
	}
	for labels, want := range variants {
		l := map[string]string{}
		for _, kv := range labelRE.FindAllStringSubmatch(labels, -1) {
			l[kv[1]] = kv[2]
		}
		name := "test.serve.variant." + statsd.Name(l["flag"], l["variant"], "requests", l["code"])
		if got := a.Counters[name]; got != want {
			t.Errorf("%s: the daemon counted %v, Prometheus %v", name, got, want)
		}
	}
	// Timers are sampled at rate and the daemon counts each sample as
	// 1/rate: the count is total's estimate, with a standard deviation of
	// sqrt(total*(1-rate)/rate). Eight of them: a false failure is rarer
	// than 1e-14.
	got := a.TimerCounts["test.serve.request_time"]
	sd := math.Sqrt(total * (1 - rate) / rate)
	if math.Abs(got-total) > 8*sd {
		t.Errorf("request_time: the daemon counted %v, want %v within %.0f", got, total, 8*sd)
	}
	if a.Gauges["test.serve.flags_generation"] != 1 || a.Gauges["test.serve.generation"] != 1 {
		t.Errorf("gauges %v", a.Gauges)
	}
	t.Logf("%v requests; daemon: request_time count %v (%d samples), %v lines", total, got, a.TimerSamples["test.serve.request_time"], a.Lines)
}
