package report

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/perf-tools/perf/results"
)

// A run whose rate was a schedule (--rate 'ramp:0..50000/60s;50000/5m',
// 'steps:1000..10000+1000/30s') has a summary a segment (results.Segment).
// The reports show them after the run's own tables: a row a segment in the
// text and Markdown reports; on the HTML page a table, a plot of latency
// against the segments' rates (a knee, when the segments are steps), and
// each segment's start marked on the plots over time.

// segmentTables returns the Segments table of each run that has segments,
// titled by the run's label when there are several runs.
func segmentTables(runs []*results.Run, labels []string) []table {
	var out []table
	for i, r := range runs {
		if len(r.Segments) == 0 {
			continue
		}
		t := table{title: "Segments", numeric: true}
		if len(runs) > 1 {
			t.title += ": " + labels[i]
		}
		unsent := slices.ContainsFunc(r.Segments, func(s results.Segment) bool { return s.Unsent > 0 })
		t.head = []string{"segment", "planned/s", "achieved/s", "requests"}
		if unsent {
			t.head = append(t.head, "unsent")
		}
		t.head = append(t.head, "errors", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "slo")
		t.words = []int{len(t.head) - 1}
		for _, s := range r.Segments {
			row := segmentRow(r, s)
			line := []string{row.Label, row.Planned, row.Achieved, strconv.FormatInt(s.Requests, 10)}
			if unsent {
				line = append(line, strconv.FormatInt(s.Unsent, 10))
			}
			line = append(line, row.Errors, row.P50, row.P99, row.P999, row.Max, sloText(s.SLO))
			t.body = append(t.body, line)
		}
		out = append(out, t)
	}
	return out
}

// sloText says a segment's verdicts compactly: "p99<=25ms ok, errors<=0
// FAILED", each expression as given.
func sloText(vs []results.Verdict) string {
	if len(vs) == 0 {
		return "-"
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		word := "ok"
		if !v.OK {
			word = "FAILED"
		}
		parts[i] = v.Expr + " " + word
	}
	return strings.Join(parts, ", ")
}

// segmentRowView is one segment's row, formatted as the text and HTML
// tables show it.
type segmentRowView struct {
	N                   int
	Label, Spec         string
	Planned, Achieved   string
	Requests, Unsent    int64
	Errors              string
	P50, P99, P999, Max string
	SLO                 []results.Verdict
	// Verdict is pass or fail (any SLO failed), or none without SLOs.
	Verdict string
}

// segmentRow formats segment s of run r. A segment in which no request got
// a response has no latency: "-", not 0.
func segmentRow(r *results.Run, s results.Segment) segmentRowView {
	sr := s.Run(r)
	v := segmentRowView{
		Label: s.Label, Spec: s.Spec,
		Planned:  results.FormatFloat(s.Rate.Target, 1),
		Achieved: results.FormatFloat(s.Rate.Achieved, 1),
		Requests: s.Requests, Unsent: s.Unsent,
		Errors: strconv.FormatInt(s.Errors, 10),
		P50:    "-", P99: "-", P999: "-", Max: "-",
		SLO:     s.SLO,
		Verdict: segmentVerdict(s),
	}
	if s.Requests > 0 {
		v.Errors += " (" + results.FormatFloat(results.ErrorShare(sr), 3) + "%)"
	}
	if sr.Responses() > 0 {
		c := s.Latency.Corrected
		v.P50, v.P99, v.P999, v.Max = ms(c.P50), ms(c.P99), ms(c.P999), ms(c.Max)
	}
	return v
}

// segmentVerdict is pass when every SLO held in the segment, fail when one
// did not, none when the run has no SLO.
func segmentVerdict(s results.Segment) string {
	if len(s.SLO) == 0 {
		return "none"
	}
	for _, v := range s.SLO {
		if !v.OK {
			return results.StepFail
		}
	}
	return results.StepPass
}

// htmlSegments is the Segments section of the HTML run page.
type htmlSegments struct {
	Runs []htmlSegmentRun
	Plot htmlPlot
}

// htmlSegmentRun is the segments table of one run.
type htmlSegmentRun struct {
	Index   int
	Label   string
	Color   string
	Several bool
	Unsent  bool
	Rows    []segmentRowView
}

