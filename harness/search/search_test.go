package search

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/perf-tools/perf/results"
)

// clock is a fake clock that each fake step moves on by step.
type clock struct {
	t    time.Time
	step time.Duration
}

func newClock(step time.Duration) *clock {
	return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), step: step}
}

func (c *clock) now() time.Time { return c.t }

// target is a fake trial: verdict decides each step, and every call is
// recorded.
type target struct {
	clock   *clock
	verdict func(s results.SearchStep) string
	calls   []results.SearchStep
}

func (t *target) trial(_ context.Context, s results.SearchStep) (results.SearchStep, error) {
	t.calls = append(t.calls, s)
	if t.clock != nil {
		t.clock.t = t.clock.t.Add(t.clock.step)
	}
	s.Verdict = t.verdict(s)
	s.Achieved = s.Offered
	s.Dir = "step"
	return s, nil
}

// threshold passes every rate up to limit and fails above it.
func threshold(limit float64) func(results.SearchStep) string {
	return func(s results.SearchStep) string {
		if s.Offered <= limit {
			return results.StepPass
		}
		return results.StepFail
	}
}

func config(min, max float64) Config {
	c := NewConfig(min, max)
	c.Now = newClock(time.Minute).now
	return c
}

// run runs a search against a threshold target.
func run(t *testing.T, c Config, verdict func(results.SearchStep) string) (*results.Search, *target) {
	t.Helper()
	tg := &target{verdict: verdict}
	s, err := Run(context.Background(), c, tg.trial)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(s.Steps) != len(tg.calls) {
		t.Fatalf("%d steps recorded, %d trials run", len(s.Steps), len(tg.calls))
	}
	for i, st := range s.Steps {
		if st.Index != i+1 {
			t.Errorf("step %d has index %d", i+1, st.Index)
		}
		if st.Dir != "step" || st.Achieved != st.Offered {
			t.Errorf("step %d: the trial's fields were not kept: %+v", i+1, st)
		}
	}
	return s, tg
}

// traced is one step as a test compares it; trace lists a search's steps.
type traced struct {
	phase   string
	offered float64
	verdict string
}

func trace(s *results.Search) []traced {
	var out []traced
	for _, st := range s.Steps {
		out = append(out, traced{st.Phase, st.Offered, st.Verdict})
	}
	return out
}

func offered(s *results.Search, phase string) []float64 {
	var out []float64
	for _, st := range s.Steps {
		if st.Phase == phase {
			out = append(out, st.Offered)
		}
	}
	return out
}

func val(p *float64) string {
	if p == nil {
		return "nil"
	}
	return rate(*p)
}

func TestThreshold(t *testing.T) {
	const min, max = 10, 1e6
	for _, limit := range []float64{10, 11, 37, 100, 999, 1000, 3800, 65536, 123457, 999999} {
		c := config(min, max)
		s, _ := run(t, c, threshold(limit))
		if s.Outcome != results.SearchFound {
			t.Fatalf("T=%g: outcome %q (%s)", limit, s.Outcome, s.Message)
		}
		lo, hi := *s.HighestPass, *s.LowestFail
		if !(lo <= limit && limit < hi) {
			t.Errorf("T=%g: bracket [%g, %g] does not hold it", limit, lo, hi)
		}
		// Whole rates cannot be closer than adjacent numbers.
		if hi/lo > 1+c.Precision && hi-lo != 1 {
			t.Errorf("T=%g: bracket [%g, %g] wider than %g", limit, lo, hi, c.Precision)
		}
		// Growth doubles from min until the first rate above T fails.
		grow := int(math.Floor(math.Log2(limit/min))) + 2
		if got := len(offered(s, results.PhaseGrow)); got != grow {
			t.Errorf("T=%g: %d growth steps, want %d", limit, got, grow)
		}
		// Halving ln(2) in log space down to ln(1.02) takes
		// ceil(log2(ln 2/ln 1.02)) = 6 steps; rounding to whole rates may
		// save one or, near the end, cost one.
		if got := len(offered(s, results.PhaseBisect)); limit > 100 && (got < 5 || got > 7) {
			t.Errorf("T=%g: %d bisection steps, want 5 to 7", limit, got)
		}
		if got := offered(s, results.PhaseConfirm); len(got) != 2 || got[0] != lo || got[1] != lo {
			t.Errorf("T=%g: confirmations at %v, want twice at %g", limit, got, lo)
		}
		if !strings.Contains(s.Message, "highest rate meeting the SLOs: "+rate(lo)+" (confirmed by 2 trials); lowest failing: "+rate(hi)) {
			t.Errorf("T=%g: message %q", limit, s.Message)
		}
	}
}

