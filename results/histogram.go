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

// Interval is one slice of a run (one second by default): the histograms of
// the requests that completed in it, and its counts. The harness produces
// intervals while a run goes on; the writers stream them to latency.hlog and
// timeline.csv so memory stays flat however long the run is.
type Interval struct {
	Start, End time.Time
	// Warmup marks an interval inside the warm-up: logged, but excluded from
	// the summary and the verdicts.
	Warmup bool
	// Corrected: response end minus intended send time. Service: response
	// end minus actual send time. Lag: actual minus intended send time.
	Corrected, Service, Lag *hdrhistogram.Histogram
	// Intended counts the requests the rate plan scheduled in the interval.
	Intended int64
	// Completed counts the responses (or failures) that ended in it.
	Completed int64
	// Errors counts the failures among them.
	Errors int64
}
