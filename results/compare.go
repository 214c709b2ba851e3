package results

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// DefaultAlpha is the significance level of Compare, as benchstat's.
const DefaultAlpha = 0.05

// Units of the compared metrics, as they appear in JSON.
const (
	UnitMS      = "ms"
	UnitCount   = "count"
	UnitPercent = "%"
	UnitRate    = "req/s"
)

// metric is one number of a run that Compare compares.
type metric struct {
	name  string
	label string
	unit  string
	get   func(*Run) float64
}

// compareMetrics lists the compared metrics in table order. Latencies are
// the corrected ones, the view SLOs and gates judge.
var compareMetrics = []metric{
	{"p50", "p50", UnitMS, func(r *Run) float64 { return r.Latency.Corrected.P50 }},
	{"p90", "p90", UnitMS, func(r *Run) float64 { return r.Latency.Corrected.P90 }},
	{"p95", "p95", UnitMS, func(r *Run) float64 { return r.Latency.Corrected.P95 }},
	{"p99", "p99", UnitMS, func(r *Run) float64 { return r.Latency.Corrected.P99 }},
	{"p999", "p99.9", UnitMS, func(r *Run) float64 { return r.Latency.Corrected.P999 }},
	{"max", "max", UnitMS, func(r *Run) float64 { return r.Latency.Corrected.Max }},
	{"mean", "mean", UnitMS, func(r *Run) float64 { return r.Latency.Corrected.Mean }},
	{"errors", "errors", UnitCount, func(r *Run) float64 { return float64(r.Errors) }},
	{"error_rate", "error rate", UnitPercent, errorShare},
	{"rate", "rate", UnitRate, func(r *Run) float64 { return r.Rate.Achieved }},
}

// errorShare is the failed requests' share of all, in percent.
func errorShare(r *Run) float64 {
	if r.Requests <= 0 {
		return 0
	}
	return 100 * float64(r.Errors) / float64(r.Requests)
}

func metricByName(name string) (metric, bool) {
	for _, m := range compareMetrics {
		if m.name == name {
			return m, true
		}
	}
	return metric{}, false
}

// Gate is a parsed regression gate: a bound on the candidate, either on its
// change from the base (a signed limit) or on its value (an unsigned one):
//
//	p99<=+10%      candidate p99 at most 10% above the base's
//	p999<=+5ms     candidate p99.9 at most 5ms above the base's
//	p99<=25ms      candidate p99 at most 25ms in every candidate run
//	errors<=0      no failed request in any candidate run
//	errors<=0.1%   failed requests at most 0.1% of all in every candidate run
//	errors<=+10    at most 10 more failed requests than the base
//	rate>=-1%      achieved rate at most 1% below the base's
//	rate>=1000     achieved rate at least 1000/s in every candidate run
//
// Metrics: p50, p90, p95, p99, p999, max, mean (corrected latency, upper
// bounds), errors (upper bounds), rate (achieved, lower bounds). Spaces are
// optional; "<" and ">" are accepted too.
type Gate struct {
	// Expr is the expression as given.
	Expr   string
	Metric string
	// Op is one of "<=", "<", ">=", ">".
	Op string
	// Delta is set for a signed limit: it bounds candidate minus base.
	Delta bool
	// Percent is set for a limit in percent: the relative change from the
	// base when Delta, the errors' share of requests otherwise.
	Percent bool
	// Limit is the bound, in the metric's unit (milliseconds, a count,
	// requests per second) or in percent when Percent.
	Limit float64
}

// GateError is the error of a malformed gate: it names the expression and
// what was expected.
type GateError struct {
	Expr     string
	Expected string
}

func (e *GateError) Error() string {
	return fmt.Sprintf("invalid gate %q: expected %s", e.Expr, e.Expected)
}

// gateForms is the grammar, as error messages print it.
const gateForms = "METRIC OP LIMIT such as p99<=+10%, p999<=+5ms, p99<=25ms, errors<=0 or rate>=-1%"