// TestThresholdSteps checks one search step by step; the rates were
// worked out by hand (and with a calculator for the square roots).
func TestThresholdSteps(t *testing.T) {
	s, _ := run(t, config(100, 1e6), threshold(3800))
	P, F := results.StepPass, results.StepFail
	g, b, c := results.PhaseGrow, results.PhaseBisect, results.PhaseConfirm
	want := []traced{
		{g, 100, P}, {g, 200, P}, {g, 400, P}, {g, 800, P}, {g, 1600, P}, {g, 3200, P}, {g, 6400, F},
		{b, 4525, F}, {b, 3805, F}, {b, 3489, P}, {b, 3644, P}, {b, 3724, P}, {b, 3764, P},
		{c, 3764, P}, {c, 3764, P},
	}
	if got := trace(s); !reflect.DeepEqual(got, want) {
		t.Errorf("steps\n got %v\nwant %v", got, want)
	}
	if *s.HighestPass != 3764 || *s.LowestFail != 3805 {
		t.Errorf("bracket %s, %s", val(s.HighestPass), val(s.LowestFail))
	}
	want2 := "highest rate meeting the SLOs: 3,764/s (confirmed by 2 trials); lowest failing: 3,805/s"
	if s.Message != want2 {
		t.Errorf("message %q, want %q", s.Message, want2)
	}
	if s.ElapsedS != 0 { // the fake clock only moves in fake trials that move it
		t.Errorf("elapsed %g", s.ElapsedS)
	}
	set := results.SearchSettings{Min: 100, Max: 1e6, Growth: 2, Precision: 0.02, Confirmations: 2}
	if s.Settings != set {
		t.Errorf("settings %+v, want %+v", s.Settings, set)
	}
}

// TestBisectLogSpace checks the midpoints: geometric means, rounded, not
// arithmetic ones (which would start at 8,500).
func TestBisectLogSpace(t *testing.T) {
	c := config(1000, 1e6)
	c.Growth = 16
	c.Confirmations = 0
	s, _ := run(t, c, threshold(1000)) // every midpoint fails
	want := []float64{4000, 2000, 1414, 1189, 1090, 1044, 1022, 1011}
	if got := offered(s, results.PhaseBisect); !reflect.DeepEqual(got, want) {
		t.Errorf("failing midpoints %v, want %v", got, want)
	}
	if !strings.Contains(s.Message, "not confirmed: no confirmation trials") {
		t.Errorf("message %q", s.Message)
	}
	s, _ = run(t, c, threshold(15999)) // every midpoint passes
	want = []float64{4000, 8000, 11314, 13455, 14672, 15322, 15657, 15828}
	if got := offered(s, results.PhaseBisect); !reflect.DeepEqual(got, want) {
		t.Errorf("passing midpoints %v, want %v", got, want)
	}
}

func TestGrowSmallRates(t *testing.T) {
	// Growth 1.1 from 1 rounds to 1; the search must still move on.
	c := config(1, 5)
	c.Growth = 1.1
	s, _ := run(t, c, threshold(3))
	if got, want := offered(s, results.PhaseGrow), []float64{1, 2, 3, 4}; !reflect.DeepEqual(got, want) {
		t.Errorf("growth %v, want %v", got, want)
	}
	if s.Outcome != results.SearchFound || *s.HighestPass != 3 || *s.LowestFail != 4 {
		t.Errorf("%s: %s", s.Outcome, s.Message)
	}
}

