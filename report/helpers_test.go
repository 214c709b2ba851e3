package report

import (
	"os"
	"testing"
	"time"

	"github.com/perf-tools/perf/results"
)

// sampleRun is a complete run as perf attack writes it.
func sampleRun() *results.Run {
	return &results.Run{
		Schema:      results.Schema,
		ToolVersion: "v0.3.0",
		Command:     []string{"perf", "attack", "--url", "http://127.0.0.1:8080/v1/items/{key}", "--rate", "1000", "--duration", "10s", "--slo", "p99 <= 25ms"},
		Name:        "smoke",
		StartedAt:   time.Date(2026, 11, 27, 12, 34, 56, 0, time.UTC),
		DurationS:   10,
		WarmupS:     2,
		Target:      "http://127.0.0.1:8080/v1/items/{key}",
		Rate:        results.Rate{Target: 1000, Achieved: 998.7, Plan: "1000/s"},
		Requests:    9987,
		Errors:      3,
		StatusCodes: map[string]int64{"200": 9984, "503": 2},
		ErrorKinds:  map[string]int64{"timeout": 1},
		Latency: results.Latency{
			Corrected: results.Percentiles{P50: 1.234, P90: 3.456, P95: 4.567, P99: 12.345, P999: 30.001, Max: 41.2, Mean: 1.9},
			Service:   results.Percentiles{P50: 1.1, P90: 3.001, P95: 4.002, P99: 9.876, P999: 20.5, Max: 40.96, Mean: 1.7},
		},
		Lag:            results.LagSummary{P50: 0.012, P99: 0.25, Max: 3.1},
		Valid:          true,
		InvalidReasons: []string{},
		SLO: []results.Verdict{
			{Expr: "p99 <= 25ms", OK: true, Observed: "p99 12.345ms"},
			{Expr: "errors <= 0.01%", OK: false, Observed: "errors 0.03% (3 of 9987)"},
		},
		Generator: results.Generator{CPUMeanPercent: 21.5, CPUMaxPercent: 34, Workers: 10, MaxLagMS: 10},
		Host:      results.Host{Hostname: "gen-1", Kernel: "6.1.0-18-amd64", CPUs: 2, GOMAXPROCS: 2, GoVersion: "go1.26.0"},
	}
}

// writeRunDir writes a run directory through the run writer: run.json
// from run, and latency.hlog and timeline.csv from intervals.
func writeRunDir(t testing.TB, dir string, run *results.Run, intervals []results.Interval) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := results.WriteRunDir(dir, run, intervals, nil, results.WriterOptions{}); err != nil {
		t.Fatal(err)
	}
}
