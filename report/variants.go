package report

import (
	"strconv"
	"strings"

	"github.com/perf-tools/perf/results"
)

// A run split by a response header (perf attack --split-by) has a summary a
// variant (results.Variant). The text and Markdown reports show them after
// the run's own tables, a row a variant so that their corrected latencies
// read side by side down each column, with the service p99 beside them;
// the HTML page adds their corrected percentile spectra on one plot.

// variantTables returns the Variants table of each run that has variants,
// titled by the header that split it and by the run's label when there are
// several runs.
func variantTables(runs []*results.Run, labels []string) []table {
	var out []table
	for i, r := range runs {
		if len(r.Variants) == 0 {
			continue
		}
		t := table{title: "Variants (" + r.SplitBy + ")", numeric: true}
		if len(runs) > 1 {
			t.title += ": " + labels[i]
		}
		t.head = []string{"variant", "responses", "share", "errors", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "service p99 ms", "slo"}
		t.words = []int{len(t.head) - 1}
		for _, v := range r.Variants {
			row := variantRow(r, v)
			t.body = append(t.body, []string{row.Name, row.Responses, row.Share, row.Errors,
				row.P50, row.P90, row.P99, row.P999, row.Max, row.ServiceP99, sloText(v.SLO)})
		}
		out = append(out, t)
	}
	return out
}

// variantRowView is one variant's row, formatted as the text, Markdown and
// HTML tables show it.
type variantRowView struct {
	Name, Responses, Share, Errors       string
	P50, P90, P99, P999, Max, ServiceP99 string
	SLO                                  []results.Verdict
	Verdict                              string
}

// variantRow formats variant v of run r: its share is of the run's
// responses, its errors are its error statuses.
func variantRow(r *results.Run, v results.Variant) variantRowView {
	row := variantRowView{
		Name:      v.Name,
		Responses: strconv.FormatInt(v.Responses, 10),
		Share:     "-",
		Errors:    strconv.FormatInt(v.Errors, 10),
		P50:       "-", P90: "-", P99: "-", P999: "-", Max: "-", ServiceP99: "-",
		SLO:     v.SLO,
		Verdict: "none",
	}
	if n := r.Responses(); n > 0 {
		row.Share = results.FormatFloat(100*float64(v.Responses)/float64(n), 1) + "%"
	}
	if v.Responses > 0 {
		row.Errors += " (" + results.FormatFloat(100*float64(v.Errors)/float64(v.Responses), 3) + "%)"
		c := v.Latency.Corrected
		row.P50, row.P90, row.P99, row.P999, row.Max = ms(c.P50), ms(c.P90), ms(c.P99), ms(c.P999), ms(c.Max)
		row.ServiceP99 = ms(v.Latency.Service.P99)
	}
	if len(v.SLO) > 0 {
		row.Verdict = results.StepPass
		for _, vd := range v.SLO {
			if !vd.OK {
				row.Verdict = results.StepFail
			}
		}
	}
	return row
}

// htmlVariants is the Variants section of the HTML run page: a table a
// run, and one plot of every variant's corrected percentile spectrum.
type htmlVariants struct {
	Runs []htmlVariantRun
	Plot htmlPlot
}

// htmlVariantRun is the variants table of one run.
type htmlVariantRun struct {
	Index   int
	Label   string
	Color   string
	Several bool
	SplitBy string
	Rows    []variantRowView
}

// buildVariants returns the Variants section of the runs, nil when none
// was split.
func buildVariants(runs []*results.RunDir, labels []string) *htmlVariants {
	var out htmlVariants
	for i, d := range runs {
		r := d.Run
		if len(r.Variants) == 0 {
			continue
		}
		vr := htmlVariantRun{Index: i, Label: labels[i], Color: runColor(i), Several: len(runs) > 1, SplitBy: r.SplitBy}
		for _, v := range r.Variants {
			vr.Rows = append(vr.Rows, variantRow(r, v))
		}
		out.Runs = append(out.Runs, vr)
	}
	if len(out.Runs) == 0 {
		return nil
	}
	out.Plot = variantsPlot(runs, labels)
	return &out
}

// variantsPlot draws the corrected percentile spectrum of every variant of
// every run, from the variants' tags in latency.hlog, one colour a variant
// (a dash a run when there are several), and the variant SLOs' latency
// bounds up to their percentile.
func variantsPlot(runs []*results.RunDir, labels []string) htmlPlot {
	p := svgPlot{id: "variants", xLabel: "percentile", yLabel: "corrected latency (ms)", xMin: 0, xMax: spectrumMaxX}
	for i, pc := range []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%"} {
		p.xTicks = append(p.xTicks, tick{float64(i), pc})
	}
	dashes := []string{"", "6 4", "2 3", "8 3 2 3"}
	var missing []string
	colorOf := map[string]string{}
	for i, d := range runs {
		if len(d.Run.Variants) == 0 {
			continue
		}
		if d.Hlog == nil {
			missing = append(missing, labels[i])
			continue
		}
		for _, v := range d.Run.Variants {
			pts := spectrumPoints(d.Hlog.Total(results.VariantTag(results.TagCorrected, v.Name), false))
			if len(pts) == 0 {
				continue
			}
			c, ok := colorOf[v.Name]
			if !ok {
				c = runColor(len(colorOf))
				colorOf[v.Name] = c
			}
			label := v.Name
			if len(runs) > 1 {
				label = labels[i] + ": " + v.Name
			}
			p.series = append(p.series, series{kind: "corrected", run: i, label: label, color: c,
				dash: dashes[i%len(dashes)], width: 2, pieces: line(pts)})
		}
		for _, vd := range d.Run.SLO {
			b, err := results.ParseSLO(vd.Expr)
			if err != nil || b.Variant == "" || b.Relative || b.Measure().Unit != results.UnitMS || b.Measure().Percentile == 0 {
				continue
			}
			x1 := float64(spectrumMaxX)
			if pc := b.Measure().Percentile; pc < 100 {
				x1 = spectrumX(pc)
			}
			m := mark{x0: 0, x1: x1, y: b.Limit, label: "SLO " + b.String(), color: sloPassColor}
			if !vd.OK {
				m.color, m.label = sloFailColor, m.label+" (failed)"
			}
			p.marks = append(p.marks, m)
		}
	}
	p.yMin, p.yMax = 0, p.maxY()
	note := "One line a variant: the corrected latency of its responses. A request that got no response belongs to no variant."
	if len(p.series) == 0 {
		note = "No variant's latency is in latency.hlog."
	}
	if len(missing) > 0 {
		note += " No latency.hlog for " + strings.Join(missing, ", ") + "."
	}
	return htmlPlot{ID: p.id, Title: "Percentile spectrum by variant (corrected; variant SLO bounds with a dot at their percentile)", SVG: p.view(), Note: note}
}
