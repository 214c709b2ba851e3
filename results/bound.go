package results

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Bound is a limit on one metric of a run (see Metrics), the one grammar
// of SLOs and regression gates. An absolute bound limits the run's own
// value; a relative one, which only a comparison with a base can check,
// limits the change from the base:
//
//	p99<=25ms      corrected p99 at most 25ms
//	errors<=0      no failed request
//	errors<=0.1%   failed requests at most 0.1% of all
//	rate>=1000     achieved rate at least 1000/s
//	p99<=+10%      p99 at most 10% above the base's       (relative)
//	p999<=+5ms     p99.9 at most 5ms above the base's      (relative)
//	errors<=+10    at most 10 more failed requests         (relative)
//	rate>=-1%      achieved rate at most 1% below the base (relative)
//
// Metrics: p50, p90, p95, p99, p999, max, mean (corrected latency), errors,
// rate (achieved). Bounds on latency and errors are upper bounds, on the
// rate lower bounds. Spaces are optional; "<" and ">" are accepted too. An
// SLO is an absolute bound (ParseSLO).
//
// An SLO may bound one variant of a run split by a response header (perf
// attack --split-by): the variant's name in brackets after the metric,
//
//	p99[compact]<=10ms               corrected p99 of variant compact
//	p99[doc-view=full, etag=on]<=25ms  a whole X-Variant value as the name
//	errors[compact]<=0.1%            error statuses among its responses
//
// The name is everything between the brackets, spaces trimmed; it may not
// hold a bracket. A variant's errors are its error statuses (transport
// failures belong to no variant) and its rate its responses per second.
type Bound struct {
	// Expr is the expression as given.
	Expr   string
	Metric string
	// Variant, when set, names the variant the bound limits (SLOs only).
	Variant string
	// Op is one of "<=", "<", ">=", ">".
	Op string
	// Relative is set for a signed limit: it bounds candidate minus base.
	Relative bool
	// Percent is set for a limit in percent: the relative change from the
	// base when Relative, the errors' share of requests otherwise.
	Percent bool
	// Limit is the bound, in the metric's unit (milliseconds, a count,
	// requests per second) or in percent when Percent.
	Limit float64
}

// BoundError is the error of a malformed bound: it names the expression,
// what it was given as (an SLO, a gate) and what was expected. It matches
// ErrBadBound.
type BoundError struct {
	// What is "SLO" or "gate".
	What     string
	Expr     string
	Expected string
}

func (e *BoundError) Error() string {
	return fmt.Sprintf("invalid %s %q: expected %s", e.What, e.Expr, e.Expected)
}

// Unwrap returns ErrBadBound.
func (e *BoundError) Unwrap() error { return ErrBadBound }

// boundForms is the grammar, as error messages print it.
const (
	sloForms   = "METRIC OP LIMIT such as p99<=25ms, errors<=0, errors<=0.1% or rate>=1000"
	boundForms = "METRIC OP LIMIT such as p99<=+10%, p999<=+5ms, p99<=25ms, errors<=0 or rate>=-1%"
)

// ParseBound parses one bound, absolute or relative, as a regression gate.
func ParseBound(expr string) (Bound, error) { return parseBound(expr, "gate", boundForms) }

// ParseSLO parses one SLO: an absolute bound, checked on a run by itself.
func ParseSLO(expr string) (Bound, error) {
	b, err := parseBound(expr, "SLO", sloForms)
	if err == nil && b.Relative {
		return Bound{}, &BoundError{What: "SLO", Expr: expr, Expected: fmt.Sprintf(
			"an absolute limit such as 25ms, 0, 0.1%% or 1000, got %q: a signed limit is a change from a base run, which only perf compare has",
			b.limitText())}
	}
	return b, err
}

// ParseBounds parses each expression as ParseBound, stopping at the first
// malformed one.
func ParseBounds(exprs []string) ([]Bound, error) { return parseAll(exprs, ParseBound) }

// ParseSLOs parses each expression as ParseSLO, stopping at the first
// malformed one.
func ParseSLOs(exprs []string) ([]Bound, error) { return parseAll(exprs, ParseSLO) }

