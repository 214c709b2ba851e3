package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/perf-tools/perf/internal/golden"
	"github.com/perf-tools/perf/results"
)

// segmentedRun is sampleRun with a rate schedule of three steps: the
// first passes, the second fails its p99 bound, the third has hits never
// sent and no response at all.
func segmentedRun() *results.Run {
	r := sampleRun()
	r.Name = "steps"
	r.Rate = results.Rate{Target: 2000, Achieved: 1990, Plan: "steps:1000..3000+1000/10s"}
	seg := func(k int, planned, achieved float64, req, unsent, errs int64, p99 float64, ok bool) results.Segment {
		s := results.Segment{
			Label: fmt.Sprintf("step %d/3: %s/s", k, results.FormatFloat(planned, 0)), Spec: "steps:1000..3000+1000/10s",
			StartS: float64(10 * (k - 1)), DurationS: 10,
			Rate:     results.Rate{Target: planned, Achieved: achieved},
			Requests: req, Unsent: unsent, Errors: errs,
			StatusCodes: map[string]int64{"200": req - errs},
			Latency: results.Latency{
				Corrected: results.Percentiles{P50: 1.5 * float64(k), P90: 3, P95: 4, P99: p99, P999: 2 * p99, Max: 3 * p99, Mean: 2},
				Service:   results.Percentiles{P50: 1, P90: 2, P95: 3, P99: p99 / 2, P999: p99, Max: 2 * p99, Mean: 1.5},
			},
			SLO: []results.Verdict{
				{Expr: "p99 <= 25ms", OK: ok, Observed: "p99 " + results.FormatFloat(p99, 3) + "ms"},
				{Expr: "errors <= 0.01%", OK: errs == 0, Observed: "errors"},
			},
		}
		return s
	}
	last := seg(3, 3000, 0, 120, 29880, 120, 0, true)
	last.StatusCodes = map[string]int64{}
	last.ErrorKinds = map[string]int64{"connection refused": 120}
	last.Latency = results.Latency{}
	r.Segments = []results.Segment{
		seg(1, 1000, 999.9, 9999, 0, 0, 4.25, true),
		seg(2, 2000, 1980.5, 19805, 0, 3, 31.5, false),
		last,
	}
	return r
}

func TestReportSegmentsGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		runs []*results.Run
	}{
		{"segments", []*results.Run{segmentedRun()}},
		{"segments-two", []*results.Run{segmentedRun(), sampleRun()}},
	} {
		for _, format := range Formats {
			ext := map[string]string{FormatText: "txt", FormatJSON: "json", FormatMarkdown: "md"}[format]
			t.Run(tc.name+"."+ext, func(t *testing.T) {
				var buf bytes.Buffer
				if err := Write(&buf, format, tc.runs...); err != nil {
					t.Fatal(err)
				}
				golden.Check(t, filepath.Join("report", tc.name+"."+ext), buf.Bytes())
			})
		}
	}
}

// TestReportSegmentsTable checks the segments table's content in words:
// one row a segment after the run's tables, its rates, counts, latency
// and verdicts; a segment without a response shows no latency.
func TestReportSegmentsTable(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, FormatText, segmentedRun()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	i := strings.Index(out, "\nSegments ")
	if i < 0 || i < strings.Index(out, "\nVerdict ") {
		t.Fatalf("no Segments table after the run's tables:\n%s", out)
	}
	rows := strings.Split(strings.TrimSpace(out[i:]), "\n")
	if len(rows) != 4 {
		t.Fatalf("segments table has %d lines, want a header and 3 rows:\n%s", len(rows), out[i:])
	}
	for k, want := range []string{
		`^step 1/3: 1000/s +1000 +999.9 +9999 +0 +0 \(0%\) +1.500 +4.250 +8.500 +12.750  p99 <= 25ms ok, errors <= 0.01% ok$`,
		`^step 2/3: 2000/s +2000 +1980.5 +19805 +0 +3 \(0.015%\) +3.000 +31.500 +63.000 +94.500  p99 <= 25ms FAILED, errors <= 0.01% FAILED$`,
		`^step 3/3: 3000/s +3000 +0 +120 +29880 +120 \(100%\) +- +- +- +-  p99 <= 25ms ok, errors <= 0.01% FAILED$`,
	} {
		if !regexp.MustCompile(want).MatchString(rows[k+1]) {
			t.Errorf("segment %d: %q, want it to match %s", k+1, rows[k+1], want)
		}
	}
	// A run without segments has no such table.
	buf.Reset()
	if err := Write(&buf, FormatMarkdown, sampleRun()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "Segments") {
		t.Errorf("a run without segments has a Segments table:\n%s", buf.String())
	}
}

