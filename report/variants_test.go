package report

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/perf-tools/perf/internal/golden"
	"github.com/perf-tools/perf/results"
)

// splitRun is sampleRun split by X-Variant:doc-view into compact (fast,
// its SLO passed), full (slow, its SLO failed, one error status) and
// (none).
func splitRun() *results.Run {
	r := sampleRun()
	r.Name = "ab"
	r.SplitBy = "X-Variant:doc-view"
	pc := func(p50, p99 float64) results.Percentiles {
		return results.Percentiles{P50: p50, P90: 2 * p50, P95: 3 * p50, P99: p99, P999: 1.5 * p99, Max: 2 * p99, Mean: 1.2 * p50}
	}
	n := r.Responses()
	compact, full := n/2, n/2-10
	r.Variants = []results.Variant{
		{Name: "compact", Responses: compact, StatusCodes: map[string]int64{"200": compact}, RateAchieved: 500,
			Latency: results.Latency{Corrected: pc(0.8, 4.2), Service: pc(0.7, 3.9)},
			SLO:     []results.Verdict{{Expr: "p99[compact]<=10ms", OK: true, Observed: "[compact] p99 4.2ms"}}},
		{Name: "full", Responses: full, Errors: 1, StatusCodes: map[string]int64{"200": full - 1, "503": 1}, RateAchieved: 499,
			Latency: results.Latency{Corrected: pc(1.9, 12.5), Service: pc(1.7, 11)},
			SLO:     []results.Verdict{{Expr: "p99[full]<=10ms", OK: false, Observed: "[full] p99 12.5ms"}}},
		{Name: results.VariantNone, Responses: n - compact - full, StatusCodes: map[string]int64{"200": n - compact - full}, RateAchieved: 0.3,
			Latency: results.Latency{Corrected: pc(1, 2), Service: pc(1, 2)}, SLO: []results.Verdict{}},
	}
	r.SLO = append(r.SLO, r.Variants[0].SLO[0], r.Variants[1].SLO[0])
	return r
}

func TestReportVariantsGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		runs []*results.Run
	}{
		{"variants", []*results.Run{splitRun()}},
		{"variants-two", []*results.Run{splitRun(), sampleRun()}},
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

// TestReportVariantsTable checks the variants table in words: after the
// run's tables, a row a variant with its share of the responses, its
// errors, its corrected percentiles and service p99, and its verdicts.
func TestReportVariantsTable(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, FormatText, splitRun()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	i := strings.Index(out, "\nVariants (X-Variant:doc-view) ")
	if i < 0 || i < strings.Index(out, "\nVerdict ") {
		t.Fatalf("no Variants table after the run's tables:\n%s", out)
	}
	rows := strings.Split(strings.TrimSpace(out[i:]), "\n")
	if len(rows) != 4 {
		t.Fatalf("variants table has %d lines, want a header and 3 rows:\n%s", len(rows), out[i:])
	}
	for k, want := range []string{
		`^compact +4993 +50% +0 \(0%\) +0.800 +1.600 +4.200 +6.300 +8.400 +3.900  p99\[compact\]<=10ms ok$`,
		`^full +4983 +49.9% +1 \(0.02%\) +1.900 +3.800 +12.500 +18.750 +25.000 +11.000  p99\[full\]<=10ms FAILED$`,
		`^\(none\) +10 +0.1% +0 \(0%\) +1.000 +2.000 +2.000 +3.000 +4.000 +2.000  -$`,
	} {
		if !regexp.MustCompile(want).MatchString(rows[k+1]) {
			t.Errorf("variant %d: %q, want it to match %s", k+1, rows[k+1], want)
		}
	}
	if !strings.Contains(out, "variant SLOs FAILED: p99[full]<=10ms") {
		t.Errorf("the headline does not name the failed variant SLO:\n%s", out)
	}
	buf.Reset()
	if err := Write(&buf, FormatMarkdown, sampleRun()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "Variants") {
		t.Errorf("a run without variants has a Variants table:\n%s", buf.String())
	}
}

// writeVariantRunDir writes a run directory split into variants fast
// (1ms a response) and slow (20ms), a second each of 3 (the first warm-up),
// with the SLOs p99[fast]<=5ms and p99[slow]<=5ms evaluated.
func writeVariantRunDir(t *testing.T, dir string) {
	t.Helper()
	start := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tally := results.NewTally()
	tally.Window = 2 * time.Second
	var intervals []results.Interval
	for i := range 3 {
		iv := results.Interval{
			Start: start.Add(time.Duration(i) * time.Second), End: start.Add(time.Duration(i+1) * time.Second), Warmup: i == 0,
			Corrected: results.NewHistogram(), Service: results.NewHistogram(), Lag: results.NewHistogram(), Intended: 200,
		}
		for k, v := range []struct {
			name string
			d    time.Duration
		}{{"fast", time.Millisecond}, {"slow", 20 * time.Millisecond}} {
			vh := results.VariantHistograms{Name: v.name, Corrected: results.NewHistogram(), Service: results.NewHistogram()}
			for j := range 100 {
				d := v.d + time.Duration(j)*time.Duration(k+1)*10*time.Microsecond
				for _, h := range []*hdrhistogram.Histogram{vh.Corrected, iv.Corrected} {
					results.Record(h, d)
				}
				results.Record(vh.Service, d)
				results.Record(iv.Service, d)
				results.Record(iv.Lag, 0)
			}
			iv.Variants = append(iv.Variants, vh)
		}
		if !iv.Warmup {
			tally.AddInterval(iv)
			for _, v := range iv.Variants {
				tally.Variant(v.Name).Responses += 100
				tally.Variant(v.Name).StatusCodes["200"] += 100
			}
			tally.StatusCodes["200"] += 200
		}
		intervals = append(intervals, iv)
	}
	run := &results.Run{Schema: results.Schema, Name: "ab", StartedAt: start, WarmupS: 1, SplitBy: "X-Variant", Valid: true,
		Rate: results.Rate{Target: 200, Plan: "200/s"}}
	tally.Fill(run)
	slos, err := results.ParseSLOs([]string{"p99[fast]<=5ms", "p99[slow]<=5ms"})
	if err != nil {
		t.Fatal(err)
	}
	run.SLO = results.EvaluateSLOs(slos, run)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := results.WriteRunDir(dir, run, intervals, nil, results.WriterOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestHTMLVariants checks the Variants section: a table row a variant
// with its verdict, and one spectrum a variant from latency.hlog whose
// p99 is run.json's, with the variant SLOs' bounds, red where failed.
func TestHTMLVariants(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "20261127T120000Z-ab")
	writeVariantRunDir(t, dir)
	var buf bytes.Buffer
	if err := WriteHTML(&buf, loadHTMLTestRuns(t, dir)...); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	golden.Check(t, filepath.Join("report", "variants.html"), buf.Bytes())
	for _, want := range []string{
		`<tr class="variant" data-verdict="pass"><td style="text-align: left">fast</td><td>200</td><td>50%</td>`,
		`<tr class="variant" data-verdict="fail"><td style="text-align: left">slow</td><td>200</td><td>50%</td>`,
		`responses split by the response header X-Variant`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	svg := svgOf(t, page, "variants")
	labels := regexp.MustCompile(`data-label="([^"]*)"`).FindAllStringSubmatch(svg, -1)
	if len(labels) != 2 || labels[0][1] != "fast" || labels[1][1] != "slow" {
		t.Errorf("variant spectra %v, want fast and slow", labels)
	}
	run := loadHTMLTestRuns(t, dir)[0].Run
	for k, l := range linesIn(t, page, "variants", "corrected") {
		want := run.Variants[k].Latency.Corrected.P99
		found := false
		for _, v := range l.values {
			if v.x == 2 { // p99 on the spectrum's axis
				found = math.Abs(v.y-want) <= 1e-5*want // 6 digits in data-values
			}
		}
		if !found {
			t.Errorf("variant %s: no point at p99 of %vms (run.json) in %v", run.Variants[k].Name, want, l.values)
		}
	}
	marks := regexp.MustCompile(`<g class="mark"[^>]*>.*?stroke="([^"]+)"`).FindAllStringSubmatch(svg, -1)
	if len(marks) != 2 || marks[0][1] == marks[1][1] {
		t.Errorf("SLO marks %v, want two, the failed one in another colour", marks)
	}
	// Without variants, no section.
	buf.Reset()
	plain := filepath.Join(t.TempDir(), "20261127T120000Z-plain")
	writeHTMLTestRun(t, plain, htmlTestRun{name: "plain", scale: 1, warmup: 1, seconds: 3, rate: 100, stallAt: -1})
	if err := WriteHTML(&buf, loadHTMLTestRuns(t, plain)...); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), `id="variants"`) {
		t.Error("a run without variants has a Variants section")
	}
}
