package search

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/perf-tools/perf/harness"
	"github.com/perf-tools/perf/results"
)

// Defaults of Steps.
const (
	// DefaultRecover is the longest a search waits after a failed step for
	// the target to answer within its SLO again.
	DefaultRecover = 30 * time.Second
	// recoverEvery is how often the target is probed while it recovers,
	// and recoverProbes how many answers in a row within the bound make it
	// recovered.
	recoverEvery  = 100 * time.Millisecond
	recoverProbes = 3
	// recoverBound is the latency a recovered target answers within when no
	// SLO bounds latency.
	recoverBound = time.Second
)

// Steps runs each step of a search as a whole recorded run (harness.Run)
// at the step's rate, in a run directory of its own under Dir, and judges
// it. Its Trial is the Trial of Run.
type Steps struct {
	// Run is the template of every step's run: targets, connections,
	// health bounds, SLOs, tool version. Its rate, duration, warm-up,
	// name, output directory and limits are the step's.
	Run harness.RunOptions
	// Dir is the search directory.
	Dir string
	// Step is the measured length of a step, Warmup its warm-up, Cooldown
	// the pause after it.
	Step, Warmup, Cooldown time.Duration
	// Recover is the longest wait after a failed step for the target to
	// recover (DefaultRecover when zero).
	Recover time.Duration
}

// Trial runs step at its offered rate and returns it judged: generator-bound
// when the generator, not the target, could not keep the plan (whatever the
// SLOs say); failed when an SLO failed (or the step gave up on one), the
// target could not keep the plan, or most requests failed; passed
// otherwise. After a failed step it waits until the target answers within
// the SLO again; after every step, for Cooldown.
func (s *Steps) Trial(ctx context.Context, step results.SearchStep) (results.SearchStep, error) {
	o := s.Run
	o.Rate = rateOf(step.Offered)
	o.Plan = nil
	o.Duration, o.Warmup = s.Step, s.Warmup
	o.OutDir = s.Dir
	o.Name = fmt.Sprintf("step-%02d-%s-%.0f", step.Index, step.Phase, step.Offered)
	o.GiveUp = Limits(o.SLOs, int64(math.Floor(o.Rate.PerSecond()*s.Step.Seconds())))
	run, dir, err := harness.Run(ctx, o)
	// A page that could not be drawn is not the step's failure: its
	// files were written. Any other error is the search's.
	if run == nil || (err != nil && !errors.Is(err, results.ErrRender)) {
		return step, err
	}
	if rel, relErr := filepath.Rel(s.Dir, dir); relErr == nil {
		step.Dir = rel
	}
	if ctx.Err() != nil {
		return step, ctx.Err()
	}
	judge(&step, run, o.Health)
	if step.Verdict == results.StepFail {
		took, ok := s.recover(ctx)
		step.RecoveryS = took.Seconds()
		if !ok && ctx.Err() == nil {
			step.Reasons = append(step.Reasons, fmt.Sprintf("the target had not recovered %s after the step", took.Round(time.Millisecond)))
		}
	}
	if err := sleep(ctx, s.Cooldown); err != nil {
		return step, err
	}
	return step, nil
}

