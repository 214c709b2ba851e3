package report

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/perf-tools/perf/results"
)

// FormatHTML is the format name of the HTML report. It is not among
// Formats: the HTML report needs a run's whole directory (results.RunDir), not
// only its run.json.
const FormatHTML = "html"

// WriteRunHTML writes dir/report.html for the run in dir.
func WriteRunHTML(dir string) error {
	d, err := results.LoadRunDir(dir)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, results.HTMLFile)
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := WriteHTML(f, d); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// HTML returns a reporter that writes the HTML report of runs.
func HTML(runs ...*results.RunDir) Reporter {
	return func(w io.Writer) error { return WriteHTML(w, runs...) }
}

// htmlTemplates holds the pages (html.tmpl for runs, search.tmpl for a
// search), the "plot" template that draws each plot's SVG (svg.tmpl) and
// the "style" sheet they share (style.tmpl).
//
//go:embed html.tmpl search.tmpl svg.tmpl style.tmpl
var htmlTemplates embed.FS

var (
	htmlTemplate   = template.Must(template.ParseFS(htmlTemplates, "html.tmpl", "svg.tmpl", "style.tmpl"))
	searchTemplate = template.Must(template.ParseFS(htmlTemplates, "search.tmpl", "svg.tmpl", "style.tmpl"))
)

// WriteHTML writes a self-contained HTML page for one run or several
// overlaid: each run's verdict in words (Headline) first, red unless it is
// a PASS or a VALID, then the SLO verdicts and a summary table, then
// inline SVG plots of the percentile spectrum (corrected and service
// latency, SLO bounds drawn), latency, send lag, rate, errors and CPU over
// time. The page needs no network and no script; a few lines of inline
// script only record, after load, what the browser rendered (for tests)
// and show the values under the pointer.
//
// Plots over time draw each interval of timeline.csv as a step over its
// true span, rates as the interval's count over its length; the time axis
// ends where the data ends. An interval shorter than the run's usual one
// (the last of a run, say) is drawn apart with a hollow marker, and an
// interval without a value (no response) is a gap.
//
// Every data series is one or more SVG polylines (it breaks at a gap) of
// class "series" with its kind ("corrected", "service", "p50", "p99",
// "max", "lag", "intended", "sent", "failures", "statuses", "cpu",
// "hostcpu"), a "run-N" class, "partial" for a partial interval's step,
// and data-points and data-values attributes, inside an <svg> whose id
// names the plot ("spectrum", "latency", "lag", "rate", "errors", "cpu").
func WriteHTML(w io.Writer, runs ...*results.RunDir) error {
	if len(runs) == 0 {
		return errors.New("html report: no runs")
	}
	for i, d := range runs {
		if d == nil || d.Run == nil {
			return fmt.Errorf("html report: run %d has no run.json data", i+1)
		}
	}
	view := buildHTMLView(runs)
	if err := htmlTemplate.Execute(w, view); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	return nil
}

// Colours of SLO bounds that hold and that fail.
const (
	sloPassColor = "#2E7D32"
	sloFailColor = "#B00020"
)

// htmlPalette holds distinct colours, one a run when runs are overlaid
// (Okabe–Ito, readable by colour-blind people).
var htmlPalette = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"}

func runColor(i int) string { return htmlPalette[i%len(htmlPalette)] }

type htmlView struct {
	Title string
	Runs  []htmlRun
	// Latency has a row a latency metric (results.LatencyMetrics): its
	// label and each run's corrected value.
	Latency []htmlRow
	Plots   []htmlPlot
	// Segments is the section of the runs' rate-schedule segments; nil
	// when no run has segments.
	Segments *htmlSegments
	// Variants is the section of the runs' variants (perf attack
	// --split-by); nil when no run was split.
	Variants *htmlVariants
	// Several is true when the page overlays more than one run: the
	// headlines then name their run.
	Several bool
}

type htmlRow struct {
	Label  string
	Values []string
}

type htmlRun struct {
	Index          int
	Label          string
	Color          string
	Run            *results.Run
	Valid          bool
	InvalidReasons []string
	SLO            []results.Verdict
	Warnings       []string
	Started        string
	ErrorPercent   string
	// Headline is the run's verdict in words (Headline); HeadlineOK says
	// it is good news, a PASS or a VALID, and is styled so.
	Headline   string
	HeadlineOK bool
	// Responded is false when no request got a response: the run has no
	// latency, and the summary shows none rather than zeros.
	Responded bool
	// StatusCodes and ErrorKinds are counts in words, as the text report
	// gives them.
	StatusCodes, ErrorKinds string
	// FirstErrors holds the first message of each error kind, by kind.
	FirstErrors []kindMessage
}

