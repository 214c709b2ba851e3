package harness

import (
	"fmt"
	"strings"
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

// Check returns the reasons the outcome is invalid; none means valid. When
// the generator sent late, the reason says whose fault it was, in this
// order: the generator's own CPU, a pool whose every worker was busy, the
// host's CPU taken by other processes, or none of those (the generator had
// CPU and workers to spare).
func (h Health) Check(o *Outcome) []string {
	var reasons []string
	// Compared in hits, not in rates: a short window holds a whole number
	// of the plan's hits, which need not be the rate times the window.
	if planned := o.Requests + o.Unsent; planned > 0 && float64(o.Requests) < h.MinAchieved*float64(planned) {
		reasons = append(reasons, fmt.Sprintf("achieved rate %.1f/s is below %.0f%% of the planned %.1f/s",
			o.Achieved(), h.MinAchieved*100, o.Planned))
	}
	if o.Unsent > 0 && !o.Interrupted && o.GaveUp == "" {
		reasons = append(reasons, fmt.Sprintf("%d of the window's %d planned requests were never sent: the window ended before the generator got to them",
			o.Unsent, o.Requests+o.Unsent))
	}
	// The same percentile run.json reports, so the reason and the figure agree.
	if lag := time.Duration(results.SummarizeLag(o.Lag).P99 * 1e6); o.Lag.TotalCount() > 0 && lag > h.MaxLag {
		reasons = append(reasons, fmt.Sprintf("send lag p99 %s is above the %s bound: %s",
			roundDuration(lag), h.MaxLag, h.lagCause(o)))
	}
	if h.cpuSaturated(o) {
		reasons = append(reasons, fmt.Sprintf("generator CPU %.0f%% of %d core(s) (mean) is at or above %.0f%%: saturated",
			o.CPU.MeanPercent, o.CPU.Cores, h.MaxCPU))
	}
	if o.Requests == 0 && !o.Interrupted {
		reasons = append(reasons, "no request was sent in the measured window")
	}
	return reasons
}

func (h Health) cpuSaturated(o *Outcome) bool {
	return o.CPU.Samples > 0 && o.CPU.MeanPercent >= h.MaxCPU
}

// nearSaturation is how close, in percentage points, the generator's mean
// CPU may come to the saturation bound before a late send is put down to
// it: a mean of 90% has moments at 100%.
const nearSaturation = 5.0

// othersShare is how much of the generator's cores, in percentage points,
// other processes must have taken for a late send to be blamed on them.
const othersShare = 10.0

// busyShare is the share of the measured window with every worker busy
// above which that, not the generator, made hits late.
const busyShare = 0.01

// busyFor reports whether d, a time with every worker busy, is at least
// busyShare of span.
func busyFor(d, span time.Duration) bool {
	return span > 0 && d.Seconds() >= busyShare*span.Seconds()
}

// lagCause says why hits were sent late.
func (h Health) lagCause(o *Outcome) string {
	gen := fmt.Sprintf("generator CPU %.0f%% of %d core(s)", o.CPU.MeanPercent, max(o.CPU.Cores, 1))
	if o.CPU.Samples == 0 {
		gen = "generator CPU not sampled: the window was shorter than a sample"
	}
	host := ""
	if o.HostCPU.Samples > 0 {
		host = fmt.Sprintf(", all processes on its cores %.0f%%", o.HostCPU.MeanPercent)
	}
	switch {
	case h.cpuSaturated(o):
		return fmt.Sprintf("the generator had no CPU to spare (%s%s)", gen, host)
	case busyFor(o.Exhausted, o.Window):
		return fmt.Sprintf("every one of the %d workers, the most allowed, was busy waiting on the target for %s of the window, so due requests waited for a free worker: raise --max-workers, or the target cannot take this rate (%s)",
			o.Workers, roundDuration(o.Exhausted), gen)
	case busyFor(o.AllBusy, o.Window):
		return fmt.Sprintf("every one of the %d workers was busy waiting on the target for %s of the window: the target paused or answered at its capacity (more connections did not bring more answers), or a longer start is needed (--workers) (%s)",
			o.Workers, roundDuration(o.AllBusy), gen)
	case o.HostCPU.Samples > 0 && o.HostCPU.MeanPercent >= h.MaxCPU && o.HostCPU.MeanPercent-o.CPU.MeanPercent >= othersShare:
		return fmt.Sprintf("the host's CPU was saturated by other processes: the cores the generator may use were %.0f%% busy while the generator used %.0f%% of them",
			o.HostCPU.MeanPercent, o.CPU.MeanPercent)
	case o.HostCPU.Samples > 0 && o.HostCPU.MeanPercent >= h.MaxCPU:
		return fmt.Sprintf("the generator had no CPU to spare: its cores were %.0f%% busy, %.0f%% of it the generator's own", o.HostCPU.MeanPercent, o.CPU.MeanPercent)
	case o.CPU.Samples > 0 && o.CPU.MeanPercent >= h.MaxCPU-nearSaturation:
		return fmt.Sprintf("the generator was near saturation (%s%s; the bound is %.0f%%): its own pauses sent requests late", gen, host, h.MaxCPU)
	}
	return fmt.Sprintf("the generator did not send on time although it had CPU to spare (%s%s) and free workers", gen, host)
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

// GeneratorBound reports whether the generator, not the target, failed to
// keep the outcome's plan, and why: its CPU was saturated, its pool reached
// the most workers (connections) allowed while hits waited for one, or it
// sent late for reasons of its own or of its host (other processes taking
// its cores). A plan the target could not keep (every worker busy waiting
// on it while more workers brought no more answers) is the target's. An
// attack that gave up is judged by gaveUpBound.
func (h Health) GeneratorBound(o *Outcome) (bool, string) {
	if o.GaveUp != "" {
		return h.gaveUpBound(o)
	}
	switch {
	case h.cpuSaturated(o):
		return true, h.saturated(o)
	case busyFor(o.Exhausted, o.Window):
		return true, exhausted(o.Workers, o.Exhausted)
	case busyFor(o.AllBusy, o.Window):
		return false, ""
	}
	if reasons := h.Check(o); len(reasons) > 0 {
		return true, strings.Join(reasons, "; ")
	}
	return false, ""
}

// gaveUpBound judges an attack that gave up on an SLO the target had
// already failed. Its measured window may be a fraction of a second, too
// short for CPU samples or shares of it, so the pool is judged over the
// warm-up and the window together. The hits it did not send when it gave
// up are not held against the generator. It is the target's when the
// target's own service times (without the send lag) spent the SLO's
// allowance (ByService), when every worker was busy waiting on it, or when
// the generator's send lag (p99) was at most half the bound it gave up on,
// too little to have pushed requests over it; otherwise the generator's
// lateness may have, and it is the generator's.
func (h Health) gaveUpBound(o *Outcome) (bool, string) {
	span := o.MeasureStart.Sub(o.Started) + o.Window
	switch {
	case h.cpuSaturated(o):
		return true, h.saturated(o)
	case busyFor(o.Exhausted+o.WarmupExhausted, span):
		return true, exhausted(o.Workers, o.Exhausted+o.WarmupExhausted)
	case o.ByService, busyFor(o.AllBusy+o.WarmupAllBusy, span), o.GaveUpOn.Over <= 0:
		return false, ""
	}
	if lag := time.Duration(results.SummarizeLag(o.Lag).P99 * 1e6); o.Lag.TotalCount() > 0 && lag > o.GaveUpOn.Over/2 {
		return true, fmt.Sprintf("send lag p99 %s is more than half the %s bound of %s: %s",
			roundDuration(lag), o.GaveUpOn.Over, o.GaveUpOn.Expr, h.lagCause(o))
	}
	return false, ""
}

func (h Health) saturated(o *Outcome) string {
	return fmt.Sprintf("generator CPU %.0f%% of %d core(s) is at or above %.0f%%", o.CPU.MeanPercent, o.CPU.Cores, h.MaxCPU)
}

func exhausted(workers int, d time.Duration) string {
	return fmt.Sprintf("every one of the %d workers, the most allowed, was busy for %s while requests waited for one (raise --max-workers or --connections)",
		workers, roundDuration(d))
}