func TestFailsAtMin(t *testing.T) {
	s, _ := run(t, config(100, 1000), threshold(99))
	if s.Outcome != results.SearchFailsAtMin {
		t.Fatalf("outcome %q", s.Outcome)
	}
	if len(s.Steps) != 1 || s.HighestPass != nil || *s.LowestFail != 100 {
		t.Errorf("%d steps, bracket %s, %s", len(s.Steps), val(s.HighestPass), val(s.LowestFail))
	}
	if !strings.Contains(s.Message, "100/s") {
		t.Errorf("message %q", s.Message)
	}
}

func TestPassesAtMax(t *testing.T) {
	s, _ := run(t, config(100, 1000), threshold(1e9))
	if s.Outcome != results.SearchPassesAtMax {
		t.Fatalf("outcome %q (%s)", s.Outcome, s.Message)
	}
	P := results.StepPass
	want := []traced{
		{results.PhaseGrow, 100, P}, {results.PhaseGrow, 200, P}, {results.PhaseGrow, 400, P},
		{results.PhaseGrow, 800, P}, {results.PhaseGrow, 1000, P},
		{results.PhaseConfirm, 1000, P}, {results.PhaseConfirm, 1000, P},
	}
	if got := trace(s); !reflect.DeepEqual(got, want) {
		t.Errorf("steps\n got %v\nwant %v", got, want)
	}
	if *s.HighestPass != 1000 || s.LowestFail != nil {
		t.Errorf("bracket %s, %s", val(s.HighestPass), val(s.LowestFail))
	}
	if !strings.Contains(s.Message, "1,000/s") || !strings.Contains(s.Message, "confirmed by 2 trials") {
		t.Errorf("message %q", s.Message)
	}
}

func TestGeneratorBound(t *testing.T) {
	s, tg := run(t, config(100, 1e6), func(s results.SearchStep) string {
		if s.Index == 3 {
			return results.StepGeneratorBound
		}
		return results.StepPass
	})
	if s.Outcome != results.SearchGeneratorBound {
		t.Fatalf("outcome %q", s.Outcome)
	}
	if len(tg.calls) != 3 {
		t.Errorf("%d trials after a generator-bound step, want it to end the search at 3", len(tg.calls))
	}
	if s.GeneratorBoundAt == nil || *s.GeneratorBoundAt != 400 {
		t.Errorf("generator bound at %s, want 400/s", val(s.GeneratorBoundAt))
	}
	if s.HighestPass == nil || *s.HighestPass != 200 || s.LowestFail != nil {
		t.Errorf("bracket %s, %s; want 200/s and none", val(s.HighestPass), val(s.LowestFail))
	}
	for _, w := range []string{"generator", "not the target", "400/s", "200/s"} {
		if !strings.Contains(s.Message, w) {
			t.Errorf("message %q does not say %q", s.Message, w)
		}
	}
}

// TestGeneratorBoundInBisect: a generator-bound midpoint must not move the
// bracket nor leave a capacity claim at or above it.
func TestGeneratorBoundInBisect(t *testing.T) {
	s, _ := run(t, config(100, 1e6), func(s results.SearchStep) string {
		if s.Phase == results.PhaseBisect && s.Offered > 3000 {
			return results.StepGeneratorBound
		}
		return threshold(3800)(s)
	})
	// grow to 6,400 (fails), then the first midpoint 4,525 is bound.
	if s.Outcome != results.SearchGeneratorBound || *s.GeneratorBoundAt != 4525 {
		t.Fatalf("%s at %s: %s", s.Outcome, val(s.GeneratorBoundAt), s.Message)
	}
	if *s.HighestPass != 3200 || *s.LowestFail != 6400 {
		t.Errorf("bracket %s, %s", val(s.HighestPass), val(s.LowestFail))
	}
}