type htmlPlot struct {
	ID    string
	Title string
	SVG   plotView
	Note  string
}

func buildHTMLView(runs []*results.RunDir) htmlView {
	v := htmlView{Several: len(runs) > 1}
	given := make([]string, len(runs))
	rs := make([]*results.Run, len(runs))
	for i, d := range runs {
		rs[i] = d.Run
		if b := filepath.Base(filepath.Clean(d.Path)); d.Path != "" && b != "." {
			given[i] = b
		}
	}
	labels := results.Labels(rs, given)
	for i, d := range runs {
		r := d.Run
		hr := htmlRun{
			Index:          i,
			Label:          labels[i],
			Color:          runColor(i),
			Run:            r,
			Valid:          r.Valid,
			InvalidReasons: r.InvalidReasons,
			SLO:            r.SLO,
			Warnings:       r.Warnings,
			Started:        r.StartedAt.UTC().Format(time.RFC3339),
			ErrorPercent:   results.FormatFloat(results.ErrorShare(r), 3) + "%",
			Headline:       results.Headline(r),
			Responded:      r.Responses() > 0,
			StatusCodes:    results.CountsText(r.StatusCodes, false),
			ErrorKinds:     results.CountsText(r.ErrorKinds, true),
		}
		hr.HeadlineOK = strings.HasPrefix(hr.Headline, "PASS") || strings.HasPrefix(hr.Headline, "VALID")
		hr.FirstErrors = firstErrors(r)
		v.Runs = append(v.Runs, hr)
	}
	for _, m := range results.LatencyMetrics() {
		row := htmlRow{Label: m.Label}
		for _, d := range runs {
			val := "-" // no response, no latency
			if d.Run.Responses() > 0 {
				val = strconv.FormatFloat(m.Latency(d.Run.Latency.Corrected), 'f', 3, 64)
			}
			row.Values = append(row.Values, val)
		}
		v.Latency = append(v.Latency, row)
	}
	if len(runs) == 1 {
		v.Title = "perf report: " + labels[0]
	} else {
		v.Title = fmt.Sprintf("perf report: %d runs", len(runs))
	}
	v.Plots = []htmlPlot{
		spectrumPlot(runs, labels),
		latencyPlot(runs, labels),
		lagPlot(runs, labels),
		ratePlot(runs, labels),
		errorsPlot(runs, labels),
		cpuPlot(runs, labels),
	}
	v.Variants = buildVariants(runs, labels)
	if v.Segments = buildSegments(runs, labels); v.Segments != nil {
		for i := range v.Plots {
			if len(v.Plots[i].SVG.VMarks) > 0 {
				v.Plots[i].Note = strings.TrimSpace(v.Plots[i].Note + " " + segmentsNote)
			}
		}
	}
	return v
}

// The plots' geometry, in SVG user units.
const (
	plotW, plotH                         = 900.0, 380.0
	padLeft, padRight, padTop, padBottom = 70.0, 40.0, 20.0, 50.0
)

type pt struct{ x, y float64 }

type series struct {
	kind  string // class: corrected, service, p50, ...
	run   int
	label string
	color string
	dash  string
	width float64
	// pieces are the series' polylines: a series breaks where it has no
	// value (an interval without responses is a gap, not a 0) and around
	// a partial interval, which is drawn apart.
	pieces []piece
}

// piece is one polyline of a series.
type piece struct {
	points []pt
	// partial marks the step of an interval shorter than the run's usual
	// one: drawn faint, not joined to its neighbours, with a hollow marker
	// at its middle, so a short last interval never reads as a fall.
	partial bool
}

// line returns the pieces of a series drawn as one polyline through pts.
func line(pts []pt) []piece {
	if len(pts) == 0 {
		return nil
	}
	return []piece{{points: pts}}
}

// mark is a horizontal bound drawn dashed from x0 to x1 at y, with a dot
// at x1 (an SLO on the spectrum).
type mark struct {
	x0, x1, y float64
	label     string
	color     string
}

