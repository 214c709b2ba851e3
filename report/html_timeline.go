package report

import (
	"math"
	"slices"
	"strings"

	"github.com/perf-tools/perf/results"
)

// The plots over time draw timeline.csv as it is stored: one row an
// interval of the rate plan's time, holding counts. Each interval is drawn
// as a step over its true span [second, second+length_s), its rates as
// count/length, so that a short interval (the last of a run, cut by the
// window's end or an interrupt; the one the warm-up's end cuts) is not a
// fall. A partial interval is drawn apart with a hollow marker; an interval
// without a value (no response, nothing sent) is a gap, never a 0.

// lengthTolerance absorbs the rounding of length_s to milliseconds in
// timeline.csv when lengths are compared.
const lengthTolerance = 0.0005

// usualLength returns the length of a timeline's usual interval in
// seconds: the most common length, the longer on a tie (a run of two
// intervals, one cut short, has the longer as its usual one).
func usualLength(rows []results.TimelineRow) float64 {
	count := map[int64]int{}
	best, bestN := int64(0), 0
	for _, r := range rows {
		ms := int64(math.Round(r.LengthS * 1000))
		count[ms]++
		if n := count[ms]; n > bestN || (n == bestN && ms > best) {
			best, bestN = ms, n
		}
	}
	return float64(best) / 1000
}

// isPartial reports whether r is shorter than the run's usual interval.
func isPartial(r results.TimelineRow, usual float64) bool {
	return r.LengthS < usual-lengthTolerance
}

// stepPieces draws one value an interval as steps. get returns the value
// of a row, or false when the row has none (a gap). Consecutive intervals
// join into one polyline; a gap, a hole in the timeline (a merged run
// missing a second) or a partial interval breaks it. A partial interval in
// which the plan scheduled nothing holds no data at all: a few
// milliseconds of a plan too slow to place a hit in them are no rate of 0.
func stepPieces(rows []results.TimelineRow, usual float64, get func(results.TimelineRow) (float64, bool)) []piece {
	var out []piece
	var cur []pt
	flush := func() {
		if len(cur) > 0 {
			out = append(out, piece{points: cur})
			cur = nil
		}
	}
	for _, r := range rows {
		if r.LengthS <= 0 {
			continue // no span, nothing to draw
		}
		x0, x1 := r.Second, r.Second+r.LengthS
		v, ok := get(r)
		partial := isPartial(r, usual)
		switch {
		case !ok || (partial && r.Intended == 0):
			flush()
		case partial:
			flush()
			out = append(out, piece{points: []pt{{x0, v}, {x1, v}}, partial: true})
		default:
			if len(cur) > 0 && math.Abs(cur[len(cur)-1].x-x0) > lengthTolerance {
				flush()
			}
			cur = append(cur, pt{x0, v}, pt{x1, v})
		}
	}
	flush()
	return out
}

// timelineEnd returns where a timeline's data ends: the last interval's
// end, in seconds since the run's start.
func timelineEnd(rows []results.TimelineRow) float64 {
	end := 0.0
	for _, r := range rows {
		end = math.Max(end, r.Second+r.LengthS)
	}
	return end
}

// warmupBand returns the shaded warm-up of a timeline, if it has one.
func warmupBand(rows []results.TimelineRow) (band, bool) {
	var end float64
	found := false
	for _, r := range rows {
		if r.Warmup {
			found = true
			end = math.Max(end, r.Second+r.LengthS)
		}
	}
	return band{x0: 0, x1: end, label: "warm-up"}, found
}

// timeCol is one series drawn from every run's timeline.
type timeCol struct {
	kind string
	// label names the series in the legend; the kind when empty.
	label string
	dash  string
	width float64
	// get returns a row's value, or false when it has none.
	get func(results.TimelineRow) (float64, bool)
}

