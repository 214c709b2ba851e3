package results

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"time"
)

// TimelineHeader is the header row of timeline.csv. Each row is one
// interval of the rate plan's time; it stores counts, from which rates are
// derived, so that merged timelines add exactly.
var TimelineHeader = []string{"second", "length_s", "intended", "unsent", "failures", "errors", "p50_ms", "p99_ms", "max_ms", "lag_p99_ms", "warmup"}

// TimelineRow is one line of timeline.csv: one interval of the run, holding
// the requests whose intended send time lies in it (see Interval).
type TimelineRow struct {
	// Second is the interval's start in seconds since the run's start;
	// LengthS its length in seconds. The last interval of an interrupted
	// run, or one cut by the end of the warm-up, is shorter than the rest.
	Second, LengthS float64
	// Intended counts the hits the plan scheduled in the interval, Unsent
	// those never sent, Failures those sent that got no response, and
	// Errors the failed ones (Failures plus error statuses).
	Intended, Unsent, Failures, Errors int64
	// P50MS, P99MS and MaxMS are corrected latencies of the responses in
	// milliseconds; LagP99MS is the send lag's p99.
	P50MS, P99MS, MaxMS, LagP99MS float64
	Warmup                        bool
}

// Sent counts the interval's requests that were sent.
func (r TimelineRow) Sent() int64 { return r.Intended - r.Unsent }

// Responses counts the interval's requests that got a response: the ones
// its latency percentiles describe.
func (r TimelineRow) Responses() int64 { return r.Sent() - r.Failures }

// IntendedRate is the planned rate over the interval, per second.
func (r TimelineRow) IntendedRate() float64 { return perSecond(r.Intended, r.LengthS) }

// SentRate is the rate at which the interval's hits were sent, per second:
// below IntendedRate only when some were never sent.
func (r TimelineRow) SentRate() float64 { return perSecond(r.Sent(), r.LengthS) }

// PerSecond is n events over the interval's length, per second.
func (r TimelineRow) PerSecond(n int64) float64 { return perSecond(n, r.LengthS) }

func perSecond(n int64, secs float64) float64 {
	if secs <= 0 {
		return 0
	}
	return float64(n) / secs
}

// TimelineWriter streams intervals to timeline.csv, one row each. The first
// interval's start is second 0.
//
// A TimelineWriter is not safe for concurrent use.
type TimelineWriter struct {
	w      *csv.Writer
	start  time.Time
	header bool
}

// NewTimelineWriter returns a writer of timeline.csv rows to w. The header is
// written with the first interval.
func NewTimelineWriter(w io.Writer) *TimelineWriter {
	return &TimelineWriter{w: csv.NewWriter(w)}
}

// WriteInterval writes the row of iv and flushes it: its counts, and the
// percentiles of iv.Corrected and iv.Lag.
func (tw *TimelineWriter) WriteInterval(iv Interval) error {
	if !tw.header {
		tw.start = iv.Start
		if err := tw.w.Write(TimelineHeader); err != nil {
			return fmt.Errorf("write timeline header: %w", err)
		}
		tw.header = true
	}
	row := TimelineRow{
		Second:   iv.Start.Sub(tw.start).Seconds(),
		LengthS:  iv.End.Sub(iv.Start).Seconds(),
		Intended: iv.Intended,
		Unsent:   iv.Unsent,
		Failures: iv.Failures,
		Errors:   iv.Errors,
		Warmup:   iv.Warmup,
	}
	if iv.Corrected != nil && iv.Corrected.TotalCount() > 0 {
		v := ValuesAtPercentiles(iv.Corrected, 50, 99)
		row.P50MS = nsToMS(v[0])
		row.P99MS = nsToMS(v[1])
		row.MaxMS = nsToMS(iv.Corrected.Max())
	}
	if iv.Lag != nil && iv.Lag.TotalCount() > 0 {
		row.LagP99MS = nsToMS(ValuesAtPercentiles(iv.Lag, 99)[0])
	}
	rec := []string{
		FormatFloat(row.Second, 3),
		FormatFloat(row.LengthS, 3),
		strconv.FormatInt(row.Intended, 10),
		strconv.FormatInt(row.Unsent, 10),
		strconv.FormatInt(row.Failures, 10),
		strconv.FormatInt(row.Errors, 10),
		FormatFloat(row.P50MS, 3),
		FormatFloat(row.P99MS, 3),
		FormatFloat(row.MaxMS, 3),
		FormatFloat(row.LagP99MS, 3),
		strconv.FormatBool(row.Warmup),
	}
	if err := tw.w.Write(rec); err != nil {
		return fmt.Errorf("write timeline row %s: %w", rec[0], err)
	}
	tw.w.Flush()
	if err := tw.w.Error(); err != nil {
		return fmt.Errorf("write timeline row %s: %w", rec[0], err)
	}
	return nil
}