// ParseGate parses one gate expression (see Gate).
func ParseGate(expr string) (Gate, error) {
	bad := func(expected string) (Gate, error) {
		return Gate{}, &GateError{Expr: expr, Expected: expected}
	}
	s := strings.Join(strings.Fields(expr), "")
	i := strings.IndexAny(s, "<>=")
	if i <= 0 {
		return bad(gateForms)
	}
	name, rest := strings.ToLower(s[:i]), s[i:]
	op := rest[:1]
	if len(rest) > 1 && rest[1] == '=' {
		op = rest[:2]
	}
	if op == "=" || op == "==" {
		return bad(`"<=" or ">=", not "="`)
	}
	value := rest[len(op):]
	g := Gate{Expr: expr, Metric: name, Op: op}
	m, ok := metricByName(name)
	if !ok || name == "error_rate" {
		return bad(fmt.Sprintf("a metric (p50, p90, p95, p99, p999, max, mean, errors or rate), got %q; form: %s", name, gateForms))
	}
	upper := op[0] == '<'
	if m.unit == UnitRate && upper {
		return bad(`"rate >= LIMIT" (a rate gate is a lower bound)`)
	}
	if m.unit != UnitRate && !upper {
		return bad(fmt.Sprintf(`"%s <= LIMIT" (a %s gate is an upper bound)`, name, name))
	}
	if value == "" {
		return bad(fmt.Sprintf("a limit after %q", op))
	}
	sign := 1.0
	if value[0] == '+' || value[0] == '-' {
		g.Delta = true
		if value[0] == '-' {
			sign = -1
		}
		value = value[1:]
	}
	if strings.HasSuffix(value, "%") {
		g.Percent = true
		value = strings.TrimSuffix(value, "%")
	}
	number := func() (float64, bool) {
		v, err := strconv.ParseFloat(value, 64)
		return v, err == nil && finite(v) && v >= 0 && !strings.ContainsAny(value, "+-")
	}
	switch {
	case g.Percent && (g.Delta || m.unit == UnitCount):
		v, ok := number()
		if !ok || (!g.Delta && v > 100) {
			return bad(fmt.Sprintf("a percentage such as +10%% after %q, got %q", op, rest[len(op):]))
		}
		g.Limit = sign * v
	case g.Percent:
		return bad(fmt.Sprintf("a signed relative limit such as +10%% (a change from the base), got %q", rest[len(op):]))
	case m.unit == UnitMS:
		d, err := time.ParseDuration(value)
		if err != nil || d < 0 || strings.ContainsAny(value, "+-") || (!g.Delta && d == 0) {
			return bad(fmt.Sprintf("a duration with a unit such as 25ms or +5ms, or a signed percentage such as +10%%, after %q, got %q", op, rest[len(op):]))
		}
		g.Limit = sign * float64(d) / 1e6
	case m.unit == UnitCount:
		v, ok := number()
		if !ok || v != math.Trunc(v) {
			return bad(fmt.Sprintf("a whole count (0, +10) or a percentage (0.1%%, +10%%) after %q, got %q", op, rest[len(op):]))
		}
		g.Limit = sign * v
	default: // rate
		value = strings.TrimSuffix(value, "/s")
		v, ok := number()
		if !ok {
			return bad(fmt.Sprintf("requests per second (1000, -50) or a signed percentage (-1%%) after %q, got %q", op, rest[len(op):]))
		}
		g.Limit = sign * v
	}
	return g, nil
}

// ParseGates parses each expression, stopping at the first malformed one.
func ParseGates(exprs []string) ([]Gate, error) {
	gates := make([]Gate, 0, len(exprs))
	for _, e := range exprs {
		g, err := ParseGate(e)
		if err != nil {
			return nil, err
		}
		gates = append(gates, g)
	}
	return gates, nil
}

// String returns the gate in canonical form, such as "p99 <= +10%".
func (g Gate) String() string {
	return fmt.Sprintf("%s %s %s", g.Metric, g.Op, g.limitText())
}