// timePlot builds a plot over the runs' time from one or more columns of
// each run's timeline.
func timePlot(id, yLabel string, runs []*results.RunDir, labels []string, cols []timeCol) svgPlot {
	p := svgPlot{id: id, xLabel: "time (s)", yLabel: yLabel}
	single := len(runs) == 1
	var usual []string
	for i, d := range runs {
		u := usualLength(d.Timeline)
		if len(d.Timeline) > 0 {
			if s := seconds(u); !slices.Contains(usual, s) {
				usual = append(usual, s)
			}
		}
		for k, c := range cols {
			pieces := stepPieces(d.Timeline, u, c.get)
			if len(pieces) == 0 {
				continue
			}
			name := c.label
			if name == "" {
				name = c.kind
			}
			s := series{kind: c.kind, run: i, label: labelFor(labels[i], name, single), color: runColor(i), dash: c.dash, width: c.width, pieces: pieces}
			if single {
				s.color = runColor(k)
			}
			p.series = append(p.series, s)
		}
		if b, ok := warmupBand(d.Timeline); ok && i == 0 {
			p.bands = append(p.bands, b)
		}
	}
	p.usual = strings.Join(usual, " / ")
	p.fitTime(runs)
	p.markSegments(runs)
	return p
}

// fitTime sets a time plot's ranges and ticks. The time axis ends where
// the data ends, the end of the runs' last interval: not a second later,
// which would read as a stretch without requests.
func (p *svgPlot) fitTime(runs []*results.RunDir) {
	p.xMin, p.xMax = 0, 0
	for _, d := range runs {
		p.xMax = math.Max(p.xMax, timelineEnd(d.Timeline))
	}
	if p.xMax == 0 { // no timeline: the series' own extent
		for _, s := range p.series {
			for _, pc := range s.pieces {
				for _, q := range pc.points {
					p.xMax = math.Max(p.xMax, q.x)
				}
			}
		}
	}
	if p.xMax == 0 {
		p.xMax = 1
	}
	p.xTicks = niceTicks(0, p.xMax, 8)
	p.yMin, p.yMax = 0, p.maxY()
}

func latencyPlot(runs []*results.RunDir, labels []string) htmlPlot {
	// An interval without a response has no latency: a gap, not a 0.
	ms := func(get func(results.TimelineRow) float64) func(results.TimelineRow) (float64, bool) {
		return func(r results.TimelineRow) (float64, bool) { return get(r), r.Responses() > 0 }
	}
	p := timePlot("latency", "corrected latency (ms)", runs, labels, []timeCol{
		{"p50", "", "2 3", 1.5, ms(func(r results.TimelineRow) float64 { return r.P50MS })},
		{"p99", "", "", 2, ms(func(r results.TimelineRow) float64 { return r.P99MS })},
		{"max", "", "6 3", 1, ms(func(r results.TimelineRow) float64 { return r.MaxMS })},
	})
	return htmlPlot{ID: p.id, Title: "Latency over time (corrected p50 dotted, p99 solid, max dashed; a gap where no request got a response)", SVG: p.view(), Note: timelineNote(runs, labels)}
}

// lagPlot draws send lag p99 over time with each run's bound
// (generator.max_lag_ms). It is a plot of its own, not a line on the
// latency plot: lag is tenths of a millisecond where latency can be
// seconds, and on the latency's scale both the lag and its bound would lie
// on the axis. An interval in which nothing was sent has no lag: a gap.
func lagPlot(runs []*results.RunDir, labels []string) htmlPlot {
	p := timePlot("lag", "send lag p99 (ms)", runs, labels, []timeCol{
		{"lag", "send lag p99", "", 2, func(r results.TimelineRow) (float64, bool) { return r.LagP99MS, r.Sent() > 0 }},
	})
	p.markBounds(runs, labels, func(r *results.Run) float64 { return r.Generator.MaxLagMS }, // 0: not recorded
		func(b float64) string { return "bound " + results.FormatFloat(b, 3) + "ms" })
	p.yMax = p.maxY() // the bounds are on the axis
	return htmlPlot{ID: p.id, Title: "Send lag over time (p99 of actual minus intended send time; above the bound the run is invalid)", SVG: p.view(), Note: timelineNote(runs, labels)}
}