// buildSegments returns the Segments section of the runs, nil when none
// has segments (the page is then as it was before segments existed).
func buildSegments(runs []*results.RunDir, labels []string) *htmlSegments {
	var out htmlSegments
	for i, d := range runs {
		r := d.Run
		if len(r.Segments) == 0 {
			continue
		}
		sr := htmlSegmentRun{Index: i, Label: labels[i], Color: runColor(i), Several: len(runs) > 1}
		for k, s := range r.Segments {
			row := segmentRow(r, s)
			row.N = k + 1
			sr.Unsent = sr.Unsent || s.Unsent > 0
			sr.Rows = append(sr.Rows, row)
		}
		out.Runs = append(out.Runs, sr)
	}
	if len(out.Runs) == 0 {
		return nil
	}
	out.Plot = segmentsPlot(runs, labels)
	return &out
}

// flatSegment reports whether a segment holds one rate throughout: a level
// of steps ("steps:...") or a hold (a plain rate, "50000/5m"). A ramp, a
// sine or a schedule file changes its rate within the segment, whose mean
// planned rate is then no place on a rate axis.
func flatSegment(s results.Segment) bool {
	kind, _, shaped := strings.Cut(s.Spec, ":")
	return !shaped || kind == "steps" || kind == "hold"
}

// byRate reports whether the segments plot draws the segments of runs
// against their planned rate: when every segment is flat and, within each
// run, their rates differ. Otherwise it draws them against their index.
func byRate(runs []*results.RunDir) bool {
	for _, d := range runs {
		seen := map[float64]bool{}
		for _, s := range d.Run.Segments {
			if !flatSegment(s) || s.Rate.Target <= 0 || seen[s.Rate.Target] {
				return false
			}
			seen[s.Rate.Target] = true
		}
	}
	return true
}

// segmentKinds are the percentiles the segments plot draws, with their
// dash as the latency plot draws them.
var segmentKinds = []struct {
	kind, label, dash string
	width             float64
	get               func(results.Percentiles) float64
}{
	{"p50", "p50", "2 3", 1.5, func(p results.Percentiles) float64 { return p.P50 }},
	{"p99", "p99", "", 2, func(p results.Percentiles) float64 { return p.P99 }},
	{"p999", "p99.9", "6 3", 1.5, func(p results.Percentiles) float64 { return p.P999 }},
}