// limitText formats the limit as the gate's grammar reads it.
func (g Gate) limitText() string {
	var s string
	switch {
	case g.Percent:
		s = formatFloat(math.Abs(g.Limit), 6) + "%"
	case g.Metric == "errors":
		s = formatFloat(math.Abs(g.Limit), 0)
	case g.Metric == "rate":
		s = formatFloat(math.Abs(g.Limit), 6)
	default:
		s = time.Duration(math.Round(math.Abs(g.Limit) * 1e6)).String()
	}
	if g.Delta {
		if g.Limit < 0 {
			return "-" + s
		}
		return "+" + s
	}
	return s
}

// holds reports whether observed satisfies the gate's bound.
func (g Gate) holds(observed float64) bool {
	switch g.Op {
	case "<=":
		return observed <= g.Limit
	case "<":
		return observed < g.Limit
	case ">=":
		return observed >= g.Limit
	default:
		return observed > g.Limit
	}
}

// CompareOptions tunes Compare.
type CompareOptions struct {
	// Alpha is the significance level of the Mann–Whitney test; zero
	// means DefaultAlpha.
	Alpha float64
	// BaseLabels and CandidateLabels name the runs (their directories,
	// say); missing labels default to the runs' names.
	BaseLabels, CandidateLabels []string
}

// Comparison is the outcome of comparing base runs with candidate runs:
// the content of `perf compare --output json`.
type Comparison struct {
	Base      CompareSide `json:"base"`
	Candidate CompareSide `json:"candidate"`
	// Alpha is the significance level used.
	Alpha float64 `json:"alpha"`
	// Tested reports whether changes were tested for significance: both
	// sides hold at least two runs.
	Tested  bool            `json:"tested"`
	Metrics []MetricCompare `json:"metrics"`
	Gates   []GateResult    `json:"gates"`
	// Valid is false when a run of either side is invalid; the reasons
	// name the run.
	Valid          bool     `json:"valid"`
	InvalidReasons []string `json:"invalid_reasons"`
	// Notes explain the limits of the comparison (too few runs to find
	// any change significant, say).
	Notes []string `json:"notes"`
}

// CompareSide lists the runs of one side.
type CompareSide struct {
	Runs []string `json:"runs"`
}

// MetricCompare compares one metric. With several runs a side, Base and
// Candidate are the medians of the runs' values, as benchstat shows them.
type MetricCompare struct {
	Metric    string  `json:"metric"`
	Unit      string  `json:"unit"`
	Base      float64 `json:"base"`
	Candidate float64 `json:"candidate"`
	// Delta is Candidate minus Base.
	Delta float64 `json:"delta"`
	// DeltaPercent is Delta in percent of Base; absent when Base is zero.
	DeltaPercent    *float64  `json:"delta_percent,omitempty"`
	BaseValues      []float64 `json:"base_values"`
	CandidateValues []float64 `json:"candidate_values"`
	// P is the Mann–Whitney p-value, when the change was tested.
	P *float64 `json:"p,omitempty"`
	// Significant reports a tested change with P below alpha.
	Significant bool `json:"significant"`
}

// GateResult is the outcome of one gate.
type GateResult struct {
	Gate string `json:"gate"`
	OK   bool   `json:"ok"`
	// Observed and Allowed read like "+30.0% (10ms -> 13ms)" and "<= +10%".
	Observed string `json:"observed"`
	Allowed  string `json:"allowed"`
	// Note explains a pass despite an observed violation (the change is
	// not significant) or which run was the worst.
	Note string `json:"note,omitempty"`
}

// Failed returns the gates that failed.
func (c *Comparison) Failed() []GateResult {
	var out []GateResult
	for _, g := range c.Gates {
		if !g.OK {
			out = append(out, g)
		}
	}
	return out
}