func ratePlot(runs []*results.RunDir, labels []string) htmlPlot {
	always := func(get func(results.TimelineRow) float64) func(results.TimelineRow) (float64, bool) {
		return func(r results.TimelineRow) (float64, bool) { return get(r), true }
	}
	p := timePlot("rate", "requests/s", runs, labels, []timeCol{
		{"intended", "", "6 4", 1.5, always(results.TimelineRow.IntendedRate)},
		{"sent", "", "", 2, always(results.TimelineRow.SentRate)},
	})
	return htmlPlot{ID: p.id, Title: "Rate over time (intended dashed, sent solid; each interval's count over its length)", SVG: p.view(), Note: timelineNote(runs, labels)}
}

// errorsPlot draws transport failures (no response: refused, reset,
// timeout, TLS, truncated) apart from error statuses (a response outside
// 2xx/3xx): a target that answers 503 and one that cannot be reached fail
// for different reasons. An interval in which nothing was sent has neither:
// a gap.
func errorsPlot(runs []*results.RunDir, labels []string) htmlPlot {
	sent := func(get func(results.TimelineRow) int64) func(results.TimelineRow) (float64, bool) {
		return func(r results.TimelineRow) (float64, bool) { return r.PerSecond(get(r)), r.Sent() > 0 }
	}
	p := timePlot("errors", "failed requests/s", runs, labels, []timeCol{
		{"failures", "failures (no response)", "", 2, sent(func(r results.TimelineRow) int64 { return r.Failures })},
		{"statuses", "error statuses", "6 4", 2, sent(func(r results.TimelineRow) int64 { return r.Errors - r.Failures })},
	})
	return htmlPlot{ID: p.id, Title: "Errors over time (failures without a response solid, error statuses dashed; per second)", SVG: p.view(), Note: timelineNote(runs, labels)}
}

func timelineNote(runs []*results.RunDir, labels []string) string {
	var empty []string
	for i, d := range runs {
		if len(d.Timeline) == 0 {
			empty = append(empty, labels[i])
		}
	}
	if len(empty) == 0 {
		return ""
	}
	return "No timeline rows for " + strings.Join(empty, ", ") + "."
}

// cpuSteps draws host samples as steps: a sample holds the use since the
// previous sample (the first: over the sampling interval before it), at
// its time T shifted onto the timeline's clock. The steps are cut to
// [0, end], the run's time: the sampler starts before the first interval
// and takes its last sample after the last one.
func cpuSteps(samples []results.HostSample, every, shift, end float64, get func(results.HostSample) float64) []piece {
	var pts []pt
	prev := math.NaN()
	for _, s := range samples {
		t := s.T + shift
		from := prev
		if math.IsNaN(from) {
			from = t - every
		}
		prev = t
		from, to := math.Max(from, 0), math.Min(t, end)
		if to <= from {
			continue
		}
		v := get(s)
		pts = append(pts, pt{from, v}, pt{to, v})
	}
	return line(pts)
}

