package results

import (
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram bounds shared by every perf histogram, so that histograms from
// any run, interval or generator merge without loss. Values are nanoseconds,
// the unit the reference HdrHistogram tools assume for latency logs (their
// default output ratio of 1e6 prints milliseconds).
const (
	// HistogramLowest is the smallest discernible value: 1µs.
	HistogramLowest = int64(time.Microsecond)
	// HistogramHighest is the largest trackable value: 1 hour. Larger
	// values are recorded as this value.
	HistogramHighest = int64(time.Hour)
	// HistogramSigFigs is the number of significant decimal digits kept.
	HistogramSigFigs = 3
)

// NewHistogram returns an empty latency histogram with perf's bounds.
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(HistogramLowest, HistogramHighest, HistogramSigFigs)
}

// Record adds d to h, clamped into the histogram's range so that an extreme
// value is counted rather than dropped.
func Record(h *hdrhistogram.Histogram, d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	if v > HistogramHighest {
		v = HistogramHighest
	}
	_ = h.RecordValue(v) // cannot fail: v is within the bounds
}

// Interval is one slice of a run (one second by default) in the time of the
// rate plan: the requests whose intended send time lies in [Start, End),
// their histograms and counts, whenever they completed. Attributing a
// result to its intended time, not to when it completed, keeps a slow
// answer to a warm-up request out of the measured window, and makes every
// interval hold exactly the plan's hits. The harness produces intervals
// while a run goes on; the writers stream them to latency.hlog and
// timeline.csv so memory stays flat however long the run is.
type Interval struct {
	Start, End time.Time
	// Warmup marks an interval inside the warm-up: logged, but excluded from
	// the summary and the verdicts.
	Warmup bool
	// Corrected: response end minus intended send time. Service: response
	// end minus actual send time. Both hold only requests that got a
	// response (any status): a transport failure has no latency. Lag:
	// actual minus intended send time, of every request sent.
	Corrected, Service, Lag *hdrhistogram.Histogram
	// Intended counts the hits the rate plan scheduled in the interval.
	Intended int64
	// Unsent counts those never sent: the run's window ended, or it was
	// interrupted, before the generator got to them.
	Unsent int64
	// Failures counts the requests sent that got no response (transport
	// failures: refused, reset, timed out, TLS, malformed or cut short).
	Failures int64
	// Errors counts the failed requests: Failures plus responses with a
	// status outside 2xx and 3xx.
	Errors int64
	// Variants holds the histograms of each variant that had responses in
	// the interval, when the run is split by a response header; the
	// variants' Corrected histograms add up to Corrected.
	Variants []VariantHistograms
}

// Sent is the number of the interval's hits that were sent.
func (iv Interval) Sent() int64 { return iv.Intended - iv.Unsent }