// Compare compares candidate runs with base runs metric by metric and
// checks the gates. With at least two runs a side, each change is tested
// with the two-sided Mann–Whitney U test on the per-run values, and a delta
// gate fails only on a significant change; unsigned gates bound every
// candidate run. It never reads files.
func Compare(base, candidate []*Run, gates []Gate, opts CompareOptions) (*Comparison, error) {
	if len(base) == 0 || len(candidate) == 0 {
		return nil, errors.New("compare: each side needs at least one run")
	}
	for _, r := range append(append([]*Run(nil), base...), candidate...) {
		if r == nil {
			return nil, errors.New("compare: nil run")
		}
	}
	alpha := opts.Alpha
	if alpha <= 0 || alpha >= 1 {
		alpha = DefaultAlpha
	}
	c := &Comparison{
		Base:           CompareSide{Runs: labels(base, opts.BaseLabels)},
		Candidate:      CompareSide{Runs: labels(candidate, opts.CandidateLabels)},
		Alpha:          alpha,
		Tested:         len(base) >= 2 && len(candidate) >= 2,
		Valid:          true,
		InvalidReasons: []string{},
		Notes:          []string{},
		Gates:          []GateResult{},
	}
	for side, runs := range map[string][]*Run{"base": base, "candidate": candidate} {
		names := c.Base.Runs
		if side == "candidate" {
			names = c.Candidate.Runs
		}
		for i, r := range runs {
			if r.Valid {
				continue
			}
			c.Valid = false
			reasons := strings.Join(r.InvalidReasons, "; ")
			if reasons == "" {
				reasons = "marked invalid"
			}
			c.InvalidReasons = append(c.InvalidReasons, fmt.Sprintf("%s run %s: %s", side, names[i], reasons))
		}
	}
	sort.Strings(c.InvalidReasons)
	if c.Tested {
		if minP := MinMannWhitneyP(len(base), len(candidate)); minP >= alpha {
			c.Notes = append(c.Notes, fmt.Sprintf("with %d+%d runs no change can be significant at alpha %s (smallest possible p %.3f): delta gates cannot fail; use at least 4 runs a side", len(base), len(candidate), formatFloat(alpha, 4), minP))
		}
	} else if len(base) > 1 || len(candidate) > 1 {
		c.Notes = append(c.Notes, "one side holds a single run: changes are not tested for significance and delta gates compare medians directly")
	}

	byName := map[string]MetricCompare{}
	for _, m := range compareMetrics {
		mc := compareMetric(m, base, candidate, c.Tested, alpha)
		c.Metrics = append(c.Metrics, mc)
		byName[m.name] = mc
	}
	for _, g := range gates {
		c.Gates = append(c.Gates, checkGate(g, byName, candidate, c.Candidate.Runs))
	}
	return c, nil
}

// labels returns given, completed by the runs' names (or "#i").
func labels(runs []*Run, given []string) []string {
	out := make([]string, len(runs))
	for i, r := range runs {
		switch {
		case i < len(given) && given[i] != "":
			out[i] = given[i]
		case r.Name != "":
			out[i] = r.Name
		default:
			out[i] = "#" + strconv.Itoa(i+1)
		}
	}
	return out
}

func compareMetric(m metric, base, candidate []*Run, tested bool, alpha float64) MetricCompare {
	mc := MetricCompare{Metric: m.name, Unit: m.unit}
	for _, r := range base {
		mc.BaseValues = append(mc.BaseValues, m.get(r))
	}
	for _, r := range candidate {
		mc.CandidateValues = append(mc.CandidateValues, m.get(r))
	}
	// Rounded to a millionth of the unit, far below any measurement's
	// precision, so JSON shows 2.61 rather than 2.6100000000000003.
	mc.Base, mc.Candidate = round6(median(mc.BaseValues)), round6(median(mc.CandidateValues))
	mc.Delta = round6(mc.Candidate - mc.Base)
	if pct, ok := relative(mc.Base, mc.Candidate); ok {
		pct = round6(pct)
		mc.DeltaPercent = &pct
	}
	if tested {
		if res, err := MannWhitney(mc.BaseValues, mc.CandidateValues); err == nil {
			p := res.P
			mc.P = &p
			mc.Significant = p < alpha
		}
	}
	return mc
}

