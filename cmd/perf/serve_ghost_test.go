package main

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/perf-tools/perf/internal/testenv"
	"github.com/perf-tools/perf/service"
)

// TestServeGhostFlags: ghost mode's flags are checked before anything
// starts, and a bad one is a usage error naming it and what it wants.
func TestServeGhostFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"--ghost-share", "5"}, "--ghost-share and --ghost-baseline mirror reads to a candidate: give --candidate http://host:port too"},
		{[]string{"--ghost-baseline", "50"}, "give --candidate http://host:port too"},
		{[]string{"--candidate", "http://127.0.0.1:1", "--ghost-share", "101"}, "--ghost-share 101: want a percentage from 0 to 100"},
		{[]string{"--candidate", "http://127.0.0.1:1", "--ghost-share", "-0.5"}, "--ghost-share -0.5: want a percentage"},
		{[]string{"--candidate", "http://127.0.0.1:1", "--ghost-share", "NaN"}, "--ghost-share NaN: want a percentage"},
		{[]string{"--candidate", "http://127.0.0.1:1", "--ghost-share", "5%"}, `invalid argument "5%" for "--ghost-share"`},
		{[]string{"--candidate", "http://127.0.0.1:1", "--ghost-share", "5", "--ghost-baseline", "120"}, "--ghost-baseline 120: want a percentage"},
		{[]string{"--candidate", "127.0.0.1:8080", "--ghost-share", "5"}, `--candidate: invalid candidate URL "127.0.0.1:8080"`},
		{[]string{"--candidate", "https://c:8443", "--ghost-share", "5"}, `"https://c:8443": the scheme must be http: want http://host:port`},
		{[]string{"--candidate", "http://c:8080/v2", "--ghost-share", "5"}, "it has a path"},
		{[]string{"--candidate", "http://c:8080"}, "--candidate http://c:8080: nothing sends to it: give --ghost-share PERCENT"},
	} {
		code, stdout, stderr := perf(t, append([]string{"serve", "--data", t.TempDir()}, tc.args...)...)
		if code != exitUsage || !strings.Contains(stderr, tc.says) {
			t.Errorf("serve %v: exit %d, stderr %q; want %d saying %q\n%s", tc.args, code, stderr, exitUsage, tc.says, stdout)
		}
	}
	// The environment sets them too.
	t.Setenv("PERF_GHOST_SHARE", "2.5")
	code, _, stderr := perf(t, "serve", "--data", t.TempDir())
	if code != exitUsage || !strings.Contains(stderr, "give --candidate") {
		t.Errorf("PERF_GHOST_SHARE without a candidate: exit %d, stderr %q", code, stderr)
	}
	code, stdout, _ := perf(t, "serve", "--help")
	if code != exitOK || !strings.Contains(stdout, "Ghost traffic (--candidate http://host:port --ghost-share PERCENT)") || !strings.Contains(stdout, "--ghost-baseline") {
		t.Errorf("perf serve --help does not explain ghost mode:\n%s", stdout)
	}
}

// ghostStatus reads GET /ghost.
func ghostStatus(t *testing.T, admin string) service.GhostStatus {
	t.Helper()
	resp, err := http.Get(admin + "/ghost")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st service.GhostStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /ghost: %d %v", resp.StatusCode, err)
	}
	return st
}

// ghostSettled polls GET /ghost until every mirrored read has been counted,
// for up to a minute: the primary is another process, whose workers this
// test cannot be told about.
func ghostSettled(t *testing.T, admin string) service.GhostStatus {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		st := ghostStatus(t, admin)
		r := st.Requests
		if st.QueueLength == 0 && r["match"]+r["mismatch"]+r["candidate_error"] == st.Mirrored {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ghost has not counted every mirrored read after a minute: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeGhostMismatchShare runs perf serve with every read mirrored to
// a candidate that answers otherwise for the ids ending in 3, and perf
// attack with uniform keys: about a tenth of the reads mismatch, the rest
// match, and the primary against itself never differs.
func TestServeGhostMismatchShare(t *testing.T) {
	const valueSize = 512
	cand := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseUint(strings.TrimPrefix(r.URL.Path, service.ItemsPath), 10, 64)
		if err != nil {
			http.Error(w, "bad id", http.StatusBadRequest)
			return
		}
		doc, _ := service.AppendDocument(nil, id, valueSize)
		if id%10 == 3 {
			doc = append(doc[:len(doc)-2], `!"}`...)
		}
		w.Write(doc)
	}))
	defer cand.Close()
	p := startServeProc(t, nil, "--data", t.TempDir(), "--seed", "1000", "--value-size", strconv.Itoa(valueSize),
		"--candidate", cand.URL, "--ghost-share", "100")
	p.waitReady()
	if !strings.Contains(p.log(), "ghost: mirroring 100% of item reads to "+cand.URL) {
		t.Errorf("perf serve does not say it ghosts:\n%s", p.log())
	}
	attackRun(t, t.TempDir(), "--url", p.publicURL+"/v1/items/{key}", "--keys", "uniform:1000", "--rate", "400", "--duration", "2s")
	st := ghostSettled(t, p.adminURL)
	r := st.Requests
	n := r["match"] + r["mismatch"]
	t.Logf("ghost %v, baseline %+v, %s", r, st.Baseline, st.Verdict.Says)
	// 800 reads; a tenth of uniform ids end in 3: sd of the count about
	// 8.5, so 6 sds either way.
	if r["dropped"] != 0 || r["candidate_error"] != 0 || n != 800 || math.Abs(float64(r["mismatch"])-80) > 51 {
		t.Errorf("requests %v: want 800 compared, about 80 mismatches, no error or drop", r)
	}
	if st.Baseline.Match != n || st.Baseline.Mismatch != 0 || !st.Verdict.ExceedsBaseline {
		t.Errorf("baseline %+v, verdict %+v: want %d matches, the candidate beyond noise", st.Baseline, st.Verdict, n)
	}
	for _, ex := range st.Mismatches {
		if !strings.HasSuffix(ex.Path, "3") || ex.Primary.Bytes != valueSize || ex.Candidate.Bytes != valueSize+1 {
			t.Errorf("mismatch example %+v: want an id ending in 3, bodies of %d and %d bytes", ex, valueSize, valueSize+1)
		}
	}
	if got := metricSum(t, p.adminURL+"/metrics", "perf_serve_ghost_requests_total"); got != float64(n) {
		t.Errorf("perf_serve_ghost_requests_total sums to %v, want %d", got, n)
	}
}