// stepsRun writes a run of five steps of 100 to 500 requests/s, 4s each
// after a 2s warm-up, whose latency grows with the rate: the p99 bound
// (25ms) fails from the third step.
func stepsRun(t *testing.T, dir string) *results.RunDir {
	t.Helper()
	writeHTMLTestRun(t, dir, htmlTestRun{name: "steps", scale: 1, warmup: 2, seconds: 20, stallAt: -1, host: true,
		steps: []int{100, 200, 300, 400, 500}, stepS: 4})
	return loadHTMLTestRuns(t, dir)[0]
}

func TestHTMLSegmentsGolden(t *testing.T) {
	d := stepsRun(t, filepath.Join(t.TempDir(), "20261127T120000Z-steps"))
	var buf bytes.Buffer
	if err := WriteHTML(&buf, d); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("report", "segments.html"), buf.Bytes())
}

var pointRE = regexp.MustCompile(`<g class="point ([a-z0-9]+) run-(\d+) ([a-z-]+)" data-value="([^"]*)">`)

// pointsIn returns the markers of the plot id: kind, verdict and value.
func pointsIn(t *testing.T, page, id string) [][3]string {
	t.Helper()
	var out [][3]string
	for _, m := range pointRE.FindAllStringSubmatch(svgOf(t, page, id), -1) {
		out = append(out, [3]string{m[1], m[3], m[4]})
	}
	return out
}

