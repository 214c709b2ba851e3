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
}

// newMetrics builds the registry: the service's own instruments, store
// gauges, and the Go and process collectors.
func newMetrics(st *Store) *metrics {
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
	}, func() float64 { return float64(st.Count()) })
	valueSize := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "perf_serve_store_value_size_bytes",
		Help: "Size of each item's JSON document.",
	}, func() float64 { return float64(st.ValueSize()) })
	m.reg.MustRegister(m.requests, m.latency, inFlight, items, valueSize,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	// The codes the server answers; pre-creating them also exposes them at
	// zero from the start, so rate() works on the first scrape.
	for _, code := range []int{200, 400, 404, 405, 413, 431, 500, 501, 505} {
		m.byCode[code] = m.requests.WithLabelValues(strconv.Itoa(code))
	}
	return m
}

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
}
