package search

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/perf-tools/perf/harness"
	"github.com/perf-tools/perf/internal/lindley"
	"github.com/perf-tools/perf/internal/testenv"
	"github.com/perf-tools/perf/results"
)

// These tests search real servers over loopback whose capacity is
// arithmetic (package lindley), not the CPU's, so the answer is known in
// advance on any machine.

// steps returns the trial of a search of srv with the SLOs slos.
func steps(t *testing.T, srv *lindley.Server, slos []string, tweak func(*harness.RunOptions)) *Steps {
	t.Helper()
	url, stop, err := lindley.Listen(srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	targets, err := harness.NewURLTargets(url+"/", nil, harness.RequestOptions{Method: "GET", KeepAlive: true})
	if err != nil {
		t.Fatal(err)
	}
	bounds, err := results.ParseSLOs(slos)
	if err != nil {
		t.Fatal(err)
	}
	o := harness.RunOptions{Options: harness.Options{Targets: targets}, SLOs: bounds, Health: harness.DefaultHealth(), Name: "step"}
	if tweak != nil {
		tweak(&o)
	}
	return &Steps{Run: o, Dir: t.TempDir(), Step: 3 * time.Second, Warmup: 500 * time.Millisecond, Cooldown: 100 * time.Millisecond}
}

func logSteps(t *testing.T, s *results.Search) {
	t.Helper()
	for _, st := range s.Steps {
		t.Logf("step %d %s %.0f/s: %s p99 %.3fms achieved %.1f/s %s %v", st.Index, st.Phase, st.Offered, st.Verdict, st.Latency.P99, st.Achieved, st.EndedEarly, st.Reasons)
	}
	t.Logf("%s: %s (%.1fs)", s.Outcome, s.Message, s.ElapsedS)
}

// TestE2ESearchFixedService: one queue whose every request takes S has a
// capacity of exactly 1/S, and latency without bound above it: the search
// must land within its precision below 1/S.
func TestE2ESearchFixedService(t *testing.T) {
	testenv.SkipUnderRace(t)
	const service = 500 * time.Microsecond // 2,000/s
	capacity := 1 / service.Seconds()
	st := steps(t, lindley.New(lindley.Fixed(service)), []string{"p99<=10ms"}, nil)
	c := NewConfig(700, 20000)
	res, err := Run(context.Background(), c, st.Trial)
	if err != nil {
		t.Fatal(err)
	}
	logSteps(t, res)
	if res.Outcome != results.SearchFound || res.HighestPass == nil || res.LowestFail == nil {
		t.Fatalf("outcome %s (%s), want found", res.Outcome, res.Message)
	}
	// Above 1/S the queue grows by (rate*S - 1) seconds a second, so over
	// a step (warm-up included) an overload is seen only once it adds the
	// bound: a step of T cannot tell capacity from up to bound/T above it
	// (10ms over 3.5s: 0.29%). Below, the search must stop within its
	// precision.
	resolution := (10 * time.Millisecond).Seconds() / (st.Warmup + st.Step).Seconds()
	if hp := *res.HighestPass; hp < math.Floor(capacity*(1-c.Precision)) || hp > capacity*(1+resolution) {
		t.Errorf("highest pass %.0f/s, want within the precision below the capacity %.0f/s (or %.2f%% above, what a step can tell)", hp, capacity, 100*resolution)
	}
}

// TestE2ESearchExponentialService: with exponential service times at mu per
// second and perf's evenly spaced arrivals, the queue is D/M/1: sojourn
// times are exponential with rate mu(1-sigma), sigma solving
// sigma = exp(-mu(1-sigma)/lambda). The highest lambda whose p99,
// ln(100)/(mu(1-sigma)), meets the bound is known in closed form up to
// sigma; the search must land within 3% of it.
func TestE2ESearchExponentialService(t *testing.T) {
	testenv.SkipUnderRace(t)
	const (
		mu    = 4000.0
		bound = 25 * time.Millisecond
	)
	want := dm1Capacity(mu, bound)
	t.Logf("D/M/1 answer %.0f/s (M/M/1 would be %.0f/s)", want, mu-math.Log(100)/bound.Seconds())
	st := steps(t, lindley.New(lindley.Exponential(time.Duration(float64(time.Second)/mu), 1)), []string{"p99<=25ms"}, nil)
	res, err := Run(context.Background(), NewConfig(1500, 40000), st.Trial)
	if err != nil {
		t.Fatal(err)
	}
	logSteps(t, res)
	if res.Outcome != results.SearchFound || res.HighestPass == nil {
		t.Fatalf("outcome %s (%s), want found", res.Outcome, res.Message)
	}
	if hp := *res.HighestPass; math.Abs(hp-want) > 0.03*want {
		t.Errorf("highest pass %.0f/s, want within 3%% of %.0f/s", hp, want)
	}
}

// dm1Capacity is the highest arrival rate of a D/M/1 queue at service
// rate mu whose p99 sojourn time is at most bound: the sojourn rate
// mu(1-sigma) must be ln(100)/bound, and lambda = -mu(1-sigma)/ln(sigma).
func dm1Capacity(mu float64, bound time.Duration) float64 {
	rate := math.Log(100) / bound.Seconds()
	sigma := 1 - rate/mu
	return -rate / math.Log(sigma)
}

// TestSearchGeneratorBound caps the generator at two connections against
// a server that answers any number in parallel in 20ms: about 100/s is the
// generator's limit, not the target's, and the search must say so.
func TestSearchGeneratorBound(t *testing.T) {
	st := steps(t, lindley.Parallel(20*time.Millisecond), []string{"p99<=200ms"}, func(o *harness.RunOptions) {
		o.Workers, o.MaxWorkers = 2, 2
		// Not the send lag of a loaded machine: the pool's ceiling.
		o.Health.MaxLag = time.Second
	})
	st.Step = 2 * time.Second
	res, err := Run(context.Background(), NewConfig(40, 5000), st.Trial)
	if err != nil {
		t.Fatal(err)
	}
	logSteps(t, res)
	if res.Outcome != results.SearchGeneratorBound || res.GeneratorBoundAt == nil {
		t.Fatalf("outcome %s (%s), want generator-bound", res.Outcome, res.Message)
	}
	if at := *res.GeneratorBoundAt; at < 80 || at > 400 {
		t.Errorf("generator-bound at %.0f/s, want near the 100/s two connections can carry", at)
	}
}
