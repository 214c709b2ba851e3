package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/perf-tools/perf/results"
)

// runWithMerge runs the perf command tree with "report merge" in it (added
// here when perf report does not have it yet) and returns the exit code
// and output, as run does.
func runWithMerge(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	root := newRootCmd()
	var report *cobra.Command
	for _, c := range root.Commands() {
		if c.Name() == "report" {
			report = c
		}
	}
	if report == nil {
		t.Fatal("no report command")
	}
	found := false
	for _, c := range report.Commands() {
		found = found || c.Name() == "merge"
	}
	if !found {
		m := newReportMergeCmd()
		report.AddCommand(m)
		propagateFlagErrors(m)
	}
	var stdout, stderr bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	err := root.ExecuteContext(context.Background())
	if err != nil {
		stderr.WriteString(err.Error())
		return exitCode(err), stdout.String(), stderr.String()
	}
	return exitOK, stdout.String(), stderr.String()
}

// writeMergeSource writes a run directory of one generator with the results
// writers: seconds one-second intervals (no warm-up), each with the latencies
// lat, and returns it.
func writeMergeSource(t *testing.T, parent, name string, start time.Time, seconds int, lat []time.Duration, valid bool) string {
	t.Helper()
	dir, err := results.NewRunDir(parent, name, start)
	if err != nil {
		t.Fatal(err)
	}
	var intervals []results.Interval
	total := results.NewHistogram()
	for i := range seconds {
		iv := results.Interval{
			Start: start.Add(time.Duration(i) * time.Second), End: start.Add(time.Duration(i+1) * time.Second),
			Corrected: results.NewHistogram(), Service: results.NewHistogram(), Lag: results.NewHistogram(),
			Intended: int64(len(lat)),
		}
		for _, d := range lat {
			results.Record(iv.Corrected, d)
			results.Record(iv.Service, d)
		}
		total.Merge(iv.Corrected)
		intervals = append(intervals, iv)
	}
	n := int64(seconds * len(lat))
	run := &results.Run{
		Name: name, StartedAt: start, DurationS: float64(seconds), Target: "http://127.0.0.1:1/",
		Rate:     results.Rate{Target: float64(len(lat)), Achieved: float64(len(lat))},
		Requests: n, StatusCodes: map[string]int64{"200": n},
		Latency: results.Latency{Corrected: results.Summarize(total), Service: results.Summarize(total)},
		Valid:   valid,
	}
	if !valid {
		run.InvalidReasons = []string{"send lag p99 above 10ms"}
	}
	return writeRunDir(t, dir, run, intervals)
}

