package service

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// latencyBuckets are the classic buckets of the request latency histogram, in
// seconds: fine below a millisecond, where a healthy read lands, and coarse
// up to the budgets teams set.
var latencyBuckets = []float64{
	0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
	0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
}

// metrics holds the public listener's instruments. The counter children of
// the codes the server answers are resolved once, so a request costs a few
// atomic adds and no label lookup.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	byCode   [600]prometheus.Counter // indexed by status code; nil until first used
	latency  prometheus.Histogram
	// inFlight counts requests read and not yet answered (see
	// wireConn.flush); the gauge reads it at scrape time, so a request
	// costs two atomic adds.
	inFlight atomic.Int64

	// Flags: requests and latency per variant (children resolved at load,
	// see compileFlags), requests without a user id while a flag splits
	// users, and the reloads.
	variantRequests *prometheus.CounterVec
	variantLatency  *prometheus.HistogramVec
	noUser          prometheus.Counter
	reloads         *prometheus.CounterVec
	reloadOK        prometheus.Counter
	reloadFailed    prometheus.Counter
	generation      prometheus.Gauge
	loadedAt        prometheus.Gauge
	lastReloadOK    prometheus.Gauge

	// Live upgrades.
	upgradeOK, upgradeFailed prometheus.Counter

	// sd publishes to StatsD, when Options.StatsD is set.
	sd *serveStatsd
}

// newMetrics builds the registry: the service's own instruments, store
// gauges, and the Go and process collectors.
func newMetrics(s *Server) *metrics {
	storeGauge := func(f func(*Store) float64) func() float64 {
		return func() float64 {
			if st := s.store.Load(); st != nil {
				return f(st)
			}
			return 0
		}
	}
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "perf_serve_requests_total",
		Help: "Requests answered by the public listener, by HTTP status code.",
	}, []string{"code"})
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:                            "perf_serve_request_duration_seconds",
		Help:                            "Time from the start of a request, once its first bytes are read and before its headers are parsed, to its response being ready to send, for requests on the public listener.",
		Buckets:                         latencyBuckets,
		NativeHistogramBucketFactor:     1.1,
		NativeHistogramMaxBucketNumber:  160,
		NativeHistogramMinResetDuration: time.Hour,
	})
	inFlight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "perf_serve_requests_in_flight",
		Help: "Requests the public listener has read and not yet answered (a response over 4 KiB counts until it is written).",
	}, func() float64 { return float64(m.inFlight.Load()) })
	items := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "perf_serve_store_items",
		Help: "Items in the store (ids 0..N-1).",
	}, storeGauge(func(st *Store) float64 { return float64(st.Count()) }))
	valueSize := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "perf_serve_store_value_size_bytes",
		Help: "Size of each item's JSON document.",
	}, storeGauge(func(st *Store) float64 { return float64(st.ValueSize()) }))
	m.variantRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "perf_serve_variant_requests_total",
		Help: "Requests answered by the public listener, by flag, the variant of it the request was served with, and HTTP status code (perf serve --flags). A request counts once for each flag.",
	}, []string{"flag", "variant", "code"})
	m.variantLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "perf_serve_variant_request_duration_seconds",
		Help:    "perf_serve_request_duration_seconds by flag and the variant of it the request was served with (perf serve --flags).",
		Buckets: latencyBuckets,
	}, []string{"flag", "variant"})
	m.noUser = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "perf_serve_requests_without_user_total",
		Help: "Requests that named no user id (--user-header, --user-cookie) while a flag splits users, so were served every split flag's default variant.",
	})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "perf_serve_flags_reloads_total",
		Help: "Attempts to load a changed flags file, by result: success (swapped in) or failure (the last good configuration stays in force).",
	}, []string{"result"})
	m.reloadOK = m.reloads.WithLabelValues("success")
	m.reloadFailed = m.reloads.WithLabelValues("failure")
	m.generation = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "perf_serve_flags_generation",
		Help: "Generation of the flags configuration in force: 1 for the file read at start, one more for each successful reload; 0 without --flags.",
	})
	m.loadedAt = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "perf_serve_flags_loaded_timestamp_seconds",
		Help: "Unix time at which the flags configuration in force was loaded.",
	})
	m.lastReloadOK = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "perf_serve_flags_last_reload_successful",
		Help: "1 if the flags file on disk is the configuration in force, 0 if the last attempt to load it failed.",
	})
	upgrades := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "perf_serve_upgrades_total",
		Help: "Live upgrades this process tried, by result: success (a new process is serving and this one drains) or failure (the new process did not become ready; this one keeps serving).",
	}, []string{"result"})
	m.upgradeOK, m.upgradeFailed = upgrades.WithLabelValues("success"), upgrades.WithLabelValues("failure")
	serveGen := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "perf_serve_generation",
		Help: "Generation of this process: 1 at the first start, one more at each live upgrade.",
	}, func() float64 { return float64(s.opts.Generation) })
	m.reg.MustRegister(upgrades, serveGen)
	m.reg.MustRegister(m.variantRequests, m.variantLatency, m.noUser, m.reloads, m.generation, m.loadedAt, m.lastReloadOK)
	m.reg.MustRegister(m.requests, m.latency, inFlight, items, valueSize,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	// The codes the server answers; pre-creating them also exposes them at
	// zero from the start, so rate() works on the first scrape.
	for _, code := range answeredCodes {
		m.byCode[code] = m.requests.WithLabelValues(strconv.Itoa(code))
	}
	return m
}

// answeredCodes are the status codes the public listener answers.
var answeredCodes = []int{200, 400, 404, 405, 413, 431, 500, 501, 503, 505}

// observe records one answered request.
func (m *metrics) observe(code int, d time.Duration) {
	var c prometheus.Counter
	if code >= 0 && code < len(m.byCode) {
		c = m.byCode[code]
	}
	if c == nil {
		c = m.requests.WithLabelValues(strconv.Itoa(code))
	}
	c.Inc()
	m.latency.Observe(d.Seconds())
	if m.sd != nil {
		m.sd.observe(code, d)
	}
}

// dropVariants removes the per-variant series of the variants in old that
// are not in cur, so a reload that removes a flag or a variant does not
// leave its series behind at their last values.
func (m *metrics) dropVariants(old, cur *flagSet) {
	kept := map[[2]string]bool{}
	for _, sf := range cur.flags {
		for _, v := range sf.variants {
			kept[[2]string{v.flag, v.name}] = true
		}
	}
	for _, sf := range old.flags {
		for _, v := range sf.variants {
			if !kept[[2]string{v.flag, v.name}] {
				labels := prometheus.Labels{"flag": v.flag, "variant": v.name}
				m.variantRequests.DeletePartialMatch(labels)
				m.variantLatency.DeletePartialMatch(labels)
			}
		}
	}
}
