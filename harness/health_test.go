package harness

import (
	"strings"
	"testing"
	"time"

	"github.com/perf-tools/perf/results"
)

// TestHealthCheck reaches each reason a run is invalid, and none for a
// generator that kept up.
func TestHealthCheck(t *testing.T) {
	outcome := func(achieved float64, lag time.Duration, cpu float64) *Outcome {
		o := &Outcome{Planned: 1000, Achieved: achieved, Requests: 1000, Lag: results.NewHistogram(),
			CPU: results.CPUStats{MeanPercent: cpu, MaxPercent: cpu, Samples: 3, Cores: 1}}
		for range 100 {
			results.Record(o.Lag, lag)
		}
		return o
	}
	h := DefaultHealth()
	for _, tc := range []struct {
		name string
		o    *Outcome
		want string
	}{
		{"kept up", outcome(995, 100*time.Microsecond, 40), ""},
		{"rate", outcome(900, 100*time.Microsecond, 40), "achieved rate 900.0/s is below 98%"},
		{"lag", outcome(1000, 20*time.Millisecond, 40), "send lag p99 20ms is above the 5ms bound"},
		{"cpu", outcome(1000, 100*time.Microsecond, 97), "generator CPU 97% of 1 core(s)"},
	} {
		reasons := h.Check(tc.o)
		if tc.want == "" {
			if len(reasons) != 0 {
				t.Errorf("%s: reasons %v, want none", tc.name, reasons)
			}
			continue
		}
		if len(reasons) != 1 || !strings.Contains(reasons[0], tc.want) {
			t.Errorf("%s: reasons %v, want one containing %q", tc.name, reasons, tc.want)
		}
	}
}
