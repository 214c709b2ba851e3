package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/perf-tools/perf/compare"
	"github.com/perf-tools/perf/results"
)

// compareTestRun returns a realistic run.json whose corrected latencies
// are scale times a baseline with a p99 of 10ms.
func compareTestRun(name string, scale float64) *results.Run {
	ms := func(v float64) float64 { return v * scale }
	return &results.Run{
		Schema:      results.Schema,
		ToolVersion: "test",
		Command:     []string{"perf", "attack", "--rate", "1000", "--duration", "30s"},
		Name:        name,
		StartedAt:   time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC),
		DurationS:   30,
		WarmupS:     5,
		Target:      "http://127.0.0.1:8080/v1/items/{key}",
		Rate:        results.Rate{Target: 1000, Achieved: 999.8, Plan: "1000/s"},
		Requests:    29994,
		StatusCodes: map[string]int64{"200": 29994},
		Latency: results.Latency{
			Corrected: results.Percentiles{P50: ms(1.2), P90: ms(4.1), P95: ms(6.3), P99: ms(10), P999: ms(18.5), Max: ms(31.2), Mean: ms(1.9)},
			Service:   results.Percentiles{P50: ms(1.1), P90: ms(3.9), P95: ms(6), P99: ms(9.1), P999: ms(15), Max: ms(25), Mean: ms(1.8)},
		},
		Lag:       results.LagSummary{P50: 0.01, P99: 0.2, Max: 1.1},
		Valid:     true,
		Generator: results.Generator{CPUMeanPercent: 22, CPUMaxPercent: 31, Workers: 10, MaxLagMS: 10},
		Host:      results.Host{Kernel: "6.1.0", CPUs: 2, GOMAXPROCS: 2, GoVersion: "go1.26"},
	}
}

func writeCompareRun(t *testing.T, dir string, r *results.Run) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := results.WriteRun(dir, r); err != nil {
		t.Fatal(err)
	}
	return dir
}

// writeRunDir writes a run directory with the results writers: run.json
// from run, and latency.hlog and timeline.csv from intervals, the log
// starting at run.StartedAt. It returns dir.
func writeRunDir(t *testing.T, dir string, run *results.Run, intervals []results.Interval) string {
	t.Helper()
	writeCompareRun(t, dir, run)
	var hlog, timeline bytes.Buffer
	hw, err := results.NewHlogWriter(&hlog, run.StartedAt)
	if err != nil {
		t.Fatal(err)
	}
	tw := results.NewTimelineWriter(&timeline)
	for _, iv := range intervals {
		if err := hw.WriteInterval(iv); err != nil {
			t.Fatal(err)
		}
		if err := tw.WriteInterval(iv); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, results.HlogFile), hlog.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, results.TimelineFile), timeline.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runCompareCLI runs the CLI in-process and returns the exit code and output.
func runCompareCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestCompareRegressionGate(t *testing.T) {
	root := t.TempDir()
	base := writeCompareRun(t, filepath.Join(root, "base"), compareTestRun("fast", 1))
	slow := writeCompareRun(t, filepath.Join(root, "slow"), compareTestRun("slow", 1.3))
	alike := writeCompareRun(t, filepath.Join(root, "alike"), compareTestRun("alike", 1.02))
	junit := filepath.Join(root, "junit.xml")
	summary := filepath.Join(root, "summary.md")
	t.Setenv("GITHUB_STEP_SUMMARY", summary)

	code, out, errOut := runCompareCLI(t, "compare", base, slow, "--gate", "p99<=+10%", "--gate", "errors<=0", "--junit", junit)
	if code != exitGate {
		t.Fatalf("slow candidate: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitGate, out, errOut)
	}
	if !strings.Contains(out, "FAIL  p99<=+10%") || !strings.Contains(errOut, "1 of 2 gates failed: p99<=+10%") {
		t.Errorf("slow candidate: output does not name the failed gate:\n%s\n%s", out, errOut)
	}
	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &suites); err != nil {
		t.Fatalf("junit: %v\n%s", err, data)
	}
	s := suites.Suites[0]
	if s.Failures != 1 || s.Cases[0].Name != "p99<=+10%" || s.Cases[0].Failure == nil ||
		!strings.Contains(s.Cases[0].Failure.Message, "observed +30.0% (10.0ms -> 13.0ms), allowed <= +10%") {
		t.Errorf("junit does not say which gate failed and why:\n%s", data)
	}
	md, err := os.ReadFile(summary)
	if err != nil || !strings.Contains(string(md), "### perf compare: FAIL (1 of 2 gates failed)") {
		t.Errorf("step summary: %v\n%s", err, md)
	}

	// Two alike runs pass; the step summary grows by a second section.
	code, out, errOut = runCompareCLI(t, "compare", base, alike, "--gate", "p99<=+10%", "--gate", "errors<=0", "--gate", "rate>=-1%", "--output", "json")
	if code != exitOK {
		t.Fatalf("alike runs: exit %d\n%s\n%s", code, out, errOut)
	}
	var c compare.Comparison
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("--output json: %v\n%s", err, out)
	}
	if len(c.Gates) != 3 || len(c.Failed()) != 0 || !c.Valid {
		t.Errorf("alike runs: %+v", c)
	}
	md, _ = os.ReadFile(summary)
	if n := strings.Count(string(md), "### perf compare:"); n != 2 {
		t.Errorf("step summary holds %d comparisons, want 2", n)
	}
}

