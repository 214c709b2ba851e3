package report

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/perf-tools/perf/results"
)

// Report formats. Adding one is one case in NewReporter.
const (
	FormatText     = "text"
	FormatJSON     = "json"
	FormatMarkdown = "markdown"
)

// Formats lists the formats NewReporter knows, the default first.
var Formats = []string{FormatText, FormatJSON, FormatMarkdown}

// ErrUnknownFormat reports a report format this package does not know.
var ErrUnknownFormat = errors.New("unknown report format")

// Reporter writes a report to w.
type Reporter func(w io.Writer) error

// Write writes runs to w in format, one of Formats.
func Write(w io.Writer, format string, runs ...*results.Run) error {
	rep, err := New(format, runs...)
	if err != nil {
		return err
	}
	return rep(w)
}

// New returns the reporter of runs in format, one of Formats; an
// empty format is text. An unknown format is an error matching
// ErrUnknownFormat.
func New(format string, runs ...*results.Run) (Reporter, error) {
	switch format {
	case FormatText, "":
		return Text(runs...), nil
	case FormatJSON:
		return JSON(runs...), nil
	case FormatMarkdown:
		return Markdown(runs...), nil
	}
	return nil, fmt.Errorf("%w %q: expected one of %s", ErrUnknownFormat, format, strings.Join(Formats, ", "))
}

// JSON returns a reporter that writes one run exactly as run.json
// holds it, and several as a JSON array of them.
func JSON(runs ...*results.Run) Reporter {
	return func(w io.Writer) error {
		var data []byte
		var err error
		if len(runs) == 1 {
			data, err = results.MarshalRun(runs[0])
		} else {
			data, err = results.MarshalRuns(runs)
		}
		if err != nil {
			return fmt.Errorf("encode runs: %w", err)
		}
		_, err = w.Write(data)
		return err
	}
}

// Text returns a reporter that writes runs as compact aligned
// tables, as wrk2 prints its summary: the run's facts, the corrected and
// service latency percentiles side by side, then validity and SLO
// verdicts. Several runs are columns side by side.
func Text(runs ...*results.Run) Reporter {
	return func(w io.Writer) error { return writeText(w, reportTables(runs)) }
}

// writeText writes tables as aligned text, a blank line between them: the
// layout of every text report (runs, searches).
func writeText(w io.Writer, tables []table) error {
	bw := bufio.NewWriter(w)
	for i, t := range tables {
		if i > 0 {
			fmt.Fprintln(bw)
		}
		rows := t.rows(true)
		widths := make([]int, len(rows[0]))
		for _, row := range rows {
			for j, c := range row {
				widths[j] = max(widths[j], utf8.RuneCountInString(c))
			}
		}
		for _, row := range rows {
			var line strings.Builder
			for j, c := range row {
				pad := strings.Repeat(" ", widths[j]-utf8.RuneCountInString(c))
				if j > 0 {
					line.WriteString("  ")
				}
				if t.right(j) {
					line.WriteString(pad + c) // numbers right-aligned
				} else {
					line.WriteString(c + pad)
				}
			}
			fmt.Fprintln(bw, strings.TrimRight(line.String(), " "))
		}
	}
	return bw.Flush()
}

// Markdown returns a reporter that writes runs as GitHub
// Markdown tables, one column a run.
func Markdown(runs ...*results.Run) Reporter {
	return func(w io.Writer) error { return writeMarkdown(w, "perf report", reportTables(runs)) }
}

// writeMarkdown writes tables as GitHub Markdown under a heading, each
// table under its title: the layout of every Markdown report.
func writeMarkdown(w io.Writer, heading string, tables []table) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "## "+heading)
	for _, t := range tables {
		fmt.Fprintf(bw, "\n### %s\n\n", t.title)
		rows := t.rows(false)
		for i, row := range rows {
			cells := make([]string, len(row))
			for j, c := range row {
				if i == 0 && j > 1 && c == "" {
					c = row[j-1] // a run name over its service column
				}
				cells[j] = strings.ReplaceAll(c, "|", `\|`)
			}
			fmt.Fprintf(bw, "| %s |\n", strings.Join(cells, " | "))
			if i == 0 {
				align := make([]string, len(row))
				for j := range align {
					align[j] = "---"
					if t.right(j) {
						align[j] = "--:"
					}
				}
				fmt.Fprintf(bw, "|%s|\n", strings.Join(align, "|"))
			}
		}
	}
	return bw.Flush()
}