// ReadTimeline reads timeline.csv. Malformed input is an error naming the
// line, the column and what was expected.
func ReadTimeline(r io.Reader) ([]TimelineRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(TimelineHeader)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: empty, expected the header %v", ErrBadTimeline, TimelineHeader)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w (expected the header %v)", ErrBadTimeline, err, TimelineHeader)
	}
	for i, name := range TimelineHeader {
		if head[i] != name {
			return nil, fmt.Errorf("%w: line 1 column %d: expected %q, got %q", ErrBadTimeline, i+1, name, head[i])
		}
	}
	var rows []TimelineRow
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadTimeline, err)
		}
		var row TimelineRow
		// The columns before warmup, in order, so the first bad one is named.
		cols := []struct {
			f *float64
			n *int64
		}{
			{f: &row.Second}, {f: &row.LengthS},
			{n: &row.Intended}, {n: &row.Unsent}, {n: &row.Failures}, {n: &row.Errors},
			{f: &row.P50MS}, {f: &row.P99MS}, {f: &row.MaxMS}, {f: &row.LagP99MS},
		}
		for i, c := range cols {
			if c.n != nil {
				v, err := strconv.ParseInt(rec[i], 10, 64)
				if err != nil || v < 0 {
					return nil, fmt.Errorf("%w: line %d column %s: expected a non-negative integer, got %q", ErrBadTimeline, line, TimelineHeader[i], rec[i])
				}
				*c.n = v
				continue
			}
			v, err := strconv.ParseFloat(rec[i], 64)
			if err != nil || !finite(v) || v < 0 {
				return nil, fmt.Errorf("%w: line %d column %s: expected a non-negative number, got %q", ErrBadTimeline, line, TimelineHeader[i], rec[i])
			}
			*c.f = v
		}
		row.Warmup, err = strconv.ParseBool(rec[10])
		if err != nil {
			return nil, fmt.Errorf("%w: line %d column warmup: expected true or false, got %q", ErrBadTimeline, line, rec[10])
		}
		switch {
		case row.Unsent > row.Intended:
			return nil, fmt.Errorf("%w: line %d: unsent %d is more than intended %d", ErrBadTimeline, line, row.Unsent, row.Intended)
		case row.Errors > row.Sent():
			return nil, fmt.Errorf("%w: line %d: errors %d are more than the %d requests sent (intended minus unsent)", ErrBadTimeline, line, row.Errors, row.Sent())
		case row.Failures > row.Errors:
			return nil, fmt.Errorf("%w: line %d: failures %d are more than errors %d (failures are errors)", ErrBadTimeline, line, row.Failures, row.Errors)
		}
		rows = append(rows, row)
	}
}

// ReadTimelineFile reads the timeline at path, such as a run directory's
// timeline.csv; errors name the path.
func ReadTimelineFile(path string) ([]TimelineRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	rows, err := ReadTimeline(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return rows, nil
}

// nsToMS converts a histogram value in nanoseconds to milliseconds.
func nsToMS(ns int64) float64 { return float64(ns) / 1e6 }

// FormatFloat formats v with at most prec decimals and no trailing zeros.
func FormatFloat(v float64, prec int) string {
	p := math.Pow(10, float64(prec))
	return strconv.FormatFloat(math.Round(v*p)/p, 'f', -1, 64)
}
