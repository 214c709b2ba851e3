package report

import (
	_ "embed"
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

//go:embed html.tmpl
var htmlTemplateText string

var htmlTemplate = template.Must(template.New("report").Parse(htmlTemplateText))

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
	SVG   template.HTML
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
	return htmlPlot{ID: p.id, Title: "Percentile spectrum (corrected solid, service dashed; SLO bounds with a dot at their percentile)", SVG: p.render(), Note: strings.TrimSpace(note)}
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

// render draws the plot as an inline SVG element.
func (p *svgPlot) render() template.HTML {
	if p.yTicks == nil {
		p.yTicks = niceTicks(p.yMin, p.yMax, 5)
		p.yMax = p.yTicks[len(p.yTicks)-1].v
	}
	if p.xMax <= p.xMin {
		p.xMax = p.xMin + 1
	}
	iw, ih := plotW-padLeft-padRight, plotH-padTop-padBottom
	sx := func(x float64) float64 { return padLeft + (x-p.xMin)/(p.xMax-p.xMin)*iw }
	sy := func(y float64) float64 { return padTop + ih - (y-p.yMin)/(p.yMax-p.yMin)*ih }
	f := func(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }
	esc := template.HTMLEscapeString

	// b holds the inside of the <svg>; its tag, whose height depends on
	// the legend's rows, is written last.
	var b strings.Builder
	fmt.Fprintf(&b, `<rect class="frame" x="%s" y="%s" width="%s" height="%s"/>`, f(padLeft), f(padTop), f(iw), f(ih))
	for _, bd := range p.bands {
		fmt.Fprintf(&b, `<rect class="band" x="%s" y="%s" width="%s" height="%s"><title>%s</title></rect>`,
			f(sx(bd.x0)), f(padTop), f(sx(bd.x1)-sx(bd.x0)), f(ih), esc(bd.label))
	}
	for _, t := range p.yTicks {
		y := sy(t.v)
		fmt.Fprintf(&b, `<line class="grid" x1="%s" y1="%s" x2="%s" y2="%s"/>`, f(padLeft), f(y), f(padLeft+iw), f(y))
		fmt.Fprintf(&b, `<text class="tick y" x="%s" y="%s">%s</text>`, f(padLeft-6), f(y+4), esc(t.label))
	}
	for _, t := range p.xTicks {
		if t.v < p.xMin || t.v > p.xMax {
			continue
		}
		x := sx(t.v)
		fmt.Fprintf(&b, `<line class="grid" x1="%s" y1="%s" x2="%s" y2="%s"/>`, f(x), f(padTop), f(x), f(padTop+ih))
		fmt.Fprintf(&b, `<text class="tick x" x="%s" y="%s">%s</text>`, f(x), f(padTop+ih+18), esc(t.label))
	}
	fmt.Fprintf(&b, `<text class="axis-label" x="%s" y="%s">%s</text>`, f(padLeft+iw/2), f(plotH-8), esc(p.xLabel))
	fmt.Fprintf(&b, `<text class="axis-label" transform="translate(16 %s) rotate(-90)">%s</text>`, f(padTop+ih/2), esc(p.yLabel))
	clampX := func(x float64) float64 { return math.Max(padLeft, math.Min(padLeft+iw, sx(x))) }
	clampY := func(y float64) float64 { return math.Max(padTop, math.Min(padTop+ih, sy(y))) }
	partials := false
	for _, s := range p.series {
		for _, pc := range s.pieces {
			class := "series " + s.kind + " run-" + strconv.Itoa(s.run)
			if pc.partial {
				class += " partial"
				partials = true
			}
			fmt.Fprintf(&b, `<polyline class="%s" data-run="%d" data-points="%d" data-label="%s" fill="none" stroke="%s" stroke-width="%s"`,
				class, s.run, len(pc.points), esc(s.label), s.color, f(s.width))
			if s.dash != "" {
				fmt.Fprintf(&b, ` stroke-dasharray="%s"`, s.dash)
			}
			b.WriteString(` points="`)
			for j, q := range pc.points {
				if j > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(f(clampX(q.x)) + "," + f(clampY(q.y)))
			}
			fmt.Fprintf(&b, `" data-values="%s"><title>%s</title></polyline>`, esc(valuesAttr(pc.points)), esc(s.label))
			if pc.partial && len(pc.points) > 0 {
				first, last := pc.points[0], pc.points[len(pc.points)-1]
				fmt.Fprintf(&b, `<circle class="partial-marker run-%d" cx="%s" cy="%s" r="4" stroke="%s"><title>%s: partial interval %s-%ss: %s</title></circle>`,
					s.run, f(clampX((first.x+last.x)/2)), f(clampY(last.y)), s.color, esc(s.label), fv(first.x), fv(last.x), fv(last.y))
			}
		}
	}
	// Bounds and labels come after the data, so that no line hides them.
	for i, mk := range p.marks {
		y := sy(mk.y)
		fmt.Fprintf(&b, `<g class="mark" id="%s-mark-%d" data-y="%s"><line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`,
			p.id, i, fv(mk.y), f(sx(mk.x0)), f(y), f(sx(mk.x1)), f(y), mk.color)
		if mk.x1 < p.xMax {
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="4" fill="%s"/>`, f(sx(mk.x1)), f(y), mk.color)
		}
		// A bound across the whole plot is labelled at its right end: its
		// left end is the warm-up's, which has a label of its own.
		if mk.x1 >= p.xMax {
			fmt.Fprintf(&b, `<text x="%s" y="%s" fill="%s" text-anchor="end">%s</text><title>%s</title></g>`, f(sx(mk.x1)-6), f(y-5), mk.color, esc(mk.label), esc(mk.label))
		} else {
			fmt.Fprintf(&b, `<text x="%s" y="%s" fill="%s">%s</text><title>%s</title></g>`, f(sx(mk.x0)+6), f(y-5), mk.color, esc(mk.label), esc(mk.label))
		}
	}
	for _, bd := range p.bands {
		fmt.Fprintf(&b, `<text class="band-label" x="%s" y="%s">%s</text>`, f(sx(bd.x0)+4), f(padTop+14), esc(bd.label))
	}
	// The legend, below the plot, in rows: inside the frame it would hide
	// the data (a rate plot's lines run along its top).
	type entry struct {
		symbol, text string
	}
	var entries []entry
	for _, s := range p.series {
		sym := fmt.Sprintf(`<line x1="0" y1="-4" x2="24" y2="-4" stroke="%s" stroke-width="%s"`, s.color, f(s.width))
		if s.dash != "" {
			sym += fmt.Sprintf(` stroke-dasharray="%s"`, s.dash)
		}
		entries = append(entries, entry{sym + "/>", s.label})
	}
	if partials {
		entries = append(entries, entry{`<circle class="partial-marker" cx="12" cy="-4" r="4" stroke="#555"/>`,
			"partial interval (shorter than " + p.usual + "): hollow marker, not joined"})
	}
	lx, ly := padLeft, plotH+10
	for _, e := range entries {
		w := 54 + 7*float64(len([]rune(e.text)))
		if lx > padLeft && lx+w > plotW-padRight {
			lx, ly = padLeft, ly+18
		}
		fmt.Fprintf(&b, `<g class="legend" transform="translate(%s %s)">%s<text x="30" y="0">%s</text></g>`, f(lx), f(ly), e.symbol, esc(e.text))
		lx += w
	}
	height := plotH
	if len(entries) > 0 {
		height = ly + 8
	}
	b.WriteString(`<text class="hover" x="0" y="0"></text></svg>`)
	head := fmt.Sprintf(`<svg id="%s" class="plot" viewBox="0 0 %s %s" role="img" aria-label="%s" data-series="%d" data-x-min="%s" data-x-max="%s" data-y-max="%s">`,
		p.id, f(plotW), f(height), esc(p.yLabel+" by "+p.xLabel), len(p.series), fv(p.xMin), fv(p.xMax), fv(p.yMax))
	return template.HTML(head + b.String()) //nolint:gosec // every text above is escaped
}

// fv formats a data value for an attribute.
func fv(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

// valuesAttr lists the data values "x,y x,y" for the hover read-out.
func valuesAttr(pts []pt) string {
	var b strings.Builder
	for i, q := range pts {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(fv(q.x) + "," + fv(q.y))
	}
	return b.String()
}
