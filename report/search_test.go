package report

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/perf-tools/perf/internal/golden"
	"github.com/perf-tools/perf/results"
)

// sampleSearch is a search that met every kind of step: it grew from
// 1000/s until 16000/s failed (ended early), bisected, found the
// generator unable to keep 13000/s, and confirmed 12000/s twice.
func sampleSearch() *results.Search {
	f := func(v float64) *float64 { return &v }
	slo := []string{"p99<=25ms", "p999<=100ms", "errors<=0.1%"}
	step := func(i int, phase string, offered, achieved float64, p50, p99, p999 float64, verdict string) results.SearchStep {
		st := results.SearchStep{
			Index: i, Phase: phase, Offered: offered, Achieved: achieved,
			Dir:      fmt.Sprintf("step-%02d-%s", i, results.FormatFloat(offered, 0)),
			Requests: int64(achieved * 30), Errors: 0,
			Latency:   results.Percentiles{P50: p50, P90: p99 / 2, P95: p99 / 1.5, P99: p99, P999: p999, Max: p999 * 1.2, Mean: p50 * 1.2},
			Verdict:   verdict,
			DurationS: 30,
		}
		for _, e := range slo {
			b, err := results.ParseSLO(e)
			if err != nil {
				panic(err)
			}
			r := &results.Run{Requests: st.Requests, Errors: st.Errors, Rate: results.Rate{Achieved: achieved},
				Latency: results.Latency{Corrected: st.Latency}}
			st.SLO = append(st.SLO, b.Evaluate(r))
		}
		for _, v := range st.SLO {
			if !v.OK {
				st.Reasons = append(st.Reasons, v.Expr+": "+v.Observed)
			}
		}
		return st
	}
	steps := []results.SearchStep{
		step(1, results.PhaseGrow, 1000, 999.9, 1.1, 3.2, 5.5, results.StepPass),
		step(2, results.PhaseGrow, 2000, 1999.8, 1.2, 3.9, 7.1, results.StepPass),
		step(3, results.PhaseGrow, 4000, 3999.1, 1.4, 5.2, 11.3, results.StepPass),
		step(4, results.PhaseGrow, 8000, 7998.2, 2.1, 12.4, 38.5, results.StepPass),
		step(5, results.PhaseGrow, 16000, 15210.5, 85, 480, 1900, results.StepFail),
		step(6, results.PhaseBisect, 12000, 11995.4, 3.3, 21.7, 71.2, results.StepPass),
		step(7, results.PhaseBisect, 14000, 13950.2, 9.8, 38.1, 240, results.StepFail),
		step(8, results.PhaseBisect, 13000, 11210, 4.9, 24.1, 96, results.StepGeneratorBound),
		step(9, results.PhaseConfirm, 12000, 11998.7, 3.1, 20.9, 68.4, results.StepPass),
		step(10, results.PhaseConfirm, 12000, 11997.9, 3.4, 22.5, 75.8, results.StepPass),
	}
	steps[4].EndedEarly = "p99 above its bound beyond doubt after 8s"
	steps[4].DurationS, steps[4].Requests, steps[4].Errors, steps[4].RecoveryS = 8, 121684, 240, 6
	steps[7].Reasons = []string{"achieved rate 86.2% of the plan (under 98%)", "generator CPU saturated: mean 97% of GOMAXPROCS"}
	return &results.Search{
		Schema:           results.SearchSchema,
		ToolVersion:      "v0.4.0",
		Command:          []string{"perf", "attack", "search", "--url", "http://127.0.0.1:8080/v1/items/{key}", "--min", "1000", "--max", "64000"},
		StartedAt:        time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC),
		ElapsedS:         498.5,
		Target:           "http://127.0.0.1:8080/v1/items/{key}",
		SLO:              slo,
		Settings:         results.SearchSettings{Min: 1000, Max: 64000, Growth: 2, Precision: 0.02, Confirmations: 2, StepS: 30, WarmupS: 5, CooldownS: 10},
		Outcome:          results.SearchGeneratorBound,
		Message:          "the generator could not keep 13000/s: no capacity can be claimed above it; 12000/s passed and was confirmed twice",
		HighestPass:      f(12000),
		LowestFail:       f(14000),
		GeneratorBoundAt: f(13000),
		Steps:            steps,
	}
}

func TestSearchGolden(t *testing.T) {
	for _, tc := range []struct {
		ext   string
		write func(*bytes.Buffer, *results.Search) error
	}{
		{"txt", func(b *bytes.Buffer, s *results.Search) error { return SearchText(b, s) }},
		{"md", func(b *bytes.Buffer, s *results.Search) error { return SearchMarkdown(b, s) }},
		{"html", func(b *bytes.Buffer, s *results.Search) error { return SearchHTML(b, s) }},
	} {
		t.Run(tc.ext, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tc.write(&buf, sampleSearch()); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("report", "search."+tc.ext), buf.Bytes())
		})
	}
}

