package report

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/perf-tools/perf/results"
)

// The search report: perf attack search writes a directory holding
// search.json (results.Search) and a run directory a step. Its reports say
// the outcome first, then the answer, then every step; the HTML page draws
// the knee (latency against the offered rate) and the rate the generator
// achieved against the rate offered.

// SearchText writes a human summary of search s to w: the outcome and its
// message first, the answer (the highest rate that passed, the lowest that
// failed, where the generator could not keep the plan), the settings, then
// a table of the steps.
func SearchText(w io.Writer, s *results.Search) error {
	return writeText(w, searchTables(s, false))
}

// SearchMarkdown writes the summary of search s to w as GitHub Markdown:
// the tables of SearchText, each step's run directory linked to its page.
func SearchMarkdown(w io.Writer, s *results.Search) error {
	return writeMarkdown(w, "perf search", searchTables(s, true))
}

// searchTables lays out the summary of s: the search's facts and its
// steps. With markdown, a step's directory is a link to its report.html.
func searchTables(s *results.Search, markdown bool) []table {
	facts := table{title: "Search", head: []string{"", orDash(s.Outcome)}}
	add := func(label, value string) { facts.body = append(facts.body, []string{label, value}) }
	add("message", orDash(s.Message))
	add("highest pass", rateOrNone(s.HighestPass))
	add("lowest fail", rateOrNone(s.LowestFail))
	if s.GeneratorBoundAt != nil {
		add("generator", "could not keep the plan at "+rateOrNone(s.GeneratorBoundAt))
	}
	add("target", orDash(s.Target))
	add("slo", orDash(strings.Join(s.SLO, ", ")))
	add("settings", settingsText(s.Settings))
	add("started", s.StartedAt.UTC().Format(time.RFC3339))
	add("elapsed", seconds(s.ElapsedS))
	add("steps", stepsCount(s.Steps))

	steps := table{title: "Steps", numeric: true,
		head: []string{"step", "phase", "offered/s", "achieved/s", "p50 ms", "p99 ms", "p99.9 ms", "errors", "verdict", "run", "notes"}}
	steps.words = []int{1, 8, 9, 10}
	for _, st := range s.Steps {
		row := stepRow(st)
		dir := orDash(st.Dir)
		if markdown && st.Dir != "" {
			dir = "[" + st.Dir + "](" + row.Link + ")"
		}
		steps.body = append(steps.body, []string{strconv.Itoa(st.Index), st.Phase, row.Offered, row.Achieved,
			row.P50, row.P99, row.P999, row.Errors, row.VerdictText, dir, orDash(row.Notes)})
	}
	return []table{facts, steps}
}

// rateOrNone formats a rate of the answer, "none" when there is none.
func rateOrNone(v *float64) string {
	if v == nil {
		return "none"
	}
	return results.FormatFloat(*v, 1) + "/s"
}

// settingsText says a search's settings in one line.
func settingsText(st results.SearchSettings) string {
	s := fmt.Sprintf("%s/s to %s/s, growth x%s, precision %s%%, %d confirmations, steps of %s",
		results.FormatFloat(st.Min, 1), results.FormatFloat(st.Max, 1), results.FormatFloat(st.Growth, 3),
		results.FormatFloat(100*st.Precision, 3), st.Confirmations, seconds(st.StepS))
	if st.WarmupS > 0 {
		s += " (+" + seconds(st.WarmupS) + " warm-up)"
	}
	if st.CooldownS > 0 {
		s += ", " + seconds(st.CooldownS) + " cool-down"
	}
	if st.TimeLimitS > 0 {
		s += ", time limit " + seconds(st.TimeLimitS)
	}
	return s
}

// stepsCount counts the steps by verdict: "7: 4 pass, 2 fail, 1
// generator-bound".
func stepsCount(steps []results.SearchStep) string {
	n := map[string]int{}
	for _, st := range steps {
		n[st.Verdict]++
	}
	var parts []string
	for _, v := range []string{results.StepPass, results.StepFail, results.StepGeneratorBound} {
		if n[v] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[v], v))
		}
	}
	if len(parts) == 0 {
		return strconv.Itoa(len(steps))
	}
	return strconv.Itoa(len(steps)) + ": " + strings.Join(parts, ", ")
}

