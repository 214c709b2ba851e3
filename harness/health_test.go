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
		sent := int64(achieved * 10)
		o := &Outcome{Planned: 1000, Tally: results.NewTally(), Workers: 256, MaxWorkers: 256,
			CPU:     results.CPUStats{MeanPercent: cpu, MaxPercent: cpu, Samples: 3, Cores: 1},
			HostCPU: results.CPUStats{MeanPercent: cpu + 5, MaxPercent: cpu + 5, Samples: 3, Cores: 1}}
		o.Requests, o.Unsent, o.Window = sent, max(10000-sent, 0), 10*time.Second
		for range 100 {
			results.Record(o.Lag, lag)
		}
		return o
	}
	late := 20 * time.Millisecond
	unsent := outcome(1000, 100*time.Microsecond, 40)
	unsent.Unsent = 7
	pool := outcome(1000, late, 40)
	pool.AllBusy, pool.Exhausted = 2*time.Second, 2*time.Second
	busy := outcome(1000, late, 40)
	busy.AllBusy = time.Second
	near := outcome(1000, late, 91)
	near.HostCPU.MeanPercent = 92
	host := outcome(1000, late, 18)
	host.HostCPU.MeanPercent = 97
	h := DefaultHealth()
	for _, tc := range []struct {
		name string
		o    *Outcome
		want []string
	}{
		{"kept up", outcome(1000, 100*time.Microsecond, 40), nil},
		{"rate", outcome(900, 100*time.Microsecond, 40), []string{"achieved rate 900.0/s is below 98%"}},
		{"unsent", unsent, []string{"7 of the window's 10007 planned requests were never sent"}},
		{"lag with CPU to spare", outcome(1000, late, 40), []string{"send lag p99 20ms is above the 5ms bound: the generator did not send on time although it had CPU to spare (generator CPU 40% of 1 core(s), all processes on its cores 45%) and free workers"}},
		{"cpu", outcome(1000, 100*time.Microsecond, 97), []string{"generator CPU 97% of 1 core(s)"}},
		{"lag from cpu", outcome(1000, late, 97), []string{"send lag p99 20ms is above the 5ms bound: the generator had no CPU to spare", "generator CPU 97% of 1 core(s)"}},
		{"lag from a full pool", pool, []string{"every one of the 256 workers, the most allowed, was busy waiting on the target for 2s of the window", "raise --max-workers"}},
		{"lag from a target at its capacity", busy, []string{"every one of the 256 workers was busy waiting on the target for 1s of the window: the target paused or answered at its capacity"}},
		{"lag near saturation", near, []string{"the generator was near saturation (generator CPU 91% of 1 core(s), all processes on its cores 92%"}},
		{"lag from its own cores", outcome(1000, late, 91), []string{"the generator had no CPU to spare: its cores were 96% busy, 91% of it the generator's own"}},
		{"lag from the host", host, []string{"the host's CPU was saturated by other processes: the cores the generator may use were 97% busy while the generator used 18%"}},
	} {
		reasons := h.Check(tc.o)
		if len(tc.want) == 0 {
			if len(reasons) != 0 {
				t.Errorf("%s: reasons %v, want none", tc.name, reasons)
			}
			continue
		}
		all := strings.Join(reasons, "\n")
		for _, w := range tc.want {
			if !strings.Contains(all, w) {
				t.Errorf("%s: reasons %q, want one containing %q", tc.name, reasons, w)
			}
		}
	}
}

// TestGeneratorBound puts each kind of run on the generator or the target.
func TestGeneratorBound(t *testing.T) {
	outcome := func(lag time.Duration, cpu float64, tweak func(*Outcome)) *Outcome {
		o := &Outcome{Planned: 1000, Tally: results.NewTally(), Workers: 64, MaxWorkers: 64,
			CPU:     results.CPUStats{MeanPercent: cpu, Samples: 3, Cores: 1},
			HostCPU: results.CPUStats{MeanPercent: cpu, Samples: 3, Cores: 1}}
		o.Requests, o.Window = 10000, 10*time.Second
		for range 100 {
			results.Record(o.Lag, lag)
		}
		if tweak != nil {
			tweak(o)
		}
		return o
	}
	late := 20 * time.Millisecond
	gaveUp := func(byService bool) func(*Outcome) {
		return func(o *Outcome) {
			o.GaveUp, o.ByService, o.Window = "p99 over", byService, 200*time.Millisecond
			o.GaveUpOn = Limit{Over: 10 * time.Millisecond, Allowed: 100, Expr: "p99<=10ms"}
			o.Started = time.Unix(1000, 0)
			o.MeasureStart = o.Started.Add(time.Second)
			o.Unsent = 9000
			// A window this short has no CPU sample.
			o.CPU.Samples, o.HostCPU.Samples = 0, 0
		}
	}
	then := func(fs ...func(*Outcome)) func(*Outcome) {
		return func(o *Outcome) {
			for _, f := range fs {
				f(o)
			}
		}
	}
	h := DefaultHealth()
	for _, tc := range []struct {
		name string
		o    *Outcome
		gen  bool
	}{
		{"kept up", outcome(time.Millisecond, 30, nil), false},
		{"saturated", outcome(late, 99, nil), true},
		{"pool at its ceiling", outcome(late, 30, func(o *Outcome) { o.AllBusy, o.Exhausted = time.Second, time.Second }), true},
		{"target at capacity", outcome(late, 30, func(o *Outcome) { o.AllBusy = time.Second }), false},
		{"late with CPU to spare", outcome(late, 30, nil), true},
		// Giving up, the hits not sent are not the generator's; the
		// target's own service times failing the SLO are the target's,
		// whatever lag the generator added; lag that made the difference
		// is the generator's.
		{"gave up on the target's service times", outcome(late, 30, gaveUp(true)), false},
		{"gave up, on time", outcome(time.Millisecond, 30, gaveUp(false)), false},
		{"gave up because of the generator's lag", outcome(late, 30, gaveUp(false)), true},
		// Its window too short to judge the pool by, the warm-up counts.
		{"gave up, every worker busy in the warm-up", outcome(late, 30, then(gaveUp(false), func(o *Outcome) { o.WarmupAllBusy = 300 * time.Millisecond })), false},
		{"gave up, the pool at its ceiling in the warm-up", outcome(late, 30, then(gaveUp(true), func(o *Outcome) {
			o.WarmupAllBusy, o.WarmupExhausted = 300*time.Millisecond, 300*time.Millisecond
		})), true},
	} {
		gen, why := h.GeneratorBound(tc.o)
		if gen != tc.gen {
			t.Errorf("%s: generator-bound %v (%s), want %v", tc.name, gen, why, tc.gen)
		}
		if gen && why == "" {
			t.Errorf("%s: no reason given", tc.name)
		}
	}
}