// TestFlakyConfirmation: the maximum passes once but fails its
// confirmation; the answer is lowered to the rate below that passed, the
// new bracket bisected, and the new answer holds.
func TestFlakyConfirmation(t *testing.T) {
	c := config(100, 800)
	c.Precision = 0.1
	s, _ := run(t, c, func(s results.SearchStep) string {
		if s.Phase == results.PhaseConfirm && s.Offered == 800 {
			return results.StepFail
		}
		return results.StepPass
	})
	P, F := results.StepPass, results.StepFail
	g, b, cf := results.PhaseGrow, results.PhaseBisect, results.PhaseConfirm
	want := []traced{
		{g, 100, P}, {g, 200, P}, {g, 400, P}, {g, 800, P},
		{cf, 800, F},                          // lowered: hi = 800, lo = 400
		{b, 566, P}, {b, 673, P}, {b, 734, P}, // 800/734 < 1.1
		{cf, 734, P}, {cf, 734, P},
	}
	if got := trace(s); !reflect.DeepEqual(got, want) {
		t.Errorf("steps\n got %v\nwant %v", got, want)
	}
	if s.Outcome != results.SearchFound || *s.HighestPass != 734 || *s.LowestFail != 800 {
		t.Errorf("%s, bracket %s, %s: %s", s.Outcome, val(s.HighestPass), val(s.LowestFail), s.Message)
	}
	if !strings.Contains(s.Message, "after 1 lowering") {
		t.Errorf("message %q", s.Message)
	}
}

// TestNotConfirmed: every confirmation fails; the answer is lowered
// MaxLowerings times, each time to the highest rate below that passed,
// and then the search gives up.
func TestNotConfirmed(t *testing.T) {
	c := config(100, 1e6)
	s, _ := run(t, c, func(s results.SearchStep) string {
		if s.Phase == results.PhaseConfirm {
			return results.StepFail
		}
		return threshold(3800)(s)
	})
	if s.Outcome != results.SearchNotConfirmed {
		t.Fatalf("outcome %q (%s)", s.Outcome, s.Message)
	}
	// Candidates: 3,764 (the bisection's answer), then the passes below it
	// in turn: 3,724, 3,644, 3,489; each bracket is narrower than 2%, or
	// bisected when not (3,644 to 3,724 is 2.2%: 3,684 passes).
	var got []float64
	for _, st := range s.Steps {
		if st.Phase == results.PhaseConfirm {
			got = append(got, st.Offered)
		}
	}
	want := []float64{3764, 3724, 3684, 3644}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("confirmations at %v, want %v", got, want)
	}
	if *s.HighestPass != 3644 || *s.LowestFail != 3684 {
		t.Errorf("bracket %s, %s; want the last candidate 3,644/s and 3,684/s", val(s.HighestPass), val(s.LowestFail))
	}
	if !strings.Contains(s.Message, "3,644/s") || !strings.Contains(s.Message, "after 3 lowerings") {
		t.Errorf("message %q", s.Message)
	}
}

func TestNotConfirmedNothingBelow(t *testing.T) {
	c := config(100, 1e6)
	c.MaxLowerings = 5
	s, _ := run(t, c, func(s results.SearchStep) string {
		if s.Phase == results.PhaseConfirm || s.Offered > 100 {
			return results.StepFail
		}
		return results.StepPass
	})
	// 100 passes, 200 fails, sqrt(100*200) = 141 fails, 119, 109, 104,
	// 102 fail; 102/100 is within 2%; 100 fails its confirmation and
	// nothing passed below it.
	if s.Outcome != results.SearchNotConfirmed || *s.HighestPass != 100 || *s.LowestFail != 102 {
		t.Fatalf("%s, bracket %s, %s: %s", s.Outcome, val(s.HighestPass), val(s.LowestFail), s.Message)
	}
	if got := offered(s, results.PhaseConfirm); len(got) != 1 {
		t.Errorf("confirmations %v, want one", got)
	}
	if !strings.Contains(s.Message, "no lower rate passed") {
		t.Errorf("message %q", s.Message)
	}
}

func TestNoLowerings(t *testing.T) {
	c := config(100, 1000)
	c.MaxLowerings = 0
	s, _ := run(t, c, func(s results.SearchStep) string {
		if s.Phase == results.PhaseConfirm && s.Index == 6 {
			return results.StepFail
		}
		return results.StepPass
	})
	// 100..1000 pass (5 steps); the first confirmation, step 6, fails.
	if s.Outcome != results.SearchNotConfirmed || len(s.Steps) != 6 || *s.HighestPass != 1000 {
		t.Errorf("%s after %d steps, highest %s: %s", s.Outcome, len(s.Steps), val(s.HighestPass), s.Message)
	}
}