// stepView is one step, formatted as the tables show it.
type stepView struct {
	Step              results.SearchStep
	Offered, Achieved string
	P50, P99, P999    string
	Errors            string
	// VerdictText is the verdict in capitals when it is bad news.
	VerdictText string
	// Notes say why a step ended early, why it did not pass, and how long
	// the target took to recover after it.
	Notes string
	// Link is the step's page, Dir/report.html with forward slashes.
	Link string
}

// stepRow formats step st. A step without requests has no latency: "-".
func stepRow(st results.SearchStep) stepView {
	v := stepView{Step: st,
		Offered:  results.FormatFloat(st.Offered, 1),
		Achieved: results.FormatFloat(st.Achieved, 1),
		P50:      "-", P99: "-", P999: "-",
		Errors:      strconv.FormatInt(st.Errors, 10),
		VerdictText: st.Verdict,
	}
	if st.Requests > 0 {
		v.P50, v.P99, v.P999 = ms(st.Latency.P50), ms(st.Latency.P99), ms(st.Latency.P999)
		v.Errors += " (" + results.FormatFloat(100*float64(st.Errors)/float64(st.Requests), 3) + "%)"
	}
	if st.Verdict != results.StepPass {
		v.VerdictText = strings.ToUpper(st.Verdict)
	}
	var notes []string
	if st.EndedEarly != "" {
		notes = append(notes, "ended early: "+st.EndedEarly)
	}
	notes = append(notes, st.Reasons...)
	if st.RecoveryS > 0 {
		notes = append(notes, "recovered in "+seconds(st.RecoveryS))
	}
	v.Notes = strings.Join(notes, "; ")
	if st.Dir != "" {
		v.Link = path.Join(filepath.ToSlash(st.Dir), results.HTMLFile)
	}
	return v
}

// WriteSearchHTML writes dir/report.html for the search in dir (its
// search.json; see results.LoadSearch), atomically, so that a browser
// reloading the page while a search goes on never reads half of it.
func WriteSearchHTML(dir string) error {
	s, err := results.LoadSearch(dir)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := SearchHTML(&buf, s); err != nil {
		return err
	}
	return results.WriteFileAtomic(filepath.Join(dir, results.HTMLFile), buf.Bytes())
}

// SearchHTML writes the HTML page of search s to w: self-contained, with
// the look of the run page and no script. It opens with the outcome in
// words, then the answer and settings, the knee plot (svg id "knee":
// corrected p50, p99 and p99.9 against the offered rate, a marker a step
// and percentile whose shape says its verdict and which is hollow when the
// step ended early, the SLO latency bounds across, the answer as vertical
// lines), the achieved rate against the offered one (svg id "rates", the
// line y = x marking a generator that kept the plan), and the steps, each
// linked to its run's page (Dir/report.html).
func SearchHTML(w io.Writer, s *results.Search) error {
	if s == nil {
		return fmt.Errorf("search html report: no search")
	}
	if err := searchTemplate.Execute(w, buildSearchView(s)); err != nil {
		return fmt.Errorf("search html report: %w", err)
	}
	return nil
}

// searchView is the search page as search.tmpl draws it.
type searchView struct {
	Title      string
	Search     *results.Search
	Headline   string
	HeadlineOK bool
	Facts      []htmlRow
	Plots      []htmlPlot
	Steps      []stepView
}

func buildSearchView(s *results.Search) searchView {
	v := searchView{Title: "perf search: " + orDash(s.Target), Search: s}
	v.Headline = strings.ToUpper(orDash(s.Outcome))
	if s.Message != "" {
		v.Headline += ": " + s.Message
	}
	v.HeadlineOK = s.Outcome == results.SearchFound || s.Outcome == results.SearchPassesAtMax
	for _, t := range searchTables(s, false)[:1] {
		for _, row := range t.body {
			if row[0] == "message" {
				continue // in the headline
			}
			v.Facts = append(v.Facts, htmlRow{Label: row[0], Values: row[1:]})
		}
	}
	for _, st := range s.Steps {
		v.Steps = append(v.Steps, stepRow(st))
	}
	x := searchAxis(s)
	v.Plots = []htmlPlot{kneePlot(s, x), ratesPlot(s, x)}
	return v
}

// rateAxis is the offered-rate axis both search plots share.
type rateAxis struct {
	log      bool
	min, max float64
	ticks    []tick
}

