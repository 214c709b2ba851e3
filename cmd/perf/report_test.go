package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/perf-tools/perf/report"
	"github.com/perf-tools/perf/results"
)

// TestReportFlags checks flag parsing without running the report.
func TestReportFlags(t *testing.T) {
	cmd := newReportCmd()
	if err := cmd.ParseFlags([]string{"-o", "markdown"}); err != nil {
		t.Fatal(err)
	}
	if got := cmd.Flag("output").Value.String(); got != "markdown" {
		t.Errorf("--output = %q, want markdown", got)
	}
	if got := newReportCmd().Flag("output").DefValue; got != report.FormatText {
		t.Errorf("--output default = %q, want text", got)
	}
	if newReportCmd().Example == "" || newReportCmd().Long == "" {
		t.Error("perf report has no Example or Long help")
	}
}

// TestReportRunDir reports a run directory written through package
// results, as perf attack writes one, and checks the exit codes.
func TestReportRunDir(t *testing.T) {
	started := time.Date(2026, 11, 27, 12, 34, 56, 0, time.UTC)
	dir, err := results.NewRunDir(t.TempDir(), "cmd test", started)
	if err != nil {
		t.Fatal(err)
	}
	h := results.NewHistogram()
	for i := 1; i <= 1000; i++ {
		results.Record(h, time.Duration(i)*10*time.Microsecond)
	}
	run := &results.Run{
		Schema:    results.Schema,
		Name:      "cmd test",
		StartedAt: started,
		DurationS: 1,
		Target:    "http://127.0.0.1:1/v1/items/{key}",
		Rate:      results.Rate{Target: 1000, Achieved: 1000},
		Requests:  1000,
		Latency:   results.Latency{Corrected: results.Summarize(h), Service: results.Summarize(h)},
		Valid:     true,
	}
	slo, err := results.ParseSLO("p99 <= 5ms")
	if err != nil {
		t.Fatal(err)
	}
	run.SLO = []results.Verdict{slo.Evaluate(run)}
	if err := results.WriteRun(dir, run); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	if code := reportCLI(t, []string{"report", dir}, &stdout, &stderr); code != exitOK {
		t.Fatalf("perf report: exit %d, stderr %s", code, stderr.String())
	}
	for _, want := range []string{"Run           cmd test\n", "p99               9.904    9.904\n", "slo p99 <= 5ms  FAIL (p99 9.904ms)\n"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, stdout.String())
		}
	}

	stdout.Reset()
	if code := reportCLI(t, []string{"report", "--output", "json", dir}, &stdout, &stderr); code != exitOK {
		t.Fatalf("perf report --output json: exit %d, stderr %s", code, stderr.String())
	}
	file, err := os.ReadFile(filepath.Join(dir, results.RunFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stdout.Bytes(), file) {
		t.Errorf("--output json differs from run.json:\n%s\nrun.json:\n%s", stdout.Bytes(), file)
	}

	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"report", "--output", "html5", dir}, exitUsage, `--output "html5": expected text, json, markdown`},
		{[]string{"report"}, exitUsage, "requires at least 1 arg"},
		{[]string{"report", filepath.Dir(dir)}, exitRuntime, "is not a perf run directory: run.json missing"},
	} {
		stdout.Reset()
		stderr.Reset()
		if code := reportCLI(t, tc.args, &stdout, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.err) {
			t.Errorf("perf %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, stderr.String(), tc.code, tc.err)
		}
		if stdout.Len() != 0 {
			t.Errorf("perf %s printed on stdout: %s", strings.Join(tc.args, " "), stdout.String())
		}
	}
}

// reportCLI runs perf in-process with args.
func reportCLI(t *testing.T, args []string, stdout, stderr *bytes.Buffer) int {
	t.Helper()
	return run(context.Background(), args, strings.NewReader(""), stdout, stderr)
}
