package results

import (
	"fmt"
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
	// Histograms are the segment's corrected, service and send-lag
	// histograms (nanoseconds), each as one HdrHistogram V2 compressed,
	// base64 encoded, as a line of latency.hlog holds them: merged runs
	// add them up.
	Histograms SegmentHistograms `json:"histograms"`
}

// SegmentHistograms are a segment's histograms in HdrHistogram's V2
// compressed base64 encoding.
type SegmentHistograms struct {
	Corrected string `json:"corrected"`
	Service   string `json:"service"`
	Lag       string `json:"lag"`
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
		// A bound on a variant judges the whole window, not a segment.
		SLO: EvaluateSLOs(WholeRun(slos), &r),
	}
	var err error
	for _, h := range []struct {
		dst *string
		src *hdrhistogram.Histogram
	}{{&s.Histograms.Corrected, t.Corrected}, {&s.Histograms.Service, t.Service}, {&s.Histograms.Lag, t.Lag}} {
		if *h.dst, err = encodeHistogram(h.src); err != nil {
			return s, err
		}
	}
	return s, nil
}

// mergeSegments adds up the segments of runs that ran the same schedule
// (shards of one plan): counts summed, histograms added, planned and
// achieved rates summed, and the SLOs evaluated again. Runs whose segments
// differ (in number, label or spec) are not merged segment by segment, and
// the returned warning says so.
func mergeSegments(runs []*Run, slos []Bound) ([]Segment, string, error) {
	first := runs[0].Segments
	for _, r := range runs[1:] {
		if len(r.Segments) != len(first) {
			return nil, "segments not merged: the runs' rate schedules differ", nil
		}
		for i, s := range r.Segments {
			if s.Label != first[i].Label || s.Spec != first[i].Spec {
				return nil, "segments not merged: the runs' rate schedules differ", nil
			}
		}
	}
	var out []Segment
	for i, s := range first {
		t := NewTally()
		planned := 0.0
		for _, r := range runs {
			rs := r.Segments[i]
			t.addCounts(rs.Run(r))
			for _, h := range []struct {
				dst *hdrhistogram.Histogram
				src string
			}{{t.Corrected, rs.Histograms.Corrected}, {t.Service, rs.Histograms.Service}, {t.Lag, rs.Histograms.Lag}} {
				src, err := DecodeSegmentHistogram(h.src)
				if err != nil {
					return nil, "", fmt.Errorf("segment %q: %w", rs.Label, err)
				}
				h.dst.Merge(src)
			}
			planned += rs.Rate.Target
		}
		seg, err := NewSegment(s.Label, s.Spec, time.Duration(s.StartS*float64(time.Second)), planned, &t, slos)
		if err != nil {
			return nil, "", err
		}
		out = append(out, seg)
	}
	return out, "", nil
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
	r.Segments, r.Variants = nil, nil
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
