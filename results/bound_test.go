package results

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseSLO(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want Bound
		str  string
	}{
		{"p99 <= 25ms", Bound{Metric: "p99", Op: "<=", Limit: inMS(25 * time.Millisecond)}, "p99 <= 25ms"},
		{"p99<=25ms", Bound{Metric: "p99", Op: "<=", Limit: inMS(25 * time.Millisecond)}, "p99 <= 25ms"},
		{"  P999 < 1.5 s ", Bound{Metric: "p999", Op: "<", Limit: inMS(1500 * time.Millisecond)}, "p999 < 1.5s"},
		{"max<=2s", Bound{Metric: "max", Op: "<=", Limit: inMS(2 * time.Second)}, "max <= 2s"},
		{"p50 <= 800us", Bound{Metric: "p50", Op: "<=", Limit: inMS(800 * time.Microsecond)}, "p50 <= 800µs"},
		{"errors <= 0", Bound{Metric: "errors", Op: "<="}, "errors <= 0"},
		{"errors <= 10", Bound{Metric: "errors", Op: "<=", Limit: 10}, "errors <= 10"},
		{"errors<0.1%", Bound{Metric: "errors", Op: "<", Limit: 0.1, Percent: true}, "errors < 0.1%"},
		{"rate >= 49500", Bound{Metric: "rate", Op: ">=", Limit: 49500}, "rate >= 49500"},
		{"rate > 1000/s", Bound{Metric: "rate", Op: ">", Limit: 1000}, "rate > 1000"},
	} {
		got, err := ParseSLO(tc.expr)
		if err != nil {
			t.Errorf("ParseSLO(%q): %v", tc.expr, err)
			continue
		}
		tc.want.Expr = tc.expr
		if got != tc.want {
			t.Errorf("ParseSLO(%q) = %+v, want %+v", tc.expr, got, tc.want)
		}
		if got.String() != tc.str {
			t.Errorf("ParseSLO(%q).String() = %q, want %q", tc.expr, got.String(), tc.str)
		}
	}
}

func TestParseSLOErrors(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"", "expected METRIC OP LIMIT such as p99<=25ms"},
		{"p99", "expected METRIC OP LIMIT such as p99<=25ms"},
		{"<= 25ms", "expected METRIC OP LIMIT such as p99<=25ms"},
		{"p98 <= 25ms", `expected a metric (p50, p90, p95, p99, p999, max, mean, errors or rate), got "p98"`},
		{"p99 <= 25", `expected a positive duration with a unit, such as 25ms, after "<=", got "25"`},
		{"p99 <= fast", `got "fast"`},
		{"p99 <= -1ms", `got "-1ms": a signed limit is a change from a base run`},
		{"p99 <= +10%", `got "+10%": a signed limit is a change from a base run`},
		{"p99 <= 10%", `a percentage bounds only errors`},
		{"p99 >= 25ms", `expected "p99 <= LIMIT" (p99 has an upper bound)`},
		{"p99 = 25ms", `expected "<=" or ">=", not "="`},
		{"errors <= 1.5", "expected a whole count (0, 10) or a percentage (0.1%)"},
		{"errors <= 101%", "expected a percentage from 0 to 100%"},
		{"errors >= 1", `expected "errors <= LIMIT"`},
		{"rate <= 1000", `expected "rate >= LIMIT"`},
		{"rate >= lots", `expected requests per second, such as 1000, after ">=", got "lots"`},
	} {
		_, err := ParseSLO(tc.expr)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrBadBound) {
			t.Errorf("ParseSLO(%q) = %v, want ErrBadBound containing %q", tc.expr, err, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), `"`+tc.expr+`"`) {
			t.Errorf("ParseSLO(%q) error %q does not name the expression", tc.expr, err)
		}
	}
	if _, err := ParseSLOs([]string{"p99 <= 1s", "bogus"}); err == nil || !strings.Contains(err.Error(), `"bogus"`) {
		t.Errorf("ParseSLOs = %v, want an error naming \"bogus\"", err)
	}
}