// cpuPlot draws, for each generator (one, or each part of a merged run),
// its process's CPU and, dashed in the same colour, the CPU of every
// process on the cores it may run on (affinity_cpu_percent): a generator
// at 18% while its cores are 97% busy was starved by others, which its
// own CPU alone would hide.
func cpuPlot(runs []*results.RunDir, labels []string) htmlPlot {
	p := svgPlot{id: "cpu", xLabel: "time (s)", yLabel: "CPU (% of the generator's cores)"}
	single := len(runs) == 1
	end := 0.0
	for _, d := range runs {
		end = math.Max(end, timelineEnd(d.Timeline))
	}
	if end == 0 { // no timeline: up to the last sample
		for _, d := range runs {
			if d.Host == nil {
				continue
			}
			for _, g := range d.Host.Generators() {
				for _, s := range g {
					end = math.Max(end, s.T)
				}
			}
		}
	}
	var missing, noHost []string
	k := 0
	for i, d := range runs {
		if d.Host == nil {
			missing = append(missing, labels[i])
			continue
		}
		// Host sample times count from the host's start; shift them onto
		// the timeline's clock (the log's start) when both are known.
		shift := 0.0
		if d.Hlog != nil && !d.Hlog.StartTime.IsZero() && !d.Host.Start.IsZero() {
			shift = d.Host.Start.Sub(d.Hlog.StartTime).Seconds()
		}
		every := d.Host.IntervalS
		if every <= 0 {
			every = 1
		}
		gens := d.Host.Generators()
		names := make([]string, 0, len(gens))
		for n := range gens {
			names = append(names, n)
		}
		sortStrings(names)
		for _, n := range names {
			label := labels[i]
			if n != "generator" {
				label += " " + n
			}
			one := single && len(names) == 1
			color := runColor(i)
			if single {
				color = runColor(k)
			}
			k++
			p.series = append(p.series, series{kind: "cpu", run: i, label: labelFor(label, "generator CPU", one), color: color, width: 2,
				pieces: cpuSteps(gens[n], every, shift, end, func(s results.HostSample) float64 { return s.ProcCPUPercent })})
			// A host.json written before affinity_cpu_percent existed has
			// 0 in every sample: not recorded, not an idle host.
			if !slices.ContainsFunc(gens[n], func(s results.HostSample) bool { return s.AffinityCPUPercent > 0 }) {
				noHost = append(noHost, label)
				continue
			}
			p.series = append(p.series, series{kind: "hostcpu", run: i, label: labelFor(label, "host CPU of its cores", one), color: color, width: 1.5, dash: "6 3",
				pieces: cpuSteps(gens[n], every, shift, end, func(s results.HostSample) float64 { return s.AffinityCPUPercent })})
		}
		if b, ok := warmupBand(d.Timeline); ok && i == 0 {
			p.bands = append(p.bands, b)
		}
	}
	p.xMin, p.xMax = 0, end
	if p.xMax <= 0 {
		p.xMax = 1
	}
	p.xTicks = niceTicks(0, p.xMax, 8)
	p.markSegments(runs)
	// CPU is a share of the cores: the ticks end at 100% unless a sample
	// went above it (maxY's 5% headroom would push a 97% host to an axis
	// of 150%), with room above 100% for the labels.
	p.yMin = 0
	p.yTicks = niceTicks(0, 100, 5)
	p.yMax = 110
	if m := p.maxY(); m > 105 {
		p.yTicks = niceTicks(0, m, 5)
		p.yMax = p.yTicks[len(p.yTicks)-1].v
	}
	// Saturation is where the run was judged saturated, not 100%: a
	// generator near its bound already delays its sends. One mark a bound,
	// naming the runs when they differ.
	p.markBounds(runs, labels, func(r *results.Run) float64 { return r.Generator.CPUBound() },
		func(b float64) string { return "saturated (" + results.FormatFloat(b, 1) + "%)" })
	var notes []string
	if len(missing) > 0 {
		notes = append(notes, "No host.json for "+strings.Join(missing, ", ")+": generator CPU was not sampled.")
	}
	if len(noHost) > 0 {
		notes = append(notes, "The host CPU of the generator's cores was not recorded for "+strings.Join(noHost, ", ")+" (a host.json without affinity_cpu_percent).")
	}
	return htmlPlot{ID: p.id, Title: "CPU over time: the generator process (solid) and every process on its cores (dashed)", SVG: p.view(), Note: strings.Join(notes, " ")}
}

// markBounds draws one horizontal mark for each distinct bound of the runs
// (bound returns 0 for a run that recorded none), labelled by label, and
// naming the runs when their bounds differ.
func (p *svgPlot) markBounds(runs []*results.RunDir, labels []string, bound func(*results.Run) float64, label func(float64) string) {
	var bounds []float64
	byBound := map[float64][]string{}
	for i, d := range runs {
		b := bound(d.Run)
		if b <= 0 {
			continue
		}
		if _, ok := byBound[b]; !ok {
			bounds = append(bounds, b)
		}
		byBound[b] = append(byBound[b], labels[i])
	}
	for _, b := range bounds {
		l := label(b)
		if len(bounds) > 1 {
			l = strings.Join(byBound[b], ", ") + " " + l
		}
		p.marks = append(p.marks, mark{x0: p.xMin, x1: p.xMax, y: b, label: l, color: sloFailColor})
	}
}
