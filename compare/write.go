package compare

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/perf-tools/perf/results"
)

func formatDelta(unit results.Unit, d float64) string {
	s := unit.Format(d)
	if d >= 0 && !strings.HasPrefix(s, "-") {
		return "+" + s
	}
	return s
}

func formatPercent(p float64) string {
	switch {
	case math.IsInf(p, 1):
		return "+inf%"
	case p >= 0:
		return "+" + strconv.FormatFloat(p, 'f', 1, 64) + "%"
	default:
		return strconv.FormatFloat(p, 'f', 1, 64) + "%"
	}
}

// deltaText reads like "+3.00ms (+30.0%)".
func deltaText(mc Change) string {
	s := formatDelta(mc.Unit, mc.Delta)
	if mc.DeltaPercent != nil {
		s += " (" + formatPercent(*mc.DeltaPercent) + ")"
	} else {
		s += " (+inf%)"
	}
	return s
}

// significanceText reads, as benchstat prints it, like "p=0.008 n=5+5",
// or "~ (p=0.310 n=5+5)" for a change that is not significant; empty when
// not tested.
func significanceText(mc Change, n1, n2 int) string {
	if mc.P == nil {
		return ""
	}
	s := fmt.Sprintf("p=%.3f n=%d+%d", *mc.P, n1, n2)
	if !mc.Significant {
		return "~ (" + s + ")"
	}
	return s
}

// WriteText writes the comparison as an aligned table for people.
func (c *Comparison) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "base:      %s\n", sideText(c.Base))
	fmt.Fprintf(ew, "candidate: %s\n\n", sideText(c.Candidate))
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	head := "metric\tbase\tcandidate\tdelta"
	if c.Tested {
		head += "\tsignificance"
	}
	fmt.Fprintln(tw, head)
	for _, mc := range c.Metrics {
		line := fmt.Sprintf("%s\t%s\t%s\t%s", metricLabel(mc.Metric), mc.Unit.Format(mc.Base),
			mc.Unit.Format(mc.Candidate), deltaText(mc))
		if c.Tested {
			line += "\t" + significanceText(mc, len(mc.BaseValues), len(mc.CandidateValues))
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
	writeTrimmed(ew, table.Bytes())
	if len(c.Gates) > 0 {
		fmt.Fprintln(ew, "\ngates:")
		table.Reset()
		tw = tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
		for _, g := range c.Gates {
			fmt.Fprintf(tw, "  %s\t%s\tobserved %s, allowed %s%s\n", passText(g.OK), g.Gate, g.Observed, g.Allowed, noteText(g.Note))
		}
		tw.Flush()
		writeTrimmed(ew, table.Bytes())
	}
	for _, n := range c.Notes {
		fmt.Fprintf(ew, "\nnote: %s\n", n)
	}
	if !c.Valid {
		fmt.Fprintln(ew, "\nINVALID: the comparison cannot pass:")
		for _, r := range c.InvalidReasons {
			fmt.Fprintf(ew, "  %s\n", r)
		}
	}
	fmt.Fprintf(ew, "\nresult: %s\n", c.verdict())
	return ew.err
}

// writeTrimmed writes text without the trailing spaces tabwriter leaves
// after an empty last column.
func writeTrimmed(w io.Writer, text []byte) {
	for _, line := range strings.SplitAfter(string(text), "\n") {
		nl := strings.HasSuffix(line, "\n")
		line = strings.TrimRight(line, " \n")
		if nl {
			line += "\n"
		}
		io.WriteString(w, line)
	}
}

// verdict sums the comparison up in one line.
func (c *Comparison) verdict() string {
	failed := len(c.Failed())
	switch {
	case !c.Valid:
		return fmt.Sprintf("INVALID (%d invalid run(s); %d of %d gates failed)", len(c.InvalidReasons), failed, len(c.Gates))
	case failed > 0:
		return fmt.Sprintf("FAIL (%d of %d gates failed)", failed, len(c.Gates))
	default:
		return fmt.Sprintf("PASS (%d gates)", len(c.Gates))
	}
}

func sideText(s Side) string {
	if len(s.Runs) == 1 {
		return s.Runs[0]
	}
	return fmt.Sprintf("%d runs: %s", len(s.Runs), strings.Join(s.Runs, ", "))
}

func metricLabel(name string) string {
	m, _ := results.MetricNamed(name)
	return m.Label
}

func passText(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

func noteText(n string) string {
	if n == "" {
		return ""
	}
	return " (" + n + ")"
}

// WriteJSON writes the comparison as indented JSON.
func (c *Comparison) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("encode comparison: %w", err)
	}
	return nil
}

// WriteMarkdown writes the comparison as GitHub-flavoured Markdown, for a
// pull request comment or $GITHUB_STEP_SUMMARY.
func (c *Comparison) WriteMarkdown(w io.Writer) error {
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "### perf compare: %s\n\n", c.verdict())
	if !c.Valid {
		fmt.Fprintln(ew, "**INVALID** — the comparison cannot pass:")
		fmt.Fprintln(ew)
		for _, r := range c.InvalidReasons {
			fmt.Fprintf(ew, "- %s\n", mdEscape(r))
		}
		fmt.Fprintln(ew)
	}
	fmt.Fprintf(ew, "Base: %s  \nCandidate: %s\n\n", mdEscape(sideText(c.Base)), mdEscape(sideText(c.Candidate)))
	if c.Tested {
		fmt.Fprintln(ew, "| metric | base | candidate | delta | significance |")
		fmt.Fprintln(ew, "|---|---:|---:|---:|---|")
	} else {
		fmt.Fprintln(ew, "| metric | base | candidate | delta |")
		fmt.Fprintln(ew, "|---|---:|---:|---:|")
	}
	for _, mc := range c.Metrics {
		fmt.Fprintf(ew, "| %s | %s | %s | %s |", metricLabel(mc.Metric), mc.Unit.Format(mc.Base),
			mc.Unit.Format(mc.Candidate), deltaText(mc))
		if c.Tested {
			fmt.Fprintf(ew, " %s |", mdEscape(significanceText(mc, len(mc.BaseValues), len(mc.CandidateValues))))
		}
		fmt.Fprintln(ew)
	}
	if len(c.Gates) > 0 {
		fmt.Fprintln(ew, "\n| gate | result | observed | allowed |")
		fmt.Fprintln(ew, "|---|---|---|---|")
		for _, g := range c.Gates {
			fmt.Fprintf(ew, "| `%s` | %s | %s | %s |\n", strings.ReplaceAll(g.Gate, "|", `\|`), mdPass(g.OK), mdEscape(g.Observed+noteText(g.Note)), mdEscape(g.Allowed))
		}
	}
	for _, n := range c.Notes {
		fmt.Fprintf(ew, "\n> note: %s\n", mdEscape(n))
	}
	return ew.err
}

func mdPass(ok bool) string {
	if ok {
		return "✅ pass"
	}
	return "❌ **FAIL**"
}

// mdEscape keeps text from breaking a Markdown table.
func mdEscape(s string) string {
	r := strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "\n", " ")
	return r.Replace(s)
}

// errWriter remembers the first write error so a report's many Fprintf
// calls need one check.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return len(p), nil
	}
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
	}
	return n, nil
}
