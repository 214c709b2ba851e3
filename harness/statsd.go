package harness

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/perf-tools/perf/internal/statsd"
	"github.com/perf-tools/perf/results"
)

// IntervalCounts are what an interval's requests got, beyond the counts a
// results.Interval holds, for a sink that publishes intervals live
// (Options.OnCounts).
type IntervalCounts struct {
	// StatusCodes counts the responses by status code ("200");
	// ErrorKinds the requests that got no response, by kind (the Kind*
	// constants); Retries the requests sent again.
	StatusCodes, ErrorKinds map[string]int64
	Retries                 int64
}

// counts returns the slot's counts beyond its interval's.
func (s *slot) counts() IntervalCounts {
	c := IntervalCounts{StatusCodes: map[string]int64{}, ErrorKinds: map[string]int64{}, Retries: s.retries}
	for code, n := range s.codes {
		if n > 0 {
			c.StatusCodes[statusKey(code)] = n
		}
	}
	for kind, n := range s.kinds {
		if n > 0 {
			c.ErrorKinds[kind] = n
		}
	}
	return c
}

// Statsd publishes an attack's intervals to StatsD as they close (give its
// Interval method to Options.OnCounts), so that a dashboard shows the load
// beside the service. Every interval is published, the warm-up's too, as
// the service sees those requests; the names, under the client's prefix:
//
//	counters (exact, unsampled)
//	  requests            requests sent
//	  responses.<code>    responses by status code (responses.200)
//	  failures.<kind>     requests without a response, by kind (failures.timeout)
//	  errors              failures plus responses with a status outside 2xx and 3xx
//	  unsent              hits of the plan never sent
//	  intended            hits the plan scheduled
//	  retries             requests sent again on a new connection
//	timers (ms, one sample per interval)
//	  latency.p50, latency.p90, latency.p99, latency.p99_9, latency.max
//	                      the interval's corrected latency (from the intended send time)
//	gauges
//	  rate.achieved       requests sent per second over the last interval
//	  rate.intended       hits scheduled per second over the last interval
//	  warmup              1 during the warm-up, then 0
//
// Percentiles are timers, not gauges: a daemon keeps a gauge's last value
// only, so with its usual 10-second flush nine seconds in ten would never
// reach the dashboard, and a spike could hide in them. As timers, every
// second's value is kept: the daemon's upper is the worst second of its
// flush, its mean their mean. Each value is one sample of its timer, so
// the timers' counts are seconds, not requests; requests are the counters.
// The rates are gauges (the last interval's); the counters' rates, which
// the daemon computes over its flush, are exact averages.
type Statsd struct {
	c                                           *statsd.Client
	requests, errors, unsent, intended, retries *statsd.Counter
	p50, p90, p99, p999, max                    *statsd.Timer
	achieved, planned, warmup                   atomic.Uint64 // float64 bits
	gauges                                      sync.Once

	mu              sync.Mutex
	codes, failures map[string]*statsd.Counter
}

// NewStatsd returns a publisher that sends through c (which the caller
// closes).
func NewStatsd(c *statsd.Client) *Statsd {
	p := &Statsd{
		c:        c,
		requests: c.Counter("requests"),
		errors:   c.Counter("errors"),
		unsent:   c.Counter("unsent"),
		intended: c.Counter("intended"),
		retries:  c.Counter("retries"),
		p50:      c.Timer("latency.p50"),
		p90:      c.Timer("latency.p90"),
		p99:      c.Timer("latency.p99"),
		p999:     c.Timer("latency.p99_9"),
		max:      c.Timer("latency.max"),
		codes:    map[string]*statsd.Counter{},
		failures: map[string]*statsd.Counter{},
	}
	return p
}

func gaugeOf(v *atomic.Uint64) func() float64 {
	return func() float64 { return math.Float64frombits(v.Load()) }
}

// Interval publishes one closed interval.
func (p *Statsd) Interval(iv results.Interval, n IntervalCounts) {
	p.requests.Add(iv.Sent())
	p.errors.Add(iv.Errors)
	p.unsent.Add(iv.Unsent)
	p.intended.Add(iv.Intended)
	p.retries.Add(n.Retries)
	p.mu.Lock()
	for code, k := range n.StatusCodes {
		p.counter(p.codes, "responses", code).Add(k)
	}
	for kind, k := range n.ErrorKinds {
		p.counter(p.failures, "failures", kind).Add(k)
	}
	p.mu.Unlock()
	if h := iv.Corrected; h != nil && h.TotalCount() > 0 {
		v := results.ValuesAtPercentiles(h, 50, 90, 99, 99.9)
		p.p50.Observe(time.Duration(v[0]))
		p.p90.Observe(time.Duration(v[1]))
		p.p99.Observe(time.Duration(v[2]))
		p.p999.Observe(time.Duration(v[3]))
		p.max.Observe(time.Duration(h.Max()))
	}
	// The timeline's definitions of the rates.
	row := results.TimelineRow{LengthS: iv.End.Sub(iv.Start).Seconds(), Intended: iv.Intended, Unsent: iv.Unsent}
	p.achieved.Store(math.Float64bits(row.SentRate()))
	p.planned.Store(math.Float64bits(row.IntendedRate()))
	warm := 0.0
	if iv.Warmup {
		warm = 1
	}
	p.warmup.Store(math.Float64bits(warm))
	// The gauges are sent from the first interval on: before it, they
	// would say a rate of 0 and no warm-up.
	p.gauges.Do(func() {
		p.c.Gauge("rate.achieved", gaugeOf(&p.achieved))
		p.c.Gauge("rate.intended", gaugeOf(&p.planned))
		p.c.Gauge("warmup", gaugeOf(&p.warmup))
	})
}

// counter returns the counter of key under group, creating it the first
// time the key is seen; p.mu is held.
func (p *Statsd) counter(m map[string]*statsd.Counter, group, key string) *statsd.Counter {
	k := m[key]
	if k == nil {
		k = p.c.Counter(statsd.Name(group, key))
		m[key] = k
	}
	return k
}