// judge fills step from its run. A step the target could not keep fails
// when requests of its plan went unsent (they have no latency to judge);
// target-caused send lag alone does not fail it, since corrected latency,
// which the SLOs judge, already holds that wait.
func judge(step *results.SearchStep, run *results.Run, health harness.Health) {
	step.Achieved = run.Rate.Achieved
	step.Requests, step.Errors = run.Requests, run.Errors
	step.Latency = run.Latency.Corrected
	step.SLO = run.SLO
	step.EndedEarly = run.EndedEarly
	step.DurationS = run.DurationS
	if run.Generator.LimitedBy == results.LimitedByGenerator {
		step.Verdict = results.StepGeneratorBound
		step.Reasons = append(step.Reasons, "the generator could not keep the plan: "+run.Generator.LimitedWhy)
		return
	}
	for _, v := range run.SLO {
		if !v.OK {
			step.Reasons = append(step.Reasons, fmt.Sprintf("%s failed: %s", v.Expr, v.Observed))
		}
	}
	if health.MinAchieved <= 0 {
		health = harness.DefaultHealth()
	}
	if planned := run.Requests + run.Unsent; run.EndedEarly == "" && (run.Unsent > 0 || float64(run.Requests) < health.MinAchieved*float64(planned)) {
		step.Reasons = append(step.Reasons, fmt.Sprintf("the target could not take the rate: %d of the %d requests planned were sent (%s)",
			run.Requests, planned, strings.Join(run.InvalidReasons, "; ")))
	}
	if results.MostFailed(run) {
		step.Reasons = append(step.Reasons, fmt.Sprintf("most requests failed: %d of %d", run.Errors, run.Requests))
	}
	step.Verdict = results.StepPass
	if len(step.Reasons) > 0 {
		step.Verdict = results.StepFail
	}
}

// recover waits until the target answers recoverProbes probes in a row
// within the tightest latency SLO, and returns how long that took and
// whether it happened within Recover.
func (s *Steps) recover(ctx context.Context) (time.Duration, bool) {
	bound := recoverBound
	for _, b := range s.Run.SLOs {
		if l, ok := b.Latency(); ok && l > 0 && l < bound {
			bound = l
		}
	}
	limit := s.Recover
	if limit <= 0 {
		limit = DefaultRecover
	}
	start := time.Now()
	for good := 0; ; {
		took, err := harness.Probe(ctx, s.Run.Targets, max(bound, recoverEvery))
		if err == nil && took <= bound {
			good++
		} else {
			good = 0
		}
		if good >= recoverProbes {
			return time.Since(start), true
		}
		if time.Since(start) >= limit || sleep(ctx, recoverEvery) != nil {
			return time.Since(start), false
		}
	}
}

// Limits returns the bounds a step of planned requests gives up on, one per
// SLO that a step can fail beyond doubt before its end: a latency
// percentile (more requests above the limit than the percentile allows of
// the plan), the maximum (one above it), and failed requests (more than
// allowed of the plan). The mean and the rate cannot be known to have
// failed early.
func Limits(slos []results.Bound, planned int64) []harness.Limit {
	var ls []harness.Limit
	for _, b := range slos {
		if b.Relative || b.Variant != "" || (b.Op != "<=" && b.Op != "<") {
			continue
		}
		m := b.Measure()
		switch {
		case m.Unit == results.UnitMS && m.Percentile > 0:
			over, _ := b.Latency()
			ls = append(ls, harness.Limit{Over: over, Allowed: allowedOf((100 - m.Percentile) / 100 * float64(planned)), Expr: b.Expr})
		case m.Name == "errors":
			allowed := int64(math.Floor(b.Limit))
			if b.Op == "<" {
				allowed = int64(math.Ceil(b.Limit)) - 1
			}
			ls = append(ls, harness.Limit{Allowed: allowed, Expr: b.Expr})
		case m.Name == "error_rate":
			ls = append(ls, harness.Limit{Allowed: allowedOf(b.Limit / 100 * float64(planned)), Expr: b.Expr})
		}
	}
	return ls
}

// allowedOf is the whole number of requests a share of a plan allows,
// forgiving the float error of the share (0.1% of 10,000 is 10, not 9).
func allowedOf(share float64) int64 { return int64(math.Floor(share + 1e-9)) }

// rateOf is the constant rate of r requests per second, to a thousandth.
func rateOf(r float64) harness.Rate {
	if r == math.Trunc(r) {
		return harness.Rate{Freq: int(r), Per: time.Second}
	}
	return harness.Rate{Freq: int(math.Round(r * 1000)), Per: 1000 * time.Second}
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