// band is a shaded x range (the warm-up).
type band struct {
	x0, x1 float64
	label  string
}

type tick struct {
	v     float64
	label string
}

type svgPlot struct {
	id             string
	xLabel, yLabel string
	xMin, xMax     float64
	yMin, yMax     float64
	xTicks, yTicks []tick
	series         []series
	marks          []mark
	bands          []band
	// usual is the length of the runs' usual interval, in words, for the
	// legend of partial intervals.
	usual string
	// xLog and yLog draw an axis by log10 (its ticks then come from
	// logTicks): latency near a knee spans orders of magnitude, and a
	// search's rates grow by a factor a step.
	xLog, yLog bool
	// points are markers, one a measurement (a segment, a search step),
	// whose shape says its verdict.
	points []point
	// vmarks are vertical lines: where a segment starts, a search's answer.
	vmarks []vmark
	// keys are legend entries for the markers' shapes.
	keys []legendKey
}

// Marker shapes: a verdict is told by shape, not by colour alone, so that
// it reads in grey print and for colour-blind people.
const (
	shapeCircle   = "circle"   // pass
	shapeSquare   = "square"   // fail
	shapeTriangle = "triangle" // generator-bound
)

// point is one marker at (x, y).
type point struct {
	x, y float64
	kind string // the series' kind: p50, p99, ...
	run  int
	// verdict is a class: pass, fail, generator-bound, or none.
	verdict string
	shape   string
	color   string
	// hollow draws the marker's outline only (a step that ended early).
	hollow bool
	// title is the marker's tooltip.
	title string
}

// vmark is a vertical line at x with a label at the plot's top.
type vmark struct {
	x     float64
	label string
	// title is the tooltip, the label when empty.
	title string
	color string
	dash  string
}

// legendKey is a legend entry for a marker shape.
type legendKey struct {
	shape  string
	hollow bool
	text   string
}

// spectrumX maps a percentile (0..100) to the spectrum's x axis:
// log10(1/(1-p)), so 90% is 1, 99% is 2, 99.9% is 3.
func spectrumX(percentile float64) float64 {
	return -math.Log10(1 - percentile/100)
}

// spectrumMaxX is the right end of the spectrum: 99.999%.
const spectrumMaxX = 5

// spectrumPoints samples h (nanoseconds) along the spectrum's x axis, in
// milliseconds, up to 99.999% or the percentile the sample count resolves.
func spectrumPoints(h *hdrhistogram.Histogram) []pt {
	n := h.TotalCount()
	if n == 0 {
		return nil
	}
	xEnd := math.Min(spectrumMaxX, math.Log10(float64(n)))
	// The points' percentiles, then their values by the one percentile
	// rule run.json uses (results.ValuesAtPercentiles), so the plotted p99
	// is the table's p99.
	var xs, ps []float64
	const step = 0.025
	for x := 0.0; ; x += step {
		if x > xEnd {
			x = xEnd
		}
		xs = append(xs, x)
		ps = append(ps, 100*(1-math.Pow(10, -x)))
		if x >= xEnd {
			break
		}
	}
	pts := make([]pt, len(xs))
	for i, v := range results.ValuesAtPercentiles(h, ps...) {
		pts[i] = pt{xs[i], float64(v) / 1e6}
	}
	if xEnd == 0 { // a single value
		pts = append(pts, pt{0.001, float64(h.Max()) / 1e6})
	}
	return pts
}