func TestCompareRepeatedRunsCLI(t *testing.T) {
	root := t.TempDir()
	for i, s := range []float64{1, 1.01, 0.99, 1.02, 0.98} {
		writeCompareRun(t, filepath.Join(root, "base", "r"+string(rune('1'+i))), compareTestRun("base", s))
		writeCompareRun(t, filepath.Join(root, "cand", "r"+string(rune('1'+i))), compareTestRun("cand", s*1.3))
	}
	code, out, errOut := runCompareCLI(t, "compare", filepath.Join(root, "base"), filepath.Join(root, "cand", "r*"), "--gate", "p99<=+10%")
	if code != exitGate || !strings.Contains(out, "p=0.008 n=5+5") {
		t.Fatalf("5+5 runs 30%% slower: exit %d\n%s\n%s", code, out, errOut)
	}
	// The same sides with flags; three runs a side cannot be significant.
	code, out, errOut = runCompareCLI(t, "compare",
		"--base", filepath.Join(root, "base", "r1")+","+filepath.Join(root, "base", "r2"), "--base", filepath.Join(root, "base", "r3"),
		"--candidate", filepath.Join(root, "cand", "r[123]"), "--gate", "p99<=+10%")
	if code != exitOK || !strings.Contains(out, "~ (p=0.100 n=3+3)") || !strings.Contains(out, "no change can be significant") {
		t.Fatalf("3+3 runs: exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestCompareInvalidInput(t *testing.T) {
	root := t.TempDir()
	base := writeCompareRun(t, filepath.Join(root, "base"), compareTestRun("base", 1))
	bad := compareTestRun("saturated", 1)
	bad.Valid = false
	bad.InvalidReasons = []string{"generator CPU saturated: max 100% of GOMAXPROCS"}
	invalid := writeCompareRun(t, filepath.Join(root, "invalid"), bad)
	empty := filepath.Join(root, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(root, "other")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, results.RunFile), []byte(`{"schema": "perf.run/v9", "name": "future"}`), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"invalid run", []string{base, invalid, "--gate", "p99<=+10%"}, exitInvalid, "invalid runs, the comparison cannot pass: candidate run " + invalid + ": generator CPU saturated"},
		{"not a run", []string{base, empty}, exitRuntime, "candidate: " + empty + " is not a perf run directory: run.json missing"},
		{"other schema", []string{other, base}, exitRuntime, `unsupported run.json schema "perf.run/v9"; this perf reads "perf.run/v1"`},
		{"malformed gate", []string{base, base, "--gate", "p99<=10"}, exitUsage, `invalid gate "p99<=10": expected a duration with a unit`},
		{"one argument", []string{base}, exitUsage, "accepts 2 arguments"},
		{"bad output", []string{base, base, "--output", "html"}, exitUsage, `--output "html": expected text, json or markdown`},
		{"mixed forms", []string{base, "--base", base, "--candidate", base}, exitUsage, "either as BASE CANDIDATE arguments or with --base"},
		{"unmatched pattern", []string{base, filepath.Join(root, "cand-*")}, exitUsage, `candidate: run directories "` + filepath.Join(root, "cand-*") + `": the pattern matches nothing`},
		{"unmatched pattern in a list", []string{base + "," + filepath.Join(root, "b?se-*"), base}, exitUsage, `run directories "` + filepath.Join(root, "b?se-*") + `": the pattern matches nothing`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCompareCLI(t, append([]string{"compare"}, tt.args...)...)
			if code != tt.code || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("exit %d, want %d; stderr %q, want it to contain %q\nstdout:\n%s", code, tt.code, errOut, tt.stderr, out)
			}
		})
	}
}

