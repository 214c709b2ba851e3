package results

import (
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Segment is the summary of one segment of a rate schedule (a hold, a ramp,
// one level of steps, a sine, a schedule file) over the part of it that lies
// in the measured window: the same numbers as the run's, and the SLO verdicts
// of the run's SLOs on them. run.json lists them in order under "segments"
// when the rate was a schedule.
type Segment struct {
	// Label names the segment for people ("step 3/10: 3000/s"); Spec is the
	// segment as written in --rate ("steps:1000..10000+1000/30s").
	Label string `json:"label"`
	Spec  string `json:"spec"`
	// StartS is where the segment starts, in seconds from the start of the
	// measured window; DurationS is its length in the window.
	StartS    float64 `json:"start_s"`
	DurationS float64 `json:"duration_s"`
	// Rate.Target is the segment's mean planned rate (its hits over its
	// length), Rate.Achieved the requests sent per second of it.
	Rate          Rate              `json:"rate"`
	Requests      int64             `json:"requests"`
	Unsent        int64             `json:"unsent"`
	Errors        int64             `json:"errors"`
	StatusCodes   map[string]int64  `json:"status_codes"`
	ErrorKinds    map[string]int64  `json:"error_kinds"`
	ErrorMessages map[string]string `json:"error_messages,omitempty"`
	Retries       int64             `json:"retries"`
	Latency       Latency           `json:"latency"`
	Lag           LagSummary        `json:"lag"`
	SLO           []Verdict         `json:"slo"`
	// Histograms are the segment's corrected and service latency
	// histograms (nanoseconds), each as one HdrHistogram V2 compressed,
	// base64 encoded, as a line of latency.hlog holds them.
	Histograms SegmentHistograms `json:"histograms"`
}

// SegmentHistograms are a segment's latency histograms in HdrHistogram's
// V2 compressed base64 encoding.
type SegmentHistograms struct {
	Corrected string `json:"corrected"`
	Service   string `json:"service"`
}

// NewSegment summarises tally t as the segment labelled label (spec as
// written), starting at start from the start of the measured window and
// planned at planned requests per second, with the verdicts of slos on it.
func NewSegment(label, spec string, start time.Duration, planned float64, t *Tally, slos []Bound) (Segment, error) {
	var r Run
	r.Rate.Target = planned
	t.Fill(&r)
	s := Segment{
		Label: label, Spec: spec,
		StartS: start.Seconds(), DurationS: r.DurationS,
		Rate:     r.Rate,
		Requests: r.Requests, Unsent: r.Unsent, Errors: r.Errors, Retries: r.Retries,
		StatusCodes: r.StatusCodes, ErrorKinds: r.ErrorKinds, ErrorMessages: r.ErrorMessages,
		Latency: r.Latency, Lag: r.Lag,
		SLO: EvaluateSLOs(slos, &r),
	}
	var err error
	if s.Histograms.Corrected, err = encodeHistogram(t.Corrected); err != nil {
		return s, err
	}
	s.Histograms.Service, err = encodeHistogram(t.Service)
	return s, err
}

// Run returns the segment as a run of its own (the fields a report or an
// SLO reads), within parent, for the code that reads runs.
func (s *Segment) Run(parent *Run) *Run {
	r := *parent
	r.Name = parent.Name + " " + s.Label
	r.DurationS = s.DurationS
	r.Rate = s.Rate
	r.Requests, r.Unsent, r.Errors, r.Retries = s.Requests, s.Unsent, s.Errors, s.Retries
	r.StatusCodes, r.ErrorKinds, r.ErrorMessages = s.StatusCodes, s.ErrorKinds, s.ErrorMessages
	r.Latency, r.Lag, r.SLO = s.Latency, s.Lag, s.SLO
	r.Segments = nil
	return &r
}

// DecodeSegmentHistogram decodes one of a segment's histograms
// (Histograms.Corrected or Histograms.Service); empty is an empty histogram.
func DecodeSegmentHistogram(encoded string) (*hdrhistogram.Histogram, error) {
	if encoded == "" {
		return NewHistogram(), nil
	}
	return decodeHistogram(encoded)
}

func encodeHistogram(h *hdrhistogram.Histogram) (string, error) {
	b, err := newV2Encoder().encode(h)
	return string(b), err
}
