package results

import (
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Tally is what a run measured in its measured window: the totals that a
// Run summarises. The attack engine adds its measured intervals into one;
// merge adds up its sources'. Fill is the one place a tally becomes the
// numbers of run.json, and Window the one measured window both the
// duration and the achieved rate are of.
type Tally struct {
	// Window is the length of the measured window: the planned duration,
	// or less when the run was interrupted (zero when that was during
	// the warm-up).
	Window time.Duration
	// Corrected and Service hold the latencies of the requests that got a
	// response; Lag the send lag of every request sent.
	Corrected, Service, Lag *hdrhistogram.Histogram
	// Requests counts the requests sent, Unsent the window's hits never
	// sent, Errors the failed requests (no response, or an error status),
	// Retries the requests sent again on a new connection.
	Requests, Unsent, Errors, Retries int64
	StatusCodes                       map[string]int64
	// ErrorKinds counts transport failures by kind; ErrorMessages holds
	// the first message of each kind.
	ErrorKinds    map[string]int64
	ErrorMessages map[string]string
	// Variants holds each variant's responses, by name, when the run was
	// split by a response header (see Variant); nil otherwise.
	Variants map[string]*VariantTally
}

// NewTally returns an empty tally.
func NewTally() Tally {
	return Tally{
		Corrected:     NewHistogram(),
		Service:       NewHistogram(),
		Lag:           NewHistogram(),
		StatusCodes:   map[string]int64{},
		ErrorKinds:    map[string]int64{},
		ErrorMessages: map[string]string{},
	}
}

// AddInterval adds iv's histograms (its variants' too) and counts of
// requests, unsent hits and errors. Status codes, error kinds, retries and
// the variants' counts are not in an Interval: the caller adds them.
func (t *Tally) AddInterval(iv Interval) {
	t.Corrected.Merge(iv.Corrected)
	t.Service.Merge(iv.Service)
	t.Lag.Merge(iv.Lag)
	for _, v := range iv.Variants {
		vt := t.Variant(v.Name)
		vt.Corrected.Merge(v.Corrected)
		vt.Service.Merge(v.Service)
	}
	t.Requests += iv.Sent()
	t.Unsent += iv.Unsent
	t.Errors += iv.Errors
}

// AddError counts n transport failures of kind, keeping the first message
// of each kind.
func (t *Tally) AddError(kind string, n int64, message string) {
	t.ErrorKinds[kind] += n
	if _, ok := t.ErrorMessages[kind]; !ok && message != "" {
		t.ErrorMessages[kind] = message
	}
}

// addCounts adds the counts of a run's summary (or a segment's, see
// Segment.Run), for merging runs: requests, unsent hits, errors, retries,
// status codes and error kinds; the window is the longest of them.
func (t *Tally) addCounts(r *Run) {
	t.Window = max(t.Window, secondsToDuration(r.DurationS))
	t.Requests += r.Requests
	t.Unsent += r.Unsent
	t.Retries += r.Retries
	t.Errors += r.Errors
	for k, v := range r.StatusCodes {
		t.StatusCodes[k] += v
	}
	for k, v := range r.ErrorKinds {
		t.AddError(k, v, r.ErrorMessages[k])
	}
}

// Achieved is the requests sent per second of the measured window; zero
// for an empty window.
func (t *Tally) Achieved() float64 {
	if t.Window <= 0 {
		return 0
	}
	return float64(t.Requests) / t.Window.Seconds()
}

// Fill sets the measured fields of r from t: the window (DurationS), the
// achieved rate, the counts, the latency and lag percentiles, and the
// variants' summaries (without their SLO verdicts: see EvaluateSLOs).
func (t *Tally) Fill(r *Run) {
	r.DurationS = t.Window.Seconds()
	r.Rate.Achieved = t.Achieved()
	r.Requests, r.Unsent, r.Errors, r.Retries = t.Requests, t.Unsent, t.Errors, t.Retries
	r.StatusCodes, r.ErrorKinds = t.StatusCodes, t.ErrorKinds
	r.ErrorMessages = t.ErrorMessages
	if len(r.ErrorMessages) == 0 {
		r.ErrorMessages = nil
	}
	r.Latency = Latency{Corrected: Summarize(t.Corrected), Service: Summarize(t.Service)}
	r.Lag = SummarizeLag(t.Lag)
	t.fillVariants(r)
}