func TestCompareFlags(t *testing.T) {
	var got *compareOptions
	cmd := compareCmd(func(_ context.Context, o *compareOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"a,b", "c", "--gate", "p99<=+10%", "--gate", "rate>=-1%", "-o", "markdown", "--junit", "j.xml", "--alpha", "0.01"})
	cmd.SetOut(&bytes.Buffer{})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.base, "|") != "a,b" || strings.Join(got.candidate, "|") != "c" ||
		strings.Join(got.gates, "|") != "p99<=+10%|rate>=-1%" || got.output != "markdown" || got.junit != "j.xml" || got.alpha != 0.01 {
		t.Errorf("options = %+v", got)
	}
}

// writeHTMLRunDir writes a small but complete run directory with the
// results writers: run.json, latency.hlog and timeline.csv, no host.json.
func writeHTMLRunDir(t *testing.T, dir string) {
	t.Helper()
	run := compareTestRun("html", 1)
	var intervals []results.Interval
	for sec := 0; sec < 5; sec++ {
		iv := results.Interval{
			Start: run.StartedAt.Add(time.Duration(sec) * time.Second), End: run.StartedAt.Add(time.Duration(sec+1) * time.Second),
			Warmup: sec == 0, Corrected: results.NewHistogram(), Service: results.NewHistogram(), Lag: results.NewHistogram(),
			Intended: 200,
		}
		for i := 0; i < 200; i++ {
			d := time.Millisecond + time.Duration(i*i)*time.Microsecond/10
			results.Record(iv.Corrected, d+50*time.Microsecond)
			results.Record(iv.Service, d)
			results.Record(iv.Lag, 50*time.Microsecond)
		}
		intervals = append(intervals, iv)
	}
	writeRunDir(t, dir, run, intervals)
}

func TestReportHTML(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	writeHTMLRunDir(t, a)
	writeHTMLRunDir(t, b)
	code, out, errOut := runCompareCLI(t, "report", "--output", "html", a, b)
	if code != exitOK {
		t.Fatalf("perf report --output html: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{"<!DOCTYPE html>", `<svg id="spectrum"`, `class="series corrected run-1"`, `id="note-cpu">No host.json for a, b`} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if err := os.Remove(filepath.Join(b, results.TimelineFile)); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCompareCLI(t, "report", "--output", "html", a, b)
	if code != exitRuntime || !strings.Contains(errOut, filepath.Join(b, results.TimelineFile)) {
		t.Errorf("run without timeline.csv: exit %d, stderr %q, want exit 1 naming the file", code, errOut)
	}
}

// TestCompareRunCountAdvice checks that perf compare's help, the README and
// the note compare.Runs prints give the same least number of runs a side,
// and that it is right: the smallest two-sided p of the exact Mann-Whitney
// test with n runs a side, 2/C(2n, n), computed here and not by the code
// under test, is at least alpha 0.05 one run below it and under 0.05 at it.
func TestCompareRunCountAdvice(t *testing.T) {
	minP := func(n int) float64 {
		c := 1.0 // C(2n, n)
		for i := 1; i <= n; i++ {
			c = c * float64(n+i) / float64(i)
		}
		return 2 / c
	}
	least := regexp.MustCompile(`at least (\d+)\s+runs\s+a\s+side`)
	help := newCompareCmd().Long
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	base := []*results.Run{compareTestRun("b1", 1), compareTestRun("b2", 1.01), compareTestRun("b3", 0.99)}
	cand := []*results.Run{compareTestRun("c1", 1.3), compareTestRun("c2", 1.31), compareTestRun("c3", 1.29)}
	c, err := compare.Runs(base, cand, nil, compare.Options{Alpha: compare.DefaultAlpha})
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"help": help, "README": string(readme), "3+3 note": strings.Join(c.Notes, "\n")} {
		m := least.FindStringSubmatch(text)
		if m == nil {
			t.Errorf("%s does not say how many runs a side are needed at least", name)
			continue
		}
		n, _ := strconv.Atoi(m[1])
		if minP(n-1) < 0.05 || minP(n) >= 0.05 {
			t.Errorf("%s: at least %d runs a side; but the smallest p is %.4f with %d and %.4f with %d a side",
				name, n, minP(n-1), n-1, minP(n), n)
		}
	}
	// The help and the README advise the same number, enough that one run
	// out of order does not hide a change (two-sided p at U=1 is 4/C(2n, n)).
	use := regexp.MustCompile(`Use (\d+) or more runs\s+a\s+side`)
	hm, rm := use.FindStringSubmatch(help), use.FindStringSubmatch(string(readme))
	if hm == nil || rm == nil || hm[1] != rm[1] {
		t.Fatalf("help advises %v, README %v: want the same number of runs a side", hm, rm)
	}
	if n, _ := strconv.Atoi(hm[1]); 2*minP(n) >= 0.05 {
		t.Errorf("advised %d runs a side: one run out of order gives p %.3f, not significant", n, 2*minP(n))
	}
}