func TestTimeLimit(t *testing.T) {
	clk := newClock(time.Minute)
	c := config(100, 1e6)
	c.Now = clk.now
	c.TimeLimit = 5 * time.Minute
	c.StepTime = time.Minute
	tg := &target{clock: clk, verdict: threshold(300)}
	s, err := Run(context.Background(), c, tg.trial)
	if err != nil {
		t.Fatal(err)
	}
	// Steps start at 0, 1, 2, 3 and 4 minutes; a sixth would end at 6.
	if s.Outcome != results.SearchTimeLimit || len(s.Steps) != 5 {
		t.Fatalf("%s after %d steps: %s", s.Outcome, len(s.Steps), s.Message)
	}
	// 100, 200 pass, 400 fails, 283 passes, 336 fails.
	if *s.HighestPass != 283 || *s.LowestFail != 336 {
		t.Errorf("bracket %s, %s", val(s.HighestPass), val(s.LowestFail))
	}
	if s.ElapsedS != 300 || s.Settings.TimeLimitS != 300 {
		t.Errorf("elapsed %gs, limit %gs", s.ElapsedS, s.Settings.TimeLimitS)
	}
	if !strings.Contains(s.Message, "time limit (5m0s)") || !strings.Contains(s.Message, "283/s") {
		t.Errorf("message %q", s.Message)
	}
}