// segmentsPlot draws each segment's corrected p50, p99 and p99.9 against
// its planned rate (or its index: see byRate), a marker a segment whose
// shape says whether it met the SLOs, and the SLO latency bounds across.
func segmentsPlot(runs []*results.RunDir, labels []string) htmlPlot {
	rate := byRate(runs)
	p := svgPlot{id: "segments", xLabel: "segment", yLabel: "corrected latency (ms)"}
	if rate {
		p.xLabel = "planned rate (requests/s)"
	}
	single := len(runs) == 1
	verdicts := map[string]bool{}
	failedIn := map[string][2]int{} // an SLO's failed and judged segments
	var order []string
	n := 0
	for i, d := range runs {
		r := d.Run
		n = max(n, len(r.Segments))
		type at struct {
			x float64
			s results.Segment
			k int
		}
		var xs []at
		for k, s := range r.Segments {
			x := float64(k + 1)
			if rate {
				x = s.Rate.Target
			}
			xs = append(xs, at{x, s, k})
			for _, v := range s.SLO {
				if _, ok := failedIn[v.Expr]; !ok {
					order = append(order, v.Expr)
				}
				c := failedIn[v.Expr]
				c[1]++
				if !v.OK {
					c[0]++
				}
				failedIn[v.Expr] = c
			}
		}
		slices.SortStableFunc(xs, func(a, b at) int { return compareFloat(a.x, b.x) })
		for k, sk := range segmentKinds {
			var pts []pt
			color := runColor(i)
			if single {
				color = runColor(k)
			}
			for _, a := range xs {
				if a.s.Run(r).Responses() == 0 {
					continue // no response, no latency
				}
				y := sk.get(a.s.Latency.Corrected)
				pts = append(pts, pt{a.x, y})
				verdict := segmentVerdict(a.s)
				verdicts[verdict] = true
				title := fmt.Sprintf("%s: %s %sms (%s)", a.s.Label, sk.label, results.FormatFloat(y, 3), sloText(a.s.SLO))
				if !single {
					title = labels[i] + " " + title
				}
				p.points = append(p.points, point{x: a.x, y: y, kind: sk.kind, run: i, verdict: verdict, shape: verdictShape(verdict), color: color, title: title})
			}
			if len(pts) == 0 {
				continue
			}
			p.series = append(p.series, series{kind: sk.kind, run: i, label: labelFor(labels[i], sk.label, single),
				color: color, dash: sk.dash, width: sk.width, pieces: line(pts)})
		}
	}
	// The SLO latency bounds, across: red when a segment failed one.
	for _, expr := range order {
		slo, err := results.ParseSLO(expr)
		if err != nil {
			continue
		}
		limit, ok := slo.Latency()
		if !ok {
			continue
		}
		c := failedIn[expr]
		m := mark{y: float64(limit) / 1e6, label: "SLO " + slo.String(), color: sloPassColor}
		if c[0] > 0 {
			m.color = sloFailColor
			m.label += fmt.Sprintf(" (failed in %d of %d segments)", c[0], c[1])
		}
		p.marks = append(p.marks, m)
	}
	// The x axis: the rates with a margin of half a step, or 1..n.
	if rate {
		lo, hi := math.Inf(1), 0.0
		for _, d := range runs {
			for _, s := range d.Run.Segments {
				lo, hi = math.Min(lo, s.Rate.Target), math.Max(hi, s.Rate.Target)
			}
		}
		pad := (hi - lo) / 20
		if pad == 0 {
			pad = hi / 10
		}
		p.xMin, p.xMax = math.Max(0, lo-pad), hi+pad
		p.xTicks = niceTicks(p.xMin, p.xMax, 8)
	} else {
		p.xMin, p.xMax = 0.5, float64(n)+0.5
		step := max(1, int(math.Ceil(float64(n)/12)))
		for k := 1; k <= n; k += step {
			p.xTicks = append(p.xTicks, tick{float64(k), strconv.Itoa(k)})
		}
	}
	for i := range p.marks {
		p.marks[i].x0, p.marks[i].x1 = p.xMin, p.xMax
	}
	if !p.fitLog() {
		p.yMin, p.yMax = 0, p.maxY()
	}
	p.keys = verdictKeys(verdicts, "segment met every SLO", "segment failed an SLO", "")
	title := "Latency by segment (corrected p50 dotted, p99 solid, p99.9 dashed; SLO bounds across)"
	note := "Each segment is drawn at its planned rate, joined in order of rate."
	if !rate {
		note = "Each segment is drawn at its number in the table: the segments are not steps or holds of distinct rates."
	}
	if p.yLog {
		note += " The latency axis is logarithmic."
	}
	return htmlPlot{ID: p.id, Title: title, SVG: p.view(), Note: note}
}

// compareFloat orders a and b for sorting.
func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// verdictShape returns the marker shape of a verdict.
func verdictShape(verdict string) string {
	switch verdict {
	case results.StepFail:
		return shapeSquare
	case results.StepGeneratorBound:
		return shapeTriangle
	}
	return shapeCircle
}

// verdictKeys returns the legend keys of the verdicts seen, in the order
// pass, fail, generator-bound, none, each with its text.
func verdictKeys(seen map[string]bool, pass, fail, bound string) []legendKey {
	var keys []legendKey
	if seen[results.StepPass] {
		keys = append(keys, legendKey{shape: shapeCircle, text: pass})
	}
	if seen[results.StepFail] {
		keys = append(keys, legendKey{shape: shapeSquare, text: fail})
	}
	if seen[results.StepGeneratorBound] && bound != "" {
		keys = append(keys, legendKey{shape: shapeTriangle, text: bound})
	}
	return keys
}

// segmentBoundaryColor is the colour of segment starts on the plots of one
// run: a grey that does not read as data.
const segmentBoundaryColor = "#777"

// markSegments draws, on a plot over time, a dotted vertical line where
// each segment of the runs starts, numbered as in the Segments table. The
// time axis counts from the warm-up's start; a segment's start counts from
// the measured window's.
func (p *svgPlot) markSegments(runs []*results.RunDir) {
	for i, d := range runs {
		r := d.Run
		color := segmentBoundaryColor
		if len(runs) > 1 {
			color = runColor(i)
		}
		for k, s := range r.Segments {
			p.vmarks = append(p.vmarks, vmark{
				x:     r.WarmupS + s.StartS,
				label: strconv.Itoa(k + 1),
				title: fmt.Sprintf("segment %d starts: %s (%s)", k+1, s.Label, s.Spec),
				color: color, dash: "2 3",
			})
		}
	}
}

// segmentsNote is the note under a plot over time whose segment starts
// are marked.
const segmentsNote = "Dotted vertical lines mark where each segment of the rate schedule starts, numbered as in the Segments table."