// searchAxis returns the offered-rate axis of s's plots: logarithmic when
// the offered rates span a factor of ten or more (a search grows its rate
// by a factor a step, so its steps lie evenly on a log axis), else linear
// from 0, which reads the plateau of a narrow search truthfully.
func searchAxis(s *results.Search) rateAxis {
	lo, hi := math.Inf(1), 0.0
	for _, st := range s.Steps {
		if st.Offered > 0 {
			lo, hi = math.Min(lo, st.Offered), math.Max(hi, st.Offered)
		}
	}
	for _, v := range []*float64{s.HighestPass, s.LowestFail, s.GeneratorBoundAt} {
		if v != nil && *v > 0 {
			lo, hi = math.Min(lo, *v), math.Max(hi, *v)
		}
	}
	if hi == 0 { // no step: an empty plot
		return rateAxis{min: 0, max: 1, ticks: niceTicks(0, 1, 5)}
	}
	if hi >= 10*lo {
		a := rateAxis{log: true}
		a.min, a.max, a.ticks = logRange(lo/1.1, hi*1.1)
		return a
	}
	a := rateAxis{ticks: niceTicks(0, hi*1.05, 8)}
	a.max = a.ticks[len(a.ticks)-1].v
	return a
}

// apply sets p's x axis to a.
func (a rateAxis) apply(p *svgPlot) {
	p.xLog, p.xMin, p.xMax, p.xTicks = a.log, a.min, a.max, a.ticks
}

// stepsByRate returns the steps in order of offered rate (then index),
// the order the plots join them in.
func stepsByRate(steps []results.SearchStep) []results.SearchStep {
	out := slices.Clone(steps)
	slices.SortStableFunc(out, func(a, b results.SearchStep) int {
		if c := compareFloat(a.Offered, b.Offered); c != 0 {
			return c
		}
		return a.Index - b.Index
	})
	return out
}

// stepTitle names a step's marker: its number, phase, rate and verdict.
func stepTitle(st results.SearchStep, what string) string {
	t := fmt.Sprintf("step %d (%s) at %s/s: %s, %s", st.Index, st.Phase, results.FormatFloat(st.Offered, 1), what, st.Verdict)
	if st.EndedEarly != "" {
		t += ", ended early: " + st.EndedEarly
	}
	return t
}

// Colours of a search's answer.
const (
	generatorBoundColor = "#8a5a00"
)

// answerMarks draws the search's answer as vertical lines: the highest
// rate that passed, the lowest that failed, and where the generator could
// not keep the plan.
func answerMarks(p *svgPlot, s *results.Search) {
	add := func(v *float64, label, color string) {
		if v != nil {
			p.vmarks = append(p.vmarks, vmark{x: *v, label: label + " " + results.FormatFloat(*v, 1) + "/s", color: color, dash: "6 3"})
		}
	}
	add(s.HighestPass, "highest pass", sloPassColor)
	add(s.LowestFail, "lowest fail", sloFailColor)
	add(s.GeneratorBoundAt, "generator-bound at", generatorBoundColor)
}

// stepKeys returns the legend keys of the verdicts among steps, and of a
// step that ended early.
func stepKeys(steps []results.SearchStep) []legendKey {
	seen := map[string]bool{}
	early := false
	for _, st := range steps {
		seen[st.Verdict] = true
		early = early || st.EndedEarly != ""
	}
	keys := verdictKeys(seen, "pass", "fail", "generator-bound")
	if early {
		keys = append(keys, legendKey{shape: shapeCircle, hollow: true, text: "hollow: the step ended early"})
	}
	return keys
}