// vmarksIn returns the x data values of the vertical marks of plot id.
func vmarksIn(t *testing.T, page, id string) []float64 {
	t.Helper()
	var out []float64
	for _, m := range regexp.MustCompile(`<g class="vmark" id="`+id+`-vmark-\d+" data-x="([^"]*)">`).FindAllStringSubmatch(svgOf(t, page, id), -1) {
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// TestHTMLSegments checks the Segments section of a run of steps: a table
// row a step, a marker a step and percentile at the step's planned rate
// with the value of run.json, the SLO latency bounds across, and the
// steps' starts marked on every plot over time, after the warm-up.
func TestHTMLSegments(t *testing.T) {
	d := stepsRun(t, filepath.Join(t.TempDir(), "steps"))
	var buf bytes.Buffer
	if err := WriteHTML(&buf, d); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if !strings.Contains(page, `<section id="segments">`) {
		t.Fatal("no Segments section")
	}
	if n := strings.Count(page, `<tr class="segment" data-verdict=`); n != 5 {
		t.Errorf("segments table has %d rows, want 5", n)
	}
	for _, want := range []string{`<td style="text-align: left" title="steps:100..500&#43;100/4s">step 3/5: 300/s</td>`, `p99&lt;=25ms <span class="fail">FAILED</span>`, `p99&lt;=25ms <span class="pass">ok</span>`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	got := map[string]string{}
	for _, p := range pointsIn(t, page, "segments") {
		got[p[0]+" "+strings.SplitN(p[2], ",", 2)[0]] = p[1] + " " + p[2]
	}
	if len(got) != 15 {
		t.Errorf("segments plot has %d markers, want 15 (5 steps, p50 p99 p99.9): %v", len(got), got)
	}
	failed := 0
	for _, s := range d.Run.Segments {
		x := results.FormatFloat(s.Rate.Target, 0)
		verdict := segmentVerdict(s)
		if verdict == results.StepFail {
			failed++
		}
		for kind, v := range map[string]float64{"p50": s.Latency.Corrected.P50, "p99": s.Latency.Corrected.P99, "p999": s.Latency.Corrected.P999} {
			want := verdict + " " + x + "," + fv(v)
			if got[kind+" "+x] != want {
				t.Errorf("%s at %s/s: marker %q, want %q", kind, x, got[kind+" "+x], want)
			}
		}
	}
	if failed < 2 || failed > 4 {
		t.Fatalf("fixture: %d failing steps, want some to pass and some to fail", failed)
	}
	if n := strings.Count(svgOf(t, page, "segments"), `<polygon points=`); n < 3*failed {
		t.Errorf("segments plot: %d square markers, want one a failing step and percentile (%d)", n, 3*failed)
	}
	// The latency bounds of the run's SLOs: p50, p99, p99.9.
	var bounds []string
	for _, m := range regexp.MustCompile(`<g class="mark" id="segments-mark-\d+" data-y="([^"]*)">`).FindAllStringSubmatch(svgOf(t, page, "segments"), -1) {
		bounds = append(bounds, m[1])
	}
	if strings.Join(bounds, " ") != "5 25 150" {
		t.Errorf("segments plot bounds %v, want 5 25 150 (ms)", bounds)
	}
	if !strings.Contains(svgOf(t, page, "segments"), "SLO p99 &lt;= 25ms (failed in") {
		t.Error("segments plot: the failed p99 bound does not say so")
	}
	for _, id := range []string{"latency", "rate", "lag", "errors", "cpu"} {
		if got := fmt.Sprint(vmarksIn(t, page, id)); got != "[2 6 10 14 18]" {
			t.Errorf("%s: segment starts at %s, want [2 6 10 14 18] (after the 2s warm-up, every 4s)", id, got)
		}
		if !strings.Contains(page, `id="note-`+id+`">`+segmentsNote) && !strings.Contains(page, segmentsNote) {
			t.Errorf("%s: no note on the segment lines", id)
		}
	}
	if !strings.Contains(svgOf(t, page, "rate"), "<title>segment 3 starts: step 3/5: 300/s (steps:100..500&#43;100/4s)</title>") {
		t.Error("rate plot: a segment line has no title naming it")
	}
}

// TestHTMLSegmentsByIndex: segments that are no steps of distinct rates
// (a ramp, then a hold) are drawn at their number, not at their mean rate.
func TestHTMLSegmentsByIndex(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ramp")
	d := stepsRun(t, dir)
	d.Run.Segments[0].Spec = "ramp:0..100/4s"
	var buf bytes.Buffer
	if err := WriteHTML(&buf, d); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	xs := map[string]bool{}
	for _, p := range pointsIn(t, page, "segments") {
		xs[strings.SplitN(p[2], ",", 2)[0]] = true
	}
	if len(xs) != 5 || !xs["1"] || !xs["5"] || xs["500"] {
		t.Errorf("segments by index: x values %v, want 1..5", xs)
	}
	if !strings.Contains(svgOf(t, page, "segments"), `aria-label="corrected latency (ms) by segment"`) {
		t.Error("segments by index: the x axis is not labelled segment")
	}
}

// TestHTMLWithoutSegments: a run without segments has no Segments section
// and no segment lines on its plots.
func TestHTMLWithoutSegments(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "flat")
	writeHTMLTestRun(t, dir, htmlTestRun{name: "flat", scale: 1, warmup: 1, seconds: 3, rate: 100, stallAt: -1, host: true})
	if err := WriteRunHTML(dir); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, results.HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{`id="segments"`, `class="vmark"`, `class="point`, segmentsNote} {
		if bytes.Contains(page, []byte(bad)) {
			t.Errorf("a run without segments has %s", bad)
		}
	}
}