// TestSearchTextOutcomeFirst: the summary opens with the outcome and its
// message, then the answer, and has a row a step.
func TestSearchTextOutcomeFirst(t *testing.T) {
	var buf bytes.Buffer
	if err := SearchText(&buf, sampleSearch()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	for i, want := range []string{
		`^Search +generator-bound$`,
		`^message +the generator could not keep 13000/s`,
		`^highest pass +12000/s$`,
		`^lowest fail +14000/s$`,
		`^generator +could not keep the plan at 13000/s$`,
	} {
		if !regexp.MustCompile(want).MatchString(lines[i]) {
			t.Errorf("line %d: %q, want it to match %s", i+1, lines[i], want)
		}
	}
	out := buf.String()
	for _, want := range []string{
		`\n5 +grow +16000 +15210.5 +85.000 +480.000 +1900.000 +240 \(0.197%\) +FAIL +step-05-16000 +ended early: p99 above its bound beyond doubt after 8s; p99<=25ms: p99 480ms; p999<=100ms: p999 1900ms; recovered in 6s\n`,
		`\n8 +bisect +13000 +11210 +4.900 +24.100 +96.000 +0 \(0%\) +GENERATOR-BOUND +step-08-13000 +achieved rate 86.2% of the plan \(under 98%\); generator CPU saturated: mean 97% of GOMAXPROCS\n`,
		`\n10 +confirm +12000 +11997.9 +3.400 +22.500 +75.800 +0 \(0%\) +pass +step-10-12000 +-\n`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("text lacks a line matching %s:\n%s", want, out)
		}
	}
	// Without an answer: none, not a zero.
	s := sampleSearch()
	s.HighestPass, s.LowestFail, s.GeneratorBoundAt = nil, nil, nil
	buf.Reset()
	if err := SearchMarkdown(&buf, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "| highest pass | none |") || strings.Contains(buf.String(), "| generator |") {
		t.Errorf("markdown of a search without an answer:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), "| [step-05-16000](step-05-16000/report.html) |") {
		t.Errorf("markdown does not link a step's page:\n%s", buf.String())
	}
}

// TestSearchHTML checks the search page's content: a marker a step and
// percentile on the knee plot at the step's offered rate, its shape by
// verdict and hollow when the step ended early; the SLO latency bounds
// across; the answer as vertical lines; a marker a step on the rates plot
// with the diagonal; every step linked to its page; nothing loaded.
func TestSearchHTML(t *testing.T) {
	s := sampleSearch()
	var buf bytes.Buffer
	if err := SearchHTML(&buf, s); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if i, j := strings.Index(page, `id="outcome">GENERATOR-BOUND: the generator could not keep 13000/s`), strings.Index(page, "<svg"); i < 0 || i > j {
		t.Error("the page does not open with the outcome")
	}
	knee := pointsIn(t, page, "knee")
	if len(knee) != 3*len(s.Steps) {
		t.Errorf("knee plot: %d markers, want %d (3 a step)", len(knee), 3*len(s.Steps))
	}
	drawn := map[string]string{}
	for _, p := range knee {
		drawn[p[0]+" "+p[2]] = p[1]
	}
	for _, st := range s.Steps {
		x := fv(st.Offered)
		for kind, v := range map[string]float64{"p50": st.Latency.P50, "p99": st.Latency.P99, "p999": st.Latency.P999} {
			if got := drawn[kind+" "+x+","+fv(v)]; got != st.Verdict {
				t.Errorf("step %d: %s marker at %s,%v has verdict %q, want %q", st.Index, kind, x, v, got, st.Verdict)
			}
		}
	}
	svg := svgOf(t, page, "knee")
	// Markers: circles pass, squares (4 corners) fail, triangles (3)
	// generator-bound; the step that ended early is hollow.
	shapes := regexp.MustCompile(`<g class="point [a-z0-9]+ run-0 ([a-z-]+)" data-value="[^"]*">(<circle|<polygon points="(?:[^ "]+ ){2}[^ "]+"|<polygon points="(?:[^ "]+ ){3}[^ "]+")`)
	count := map[string]int{}
	for _, m := range shapes.FindAllStringSubmatch(svg, -1) {
		shape := "circle"
		if strings.HasPrefix(m[2], "<polygon") {
			shape = fmt.Sprintf("polygon%d", len(strings.Fields(m[2]))-1)
		}
		count[m[1]+" "+shape]++
	}
	if want := map[string]int{"pass circle": 21, "fail polygon4": 6, "generator-bound polygon3": 3}; fmt.Sprint(count) != fmt.Sprint(want) {
		t.Errorf("knee markers by verdict and shape %v, want %v", count, want)
	}
	if n := len(regexp.MustCompile(`<g class="point [a-z0-9]+ run-0 fail" data-value="16000,[^"]*"><polygon points="[^"]*" fill="#fff"`).FindAllString(svg, -1)); n != 3 {
		t.Errorf("knee: %d hollow markers of the step that ended early, want 3", n)
	}
	var bounds []string
	for _, m := range regexp.MustCompile(`<g class="mark" id="knee-mark-\d+" data-y="([^"]*)">`).FindAllStringSubmatch(svg, -1) {
		bounds = append(bounds, m[1])
	}
	if strings.Join(bounds, " ") != "25 100" {
		t.Errorf("knee bounds %v, want 25 100 (p99 and p99.9 SLOs, in ms)", bounds)
	}
	for _, id := range []string{"knee", "rates"} {
		if got := fmt.Sprint(vmarksIn(t, page, id)); got != "[12000 14000 13000]" {
			t.Errorf("%s: vertical marks %s, want the answer [12000 14000 13000]", id, got)
		}
	}
	if !strings.Contains(svg, ">highest pass 12000/s</text>") || !strings.Contains(svg, ">lowest fail 14000/s</text>") {
		t.Error("knee: the answer's lines are not labelled")
	}
	if got := svgAttr(t, page, "knee", "data-x-min"); got > 1000 {
		t.Errorf("knee: x axis starts at %v, after the first step", got)
	}
	rates := pointsIn(t, page, "rates")
	if len(rates) != len(s.Steps) {
		t.Errorf("rates plot: %d markers, want one a step (%d)", len(rates), len(s.Steps))
	}
	if ideal := linesIn(t, page, "rates", "ideal"); len(ideal) != 1 || ideal[0].values[0].x != ideal[0].values[0].y || ideal[0].values[1].x != ideal[0].values[1].y {
		t.Errorf("rates plot: the diagonal is %v", ideal)
	}
	for _, st := range s.Steps {
		want := fmt.Sprintf(`<a href="%s/report.html">%s</a>`, st.Dir, st.Dir)
		if !strings.Contains(page, want) {
			t.Errorf("step %d is not linked: no %s", st.Index, want)
		}
	}
	for _, bad := range []string{"<link", " src=", "@import", "url(", "<iframe", "<script", "NaN", "Inf"} {
		if strings.Contains(page, bad) {
			t.Errorf("page holds %q", bad)
		}
	}
}

// TestSearchHTMLNarrow: a search whose rates lie within a factor of ten is
// drawn on a linear rate axis from 0; one without steps still draws.
func TestSearchHTMLNarrow(t *testing.T) {
	s := sampleSearch()
	s.Steps = s.Steps[5:]
	var buf bytes.Buffer
	if err := SearchHTML(&buf, s); err != nil {
		t.Fatal(err)
	}
	if got := svgAttr(t, buf.String(), "knee", "data-x-min"); got != 0 {
		t.Errorf("narrow search: x axis from %v, want 0", got)
	}
	if strings.Contains(buf.String(), "The rate axis is logarithmic") {
		t.Error("narrow search: a log rate axis")
	}
	s.Steps, s.HighestPass, s.LowestFail, s.GeneratorBoundAt = nil, nil, nil, nil
	s.Outcome, s.Message = results.SearchInterrupted, "interrupted before the first step"
	buf.Reset()
	if err := SearchHTML(&buf, s); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{`<div class="headline fail" id="outcome">INTERRUPTED: interrupted before the first step</div>`, "No step has latency to draw."} {
		if !strings.Contains(page, want) {
			t.Errorf("empty search: page lacks %s", want)
		}
	}
	if strings.Contains(page, "NaN") || strings.Contains(page, "Inf") {
		t.Error("empty search: NaN or Inf in the page")
	}
}

func TestWriteSearchHTML(t *testing.T) {
	dir := t.TempDir()
	if err := results.WriteSearch(dir, sampleSearch()); err != nil {
		t.Fatal(err)
	}
	if err := WriteSearchHTML(dir); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, results.HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := SearchHTML(&want, sampleSearch()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Error("report.html differs from SearchHTML of the same search")
	}
	err = WriteSearchHTML(t.TempDir())
	if !errors.Is(err, results.ErrNotSearchDir) || !strings.Contains(err.Error(), results.SearchFile) {
		t.Errorf("WriteSearchHTML of a directory without search.json: %v", err)
	}
}