// TestE2EServeGhostStalledCandidate attacks perf serve at a constant rate
// twice, without ghost mode and with every read mirrored to a candidate
// that stalls for seconds: the primary's corrected p99 does not move by
// more than the noise of this shared machine, and the ghost reads show up
// as candidate errors (timeouts) and drops.
func TestE2EServeGhostStalledCandidate(t *testing.T) {
	testenv.SkipUnderRace(t)
	stop := make(chan struct{})
	cand := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stop:
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	defer cand.Close()
	defer close(stop)
	start := func(args ...string) *serveProc {
		p := startServeProc(t, nil, append([]string{"--data", t.TempDir(), "--seed", "10000"}, args...)...)
		p.waitReady()
		return p
	}
	attack := func(p *serveProc) float64 {
		dir := attackRun(t, t.TempDir(), "--url", p.publicURL+"/v1/items/{key}", "--keys", "uniform:10000",
			"--rate", "500", "--duration", "4s", "--warmup", "1s")
		run := readRunJSON(t, dir)
		if run.Errors != 0 || run.StatusCodes["200"] != run.Requests {
			t.Fatalf("attack on %s: errors %d, codes %v", p.publicURL, run.Errors, run.StatusCodes)
		}
		return run.Latency.Corrected.P99
	}
	plain, ghosted := start(), start("--candidate", cand.URL, "--ghost-share", "100")
	// Two rounds, alternating, and the better p99 of each side: a burst of
	// another process's work on this shared machine then spoils one run,
	// not the comparison.
	off, on := math.Inf(1), math.Inf(1)
	for round := range 2 {
		o, g := attack(plain), attack(ghosted)
		t.Logf("round %d: corrected p99 %.3fms without ghost mode, %.3fms ghosting every read to a stalled candidate", round+1, o, g)
		off, on = min(off, o), min(on, g)
	}
	st := ghostStatus(t, ghosted.adminURL)
	t.Logf("best corrected p99: ghost off %.3fms, on %.3fms; ghost %v", off, on, st.Requests)
	// The bound is 1ms; on this shared two-core machine, with other
	// tests running, runs of the same attack differ by several ms at p99,
	// so the test allows 10ms. A primary that waited for the candidate
	// would be seconds late: its 2s timeout, 8 workers, 500 reads a second.
	if on-off > 10 {
		t.Errorf("corrected p99 %.3fms with a stalled candidate, %.3fms without: more than 10ms worse", on, off)
	}
	if st.Requests["dropped"] == 0 || st.Requests["candidate_error"] == 0 || st.Requests["match"]+st.Requests["mismatch"] != 0 {
		t.Errorf("ghost %v: want drops and candidate errors, no answer", st.Requests)
	}
	if !strings.Contains(st.LastError, "Timeout") {
		t.Errorf("last ghost error %q: want a timeout", st.LastError)
	}
}

// TestServeGhostSameVersionWithVariants ghosts every read from one perf
// serve to another serving the same store and flags (deploy/flags.json:
// half the users get a compact document, a tenth an ETag): the user id
// goes to the candidate with each read, so each user gets the same
// variant from both and every read matches, ETag and all.
func TestServeGhostSameVersionWithVariants(t *testing.T) {
	flags := []string{"--seed", "1000", "--flags", "../../deploy/flags.json", "--user-header", "X-User-Id"}
	cand := startServeProc(t, nil, append([]string{"--data", t.TempDir()}, flags...)...)
	cand.waitReady()
	p := startServeProc(t, nil, append([]string{"--data", t.TempDir(), "--candidate", cand.publicURL, "--ghost-share", "50"}, flags...)...)
	p.waitReady()
	attackRun(t, t.TempDir(), "--url", p.publicURL+"/v1/items/{key}", "--keys", "uniform:1000",
		"-H", "X-User-Id: {key}", "--rate", "300", "--duration", "2s")
	st := ghostSettled(t, p.adminURL)
	r := st.Requests
	t.Logf("ghost %v, baseline %+v, %s", r, st.Baseline, st.Verdict.Says)
	// 600 reads at 50%: sd 12.2, so 6 sds either way.
	if n := r["match"]; r["mismatch"] != 0 || r["candidate_error"] != 0 || r["dropped"] != 0 || n < 300-74 || n > 300+74 {
		t.Errorf("requests %v, examples %+v: want about 300 matches and nothing else", r, st.Mismatches)
	}
	if st.Verdict.ExceedsBaseline || st.Baseline.Mismatch != 0 {
		t.Errorf("baseline %+v, verdict %+v: want no mismatch, within noise", st.Baseline, st.Verdict)
	}
	// The candidate served those users their variants: both halves of the
	// experiment.
	served := promSamples(t, cand.adminURL+"/metrics", "perf_serve_variant_requests_total")
	if served[`{code="200",flag="doc-view",variant="compact"}`] == 0 || served[`{code="200",flag="doc-view",variant="full"}`] == 0 {
		t.Errorf("the candidate served variants %v: want both doc views", served)
	}
}
