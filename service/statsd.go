package service

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/perf-tools/perf/internal/statsd"
)

// serveStatsd is what the public listener publishes to StatsD
// (Options.StatsD): every instrument is created at start or at a flags load,
// so a request costs an atomic add per counter and a sampled, non-blocking
// enqueue per timer, and never waits for the network.
//
// Names, after the client's prefix:
//
//	requests.<code>                          counter, every answered request
//	request_time                             timer (ms), sampled
//	variant.<flag>.<variant>.requests.<code> counter, per flag (perf serve --flags)
//	variant.<flag>.<variant>.request_time    timer (ms), sampled
//	in_flight, generation, flags_generation  gauges
type serveStatsd struct {
	c      *statsd.Client
	byCode [600]*statsd.Counter // nil until a code is first answered
	time   *statsd.Timer
}

func newServeStatsd(c *statsd.Client, s *Server) *serveStatsd {
	sd := &serveStatsd{c: c, time: c.Timer("request_time")}
	for _, code := range answeredCodes {
		sd.byCode[code] = c.Counter(statsd.Name("requests", strconv.Itoa(code)))
	}
	c.Gauge("in_flight", func() float64 { return float64(s.metrics.inFlight.Load()) })
	c.Gauge("generation", func() float64 { return float64(s.opts.Generation) })
	c.Gauge("flags_generation", func() float64 {
		if fs := s.flags.Load(); fs != nil {
			return float64(fs.gen)
		}
		return 0
	})
	return sd
}

// observe counts one answered request.
func (sd *serveStatsd) observe(code int, d time.Duration) {
	var k *statsd.Counter
	if code >= 0 && code < len(sd.byCode) {
		k = sd.byCode[code]
	}
	if k == nil {
		// A code the server does not answer today: looked up by name,
		// which is slower but correct.
		k = sd.c.Counter(statsd.Name("requests", strconv.Itoa(code)))
	}
	k.Add(1)
	sd.time.Observe(d)
}

// variantStatsd is one variant's StatsD instruments.
type variantStatsd struct {
	requests [len(answerCodes)]*statsd.Counter
	time     *statsd.Timer
}

func (sd *serveStatsd) variant(flag, variant string) *variantStatsd {
	v := &variantStatsd{time: sd.c.Timer(statsd.Name("variant", flag, variant, "request_time"))}
	for i, code := range answerCodes {
		v.requests[i] = sd.c.Counter(statsd.Name("variant", flag, variant, "requests", strconv.Itoa(code)))
	}
	return v
}

// registerStatsdHealth exports the StatsD client's own health to Prometheus,
// so lost metrics are visible where the operator looks.
func registerStatsdHealth(reg *prometheus.Registry, c *statsd.Client) {
	stat := func(name, help string, f func(statsd.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(f(c.Stats())) })
	}
	reg.MustRegister(
		stat("perf_serve_statsd_dropped_total", "Timer samples not sent to StatsD because the client's queue was full.", func(s statsd.Stats) uint64 { return s.Dropped }),
		stat("perf_serve_statsd_send_errors_total", "StatsD datagrams that could not be sent (address not resolved, write refused).", func(s statsd.Stats) uint64 { return s.SendErrors }),
		stat("perf_serve_statsd_datagrams_total", "StatsD datagrams written.", func(s statsd.Stats) uint64 { return s.Datagrams }),
		stat("perf_serve_statsd_lines_total", "StatsD metric lines written.", func(s statsd.Stats) uint64 { return s.Lines }),
	)
}