func spectrumPlot(runs []*results.RunDir, labels []string) htmlPlot {
	p := svgPlot{id: "spectrum", xLabel: "percentile", yLabel: "latency (ms)", xMin: 0, xMax: spectrumMaxX}
	for i, pc := range []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%"} {
		p.xTicks = append(p.xTicks, tick{float64(i), pc})
	}
	single := len(runs) == 1
	var empty []string
	markAt := map[string]int{}
	for i, d := range runs {
		if d.Hlog == nil {
			empty = append(empty, labels[i])
			continue
		}
		for k, tag := range []string{results.TagCorrected, results.TagService} {
			pts := spectrumPoints(d.Hlog.Total(tag, false))
			if len(pts) == 0 {
				continue
			}
			s := series{kind: tag, run: i, label: labelFor(labels[i], tag, single), color: runColor(i), width: 2, pieces: line(pts)}
			if single {
				s.color = runColor(k)
			}
			if tag == results.TagService {
				s.dash = "6 4"
			}
			p.series = append(p.series, s)
		}
		for _, v := range d.Run.SLO {
			slo, err := results.ParseSLO(v.Expr)
			limit, isLatency := slo.Latency()
			pc := slo.Measure().Percentile
			if err != nil || !isLatency || pc == 0 {
				continue
			}
			x1 := float64(spectrumMaxX)
			if pc < 100 {
				x1 = spectrumX(pc)
			}
			// One mark an SLO, however many runs share it; red when any
			// run fails it.
			key := slo.String()
			j, seen := markAt[key]
			if !seen {
				j = len(p.marks)
				markAt[key] = j
				p.marks = append(p.marks, mark{x0: 0, x1: x1, y: float64(limit) / 1e6, label: "SLO " + key, color: sloPassColor})
			}
			if !v.OK {
				p.marks[j].color = sloFailColor
				p.marks[j].label = "SLO " + key + " (failed)"
			}
		}
	}
	p.yMin, p.yMax = 0, p.maxY()
	note := ""
	if len(p.series) == 0 {
		note = "No latency recorded in the measured window."
	}
	if len(empty) > 0 {
		note += " No latency.hlog for " + strings.Join(empty, ", ") + "."
	}
	return htmlPlot{ID: p.id, Title: "Percentile spectrum (corrected solid, service dashed; SLO bounds with a dot at their percentile)", SVG: p.view(), Note: strings.TrimSpace(note)}
}

// labelFor names a series: the kind alone for one run, "run: kind" for
// several.
func labelFor(run, kind string, single bool) string {
	if single {
		return kind
	}
	return run + ": " + kind
}

// sortStrings sorts s in place (insertion sort; s is tiny).
func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// maxY returns the top of the y axis: the highest point or mark, with a
// margin, and at least 1.
func (p *svgPlot) maxY() float64 {
	m := 0.0
	for _, s := range p.series {
		for _, pc := range s.pieces {
			for _, q := range pc.points {
				m = math.Max(m, q.y)
			}
		}
	}
	for _, mk := range p.marks {
		m = math.Max(m, mk.y)
	}
	if m <= 0 {
		return 1
	}
	return m * 1.05
}