// kneePlot draws each step's corrected p50, p99 and p99.9 against its
// offered rate, with the SLO latency bounds across and the answer as
// vertical lines.
func kneePlot(s *results.Search, x rateAxis) htmlPlot {
	p := svgPlot{id: "knee", xLabel: "offered rate (requests/s)", yLabel: "corrected latency (ms)"}
	x.apply(&p)
	steps := stepsByRate(s.Steps)
	for k, sk := range segmentKinds {
		color := runColor(k)
		var pts []pt
		for _, st := range steps {
			if st.Requests == 0 {
				continue // nothing sent, no latency
			}
			y := sk.get(st.Latency)
			pts = append(pts, pt{st.Offered, y})
			p.points = append(p.points, point{x: st.Offered, y: y, kind: sk.kind, verdict: st.Verdict, shape: verdictShape(st.Verdict),
				color: color, hollow: st.EndedEarly != "", title: stepTitle(st, sk.label+" "+results.FormatFloat(y, 3)+"ms")})
		}
		if len(pts) > 0 {
			p.series = append(p.series, series{kind: sk.kind, label: sk.label, color: color, dash: sk.dash, width: sk.width, pieces: line(pts)})
		}
	}
	var notes []string
	bounds, err := results.ParseSLOs(searchSLOs(s))
	if err != nil {
		notes = append(notes, "The SLO bounds are not drawn: "+err.Error()+".")
	}
	for _, b := range bounds {
		limit, ok := b.Latency()
		if !ok {
			continue
		}
		m := mark{x0: p.xMin, x1: p.xMax, y: float64(limit) / 1e6, label: "SLO " + b.String(), color: sloPassColor}
		if n := failedSteps(s.Steps, b.Expr); n > 0 {
			m.color = sloFailColor
			m.label += fmt.Sprintf(" (failed in %d of %d steps)", n, len(s.Steps))
		}
		p.marks = append(p.marks, m)
	}
	answerMarks(&p, s)
	if !p.fitLog() {
		p.yMin, p.yMax = 0, p.maxY()
	}
	p.keys = stepKeys(s.Steps)
	if len(p.points) == 0 {
		notes = append(notes, "No step has latency to draw.")
	}
	if p.xLog {
		notes = append(notes, "The rate axis is logarithmic.")
	}
	if p.yLog {
		notes = append(notes, "The latency axis is logarithmic: latency near the knee spans orders of magnitude.")
	}
	return htmlPlot{ID: p.id, Title: "Latency against offered rate (corrected p50 dotted, p99 solid, p99.9 dashed; a marker a step: circle pass, square fail, triangle generator-bound)",
		SVG: p.view(), Note: strings.Join(notes, " ")}
}

// searchSLOs returns the SLO expressions the steps were judged by: the
// search's, then any other a step's verdicts name.
func searchSLOs(s *results.Search) []string {
	exprs := slices.Clone(s.SLO)
	for _, st := range s.Steps {
		for _, v := range st.SLO {
			if !slices.Contains(exprs, v.Expr) {
				exprs = append(exprs, v.Expr)
			}
		}
	}
	return exprs
}

// failedSteps counts the steps whose verdict on expr failed.
func failedSteps(steps []results.SearchStep, expr string) int {
	n := 0
	for _, st := range steps {
		for _, v := range st.SLO {
			if v.Expr == expr && !v.OK {
				n++
			}
		}
	}
	return n
}

// ratesPlot draws the rate each step achieved against the rate it
// offered, with the line y = x: a step below it sent less than its plan.
func ratesPlot(s *results.Search, x rateAxis) htmlPlot {
	p := svgPlot{id: "rates", xLabel: "offered rate (requests/s)", yLabel: "achieved rate (requests/s)"}
	x.apply(&p)
	p.series = append(p.series, series{kind: "ideal", label: "achieved = offered", color: "#999", dash: "4 4", width: 1,
		pieces: line([]pt{{p.xMin, p.xMin}, {p.xMax, p.xMax}})})
	var pts []pt
	color := runColor(0)
	for _, st := range stepsByRate(s.Steps) {
		pts = append(pts, pt{st.Offered, st.Achieved})
		p.points = append(p.points, point{x: st.Offered, y: st.Achieved, kind: "achieved", verdict: st.Verdict, shape: verdictShape(st.Verdict),
			color: color, hollow: st.EndedEarly != "", title: stepTitle(st, "achieved "+results.FormatFloat(st.Achieved, 1)+"/s")})
	}
	if len(pts) > 0 {
		p.series = append(p.series, series{kind: "achieved", label: "achieved", color: color, width: 2, pieces: line(pts)})
	}
	answerMarks(&p, s)
	// The same scale on both axes, so that y = x is the diagonal.
	p.yLog, p.yMin, p.yMax, p.yTicks = p.xLog, p.xMin, p.xMax, p.xTicks
	if !p.yLog {
		p.yMax = math.Max(p.xMax, p.maxY())
		p.yTicks = niceTicks(0, p.yMax, 5)
		p.yMax = p.yTicks[len(p.yTicks)-1].v
	}
	p.keys = stepKeys(s.Steps)
	return htmlPlot{ID: p.id, Title: "Achieved against offered rate (the dashed diagonal is a generator that kept the plan)", SVG: p.view()}
}
