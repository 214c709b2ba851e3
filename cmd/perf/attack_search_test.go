package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perf-tools/perf/internal/lindley"
	"github.com/perf-tools/perf/results"
)

// The schedule tests below judge counts and verdicts, not the generator's
// timing: --max-lag 1s keeps a send lag of a few milliseconds on a loaded
// machine (CI runs packages side by side) from making their runs invalid.

func TestAttackSchedule(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	out := t.TempDir()
	code, stdout, stderr := perf(t, "attack", "--url", srv.URL+"/", "--rate", "steps:100,200/1s;ramp:200..0/500ms",
		"--warmup", "200ms", "--slo", "p99<=1s", "--out-dir", out, "--output", "text", "--max-lag", "1s")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	run := readRunJSON(t, onlyRunDir(t, out))
	if run.DurationS != 2.5 || run.Rate.Plan != "steps:100,200/1s;ramp:200..0/500ms" {
		t.Errorf("duration %.2fs plan %q, want the schedule's 2.5s and its text", run.DurationS, run.Rate.Plan)
	}
	if len(run.Segments) != 3 {
		t.Fatalf("%d segments, want 3: %+v", len(run.Segments), run.Segments)
	}
	// 100, 200 and the ramp's 50 hits (give or take the one due at its end).
	for i, want := range []int64{100, 200, 50} {
		s := run.Segments[i]
		if d := s.Requests + s.Unsent - want; d < -1 || d > 1 {
			t.Errorf("segment %d %q holds %d hits, want %d", i, s.Label, s.Requests+s.Unsent, want)
		}
		if len(s.SLO) != 1 || !s.SLO[0].OK || s.Histograms.Corrected == "" {
			t.Errorf("segment %d: verdicts %+v, histogram %q", i, s.SLO, s.Histograms.Corrected)
		}
		h, err := results.DecodeSegmentHistogram(s.Histograms.Corrected)
		if err != nil || h.TotalCount() != s.Requests {
			t.Errorf("segment %d histogram: %v, %d values for %d requests", i, err, h.TotalCount(), s.Requests)
		}
	}
	if !strings.Contains(stdout, "step 2/2: 200/s") {
		t.Errorf("the text report has no row for the second step:\n%s", stdout)
	}
}

func TestAttackScheduleFailsByStep(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The second step's requests fail: the whole run stays under
		// half failed, its step does not.
		if n.Add(1) > 60 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	code, stdout, stderr := perf(t, "attack", "--url", srv.URL+"/", "--rate", "steps:60,20/1s",
		"--slo", "errors<=25%", "--out-dir", t.TempDir(), "--max-lag", "1s")
	if code != exitGate {
		t.Fatalf("exit %d, want %d (an SLO failed in a step)\n%s\n%s", code, exitGate, stdout, stderr)
	}
	if !strings.Contains(stdout, "SLOs FAILED in 1 of 2 segments (step 2/2: 20/s)") {
		t.Errorf("the headline does not name the failed step:\n%s", stdout)
	}
}

func TestAttackScheduleBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--rate", "ramp:0..x/60s;50000/5m"}, `segment 1 "ramp:0..x/60s"`},
		{[]string{"--rate", "ramp:0..100/1s;hold:5/0s"}, `segment 2 "hold:5/0s"`},
		{[]string{"--rate", "steps:100,200/1s", "--duration", "5s"}, "sets its own length"},
		{[]string{"--rate", "@/nonexistent/plan.csv"}, "/nonexistent/plan.csv"},
	} {
		code, _, stderr := perf(t, append([]string{"attack", "--url", "http://127.0.0.1:1/", "--out-dir", t.TempDir()}, tc.args...)...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d naming %q", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
}

// runSearchCLI runs perf attack search with short steps against url, with
// a send-lag bound that a loaded machine does not reach (the generator-bound
// test caps the generator's connections instead).
func runSearchCLI(t *testing.T, url string, args ...string) (code int, stdout, stderr, dir string) {
	t.Helper()
	out := t.TempDir()
	code, stdout, stderr = perf(t, append([]string{"attack", "search", "--url", url, "--out-dir", out,
		"--step", "1s", "--warmup", "200ms", "--cooldown", "0s", "--recover", "2s", "--max-lag", "1s"}, args...)...)
	if entries, _ := os.ReadDir(out); len(entries) == 1 {
		dir = filepath.Join(out, entries[0].Name())
	}
	return code, stdout, stderr, dir
}

func TestSearchGeneratorBoundCLI(t *testing.T) {
	url, stop, err := lindley.Listen(lindley.Parallel(20 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	code, stdout, stderr, dir := runSearchCLI(t, url+"/", "--slo", "p99<=200ms", "--min", "40", "--max", "5000",
		"--workers", "2", "--max-workers", "2", "--output", "json")
	if code != exitSearchGeneratorBound {
		t.Fatalf("exit %d, want %d (generator-bound)\n%s\n%s", code, exitSearchGeneratorBound, stdout, stderr)
	}
	s, err := results.LoadSearch(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, results.SearchFile))
	if stdout != string(b) {
		t.Errorf("--output json printed something else than search.json")
	}
	if s.Outcome != results.SearchGeneratorBound || s.GeneratorBoundAt == nil || len(s.Steps) < 2 {
		t.Fatalf("outcome %s, steps %d", s.Outcome, len(s.Steps))
	}
	for _, st := range s.Steps {
		r, err := results.LoadRunDir(filepath.Join(dir, st.Dir))
		if err != nil {
			t.Errorf("step %d: %v", st.Index, err)
			continue
		}
		if r.Run.Rate.Target != st.Offered {
			t.Errorf("step %d offered %.0f/s, its run planned %.0f/s", st.Index, st.Offered, r.Run.Rate.Target)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "report.html")); err != nil {
		t.Errorf("no knee report: %v", err)
	}
	if !strings.Contains(stderr, "GENERATOR-BOUND") {
		t.Errorf("progress on stderr does not show the verdict:\n%s", stderr)
	}
	// perf report reads a search directory as the search.
	code, stdout, stderr = perf(t, "report", dir)
	if code != 0 || !strings.Contains(stdout, "generator-bound") {
		t.Errorf("perf report %s: exit %d\n%s\n%s", dir, code, stdout, stderr)
	}
	if code, stdout, _ = perf(t, "report", "--output", "json", dir); code != 0 || stdout != string(b) {
		t.Errorf("perf report --output json of a search: exit %d, not its search.json", code)
	}
}

func TestSearchOutcomesCLI(t *testing.T) {
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer fast.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer failing.Close()
	for _, tc := range []struct {
		name    string
		url     string
		args    []string
		code    int
		outcome string
	}{
		{"passes at max", fast.URL + "/", []string{"--min", "50", "--max", "100", "--confirm", "1"}, exitSearchPassesAtMax, results.SearchPassesAtMax},
		{"fails at min", failing.URL + "/", []string{"--min", "50", "--max", "100"}, exitSearchFailsAtMin, results.SearchFailsAtMin},
		{"time limit", fast.URL + "/", []string{"--min", "50", "--max", "100", "--time-limit", "1s"}, exitSearchTimeLimit, results.SearchTimeLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr, dir := runSearchCLI(t, tc.url, append([]string{"--slo", "p99<=500ms", "--slo", "errors<=0"}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tc.code, stdout, stderr)
			}
			s, err := results.LoadSearch(dir)
			if err != nil || s.Outcome != tc.outcome {
				t.Fatalf("search.json: %v, outcome %q, want %q", err, s.Outcome, tc.outcome)
			}
		})
	}
}

func TestSearchBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--min", "100", "--max", "1000"}, "--slo"},
		{[]string{"--slo", "p99<=25ms", "--max", "1000"}, "--min"},
		{[]string{"--slo", "p99<=25ms", "--min", "100", "--max", "1000", "--precision", "two"}, `--precision "two"`},
		{[]string{"--slo", "p99<=+5ms", "--min", "100", "--max", "1000"}, "p99<=+5ms"},
		{[]string{"--slo", "p99<=25ms", "--min", "1000", "--max", "100"}, "max"},
	} {
		code, _, stderr, _ := runSearchCLI(t, "http://127.0.0.1:1/", tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d naming %q", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
}

// TestScheduleShardsMerge splits a schedule between three generators and
// merges them: the shards send exactly the plan between them, segment by
// segment.
func TestScheduleShardsMerge(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	out := t.TempDir()
	var dirs []string
	for i := 1; i <= 3; i++ {
		code, stdout, stderr := perf(t, "attack", "--url", srv.URL+"/", "--rate", "steps:100,200/1s;ramp:200..0/500ms",
			"--shard", fmt.Sprintf("%d/3", i), "--out-dir", filepath.Join(out, fmt.Sprint(i)), "--max-lag", "1s")
		if code != 0 {
			t.Fatalf("shard %d: exit %d\n%s\n%s", i, code, stdout, stderr)
		}
		dirs = append(dirs, onlyRunDir(t, filepath.Join(out, fmt.Sprint(i))))
	}
	merged := filepath.Join(out, "merged")
	if code, _, stderr := runWithMerge(t, append(append([]string{"report", "merge"}, dirs...), "--out", merged)...); code != exitOK {
		t.Fatalf("merge: exit %d: %s", code, stderr)
	}
	run := readRunJSON(t, merged)
	if len(run.Segments) != 3 {
		t.Fatalf("merged run has %d segments, want 3", len(run.Segments))
	}
	// The plan's hits: 100, 200 and the ramp's 50; shards split each
	// segment's global hits exactly, so the sums are the plan's (the
	// ramp's last hit is due at its very end, counted in or out by one).
	for i, want := range []int64{100, 200, 50} {
		s := run.Segments[i]
		if d := s.Requests + s.Unsent - want; d < 0 || d > 1 {
			t.Errorf("merged segment %q holds %d hits, want %d", s.Label, s.Requests+s.Unsent, want)
		}
	}
}
