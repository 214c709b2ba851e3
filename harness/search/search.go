package search

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/perf-tools/perf/results"
)

// Defaults of a Config. A zero Growth or Precision means the default; a
// zero Confirmations or MaxLowerings means none, so a caller that wants the
// defaults for those starts from NewConfig.
const (
	// DefaultGrowth doubles the rate between growth steps.
	DefaultGrowth = 2.0
	// DefaultPrecision stops bisecting when hi is within 2% of lo.
	DefaultPrecision = 0.02
	// DefaultConfirmations is the number of repeated trials at the answer.
	DefaultConfirmations = 2
	// DefaultMaxLowerings is how many failed confirmations may lower the
	// answer before the search gives up as not-confirmed.
	DefaultMaxLowerings = 3
)

// Trial runs one step at the offered rate (req/s) and returns it judged:
// Verdict is results.StepPass, StepFail or StepGeneratorBound. The search
// sets Index (1 for the first step), Phase and Offered in step before the
// call and keeps what the trial returns, except those three fields, which
// stay the search's. An error ends the search (see Run); a verdict other
// than the three is an error too.
type Trial func(ctx context.Context, step results.SearchStep) (results.SearchStep, error)

// Config are a search's settings. Rates are requests per second.
type Config struct {
	// Min and Max bound the offered rate: 0 < Min <= Max. Offered rates
	// are rounded to whole requests per second, at least 1.
	Min, Max float64
	// Growth is the factor between growth steps, above 1; 0 means
	// DefaultGrowth.
	Growth float64
	// Precision is the relative bracket width, hi/lo - 1, at which
	// bisection stops, between 0 and 1; 0 means DefaultPrecision. Below
	// about 1/Precision req/s whole rates are coarser than Precision, and
	// bisection stops when lo and hi are adjacent whole numbers.
	Precision float64
	// Confirmations is the number of repeated trials at the answer; 0
	// means none.
	Confirmations int
	// MaxLowerings is how many times a failed confirmation may lower the
	// answer before the outcome is not-confirmed; 0 means a failed
	// confirmation ends the search.
	MaxLowerings int
	// TimeLimit bounds the search's wall time; 0 means none. A step is not
	// started when StepTime would take the search past it.
	TimeLimit time.Duration
	// StepTime is the expected wall time of one step (warm-up, step and
	// cool-down), for the time limit.
	StepTime time.Duration
	// Now is the clock; nil means time.Now. Tests pass a fake.
	Now func() time.Time
	// OnStep, when set, is called before each step, with the step's Verdict
	// empty, and after it, judged, with the bracket: lo the highest rate
	// that passed, hi the lowest that failed, nil when unknown. It is for a
	// progress display; it runs on Run's goroutine and must not block.
	OnStep func(s results.SearchStep, lo, hi *float64)
}

// NewConfig returns a Config from min to max with every other setting at
// its default.
func NewConfig(min, max float64) Config {
	return Config{
		Min:           min,
		Max:           max,
		Growth:        DefaultGrowth,
		Precision:     DefaultPrecision,
		Confirmations: DefaultConfirmations,
		MaxLowerings:  DefaultMaxLowerings,
	}
}