func TestInterrupted(t *testing.T) {
	for _, returnErr := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		n := 0
		trial := func(ctx context.Context, s results.SearchStep) (results.SearchStep, error) {
			n++
			if n == 3 {
				cancel() // a signal during the third step
				if returnErr {
					return s, ctx.Err()
				}
				s.Verdict = results.StepFail // cut short: not the target's verdict
				return s, nil
			}
			s.Verdict = results.StepPass
			return s, nil
		}
		s, err := Run(ctx, config(100, 1e6), trial)
		if err != nil {
			t.Fatalf("returnErr=%v: %v", returnErr, err)
		}
		if s.Outcome != results.SearchInterrupted || n != 3 || len(s.Steps) != 2 {
			t.Errorf("returnErr=%v: %s after %d trials, %d steps", returnErr, s.Outcome, n, len(s.Steps))
		}
		if *s.HighestPass != 200 || s.LowestFail != nil {
			t.Errorf("returnErr=%v: bracket %s, %s", returnErr, val(s.HighestPass), val(s.LowestFail))
		}
		if !strings.Contains(s.Message, "interrupted after 2 steps") {
			t.Errorf("message %q", s.Message)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s, err := Run(ctx, config(100, 1e6), func(context.Context, results.SearchStep) (results.SearchStep, error) {
		t.Fatal("a trial ran after the context was cancelled")
		return results.SearchStep{}, nil
	})
	if err != nil || s.Outcome != results.SearchInterrupted || len(s.Steps) != 0 {
		t.Errorf("cancelled before the start: %v, %+v", err, s)
	}
}

func TestTrialError(t *testing.T) {
	boom := errors.New("boom")
	n := 0
	s, err := Run(context.Background(), config(100, 1e6), func(_ context.Context, s results.SearchStep) (results.SearchStep, error) {
		n++
		if n == 2 {
			return s, boom
		}
		s.Verdict = results.StepPass
		return s, nil
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "step 2") {
		t.Fatalf("error %v", err)
	}
	if s == nil || len(s.Steps) != 1 || *s.HighestPass != 100 || s.Outcome != "" {
		t.Errorf("the search so far: %+v", s)
	}

	_, err = Run(context.Background(), config(100, 1e6), func(_ context.Context, s results.SearchStep) (results.SearchStep, error) {
		s.Verdict = "ok"
		return s, nil
	})
	if err == nil || !strings.Contains(err.Error(), `"ok"`) {
		t.Errorf("an unknown verdict: %v", err)
	}
}

// TestTrialCannotMoveTheStep: the search's Index, Phase and Offered win
// over a trial that changes them.
func TestTrialCannotMoveTheStep(t *testing.T) {
	s, err := Run(context.Background(), config(100, 100), func(_ context.Context, s results.SearchStep) (results.SearchStep, error) {
		s.Offered, s.Index, s.Phase = 1, 99, "x"
		s.Verdict = results.StepPass
		return s, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st := s.Steps[0]; st.Offered != 100 || st.Index != 1 || st.Phase != results.PhaseGrow {
		t.Errorf("step %+v", st)
	}
}

func TestOnStep(t *testing.T) {
	type call struct {
		index   int
		verdict string
		lo, hi  string
	}
	var calls []call
	c := config(100, 300)
	c.Confirmations = 1
	c.OnStep = func(s results.SearchStep, lo, hi *float64) {
		calls = append(calls, call{s.Index, s.Verdict, val(lo), val(hi)})
		if lo != nil {
			*lo = -1 // must not reach the search
		}
	}
	run(t, c, threshold(260))
	P, F := results.StepPass, results.StepFail
	want := []call{
		{1, "", "nil", "nil"}, {1, P, "100/s", "nil"},
		{2, "", "100/s", "nil"}, {2, P, "200/s", "nil"},
		{3, "", "200/s", "nil"}, {3, F, "200/s", "300/s"}, // min(400, max)
		{4, "", "200/s", "300/s"}, {4, P, "245/s", "300/s"}, // sqrt(200*300) = 244.9
		{5, "", "245/s", "300/s"}, {5, F, "245/s", "271/s"},
		{6, "", "245/s", "271/s"}, {6, P, "258/s", "271/s"},
		{7, "", "258/s", "271/s"}, {7, F, "258/s", "264/s"}, // 271/258 > 1.02
		{8, "", "258/s", "264/s"}, {8, F, "258/s", "261/s"}, // 264/258 > 1.02
		{9, "", "258/s", "261/s"}, {9, P, "258/s", "261/s"}, // the confirmation
	}
	if len(calls) != len(want) {
		t.Fatalf("%d calls, want %d:\n%v", len(calls), len(want), calls)
	}
	for i := range want {
		if calls[i] != want[i] {
			t.Errorf("call %d: %v, want %v", i, calls[i], want[i])
		}
	}
}

func TestValidate(t *testing.T) {
	ok := NewConfig(100, 1000)
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if err := (Config{Min: 1, Max: 1}).Validate(); err != nil {
		t.Errorf("zero growth and precision mean the defaults: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"min 0", func(c *Config) { c.Min = 0 }, "min must be a rate above 0"},
		{"min NaN", func(c *Config) { c.Min = math.NaN() }, "min must be a rate above 0"},
		{"max inf", func(c *Config) { c.Max = math.Inf(1) }, "max must be a finite rate"},
		{"max < min", func(c *Config) { c.Max = 99 }, "max (99 req/s) must be at least min (100 req/s)"},
		{"growth 1", func(c *Config) { c.Growth = 1 }, "growth must be a factor above 1"},
		{"growth negative", func(c *Config) { c.Growth = -2 }, "growth must be a factor above 1"},
		{"precision 1", func(c *Config) { c.Precision = 1 }, "precision must be between 0 and 1"},
		{"precision negative", func(c *Config) { c.Precision = -0.1 }, "precision must be between 0 and 1"},
		{"confirmations", func(c *Config) { c.Confirmations = -1 }, "confirmations must be 0 or more"},
		{"lowerings", func(c *Config) { c.MaxLowerings = -1 }, "max lowerings must be 0 or more"},
		{"time limit", func(c *Config) { c.TimeLimit = -time.Second }, "time limit must be 0"},
		{"step time", func(c *Config) { c.StepTime = -time.Second }, "step time must be 0 or more"},
	} {
		c := ok
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
		_, runErr := Run(context.Background(), c, func(context.Context, results.SearchStep) (results.SearchStep, error) {
			t.Fatalf("%s: a trial ran with an invalid config", tc.name)
			return results.SearchStep{}, nil
		})
		if runErr == nil {
			t.Errorf("%s: Run accepted it", tc.name)
		}
	}
}

func TestRate(t *testing.T) {
	for in, want := range map[float64]string{
		1: "1/s", 999: "999/s", 1000: "1,000/s", 3800: "3,800/s", 123456: "123,456/s",
		1234567: "1,234,567/s", 999.6: "1,000/s",
	} {
		if got := rate(in); got != want {
			t.Errorf("rate(%g) = %q, want %q", in, got, want)
		}
	}
}
