package service

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RolloutStep is one step of a ramp-up: the candidate's share of users, in
// whole percent, held for Hold before its gate is judged.
type RolloutStep struct {
	// Weight is the percentage of users (0..100) the candidate serves.
	// Whole percents, because the buckets are flagd's, whose weights are
	// whole numbers.
	Weight int
	// Hold is how long the step lasts before its gate is judged.
	Hold time.Duration
}

// String returns the step as the grammar reads it, such as "5%/30s".
func (s RolloutStep) String() string { return strconv.Itoa(s.Weight) + "%/" + s.Hold.String() }

// MaxRolloutSteps bounds the number of steps of a rollout.
const MaxRolloutSteps = 100

// MinRolloutHold is the shortest hold a step may have: below it, a gate
// would judge a handful of requests.
const MinRolloutHold = 10 * time.Millisecond

// ParseRolloutSteps parses a rollout's steps: a comma-separated list of
// WEIGHT%/HOLD, such as "1%/30s,5%/30s,25%/1m,50%/1m,100%/1m". WEIGHT is a
// whole number of percent from 1 to 100 (the "%" is required); HOLD is a Go
// duration of at least MinRolloutHold, such as 300ms, 30s, 1m or 1h30m.
// Spaces around steps are ignored. The weights must grow strictly from
// step to step, so that no user ever goes back from the candidate to the
// primary while the rollout goes on; the last weight need not be 100.
// An error names the step, by position and text, and what was expected.
func ParseRolloutSteps(s string) ([]RolloutStep, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("rollout steps %q: empty: want WEIGHT%%/HOLD[,WEIGHT%%/HOLD...] such as 1%%/30s,5%%/30s,25%%/1m,50%%/1m,100%%/1m", s)
	}
	parts := strings.Split(s, ",")
	if len(parts) > MaxRolloutSteps {
		return nil, fmt.Errorf("rollout steps: %d steps: want at most %d", len(parts), MaxRolloutSteps)
	}
	steps := make([]RolloutStep, 0, len(parts))
	for i, p := range parts {
		text := strings.TrimSpace(p)
		bad := func(format string, args ...any) error {
			return fmt.Errorf("rollout step %d %q: %s", i+1, text, fmt.Sprintf(format, args...))
		}
		w, hold, ok := strings.Cut(text, "/")
		if text == "" {
			return nil, bad("empty: want WEIGHT%%/HOLD such as 5%%/30s")
		}
		if !ok {
			return nil, bad("no hold: want WEIGHT%%/HOLD such as 5%%/30s")
		}
		num, isPct := strings.CutSuffix(strings.TrimSpace(w), "%")
		if !isPct {
			return nil, bad("the weight %q: want a percentage such as 5%%", w)
		}
		weight, err := strconv.Atoi(num)
		if err != nil || weight < 1 || weight > 100 || num != strconv.Itoa(weight) {
			return nil, bad("the weight %q: want a whole percentage from 1%% to 100%%", w)
		}
		d, err := time.ParseDuration(strings.TrimSpace(hold))
		if err != nil || d < MinRolloutHold {
			return nil, bad("the hold %q: want a duration of at least %v such as 300ms, 30s or 1m", hold, MinRolloutHold)
		}
		if i > 0 && weight <= steps[i-1].Weight {
			return nil, bad("the weight %d%% is not above the step before's %d%%: weights must grow, so no user goes back to the primary", weight, steps[i-1].Weight)
		}
		steps = append(steps, RolloutStep{Weight: weight, Hold: d})
	}
	return steps, nil
}