// relative returns the change from base to cand in percent; not ok when
// base is zero and cand is not.
func relative(base, cand float64) (float64, bool) {
	if base == 0 {
		return 0, cand == 0
	}
	return 100 * (cand - base) / math.Abs(base), true
}

func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func checkGate(g Gate, byName map[string]MetricCompare, candidate []*Run, names []string) GateResult {
	res := GateResult{Gate: g.Expr, Allowed: g.Op + " " + g.limitText()}
	mc := byName[g.Metric]
	if !g.Delta {
		// An absolute bound holds for every candidate run: report the worst.
		m, _ := metricByName(g.Metric)
		if g.Percent { // errors as a share of requests
			m, _ = metricByName("error_rate")
		}
		worst := 0
		for i, r := range candidate {
			v, w := m.get(r), m.get(candidate[worst])
			if (g.Op[0] == '<' && v > w) || (g.Op[0] == '>' && v < w) {
				worst = i
			}
		}
		v := m.get(candidate[worst])
		res.OK = g.holds(v)
		res.Observed = formatValue(m.unit, v)
		if len(candidate) > 1 {
			res.Note = fmt.Sprintf("worst of %d candidate runs: %s", len(candidate), names[worst])
		}
		return res
	}
	var observed float64
	if g.Percent {
		pct, ok := relative(mc.Base, mc.Candidate)
		if !ok {
			pct = math.Inf(1)
		}
		observed = pct
		res.Observed = fmt.Sprintf("%s (%s -> %s)", formatPercent(pct), formatValue(mc.Unit, mc.Base), formatValue(mc.Unit, mc.Candidate))
	} else {
		observed = mc.Delta
		res.Observed = fmt.Sprintf("%s (%s -> %s)", formatDelta(mc.Unit, mc.Delta), formatValue(mc.Unit, mc.Base), formatValue(mc.Unit, mc.Candidate))
	}
	res.OK = g.holds(observed)
	if !res.OK && mc.P != nil && !mc.Significant {
		res.OK = true
		res.Note = fmt.Sprintf("change not significant (%s)", significanceText(mc, len(mc.BaseValues), len(mc.CandidateValues)))
	}
	return res
}

// formatValue formats a metric value in its unit.
func formatValue(unit string, v float64) string {
	switch unit {
	case UnitMS:
		return formatMS(v)
	case UnitCount:
		return formatFloat(v, 1)
	case UnitPercent:
		return formatFloat(v, 3) + "%"
	default:
		return formatFloat(v, 1) + "/s"
	}
}

// formatMS formats milliseconds with about three significant digits.
func formatMS(v float64) string {
	a := math.Abs(v)
	switch {
	case a == 0:
		return "0ms"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64) + "ms"
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64) + "ms"
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64) + "ms"
	default:
		return strconv.FormatFloat(v, 'f', 3, 64) + "ms"
	}
}

