package report_test

import (
	"os"
	"time"

	"github.com/perf-tools/perf/report"
	"github.com/perf-tools/perf/results"
)

func ExampleWrite() {
	run := &results.Run{
		Name:        "smoke",
		StartedAt:   time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC),
		DurationS:   10,
		Target:      "http://127.0.0.1:8080/v1/items/{key}",
		Rate:        results.Rate{Target: 100, Achieved: 100, Plan: "100/s"},
		Requests:    1000,
		StatusCodes: map[string]int64{"200": 1000},
		Latency: results.Latency{
			Corrected: results.Percentiles{P50: 1.2, P90: 2, P95: 2.5, P99: 4, P999: 9, Max: 12, Mean: 1.4},
			Service:   results.Percentiles{P50: 1.1, P90: 1.9, P95: 2.4, P99: 3.5, P999: 8, Max: 11, Mean: 1.3},
		},
		Valid: true,
		SLO:   []results.Verdict{{Expr: "p99<=25ms", OK: true, Observed: "p99 4ms"}},
	}
	if err := report.Write(os.Stdout, report.FormatText, run); err != nil {
		panic(err)
	}
	// Output:
	// Run           smoke
	// verdict       PASS: a valid run that met every SLO
	// started       2026-12-01T12:00:00Z
	// target        http://127.0.0.1:8080/v1/items/{key}
	// rate          100/s achieved of 100/s planned (100%)
	// duration      10s
	// requests      1000
	// errors        0 (0%)
	// status codes  200=1000
	// error kinds   -
	// retries       0
	// send lag      p50 0.000ms, p99 0.000ms, max 0.000ms
	// generator     cpu mean 0%, max 0%
	// host cpu      mean 0%, max 0% (all processes, on the cores the generator may use)
	//
	// Latency (ms)  corrected  service
	// p50               1.200    1.100
	// p90               2.000    1.900
	// p95               2.500    2.400
	// p99               4.000    3.500
	// p99.9             9.000    8.000
	// max              12.000   11.000
	// mean              1.400    1.300
	//
	// Verdict        smoke
	// validity       VALID
	// slo p99<=25ms  PASS (p99 4ms)
	// interrupted    no
}