// table is one section of a report: a label column and one or more
// columns per run.
type table struct {
	title string
	// head is the header row (Markdown tables have one); its first cell
	// is over the labels.
	head []string
	body [][]string
	// numeric tables right-align their values, but for the columns
	// listed in words (a segment's label, a step's verdict).
	numeric bool
	words   []int
}

// right reports whether column j is right-aligned: a value column of a
// numeric table that does not hold words.
func (t table) right(j int) bool {
	return t.numeric && j > 0 && !slices.Contains(t.words, j)
}

// rows returns copies of the table's rows, header first; text tables lead
// with the title in the header's first cell.
func (t table) rows(text bool) [][]string {
	head := append([]string(nil), t.head...)
	if text {
		head[0] = t.title
	}
	out := [][]string{head}
	for _, row := range t.body {
		out = append(out, append([]string(nil), row...))
	}
	return out
}

// reportTables lays out the report of runs: facts, latency, verdicts.
func reportTables(runs []*results.Run) []table {
	labels := results.Labels(runs, nil)
	facts := table{title: "Run", head: append([]string{""}, labels...)}
	add := func(t *table, label string, f func(r *results.Run) string) {
		row := []string{label}
		for _, r := range runs {
			row = append(row, f(r))
		}
		t.body = append(t.body, row)
	}
	add(&facts, "verdict", results.Headline)
	add(&facts, "started", func(r *results.Run) string { return r.StartedAt.UTC().Format(time.RFC3339) })
	add(&facts, "target", func(r *results.Run) string { return orDash(r.Target) })
	add(&facts, "rate", rateText)
	add(&facts, "duration", func(r *results.Run) string {
		s := seconds(r.DurationS)
		if r.WarmupS > 0 {
			s += " (+" + seconds(r.WarmupS) + " warm-up)"
		}
		return s
	})
	add(&facts, "requests", func(r *results.Run) string {
		if r.Unsent > 0 {
			return fmt.Sprintf("%d sent, %d planned never sent", r.Requests, r.Unsent)
		}
		return fmt.Sprint(r.Requests)
	})
	add(&facts, "errors", func(r *results.Run) string {
		if r.Requests == 0 {
			return fmt.Sprint(r.Errors)
		}
		return fmt.Sprintf("%d (%s%%)", r.Errors, results.FormatFloat(results.ErrorShare(r), 3))
	})
	add(&facts, "status codes", func(r *results.Run) string { return results.CountsText(r.StatusCodes, false) })
	add(&facts, "error kinds", func(r *results.Run) string { return results.CountsText(r.ErrorKinds, true) })
	if anyRun(runs, func(r *results.Run) bool { return len(r.ErrorMessages) > 0 }) {
		add(&facts, "first errors", messagesText)
	}
	add(&facts, "retries", func(r *results.Run) string {
		if r.Retries == 0 {
			return "0"
		}
		return fmt.Sprintf("%d (sent again: a kept-alive connection closed before answering)", r.Retries)
	})
	add(&facts, "send lag", func(r *results.Run) string {
		return fmt.Sprintf("p50 %sms, p99 %sms, max %sms", ms(r.Lag.P50), ms(r.Lag.P99), ms(r.Lag.Max))
	})
	add(&facts, "generator", func(r *results.Run) string {
		g := r.Generator
		s := fmt.Sprintf("cpu mean %s%%, max %s%%", results.FormatFloat(g.CPUMeanPercent, 1), results.FormatFloat(g.CPUMaxPercent, 1))
		if g.Workers > 0 {
			s += fmt.Sprintf(", %d workers", g.Workers)
			if g.MaxWorkers > 0 {
				s += fmt.Sprintf(" (at most %d)", g.MaxWorkers)
			}
		}
		return s
	})
	add(&facts, "host cpu", func(r *results.Run) string {
		g := r.Generator
		return fmt.Sprintf("mean %s%%, max %s%% (all processes, on the cores the generator may use)",
			results.FormatFloat(g.HostCPUMeanPercent, 1), results.FormatFloat(g.HostCPUMaxPercent, 1))
	})

	lat := table{title: "Latency (ms)", numeric: true}
	if len(runs) == 1 {
		lat.head = []string{"", "corrected", "service"}
	} else {
		// The run names head the columns; corrected and service are the
		// first body row.
		lat.head = []string{""}
		sub := []string{""}
		for _, l := range labels {
			lat.head = append(lat.head, l, "")
			sub = append(sub, "corrected", "service")
		}
		lat.body = append(lat.body, sub)
	}
	for _, m := range results.LatencyMetrics() {

		row := []string{m.Label}
		for _, r := range runs {
			if r.Responses() == 0 {
				row = append(row, "-", "-") // no response, no latency
				continue
			}
			row = append(row, ms(m.Latency(r.Latency.Corrected)), ms(m.Latency(r.Latency.Service)))
		}
		lat.body = append(lat.body, row)
	}

	ver := table{title: "Verdict", head: append([]string{""}, labels...)}
	add(&ver, "validity", func(r *results.Run) string {
		if r.Valid {
			return "VALID"
		}
		if len(r.InvalidReasons) == 0 {
			return "INVALID"
		}
		return "INVALID: " + strings.Join(r.InvalidReasons, "; ")
	})
	for _, expr := range sloExprs(runs) {
		add(&ver, "slo "+expr, func(r *results.Run) string {
			for _, v := range r.SLO {
				if v.Expr == expr {
					if v.OK {
						return "PASS (" + v.Observed + ")"
					}
					return "FAIL (" + v.Observed + ")"
				}
			}
			return "-"
		})
	}
	add(&ver, "interrupted", func(r *results.Run) string {
		if r.Interrupted {
			return "yes (ended early by a signal)"
		}
		return "no"
	})
	if anyRun(runs, func(r *results.Run) bool { return len(r.Warnings) > 0 }) {
		add(&ver, "warnings", func(r *results.Run) string {
			if len(r.Warnings) == 0 {
				return "-"
			}
			return fmt.Sprintf("%d: %s", len(r.Warnings), strings.Join(r.Warnings, "; "))
		})
	}
	out := append([]table{facts, lat, ver}, segmentTables(runs, labels)...)
	return append(out, variantTables(runs, labels)...)
}