func formatDelta(unit string, d float64) string {
	s := formatValue(unit, d)
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
func deltaText(mc MetricCompare) string {
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
func significanceText(mc MetricCompare, n1, n2 int) string {
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
		line := fmt.Sprintf("%s\t%s\t%s\t%s", metricLabel(mc.Metric), formatValue(mc.Unit, mc.Base),
			formatValue(mc.Unit, mc.Candidate), deltaText(mc))
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

func sideText(s CompareSide) string {
	if len(s.Runs) == 1 {
		return s.Runs[0]
	}
	return fmt.Sprintf("%d runs: %s", len(s.Runs), strings.Join(s.Runs, ", "))
}

func metricLabel(name string) string {
	m, _ := metricByName(name)
	return m.label
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
		fmt.Fprintf(ew, "| %s | %s | %s | %s |", metricLabel(mc.Metric), formatValue(mc.Unit, mc.Base),
			formatValue(mc.Unit, mc.Candidate), deltaText(mc))
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

// junit* are the JUnit XML elements CI systems read.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the comparison as JUnit XML: one test case a gate,
// named by the gate, whose failure message says what was observed and what
// was allowed, and one test case "valid runs" that fails when a run of
// either side is invalid.
func (c *Comparison) WriteJUnit(w io.Writer) error {
	suite := junitSuite{Name: "perf compare"}
	for _, g := range c.Gates {
		tc := junitCase{Name: g.Gate, Classname: "perf.compare.gate"}
		msg := fmt.Sprintf("%s: observed %s, allowed %s%s", g.Gate, g.Observed, g.Allowed, noteText(g.Note))
		if g.OK {
			tc.SystemOut = msg
		} else {
			tc.Failure = &junitFailure{Message: msg, Type: "gate", Text: msg}
			suite.Failures++
		}
		suite.Cases = append(suite.Cases, tc)
	}
	valid := junitCase{Name: "valid runs", Classname: "perf.compare.validity"}
	if !c.Valid {
		msg := "invalid runs: " + strings.Join(c.InvalidReasons, "; ")
		valid.Failure = &junitFailure{Message: msg, Type: "invalid", Text: msg}
		suite.Failures++
	}
	suite.Cases = append(suite.Cases, valid)
	suite.Tests = len(suite.Cases)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{suite}}); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	return nil
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

// FindRunDirs expands one side of a comparison to run directories. arg is
// a comma-separated list whose items are each a run directory, a directory
// of run directories (its subdirectories holding run.json, in name order:
// the artifact of repeated runs), or a glob pattern matching either. An
// item that is none of these is an error naming it.
func FindRunDirs(arg string) ([]string, error) {
	var dirs []string
	for _, item := range strings.Split(arg, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		paths, err := ExpandPattern(item)
		if err != nil {
			return nil, err
		}
		for _, p := range paths {
			found, err := runDirsAt(p)
			if err != nil {
				return nil, err
			}
			dirs = append(dirs, found...)
		}
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("run directories %q: none given", arg)
	}
	return dirs, nil
}

// ExpandPattern returns arg itself when it exists or holds no glob
// metacharacter, else the paths the pattern matches. A shell passes a glob
// that matches nothing on as it is (sh, and bash without nullglob), so such
// an argument reaches here; that it matches nothing is an error matching
// ErrNoMatch and naming it, where "no such directory" would
// hide the user's glob. A malformed pattern matches filepath.ErrBadPattern.
func ExpandPattern(arg string) ([]string, error) {
	if !strings.ContainsAny(arg, "*?[") {
		return []string{arg}, nil
	}
	if _, err := os.Lstat(arg); !errors.Is(err, fs.ErrNotExist) {
		return []string{arg}, nil
	}
	m, err := filepath.Glob(arg)
	if err != nil {
		return nil, fmt.Errorf("run directories %q: bad pattern: %w", arg, err)
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("run directories %q: %w", arg, ErrNoMatch)
	}
	return m, nil
}

// runDirsAt returns p when it is a run directory, else its subdirectories
// that are.
func runDirsAt(p string) ([]string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read run %s: no such directory", p)
		}
		return nil, fmt.Errorf("read run %s: %w", p, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("read run %s: not a directory; expected a run directory written by perf attack", p)
	}
	if _, err := os.Stat(filepath.Join(p, RunFile)); err == nil {
		return []string{p}, nil
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return nil, fmt.Errorf("read run %s: %w", p, err)
	}
	var dirs []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		sub := filepath.Join(p, e.Name())
		if _, err := os.Stat(filepath.Join(sub, RunFile)); err == nil {
			dirs = append(dirs, sub)
		}
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("%s is %w: %s missing, and no run directory inside it", p, ErrNotRunDir, RunFile)
	}
	return dirs, nil
}