func TestReportMerge(t *testing.T) {
	tmp := t.TempDir()
	start := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	var fast, slow []time.Duration
	for i := 1; i <= 100; i++ {
		fast = append(fast, time.Duration(i)*10*time.Microsecond)
		slow = append(slow, time.Duration(i)*time.Millisecond)
	}
	a := writeMergeSource(t, tmp, "gen-0", start, 3, fast, true)
	b := writeMergeSource(t, tmp, "gen-1", start.Add(100*time.Millisecond), 3, slow, false)
	out := filepath.Join(tmp, "merged")

	code, stdout, stderr := runWithMerge(t, "report", "merge", a, b, "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.TrimSpace(stdout) != out {
		t.Errorf("stdout %q, want the merged directory %q", stdout, out)
	}
	if !strings.Contains(stderr, "merged 2 runs: 600 requests") || !strings.Contains(stderr, "INVALID") {
		t.Errorf("stderr %q", stderr)
	}
	run, err := results.ReadRun(out)
	if err != nil {
		t.Fatal(err)
	}
	want := results.NewHistogram()
	for range 3 {
		for _, d := range append(append([]time.Duration{}, fast...), slow...) {
			results.Record(want, d)
		}
	}
	if run.Requests != 600 || run.Valid || run.Latency.Corrected != results.Summarize(want) {
		t.Errorf("merged run: requests %d valid %v corrected %+v, want 600 false %+v",
			run.Requests, run.Valid, run.Latency.Corrected, results.Summarize(want))
	}

	if _, err := os.Stat(filepath.Join(out, results.HTMLFile)); err != nil {
		t.Errorf("no HTML report in the merged run: %v", err)
	}
	if strings.Contains(stderr, "warning") {
		t.Errorf("stderr %q", stderr)
	}

	// perf report reads the merged directory as any run directory.
	code, stdout, stderr = runWithMerge(t, "report", "--output", "json", out)
	if code != exitOK || !strings.Contains(stdout, `"requests": 600`) {
		t.Errorf("perf report on the merged run: exit %d\n%s\n%s", code, stdout, stderr)
	}

	// Usage errors: too few directories, no --out, a non-empty --out.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "merge", a, "--out", filepath.Join(tmp, "x")}, "expected at least 2"},
		{[]string{"report", "merge", a, b}, "--out DIR is required"},
		{[]string{"report", "merge", a, b, "--out", out}, "not empty"},
		{[]string{"report", "merge", a, b, "--out", filepath.Join(a, results.RunFile)}, "not a directory"},
		{[]string{"report", "merge", a, b, "--bogus"}, "unknown flag"},
	} {
		code, _, stderr := runWithMerge(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
	// Not a run directory: a runtime error naming it.
	code, _, stderr = runWithMerge(t, "report", "merge", a, tmp, "--out", filepath.Join(tmp, "y"))
	if code != exitRuntime || !strings.Contains(stderr, "not a perf run directory") {
		t.Errorf("merging a non-run directory: exit %d, stderr %q", code, stderr)
	}
}

// TestReportMergeGlob checks the README's sharded example: when the shell's
// glob matches nothing it passes the pattern on as it is, and perf says the
// pattern matches nothing (a usage error) rather than that no such directory
// exists; a quoted pattern that matches is expanded, as perf compare does.
func TestReportMergeGlob(t *testing.T) {
	tmp := t.TempDir()
	start := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	lat := []time.Duration{time.Millisecond, 2 * time.Millisecond}
	for _, gen := range []string{"gen-0", "gen-1"} {
		writeMergeSource(t, filepath.Join(tmp, gen, "perf-results"), "shard-"+gen[len(gen)-1:], start, 2, lat, true)
	}

	nothing := filepath.Join(tmp, "gen-*", "perf-results", "*-shard-x*")
	code, _, stderr := runWithMerge(t, "report", "merge", nothing, "--out", filepath.Join(tmp, "m0"))
	if want := `run directories "` + nothing + `": the pattern matches nothing`; code != exitUsage || !strings.Contains(stderr, want) {
		t.Errorf("unmatched pattern: exit %d, stderr %q; want exit %d and %q", code, stderr, exitUsage, want)
	}
	code, _, stderr = runWithMerge(t, "report", "merge", filepath.Join(tmp, "gen-["), filepath.Join(tmp, "x"), "--out", filepath.Join(tmp, "m1"))
	if code != exitUsage || !strings.Contains(stderr, "bad pattern") {
		t.Errorf("malformed pattern: exit %d, stderr %q; want exit %d and a bad pattern", code, stderr, exitUsage)
	}
	// perf report reads its arguments the same way.
	code, _, stderr = runWithMerge(t, "report", nothing)
	if code != exitUsage || !strings.Contains(stderr, "the pattern matches nothing") {
		t.Errorf("perf report with an unmatched pattern: exit %d, stderr %q", code, stderr)
	}

	// The pattern of the README, quoted so that perf expands it.
	out := filepath.Join(tmp, "merged")
	code, stdout, stderr := runWithMerge(t, "report", "merge", filepath.Join(tmp, "gen-*", "perf-results", "*-shard-*"), "--out", out)
	if code != exitOK || strings.TrimSpace(stdout) != out || !strings.Contains(stderr, "merged 2 runs: 8 requests") {
		t.Errorf("quoted pattern: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
