package harness

import (
	"fmt"
	"time"

	"github.com/perf-tools/perf/results"
)

// Health bounds: a run outside any of them measured the generator, not the
// target, and is invalid.
type Health struct {
	// MinAchieved is the share of the planned rate that must be achieved.
	MinAchieved float64
	// MaxLag bounds the send-lag p99.
	MaxLag time.Duration
	// MaxCPU is the mean generator CPU use, in percent of its usable
	// cores, at or above which the generator counts as saturated.
	MaxCPU float64
}

// DefaultHealth returns the documented bounds.
func DefaultHealth() Health {
	return Health{MinAchieved: DefaultMinAchieved, MaxLag: DefaultMaxLag, MaxCPU: DefaultMaxCPU}
}

// Check returns the reasons the outcome is invalid; none means valid.
func (h Health) Check(o *Outcome) []string {
	var reasons []string
	if o.Planned > 0 && o.Achieved < h.MinAchieved*o.Planned {
		reasons = append(reasons, fmt.Sprintf("achieved rate %.1f/s is below %.0f%% of the planned %.1f/s",
			o.Achieved, h.MinAchieved*100, o.Planned))
	}
	// The same percentile run.json reports, so the reason and the figure agree.
	if lag := time.Duration(results.SummarizeLag(o.Lag).P99 * 1e6); o.Lag.TotalCount() > 0 && lag > h.MaxLag {
		reasons = append(reasons, fmt.Sprintf("send lag p99 %s is above the %s bound: the generator did not send on time",
			roundDuration(lag), h.MaxLag))
	}
	if o.CPU.Samples > 0 && o.CPU.MeanPercent >= h.MaxCPU {
		reasons = append(reasons, fmt.Sprintf("generator CPU %.0f%% of %d core(s) (mean) is at or above %.0f%%: saturated",
			o.CPU.MeanPercent, o.CPU.Cores, h.MaxCPU))
	}
	if o.Requests == 0 && !o.Interrupted {
		reasons = append(reasons, "no request completed in the measured window")
	}
	return reasons
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}
