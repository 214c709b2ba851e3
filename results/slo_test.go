package results

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseSLO(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want SLO
		str  string
	}{
		{"p99 <= 25ms", SLO{Metric: "p99", Op: "<=", Latency: 25 * time.Millisecond}, "p99 <= 25ms"},
		{"p99<=25ms", SLO{Metric: "p99", Op: "<=", Latency: 25 * time.Millisecond}, "p99 <= 25ms"},
		{"  P999 < 1.5 s ", SLO{Metric: "p999", Op: "<", Latency: 1500 * time.Millisecond}, "p999 < 1.5s"},
		{"max<=2s", SLO{Metric: "max", Op: "<=", Latency: 2 * time.Second}, "max <= 2s"},
		{"p50 <= 800us", SLO{Metric: "p50", Op: "<=", Latency: 800 * time.Microsecond}, "p50 <= 800µs"},
		{"errors <= 0", SLO{Metric: "errors", Op: "<="}, "errors <= 0"},
		{"errors <= 10", SLO{Metric: "errors", Op: "<=", Value: 10}, "errors <= 10"},
		{"errors<0.1%", SLO{Metric: "errors", Op: "<", Value: 0.1, Percent: true}, "errors < 0.1%"},
		{"rate >= 49500", SLO{Metric: "rate", Op: ">=", Value: 49500}, "rate >= 49500"},
		{"rate > 1000/s", SLO{Metric: "rate", Op: ">", Value: 1000}, "rate > 1000"},
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
		{"", "expected p50|p90|p95|p99|p999|max <= DURATION"},
		{"p99", "expected p50|p90|p95|p99|p999|max <= DURATION"},
		{"<= 25ms", "expected p50|p90|p95|p99|p999|max <= DURATION"},
		{"p98 <= 25ms", `expected a metric (p50, p90, p95, p99, p999, max, errors or rate), got "p98"`},
		{"p99 <= 25", `expected a positive duration with a unit after "<=", such as 25ms, got "25"`},
		{"p99 <= fast", `got "fast"`},
		{"p99 <= -1ms", `got "-1ms"`},
		{"p99 >= 25ms", `expected "p99 <= DURATION"`},
		{"p99 = 25ms", `expected "<=" or ">=", not "="`},
		{"errors <= 1.5", "expected a whole count or a percentage"},
		{"errors <= 101%", "expected a whole count or a percentage"},
		{"errors >= 1", `expected "errors <= N" or "errors <= N%"`},
		{"rate <= 1000", `expected "rate >= N"`},
		{"rate >= lots", `expected requests per second after ">=", such as 1000, got "lots"`},
	} {
		_, err := ParseSLO(tc.expr)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrBadSLO) {
			t.Errorf("ParseSLO(%q) = %v, want ErrBadSLO containing %q", tc.expr, err, tc.want)
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
	run := &Run{Requests: 10, Errors: 1, Rate: Rate{Achieved: 10}, Latency: Latency{Corrected: Percentiles{P99: 10}}}
	f.Fuzz(func(t *testing.T, expr string) {
		slo, err := ParseSLO(expr)
		if err != nil {
			if !errors.Is(err, ErrBadSLO) || !strings.Contains(err.Error(), "expected") {
				t.Fatalf("ParseSLO(%q): error %v is not an ErrBadSLO saying what was expected", expr, err)
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
	})
}
