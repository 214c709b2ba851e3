package statsd

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/perf-tools/perf/internal/statsd/statsdtest"
)

// Against Etsy's own daemon: the counters it aggregates equal what was
// added, exactly; every line parses; its timer count, which scales each
// sample by 1/rate, is within the sampling's spread of the observations.
//
// The bound: of n observations each kept with probability p, the number
// kept K is binomial, mean np, variance np(1-p). Bernstein's inequality
// gives P(|K - np| >= t) <= 2 exp(-t^2 / (2(np(1-p) + t/3))). With n =
// 20,000 and p = 0.1 (np = 2,000, variance 1,800), t = 350 makes that
// below 3e-14; the daemon's count K/p must then be within 20,000 +- 3,500.
func TestDaemonAggregates(t *testing.T) {
	d := statsdtest.Start(t)
	setDatadogEnv(t)
	// The client's flusher is left idle and the test flushes in rounds,
	// each of a few dozen datagrams, that the daemon's socket buffer holds
	// even while node is slow: a datagram lost would fail the test.
	o := quiet(d.Addr)
	o.SampleRate = 0.1
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	requests := c.Counter("requests")
	codes := map[string]*Counter{"200": c.Counter(Name("responses", "200")), "503": c.Counter(Name("responses", "503"))}
	variant := c.Counter(Name("variant", "compact v1.2"))
	latency := c.Timer("latency")
	c.Gauge("in_flight", func() float64 { return 42 })
	c.Gauge("drift", func() float64 { return -1.5 })

	const rounds, workers, each = 4, 4, 1250
	for range rounds {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					requests.Add(1)
					if i%10 == 0 {
						codes["503"].Add(1)
					} else {
						codes["200"].Add(1)
					}
					if w == 0 {
						variant.Add(2)
					}
					latency.Observe(time.Duration(1000+i) * time.Microsecond)
				}
			}()
		}
		wg.Wait()
		c.flush()
		d.Wait(t, c.Stats().Lines)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	s := c.Stats()
	if s.Dropped != 0 || s.SendErrors != 0 {
		t.Fatalf("client stats %+v: want nothing dropped or failed", s)
	}
	a := d.Wait(t, s.Lines)
	if a.BadLines != 0 || a.Lines != float64(s.Lines) {
		t.Errorf("the daemon read %v lines, %v of them bad; the client sent %d", a.Lines, a.BadLines, s.Lines)
	}
	n := float64(rounds * workers * each)
	for name, want := range map[string]float64{
		"perf.test.requests":             n,
		"perf.test.responses.200":        n * 9 / 10,
		"perf.test.responses.503":        n / 10,
		"perf.test.variant.compact_v1_2": 2 * rounds * each,
	} {
		if got := a.Counters[name]; got != want {
			t.Errorf("counter %s: the daemon has %v, want %v", name, got, want)
		}
	}
	if len(a.Counters) != 4 {
		t.Errorf("the daemon has counters %v; want only the 4 sent", a.Counters)
	}
	count, kept := a.TimerCounts["perf.test.latency"], a.TimerSamples["perf.test.latency"]
	if math.Abs(count-n) > 3500 {
		t.Errorf("timer count %v (from %d samples at 0.1): want %v +- 3500", count, kept, n)
	}
	if math.Abs(count-float64(kept)*10) > 1e-6*count {
		t.Errorf("timer count %v from %d samples: the daemon did not scale by 1/0.1", count, kept)
	}
	// Sent at each of the rounds' flushes and at Close: a negative value
	// the daemon took as a change would have gone to -7.5.
	if g, d := a.Gauges["perf.test.in_flight"], a.Gauges["perf.test.drift"]; g != 42 || d != -1.5 {
		t.Errorf("gauges in_flight %v, drift %v: want 42 and -1.5", g, d)
	}
}