// sloExprs returns the SLO expressions of runs, in order of first
// appearance.
func sloExprs(runs []*results.Run) []string {
	var exprs []string
	seen := map[string]bool{}
	for _, r := range runs {
		for _, v := range r.SLO {
			if !seen[v.Expr] {
				seen[v.Expr] = true
				exprs = append(exprs, v.Expr)
			}
		}
	}
	return exprs
}

func anyRun(runs []*results.Run, f func(*results.Run) bool) bool {
	for _, r := range runs {
		if f(r) {
			return true
		}
	}
	return false
}

// kindMessage is the first message of one error kind.
type kindMessage struct{ Kind, Message string }

// firstErrors returns the run's first message of each error kind, by kind.
func firstErrors(r *results.Run) []kindMessage {
	out := make([]kindMessage, 0, len(r.ErrorMessages))
	for k, m := range r.ErrorMessages {
		out = append(out, kindMessage{k, m})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out
}

// messagesText formats the first message of each error kind, by kind.
func messagesText(r *results.Run) string {
	ms := firstErrors(r)
	if len(ms) == 0 {
		return "-"
	}
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.Kind + ": " + m.Message
	}
	return strings.Join(parts, "; ")
}

func rateText(r *results.Run) string {
	s := fmt.Sprintf("%s/s achieved", results.FormatFloat(r.Rate.Achieved, 1))
	if r.Rate.Target > 0 {
		s += fmt.Sprintf(" of %s/s planned (%s%%)", results.FormatFloat(r.Rate.Target, 1), results.FormatFloat(100*r.Rate.Achieved/r.Rate.Target, 1))
	}
	if r.Rate.Plan != "" && r.Rate.Plan != results.FormatFloat(r.Rate.Target, 1)+"/s" {
		s += ", plan " + r.Rate.Plan
	}
	return s
}

// ms formats milliseconds with three decimals, a microsecond.
func ms(v float64) string { return fmt.Sprintf("%.3f", v) }

// seconds formats a count of seconds as a duration, such as "10s" or "1m30s".
func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
