package results

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// SLO is a parsed service-level objective, checked against a finished run:
//
//	p50|p90|p95|p99|p999|max <= DURATION   corrected latency, e.g. "p99 <= 25ms"
//	errors <= N                            failed requests, a count
//	errors <= N%                           failed requests, a share of all
//	rate >= N                              achieved requests per second
//
// Spaces are optional; "<" and ">" are accepted too.
type SLO struct {
	// Expr is the expression as given.
	Expr string
	// Metric is one of p50, p90, p95, p99, p999, max, errors, rate.
	Metric string
	// Op is one of "<=", "<", ">=", ">".
	Op string
	// Latency is the bound of a latency metric.
	Latency time.Duration
	// Value is the bound of errors (a count, or a percentage when Percent)
	// and of rate (per second).
	Value   float64
	Percent bool
}

// SLOError is the error of a malformed SLO expression: it names the
// expression and what was expected. It matches ErrBadSLO.
type SLOError struct {
	Expr     string
	Expected string
}

func (e *SLOError) Error() string {
	return fmt.Sprintf("invalid SLO %q: expected %s", e.Expr, e.Expected)
}

// Unwrap returns ErrBadSLO.
func (e *SLOError) Unwrap() error { return ErrBadSLO }

// sloForms is the grammar, as error messages print it.
const sloForms = "p50|p90|p95|p99|p999|max <= DURATION, errors <= N, errors <= N% or rate >= N"

// ParseSLO parses one SLO expression.
func ParseSLO(expr string) (SLO, error) {
	bad := func(expected string) (SLO, error) {
		return SLO{}, &SLOError{Expr: expr, Expected: expected}
	}
	s := strings.Join(strings.Fields(expr), "")
	if s == "" {
		return bad(sloForms)
	}
	i := strings.IndexAny(s, "<>=")
	if i <= 0 {
		return bad(sloForms)
	}
	metric, rest := strings.ToLower(s[:i]), s[i:]
	op := rest[:1]
	if len(rest) > 1 && rest[1] == '=' {
		op = rest[:2]
	}
	value := rest[len(op):]
	if op == "=" {
		return bad(`"<=" or ">=", not "="`)
	}
	slo := SLO{Expr: expr, Metric: metric, Op: op}
	switch metric {
	case "p50", "p90", "p95", "p99", "p999", "max":
		if op[0] != '<' {
			return bad(fmt.Sprintf(`"%s <= DURATION" (a latency bound is an upper bound)`, metric))
		}
		d, err := time.ParseDuration(value)
		if err != nil || d <= 0 {
			return bad(fmt.Sprintf("a positive duration with a unit after %q, such as 25ms, got %q", op, value))
		}
		slo.Latency = d
	case "errors":
		if op[0] != '<' {
			return bad(`"errors <= N" or "errors <= N%" (an upper bound)`)
		}
		if strings.HasSuffix(value, "%") {
			slo.Percent = true
			value = strings.TrimSuffix(value, "%")
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil || !finite(v) || v < 0 || (slo.Percent && v > 100) || (!slo.Percent && v != math.Trunc(v)) {
			return bad(fmt.Sprintf("a whole count or a percentage (0-100%%) after %q, got %q", op, value))
		}
		slo.Value = v
	case "rate":
		if op[0] != '>' {
			return bad(`"rate >= N" (a rate bound is a lower bound)`)
		}
		value = strings.TrimSuffix(value, "/s")
		v, err := strconv.ParseFloat(value, 64)
		if err != nil || !finite(v) || v < 0 {
			return bad(fmt.Sprintf("requests per second after %q, such as 1000, got %q", op, value))
		}
		slo.Value = v
	default:
		return bad(fmt.Sprintf("a metric (p50, p90, p95, p99, p999, max, errors or rate), got %q; forms: %s", metric, sloForms))
	}
	return slo, nil
}

// ParseSLOs parses each expression, stopping at the first malformed one.
func ParseSLOs(exprs []string) ([]SLO, error) {
	slos := make([]SLO, 0, len(exprs))
	for _, e := range exprs {
		s, err := ParseSLO(e)
		if err != nil {
			return nil, err
		}
		slos = append(slos, s)
	}
	return slos, nil
}

// String returns the expression in canonical form, such as "p99 <= 25ms".
func (s SLO) String() string {
	switch s.Metric {
	case "errors":
		if s.Percent {
			return fmt.Sprintf("errors %s %s%%", s.Op, formatFloat(s.Value, 6))
		}
		return fmt.Sprintf("errors %s %s", s.Op, formatFloat(s.Value, 0))
	case "rate":
		return fmt.Sprintf("rate %s %s", s.Op, formatFloat(s.Value, 6))
	}
	return fmt.Sprintf("%s %s %s", s.Metric, s.Op, s.Latency)
}

// Evaluate checks the SLO against run's summary: latency metrics against the
// corrected percentiles, errors against Errors (and Requests for a share),
// rate against the achieved rate. The verdict's Observed reads like
// "p99 12.3ms".
func (s SLO) Evaluate(run *Run) Verdict {
	var observed float64
	var text string
	var bound float64
	switch s.Metric {
	case "errors":
		observed = float64(run.Errors)
		text = fmt.Sprintf("errors %d", run.Errors)
		if s.Percent {
			observed = 0
			if run.Requests > 0 {
				observed = 100 * float64(run.Errors) / float64(run.Requests)
			}
			text = fmt.Sprintf("errors %s%% (%d of %d)", formatFloat(observed, 3), run.Errors, run.Requests)
		}
		bound = s.Value
	case "rate":
		observed = run.Rate.Achieved
		text = fmt.Sprintf("rate %s/s", formatFloat(observed, 1))
		bound = s.Value
	default:
		p := run.Latency.Corrected
		observed = map[string]float64{"p50": p.P50, "p90": p.P90, "p95": p.P95, "p99": p.P99, "p999": p.P999, "max": p.Max}[s.Metric]
		text = fmt.Sprintf("%s %sms", s.Metric, formatFloat(observed, 3))
		bound = float64(s.Latency) / 1e6
	}
	var ok bool
	switch s.Op {
	case "<=":
		ok = observed <= bound
	case "<":
		ok = observed < bound
	case ">=":
		ok = observed >= bound
	case ">":
		ok = observed > bound
	}
	return Verdict{Expr: s.Expr, OK: ok, Observed: text}
}

// EvaluateSLOs evaluates each SLO against run.
func EvaluateSLOs(slos []SLO, run *Run) []Verdict {
	vs := make([]Verdict, 0, len(slos))
	for _, s := range slos {
		vs = append(vs, s.Evaluate(run))
	}
	return vs
}