// niceTicks returns about n ticks from lo to at least hi at a step of 1, 2
// or 5 times a power of ten.
func niceTicks(lo, hi float64, n int) []tick {
	if hi <= lo {
		hi = lo + 1
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, f := range []float64{1, 2, 5, 10} {
		step = f * mag
		if step >= raw {
			break
		}
	}
	var ticks []tick
	for v := math.Floor(lo/step) * step; ; v += step {
		ticks = append(ticks, tick{v, strconv.FormatFloat(roundTick(v, step), 'f', -1, 64)})
		if v >= hi-1e-9*step {
			break
		}
	}
	return ticks
}

// roundTick removes floating-point noise from a tick value.
func roundTick(v, step float64) float64 {
	digits := math.Max(0, -math.Floor(math.Log10(step))+1)
	p := math.Pow(10, digits)
	return math.Round(v*p) / p
}

// plotView is one plot as the "plot" template (svg.tmpl) draws it: every
// coordinate scaled to SVG user units and formatted, every label plain
// text, so that the template only places values and html/template escapes
// them. (It writes a '+', as in a data value of 1e+06, as "&#43;", which an
// HTML parser reads back as '+'.)
type plotView struct {
	ID string
	// Width and Height are the viewBox's; the height grows with the
	// legend's rows.
	Width, Height string
	Label         string // aria-label
	Series        int    // data-series: the number of series
	// XMin, XMax and YMax are the axes' ends as data values (data-x-min,
	// data-x-max, data-y-max), for tests and the hover read-out.
	XMin, XMax, YMax string
	Frame            rectView
	Bands            []bandView
	YTicks, XTicks   []tickView
	XAxis, YAxis     textView // the axes' labels; YAxis is turned upright
	Lines            []lineView
	Marks            []markView
	Legend           []legendView
	Points           []pointView
	VMarks           []vmarkView
}

// pointView is a marker: a circle at (X, Y), or a polygon through Path.
type pointView struct {
	Kind, Verdict string
	Run           int
	Circle        bool
	X, Y          string
	Path          string
	// Stroke and Fill are the marker's colours: Fill is white for a
	// hollow one.
	Stroke, Fill string
	// Value is the marker's data value, "x,y" (data-value).
	Value string
	Title string
}

// vmarkView is a vertical line and its label (none when labels would
// overlap: its title still names it).
type vmarkView struct {
	Value  string // data-x
	Line   segView
	Color  string
	Dash   string
	Text   textView
	Anchor string
	Title  string
}

type rectView struct{ X, Y, W, H string }

type segView struct{ X1, Y1, X2, Y2 string }

type textView struct{ X, Y, Text string }

// bandView is a shaded x range and its label, at its top left.
type bandView struct {
	Rect  rectView
	Label textView
}

// tickView is a grid line and its tick label.
type tickView struct {
	Grid  segView
	Label textView
}

// lineView is one polyline of a series (a piece).
type lineView struct {
	Kind    string
	Run     int
	Partial bool
	N       int // data-points
	Label   string
	Color   string
	Width   string
	Dash    string
	// Points is the polyline's "x,y x,y" in user units; Values the same
	// points as data values (data-values), for the hover read-out.
	Points, Values string
	// Marker is the hollow marker at a partial interval's middle, nil for
	// a whole one; its Text is its title.
	Marker *textView
}

// markView is a bound: a line, its label, and a dot at its end unless it
// runs Across the whole plot (then its label sits at its right end).
type markView struct {
	Value  string // data-y
	Line   segView
	Color  string
	Across bool
	Text   textView
}

// legendView is one legend entry at (X, Y): a series' line, the hollow
// marker of partial intervals, or a marker shape (Shape is its points or,
// for a circle, empty with Circle set).
type legendView struct {
	X, Y               string
	Partial            bool
	Color, Width, Dash string
	Text               string
	Marker             bool
	Circle             bool
	Shape              string
	Fill               string
}

// view lays the plot out for the "plot" template.
func (p *svgPlot) view() plotView {
	if p.yTicks == nil {
		p.yTicks = niceTicks(p.yMin, p.yMax, 5)
		p.yMax = p.yTicks[len(p.yTicks)-1].v
	}
	if p.xMax <= p.xMin {
		p.xMax = p.xMin + 1
	}
	iw, ih := plotW-padLeft-padRight, plotH-padTop-padBottom
	sx := func(x float64) float64 { return padLeft + axisFraction(x, p.xMin, p.xMax, p.xLog)*iw }
	sy := func(y float64) float64 { return padTop + ih - axisFraction(y, p.yMin, p.yMax, p.yLog)*ih }
	// f formats a coordinate: a tenth of a user unit is finer than a pixel.
	f := func(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }
	clampX := func(x float64) string { return f(math.Max(padLeft, math.Min(padLeft+iw, sx(x)))) }
	clampY := func(y float64) string { return f(math.Max(padTop, math.Min(padTop+ih, sy(y)))) }

	v := plotView{
		ID: p.id, Width: f(plotW), Label: p.yLabel + " by " + p.xLabel, Series: len(p.series),
		XMin: fv(p.xMin), XMax: fv(p.xMax), YMax: fv(p.yMax),
		Frame: rectView{f(padLeft), f(padTop), f(iw), f(ih)},
		XAxis: textView{f(padLeft + iw/2), f(plotH - 8), p.xLabel},
		YAxis: textView{f(16), f(padTop + ih/2), p.yLabel},
	}
	for _, bd := range p.bands {
		v.Bands = append(v.Bands, bandView{
			Rect:  rectView{f(sx(bd.x0)), f(padTop), f(sx(bd.x1) - sx(bd.x0)), f(ih)},
			Label: textView{f(sx(bd.x0) + 4), f(padTop + 14), bd.label},
		})
	}
	for _, t := range p.yTicks {
		y := sy(t.v)
		v.YTicks = append(v.YTicks, tickView{segView{f(padLeft), f(y), f(padLeft + iw), f(y)}, textView{f(padLeft - 6), f(y + 4), t.label}})
	}
	for _, t := range p.xTicks {
		if t.v < p.xMin || t.v > p.xMax {
			continue
		}
		x := sx(t.v)
		v.XTicks = append(v.XTicks, tickView{segView{f(x), f(padTop), f(x), f(padTop + ih)}, textView{f(x), f(padTop + ih + 18), t.label}})
	}
	partials := false
	for _, s := range p.series {
		for _, pc := range s.pieces {
			l := lineView{Kind: s.kind, Run: s.run, Partial: pc.partial, N: len(pc.points), Label: s.label,
				Color: s.color, Width: f(s.width), Dash: s.dash,
				Points: pairs(pc.points, clampX, clampY), Values: pairs(pc.points, fv, fv)}
			if pc.partial && len(pc.points) > 0 {
				first, last := pc.points[0], pc.points[len(pc.points)-1]
				l.Marker = &textView{clampX((first.x + last.x) / 2), clampY(last.y),
					s.label + ": partial interval " + fv(first.x) + "-" + fv(last.x) + "s: " + fv(last.y)}
			}
			partials = partials || pc.partial
			v.Lines = append(v.Lines, l)
		}
	}
	for _, mk := range p.marks {
		y := sy(mk.y)
		m := markView{Value: fv(mk.y), Line: segView{f(sx(mk.x0)), f(y), f(sx(mk.x1)), f(y)}, Color: mk.color, Across: mk.x1 >= p.xMax}
		// A bound across the whole plot is labelled at its right end: its
		// left end is the warm-up's, which has a label of its own.
		m.Text = textView{f(sx(mk.x0) + 6), f(y - 5), mk.label}
		if m.Across {
			m.Text.X = f(sx(mk.x1) - 6)
		}
		v.Marks = append(v.Marks, m)
	}
	for _, q := range p.points {
		x, y := sx(q.x), sy(q.y)
		pv := pointView{Kind: q.kind, Verdict: q.verdict, Run: q.run, Stroke: q.color, Fill: q.color,
			Value: fv(q.x) + "," + fv(q.y), Title: q.title}
		if q.hollow {
			pv.Fill = "#fff"
		}
		if q.shape == shapeCircle || q.shape == "" {
			pv.Circle, pv.X, pv.Y = true, f(x), f(y)
		} else {
			pv.Path = shapePath(q.shape, x, y, f)
		}
		v.Points = append(v.Points, pv)
	}
	v.VMarks = p.vmarkViews(sx, f, ih)
	// The legend, below the plot, in rows: inside the frame it would hide
	// the data (a rate plot's lines run along its top). An entry's width
	// is a guess from its text's length.
	lx, ly := padLeft, plotH+10
	add := func(e legendView) {
		w := 54 + 7*float64(utf8.RuneCountInString(e.Text))
		if lx > padLeft && lx+w > plotW-padRight {
			lx, ly = padLeft, ly+18
		}
		e.X, e.Y = f(lx), f(ly)
		v.Legend = append(v.Legend, e)
		lx += w
	}
	for _, s := range p.series {
		add(legendView{Color: s.color, Width: f(s.width), Dash: s.dash, Text: s.label})
	}
	if partials {
		add(legendView{Partial: true, Text: "partial interval (shorter than " + p.usual + "): hollow marker, not joined"})
	}
	for _, k := range p.keys {
		e := legendView{Marker: true, Color: "#555", Fill: "#555", Text: k.text}
		if k.hollow {
			e.Fill = "#fff"
		}
		if k.shape == shapeCircle {
			e.Circle = true
		} else {
			e.Shape = shapePath(k.shape, 12, -4, f)
		}
		add(e)
	}
	v.Height = f(plotH)
	if len(v.Legend) > 0 {
		v.Height = f(ly + 8)
	}
	return v
}

// axisFraction returns where v lies between an axis's ends lo and hi, 0 at
// lo and 1 at hi, linearly or by log10. A value a log axis cannot show (0
// or below) lies at its low end.
func axisFraction(v, lo, hi float64, log bool) float64 {
	if log {
		if v < lo {
			v = lo
		}
		return (math.Log10(v) - math.Log10(lo)) / (math.Log10(hi) - math.Log10(lo))
	}
	return (v - lo) / (hi - lo)
}

// logRange returns the ends and ticks of a log axis holding lo..hi (both
// above 0): its ends are the nearest 1, 2 or 5 times a power of ten
// outside them, its ticks those steps inside, or only the powers of ten
// when those are too many to read.
func logRange(lo, hi float64) (float64, float64, []tick) {
	steps := func(k float64) []float64 {
		d := math.Pow(10, k)
		return []float64{d, 2 * d, 5 * d}
	}
	floor, ceil := lo, hi
	for _, v := range steps(math.Floor(math.Log10(lo))) {
		if v <= lo*(1+1e-9) {
			floor = v
		}
	}
	ceil = math.Pow(10, math.Ceil(math.Log10(hi)))
	for _, v := range steps(math.Floor(math.Log10(hi))) {
		if v >= hi*(1-1e-9) && v < ceil {
			ceil = v
		}
	}
	var all, decades []tick
	for k := math.Floor(math.Log10(floor)); k <= math.Ceil(math.Log10(ceil)); k++ {
		for i, v := range steps(k) {
			if v < floor*(1-1e-9) || v > ceil*(1+1e-9) {
				continue
			}
			t := tick{v, strconv.FormatFloat(roundTick(v, v), 'f', -1, 64)}
			all = append(all, t)
			if i == 0 {
				decades = append(decades, t)
			}
		}
	}
	if len(all) > 10 && len(decades) >= 2 {
		all = decades
	}
	return floor, ceil, all
}

// fitLog sets a log y axis to hold every point, series and mark, and
// reports whether it could: a y axis spans a factor of ten or more, and
// every value is above 0. Otherwise the axis stays linear.
func (p *svgPlot) fitLog() bool {
	lo, hi := math.Inf(1), 0.0
	see := func(v float64) {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	for _, s := range p.series {
		for _, pc := range s.pieces {
			for _, q := range pc.points {
				see(q.y)
			}
		}
	}
	for _, q := range p.points {
		see(q.y)
	}
	for _, mk := range p.marks {
		see(mk.y)
	}
	if lo <= 0 || hi < 10*lo {
		return false
	}
	p.yLog = true
	p.yMin, p.yMax, p.yTicks = logRange(lo, hi*1.05)
	return true
}

// shapePath returns the points of a marker polygon of shape centred at
// (x, y), in user units.
func shapePath(shape string, x, y float64, f func(float64) string) string {
	var pts []pt
	switch shape {
	case shapeSquare:
		const r = 4
		pts = []pt{{x - r, y - r}, {x + r, y - r}, {x + r, y + r}, {x - r, y + r}}
	default: // triangle, pointing up
		const r = 5.5
		pts = []pt{{x, y - r}, {x + r, y + 0.8*r}, {x - r, y + 0.8*r}}
	}
	return pairs(pts, f, f)
}

// vmarkViews lays out the vertical marks: a line across the frame and a
// label at its top, right of the line (left of it in the plot's right
// third). A label that would overlap one already placed goes a row lower,
// and is left out below the third row: its title still names it.
func (p *svgPlot) vmarkViews(sx func(float64) float64, f func(float64) string, ih float64) []vmarkView {
	var out []vmarkView
	var rows [3][][2]float64 // the x extents of the labels in each row
	for _, m := range p.vmarks {
		x := sx(m.x)
		title := m.title
		if title == "" {
			title = m.label
		}
		v := vmarkView{Value: fv(m.x), Line: segView{f(x), f(padTop), f(x), f(padTop + ih)}, Color: m.color, Dash: m.dash, Title: title, Anchor: "start"}
		if m.label != "" {
			w := 7 * float64(utf8.RuneCountInString(m.label))
			from, to := x+3, x+3+w
			if x > padLeft+(plotW-padLeft-padRight)*2/3 {
				v.Anchor = "end"
				from, to = x-3-w, x-3
			}
			for r := range rows {
				free := true
				for _, e := range rows[r] {
					if from < e[1]+4 && e[0] < to+4 {
						free = false
						break
					}
				}
				if free {
					rows[r] = append(rows[r], [2]float64{from, to})
					tx := x + 3
					if v.Anchor == "end" {
						tx = x - 3
					}
					v.Text = textView{f(tx), f(padTop + 13 + 15*float64(r)), m.label}
					break
				}
			}
		}
		out = append(out, v)
	}
	return out
}

// fv formats a data value for an attribute.
func fv(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

// pairs lists points as "x,y x,y", each coordinate formatted by fx and fy:
// a polyline's points, or their data values for the hover read-out.
func pairs(pts []pt, fx, fy func(float64) string) string {
	var b strings.Builder
	for i, q := range pts {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(fx(q.x) + "," + fy(q.y))
	}
	return b.String()
}