func TestSLOEvaluate(t *testing.T) {
	run := &Run{
		Requests: 10000,
		Errors:   12,
		Rate:     Rate{Target: 1000, Achieved: 998.25},
		Latency:  Latency{Corrected: Percentiles{P50: 1.2, P90: 5, P95: 8, P99: 12.3, P999: 40, Max: 120}},
	}
	for _, tc := range []struct {
		expr     string
		ok       bool
		observed string
	}{
		{"p99 <= 25ms", true, "p99 12.3ms"},
		{"p99 <= 12.3ms", true, "p99 12.3ms"},
		{"p99 < 12.3ms", false, "p99 12.3ms"},
		{"p999 <= 25ms", false, "p999 40ms"},
		{"max <= 100ms", false, "max 120ms"},
		{"p50 <= 2ms", true, "p50 1.2ms"},
		{"errors <= 12", true, "errors 12"},
		{"errors <= 11", false, "errors 12"},
		{"errors <= 0.1%", false, "errors 0.12% (12 of 10000)"},
		{"errors <= 0.5%", true, "errors 0.12% (12 of 10000)"},
		{"rate >= 990", true, "rate 998.3/s"},
		{"rate >= 1000", false, "rate 998.3/s"},
	} {
		slo, err := ParseSLO(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		got := slo.Evaluate(run)
		if got.Expr != tc.expr || got.OK != tc.ok || got.Observed != tc.observed {
			t.Errorf("Evaluate(%q) = %+v, want ok %v observed %q", tc.expr, got, tc.ok, tc.observed)
		}
	}
	// No requests at all: a share of errors is 0%.
	slo, _ := ParseSLO("errors <= 0%")
	if v := slo.Evaluate(&Run{}); !v.OK {
		t.Errorf("errors <= 0%% on an empty run = %+v", v)
	}
}

func FuzzParseSLO(f *testing.F) {
	for _, s := range []string{"p99 <= 25ms", "errors <= 0.1%", "errors <= 3", "rate >= 1000/s", "max<1h", "p999 <= 1.5s", "p99 >= 1ms", "=", "<=", "p99<=", "errors<=%"} {
		f.Add(s)
	}
	for _, s := range []string{"p99[compact]<=10ms", "errors [doc-view=full, etag=on] <= 0.1%", "p99[]<=1ms", "[a]p99<=1ms"} {
		f.Add(s)
	}
	run := &Run{Requests: 10, Errors: 1, Rate: Rate{Achieved: 10}, Latency: Latency{Corrected: Percentiles{P99: 10}},
		Variants: []Variant{{Name: "compact", Responses: 4, Latency: Latency{Corrected: Percentiles{P99: 1}}}}}
	f.Fuzz(func(t *testing.T, expr string) {
		slo, err := ParseSLO(expr)
		if err != nil {
			if !errors.Is(err, ErrBadBound) || !strings.Contains(err.Error(), "expected") {
				t.Fatalf("ParseSLO(%q): error %v is not an ErrBadBound saying what was expected", expr, err)
			}
			return
		}
		// The canonical form parses back to the same objective.
		again, err := ParseSLO(slo.String())
		if err != nil {
			t.Fatalf("ParseSLO(%q).String() = %q does not parse: %v", expr, slo.String(), err)
		}
		again.Expr = slo.Expr
		if again != slo {
			t.Fatalf("ParseSLO(%q) = %+v, but its String %q parses to %+v", expr, slo, slo.String(), again)
		}
		_ = slo.Evaluate(run)
		// A bound on a variant the run does not have never holds.
		if slo.Variant != "" && slo.Variant != "compact" {
			if v := EvaluateSLOs([]Bound{slo}, run)[0]; v.OK {
				t.Fatalf("%q held on a run without variant %q: %+v", expr, slo.Variant, v)
			}
		}
	})
}

// inMS returns d in milliseconds, the unit of a latency bound.
func inMS(d time.Duration) float64 { return float64(d) / 1e6 }

func TestParseBound(t *testing.T) {
	good := []struct {
		expr string
		want Bound
	}{
		{"p99<=+10%", Bound{Metric: "p99", Op: "<=", Relative: true, Percent: true, Limit: 10}},
		{" p999 <= +5ms ", Bound{Metric: "p999", Op: "<=", Relative: true, Limit: 5}},
		{"P99<25ms", Bound{Metric: "p99", Op: "<", Limit: 25}},
		{"max<=-1.5ms", Bound{Metric: "max", Op: "<=", Relative: true, Limit: -1.5}},
		{"mean<=+0%", Bound{Metric: "mean", Op: "<=", Relative: true, Percent: true, Limit: 0}},
		{"errors<=0", Bound{Metric: "errors", Op: "<=", Limit: 0}},
		{"errors<=0.1%", Bound{Metric: "errors", Op: "<=", Percent: true, Limit: 0.1}},
		{"errors<=+10", Bound{Metric: "errors", Op: "<=", Relative: true, Limit: 10}},
		{"errors<=+10%", Bound{Metric: "errors", Op: "<=", Relative: true, Percent: true, Limit: 10}},
		{"rate>=-1%", Bound{Metric: "rate", Op: ">=", Relative: true, Percent: true, Limit: -1}},
		{"rate>=1000/s", Bound{Metric: "rate", Op: ">=", Limit: 1000}},
		{"rate>-50", Bound{Metric: "rate", Op: ">", Relative: true, Limit: -50}},
	}
	for _, tt := range good {
		g, err := ParseBound(tt.expr)
		if err != nil {
			t.Errorf("ParseBound(%q): %v", tt.expr, err)
			continue
		}
		tt.want.Expr = tt.expr
		if g != tt.want {
			t.Errorf("ParseBound(%q) = %+v, want %+v", tt.expr, g, tt.want)
		}
		// The canonical form parses back to the same gate.
		back, err := ParseBound(g.String())
		if err != nil {
			t.Errorf("ParseBound(String() = %q): %v", g.String(), err)
			continue
		}
		back.Expr = g.Expr
		if back != g {
			t.Errorf("round trip %q -> %q: %+v, want %+v", tt.expr, g.String(), back, g)
		}
	}

	bad := []struct{ expr, wantMsg string }{
		{"", "METRIC OP LIMIT"},
		{"p99", "METRIC OP LIMIT"},
		{"p98<=+10%", `a metric (p50, p90`},
		{"error_rate<=1%", `a metric`},
		{"p99=+10%", `"<=" or ">=", not "="`},
		{"p99>=+10%", "upper bound"},
		{"rate<=+10%", "lower bound"},
		{"p99<=", "a limit after"},
		{"p99<=10%", "signed relative limit"},
		{"p99<=10", "a duration with a unit"},
		{"p99<=0ms", "a duration with a unit"},
		{"p99<=+-5ms", "a duration with a unit"},
		{"p99<=+NaN%", "a percentage"},
		{"errors<=1.5", "a whole count"},
		{"errors<=101%", "a percentage"},
		{"rate>=fast", "requests per second"},
		{"rate>=+Inf", "requests per second"},
	}
	for _, tt := range bad {
		_, err := ParseBound(tt.expr)
		var ge *BoundError
		if !errors.As(err, &ge) {
			t.Errorf("ParseBound(%q): error %v, want a *BoundError", tt.expr, err)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tt.wantMsg) || !strings.Contains(msg, `"`+tt.expr+`"`) {
			t.Errorf("ParseBound(%q): %q, want it to name the gate and say %q", tt.expr, msg, tt.wantMsg)
		}
	}
}

func FuzzParseBound(f *testing.F) {
	for _, s := range []string{"p99<=+10%", "p999<=+5ms", "errors<=0", "rate>=-1%", "errors<=0.5%", "rate>=100/s", "max < 1h", "p50<=-0.5ms", "", "<=", "p99<=+"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		g, err := ParseBound(expr)
		if err != nil {
			var ge *BoundError
			if !errors.As(err, &ge) || ge.Expr != expr {
				t.Fatalf("ParseBound(%q): %v is not a *BoundError naming the input", expr, err)
			}
			return
		}
		if math.IsNaN(g.Limit) || math.IsInf(g.Limit, 0) {
			t.Fatalf("ParseBound(%q): limit %v", expr, g.Limit)
		}
		back, err := ParseBound(g.String())
		if err != nil {
			t.Fatalf("ParseBound(%q).String() = %q does not parse: %v", expr, g.String(), err)
		}
		if back.Metric != g.Metric || back.Op != g.Op || back.Relative != g.Relative || back.Percent != g.Percent ||
			math.Abs(back.Limit-g.Limit) > 1e-6*math.Max(1, math.Abs(g.Limit)) {
			t.Fatalf("round trip of %q via %q: %+v, want %+v", expr, g.String(), back, g)
		}
	})
}