func parseAll(exprs []string, parse func(string) (Bound, error)) ([]Bound, error) {
	out := make([]Bound, 0, len(exprs))
	for _, e := range exprs {
		b, err := parse(e)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func parseBound(expr, what, forms string) (Bound, error) {
	bad := func(expected string) (Bound, error) {
		return Bound{}, &BoundError{What: what, Expr: expr, Expected: expected}
	}
	// A variant's name keeps its inner spaces: take it out first.
	text, variant := expr, ""
	if i := strings.IndexAny(expr, "[]"); i >= 0 {
		j := strings.IndexByte(expr[i+1:], ']')
		switch {
		case expr[i] == ']' || j < 0:
			return bad("a variant's name in brackets after the metric, such as p99[compact]<=10ms")
		case what == "gate":
			return bad("a bound without a variant: compare two variants with perf compare --variants A,B")
		}
		variant = strings.TrimSpace(expr[i+1 : i+1+j])
		text = expr[:i] + expr[i+2+j:]
		if variant == "" || strings.ContainsAny(variant, "[]") || strings.ContainsAny(text, "[]") {
			return bad("one variant name in brackets after the metric, such as p99[compact]<=10ms")
		}
		if strings.TrimSpace(expr[:i]) == "" || strings.ContainsAny(expr[:i], "<>=") {
			return bad("the variant in brackets right after the metric, such as p99[compact]<=10ms")
		}
	}
	s := strings.Join(strings.Fields(text), "")
	i := strings.IndexAny(s, "<>=")
	if i <= 0 {
		return bad(forms)
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
	given := value
	// The alternatives an error names: a gate may also be relative.
	alt := func(gate, slo string) string {
		if what == "gate" {
			return gate
		}
		return slo
	}
	b := Bound{Expr: expr, Metric: name, Op: op, Variant: variant}
	m, ok := MetricNamed(name)
	if !ok || name == "error_rate" { // errors<=N% bounds the share
		return bad(fmt.Sprintf("a metric (p50, p90, p95, p99, p999, max, mean, errors or rate), got %q; form: %s", name, forms))
	}
	upper := op[0] == '<'
	if m.Better == Higher && upper {
		return bad(fmt.Sprintf(`"%s >= LIMIT" (%s has a lower bound)`, name, name))
	}
	if m.Better == Lower && !upper {
		return bad(fmt.Sprintf(`"%s <= LIMIT" (%s has an upper bound)`, name, name))
	}
	if value == "" {
		return bad(fmt.Sprintf("a limit after %q", op))
	}
	sign := 1.0
	if value[0] == '+' || value[0] == '-' {
		b.Relative = true
		if value[0] == '-' {
			sign = -1
		}
		value = value[1:]
	}
	if strings.HasSuffix(value, "%") {
		b.Percent = true
		value = strings.TrimSuffix(value, "%")
	}
	number := func() (float64, bool) {
		v, err := strconv.ParseFloat(value, 64)
		return v, err == nil && finite(v) && v >= 0 && !strings.ContainsAny(value, "+-")
	}
	switch {
	case b.Percent && (b.Relative || m.Unit == UnitCount):
		v, ok := number()
		if !ok || (!b.Relative && v > 100) {
			return bad(fmt.Sprintf("%s after %q, got %q", alt("a percentage such as 0.1% or +10%", "a percentage from 0 to 100% such as 0.1%"), op, given))
		}
		b.Limit = sign * v
	case b.Percent:
		return bad(fmt.Sprintf("%s, got %q", alt("a signed relative limit such as +10% (a change from the base)", "a limit in the metric's unit (a percentage bounds only errors)"), given))
	case m.Unit == UnitMS:
		d, err := time.ParseDuration(value)
		if err != nil || d < 0 || strings.ContainsAny(value, "+-") || (!b.Relative && d == 0) {
			return bad(fmt.Sprintf("%s after %q, got %q", alt("a duration with a unit such as 25ms or +5ms, or a signed percentage such as +10%,", "a positive duration with a unit, such as 25ms,"), op, given))
		}
		b.Limit = sign * float64(d) / 1e6
	case m.Unit == UnitCount:
		v, ok := number()
		if !ok || v != math.Trunc(v) {
			return bad(fmt.Sprintf("%s after %q, got %q", alt("a whole count (0, +10) or a percentage (0.1%, +10%)", "a whole count (0, 10) or a percentage (0.1%)"), op, given))
		}
		b.Limit = sign * v
	default: // rate
		value = strings.TrimSuffix(value, "/s")
		v, ok := number()
		if !ok {
			return bad(fmt.Sprintf("%s after %q, got %q", alt("requests per second (1000, -50) or a signed percentage (-1%)", "requests per second, such as 1000,"), op, given))
		}
		b.Limit = sign * v
	}
	return b, nil
}

// String returns the bound in canonical form, such as "p99 <= +10%".
func (b Bound) String() string {
	name := b.Metric
	if b.Variant != "" {
		name += "[" + b.Variant + "]"
	}
	return fmt.Sprintf("%s %s %s", name, b.Op, b.limitText())
}

// Allowed reads like "<= +10%".
func (b Bound) Allowed() string { return b.Op + " " + b.limitText() }

// limitText formats the limit as the grammar reads it.
func (b Bound) limitText() string {
	var s string
	switch {
	case b.Percent:
		s = FormatFloat(math.Abs(b.Limit), 6) + "%"
	case b.Metric == "errors":
		s = FormatFloat(math.Abs(b.Limit), 0)
	case b.Metric == "rate":
		s = FormatFloat(math.Abs(b.Limit), 6)
	default:
		s = time.Duration(math.Round(math.Abs(b.Limit) * 1e6)).String()
	}
	if b.Relative {
		if b.Limit < 0 {
			return "-" + s
		}
		return "+" + s
	}
	return s
}

// Holds reports whether observed satisfies the bound: a value of the
// bound's metric (absolute) or a change from a base (relative), in the
// bound's unit.
func (b Bound) Holds(observed float64) bool {
	switch b.Op {
	case "<=":
		return observed <= b.Limit
	case "<":
		return observed < b.Limit
	case ">=":
		return observed >= b.Limit
	default:
		return observed > b.Limit
	}
}

// Measure returns the metric an absolute bound limits: the metric named,
// or the errors' share (error_rate) for a bound in percent on errors.
func (b Bound) Measure() Metric {
	name := b.Metric
	if b.Metric == "errors" && b.Percent && !b.Relative {
		name = "error_rate"
	}
	m, _ := MetricNamed(name)
	return m
}

// Latency returns the limit of an absolute bound on a latency metric of the
// whole run, and false for any other bound (one on a variant, say).
func (b Bound) Latency() (time.Duration, bool) {
	if b.Relative || b.Variant != "" || b.Measure().Unit != UnitMS {
		return 0, false
	}
	return time.Duration(math.Round(b.Limit * 1e6)), true
}

// Evaluate checks an absolute bound against run's summary. The verdict's
// Observed reads like "p99 12.3ms". A relative bound cannot be checked on
// one run and never holds.
func (b Bound) Evaluate(run *Run) Verdict {
	m := b.Measure()
	v := m.Value(run)
	var text string
	switch m.Name {
	case "errors":
		text = fmt.Sprintf("errors %d", run.Errors)
	case "error_rate":
		text = fmt.Sprintf("errors %s%% (%d of %d)", FormatFloat(v, 3), run.Errors, run.Requests)
	case "rate":
		text = fmt.Sprintf("rate %s/s", FormatFloat(v, 1))
	default:
		if run.Requests > 0 && run.Responses() == 0 {
			// No latency was measured: a bound on it cannot hold.
			return Verdict{Expr: b.Expr, OK: false, Observed: fmt.Sprintf("%s: no response to measure (%d requests failed)", m.Name, run.Errors)}
		}
		text = fmt.Sprintf("%s %sms", m.Name, FormatFloat(v, 3))
	}
	return Verdict{Expr: b.Expr, OK: !b.Relative && b.Holds(v), Observed: text}
}

// EvaluateSLOs evaluates each bound against run, a bound on a variant
// against that variant (see Variant), and sets each variant's SLO list to
// the verdicts of the bounds on it.
func EvaluateSLOs(slos []Bound, run *Run) []Verdict {
	for i := range run.Variants {
		run.Variants[i].SLO = []Verdict{}
	}
	vs := make([]Verdict, 0, len(slos))
	for _, s := range slos {
		if s.Variant == "" {
			vs = append(vs, s.Evaluate(run))
			continue
		}
		vd := variantVerdict(s, run)
		vs = append(vs, vd)
		if v := run.Variant(s.Variant); v != nil {
			v.SLO = append(v.SLO, vd)
		}
	}
	return vs
}

// WholeRun returns the bounds that do not bound a variant.
func WholeRun(slos []Bound) []Bound {
	var out []Bound
	for _, b := range slos {
		if b.Variant == "" {
			out = append(out, b)
		}
	}
	return out
}