// withDefaults returns c with zero Growth and Precision at their defaults.
func (c Config) withDefaults() Config {
	if c.Growth == 0 {
		c.Growth = DefaultGrowth
	}
	if c.Precision == 0 {
		c.Precision = DefaultPrecision
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate says what is wrong with c, naming the setting and what it
// expects; nil when Run can use it. Zero Growth and Precision are valid
// (they mean the defaults).
func (c Config) Validate() error {
	c = c.withDefaults()
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case !(c.Min > 0) || !finite(c.Min):
		return fmt.Errorf("search: min must be a rate above 0 req/s, got %g", c.Min)
	case !finite(c.Max):
		return fmt.Errorf("search: max must be a finite rate in req/s, got %g", c.Max)
	case c.Max < c.Min:
		return fmt.Errorf("search: max (%g req/s) must be at least min (%g req/s)", c.Max, c.Min)
	case !(c.Growth > 1) || !finite(c.Growth):
		return fmt.Errorf("search: growth must be a factor above 1 (2 doubles the rate), got %g", c.Growth)
	case !(c.Precision > 0 && c.Precision < 1):
		return fmt.Errorf("search: precision must be between 0 and 1 (0.02 for 2%%), got %g", c.Precision)
	case c.Confirmations < 0:
		return fmt.Errorf("search: confirmations must be 0 or more, got %d", c.Confirmations)
	case c.MaxLowerings < 0:
		return fmt.Errorf("search: max lowerings must be 0 or more, got %d", c.MaxLowerings)
	case c.TimeLimit < 0:
		return fmt.Errorf("search: time limit must be 0 (none) or more, got %s", c.TimeLimit)
	case c.StepTime < 0:
		return fmt.Errorf("search: step time must be 0 or more, got %s", c.StepTime)
	}
	return nil
}

// Run searches for the highest rate from c.Min to c.Max at which trial
// passes, as the package doc describes, and returns the search: Settings
// (except StepS, WarmupS and CooldownS, which are the caller's), Steps,
// Outcome, Message, HighestPass (lo), LowestFail (hi), GeneratorBoundAt,
// Schema, StartedAt and ElapsedS. With the outcome not-confirmed,
// HighestPass is the last candidate, which passed once but failed a
// confirmation, and LowestFail the lowest rate above it that failed.
//
// Run returns an error for an invalid c (before any step) and when a trial
// returns one; then the search so far is returned too, with an empty
// Outcome and the error in Message. A cancelled ctx is not an error: the
// search ends with the outcome interrupted, and a step that was running
// is not recorded, since its verdict is not the target's.
func Run(ctx context.Context, c Config, trial Trial) (*results.Search, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c = c.withDefaults()
	s := &searcher{
		c:     c,
		trial: trial,
		start: c.Now(),
		max:   whole(c.Max),
	}
	s.out = &results.Search{
		Schema:    results.SearchSchema,
		StartedAt: s.start,
		Settings: results.SearchSettings{
			Min:           c.Min,
			Max:           c.Max,
			Growth:        c.Growth,
			Precision:     c.Precision,
			Confirmations: c.Confirmations,
			TimeLimitS:    c.TimeLimit.Seconds(),
		},
		Steps: []results.SearchStep{},
	}
	err := ended(s.run(ctx))
	s.out.HighestPass = copyRate(s.lo)
	s.out.LowestFail = copyRate(s.hi)
	s.out.ElapsedS = c.Now().Sub(s.start).Seconds()
	if err != nil {
		s.out.Outcome = ""
		s.out.Message = err.Error()
	}
	return s.out, err
}

// errEnded stops the search's loops once the outcome is set.
var errEnded = errors.New("search ended")

// searcher is one Run's state.
type searcher struct {
	c     Config
	trial Trial
	start time.Time
	max   float64 // c.Max as offered
	out   *results.Search

	lo, hi    *float64  // the bracket: highest pass, lowest fail
	passed    []float64 // every rate that passed, for lowering
	lowerings int
	confirmed int // passes of the current candidate's confirmations
}

func (s *searcher) run(ctx context.Context) error {
	if err := s.grow(ctx); err != nil {
		return err
	}
	if s.lo == nil {
		return s.end(results.SearchFailsAtMin, fmt.Sprintf(
			"the minimum rate, %s, failed the SLOs: the target's limit is below it",
			rate(whole(s.c.Min))))
	}
	for {
		if err := s.bisect(ctx); err != nil {
			return err
		}
		held, err := s.confirm(ctx)
		if err != nil {
			return err
		}
		if held {
			return s.found()
		}
		cand := *s.lo
		below, ok := s.passedBelow(cand)
		switch {
		case s.lowerings >= s.c.MaxLowerings:
			return s.end(results.SearchNotConfirmed, fmt.Sprintf(
				"no rate held its confirmations: %s passed but then failed a confirmation trial, after %s; %s",
				rate(cand), plural(s.lowerings, "lowering", "lowerings"), s.lowestFail()))
		case !ok:
			return s.end(results.SearchNotConfirmed, fmt.Sprintf(
				"no rate held its confirmations: %s passed but then failed a confirmation trial, and no lower rate passed to fall back on; %s",
				rate(cand), s.lowestFail()))
		}
		s.lowerings++
		s.hi = &cand
		s.lo = &below
	}
}

// ended turns errEnded, which means the outcome is set, into nil.
func ended(err error) error {
	if errors.Is(err, errEnded) {
		return nil
	}
	return err
}

func (s *searcher) grow(ctx context.Context) error {
	r := whole(s.c.Min)
	for {
		pass, err := s.step(ctx, results.PhaseGrow, r)
		if err != nil || !pass || r >= s.max {
			return err
		}
		next := whole(r * s.c.Growth)
		if next <= r { // small rates round to themselves; make progress
			next = r + 1
		}
		r = min(next, s.max)
	}
}

func (s *searcher) bisect(ctx context.Context) error {
	for s.hi != nil && *s.hi / *s.lo > 1+s.c.Precision {
		r := math.Round(math.Sqrt(*s.lo * *s.hi))
		if r <= *s.lo || r >= *s.hi {
			return nil
		}
		if _, err := s.step(ctx, results.PhaseBisect, r); err != nil {
			return err
		}
	}
	return nil
}

// confirm repeats the step at lo; it reports whether every trial passed.
func (s *searcher) confirm(ctx context.Context) (bool, error) {
	s.confirmed = 0
	for range s.c.Confirmations {
		pass, err := s.step(ctx, results.PhaseConfirm, *s.lo)
		if err != nil || !pass {
			return false, err
		}
		s.confirmed++
	}
	return true, nil
}

// passedBelow is the highest rate below r that passed.
func (s *searcher) passedBelow(r float64) (float64, bool) {
	best, ok := 0.0, false
	for _, p := range s.passed {
		if p < r && (!ok || p > best) {
			best, ok = p, true
		}
	}
	return best, ok
}

// step runs one trial at r and moves the bracket by its verdict; it
// returns errEnded once an outcome is set (interrupted, time limit,
// generator-bound).
func (s *searcher) step(ctx context.Context, phase string, r float64) (bool, error) {
	n := len(s.out.Steps) + 1
	if ctx.Err() != nil {
		return false, s.interrupted()
	}
	if tl := s.c.TimeLimit; tl > 0 && s.c.Now().Sub(s.start)+s.c.StepTime > tl {
		return false, s.end(results.SearchTimeLimit, fmt.Sprintf(
			"the time limit (%s) ended the search before step %d at %s: %s",
			tl, n, rate(r), s.bracket()))
	}
	in := results.SearchStep{Index: n, Phase: phase, Offered: r}
	if s.c.OnStep != nil {
		s.c.OnStep(in, copyRate(s.lo), copyRate(s.hi))
	}
	got, err := s.trial(ctx, in)
	if ctx.Err() != nil {
		return false, s.interrupted()
	}
	if err != nil {
		return false, fmt.Errorf("search: step %d (%s) at %s: %w", n, phase, rate(r), err)
	}
	got.Index, got.Phase, got.Offered = in.Index, in.Phase, in.Offered
	switch got.Verdict {
	case results.StepPass, results.StepFail, results.StepGeneratorBound:
	default:
		return false, fmt.Errorf("search: step %d (%s) at %s: the trial's verdict %q is none of %q, %q, %q",
			n, phase, rate(r), got.Verdict, results.StepPass, results.StepFail, results.StepGeneratorBound)
	}
	s.out.Steps = append(s.out.Steps, got)
	pass := got.Verdict == results.StepPass
	if pass {
		s.passed = append(s.passed, r)
	}
	if phase != results.PhaseConfirm && got.Verdict != results.StepGeneratorBound {
		if pass {
			s.lo = &r
		} else {
			s.hi = &r
		}
	}
	if s.c.OnStep != nil {
		s.c.OnStep(got, copyRate(s.lo), copyRate(s.hi))
	}
	if got.Verdict == results.StepGeneratorBound {
		s.out.GeneratorBoundAt = copyRate(&r)
		return false, s.end(results.SearchGeneratorBound, fmt.Sprintf(
			"the generator, not the target, limited the search: it could not keep the plan at %s (step %d), so no capacity is claimed at or above that rate; %s",
			rate(r), n, s.bracket()))
	}
	return pass, nil
}

func (s *searcher) interrupted() error {
	return s.end(results.SearchInterrupted, fmt.Sprintf(
		"the search was interrupted after %s: %s",
		plural(len(s.out.Steps), "step", "steps"), s.bracket()))
}

func (s *searcher) found() error {
	how := "not confirmed: no confirmation trials were asked for"
	if s.c.Confirmations > 0 {
		how = "confirmed by " + plural(s.confirmed, "trial", "trials")
	}
	if s.lowerings > 0 {
		how += ", after " + plural(s.lowerings, "lowering", "lowerings")
	}
	if *s.lo >= s.max {
		return s.end(results.SearchPassesAtMax, fmt.Sprintf(
			"the maximum rate, %s, met the SLOs (%s): the target's limit is above it",
			rate(*s.lo), how))
	}
	return s.end(results.SearchFound, fmt.Sprintf(
		"highest rate meeting the SLOs: %s (%s); %s", rate(*s.lo), how, s.lowestFail()))
}

// end sets the outcome and returns errEnded.
func (s *searcher) end(outcome, message string) error {
	s.out.Outcome = outcome
	s.out.Message = message
	return errEnded
}

// bracket says what the search learnt, in words.
func (s *searcher) bracket() string {
	hp := "none passed"
	if s.lo != nil {
		hp = "highest passing: " + rate(*s.lo) + " (not confirmed)"
	}
	return hp + "; " + s.lowestFail()
}

func (s *searcher) lowestFail() string {
	if s.hi == nil {
		return "none failed"
	}
	return "lowest failing: " + rate(*s.hi)
}

// whole rounds a rate to whole requests per second, at least 1.
func whole(r float64) float64 { return max(1, math.Round(r)) }

func copyRate(p *float64) *float64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// rate formats a whole rate with thousands separators: 3,800/s.
func rate(r float64) string {
	digits := strconv.FormatFloat(math.Round(r), 'f', 0, 64)
	sign := ""
	if digits[0] == '-' {
		sign, digits = "-", digits[1:]
	}
	var b []byte
	for i := range len(digits) {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, digits[i])
	}
	return sign + string(b) + "/s"
}
