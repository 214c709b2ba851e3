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

// TimelineHeader is the header row of timeline.csv.
var TimelineHeader = []string{"second", "intended_rate", "achieved_rate", "errors", "p50_ms", "p99_ms", "max_ms", "warmup"}

// TimelineRow is one line of timeline.csv: one interval of the run.
type TimelineRow struct {
	// Second is the interval's start in seconds since the run's start.
	Second float64
	// IntendedRate and AchievedRate are per second.
	IntendedRate float64
	AchievedRate float64
	Errors       int64
	// P50MS, P99MS and MaxMS are corrected latencies in milliseconds.
	P50MS, P99MS, MaxMS float64
	Warmup              bool
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

// WriteInterval writes the row of iv and flushes it. The intended rate is
// iv.Intended over the interval's length, or intendedRate (per second) when
// iv.Intended is zero; the achieved rate is iv.Completed over the length;
// the percentiles are those of iv.Corrected.
func (tw *TimelineWriter) WriteInterval(iv Interval, intendedRate float64) error {
	if !tw.header {
		tw.start = iv.Start
		if err := tw.w.Write(TimelineHeader); err != nil {
			return fmt.Errorf("write timeline header: %w", err)
		}
		tw.header = true
	}
	length := iv.End.Sub(iv.Start).Seconds()
	row := TimelineRow{
		Second:       iv.Start.Sub(tw.start).Seconds(),
		IntendedRate: intendedRate,
		Errors:       iv.Errors,
		Warmup:       iv.Warmup,
	}
	if length > 0 {
		if iv.Intended > 0 {
			row.IntendedRate = float64(iv.Intended) / length
		}
		row.AchievedRate = float64(iv.Completed) / length
	}
	if iv.Corrected != nil && iv.Corrected.TotalCount() > 0 {
		v := ValuesAtPercentiles(iv.Corrected, 50, 99)
		row.P50MS = nsToMS(v[0])
		row.P99MS = nsToMS(v[1])
		row.MaxMS = nsToMS(iv.Corrected.Max())
	}
	rec := []string{
		formatFloat(row.Second, 3),
		formatFloat(row.IntendedRate, 1),
		formatFloat(row.AchievedRate, 1),
		strconv.FormatInt(row.Errors, 10),
		formatFloat(row.P50MS, 3),
		formatFloat(row.P99MS, 3),
		formatFloat(row.MaxMS, 3),
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
		return nil, fmt.Errorf("%w: %w", ErrBadTimeline, err)
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
		floats := []*float64{&row.Second, &row.IntendedRate, &row.AchievedRate, nil, &row.P50MS, &row.P99MS, &row.MaxMS}
		for i, dst := range floats {
			if dst == nil {
				continue
			}
			v, err := strconv.ParseFloat(rec[i], 64)
			if err != nil || !finite(v) || v < 0 {
				return nil, fmt.Errorf("%w: line %d column %s: expected a non-negative number, got %q", ErrBadTimeline, line, TimelineHeader[i], rec[i])
			}
			*dst = v
		}
		row.Errors, err = strconv.ParseInt(rec[3], 10, 64)
		if err != nil || row.Errors < 0 {
			return nil, fmt.Errorf("%w: line %d column errors: expected a non-negative integer, got %q", ErrBadTimeline, line, rec[3])
		}
		row.Warmup, err = strconv.ParseBool(rec[7])
		if err != nil {
			return nil, fmt.Errorf("%w: line %d column warmup: expected true or false, got %q", ErrBadTimeline, line, rec[7])
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

// formatFloat formats v with at most prec decimals and no trailing zeros.
func formatFloat(v float64, prec int) string {
	p := math.Pow(10, float64(prec))
	return strconv.FormatFloat(math.Round(v*p)/p, 'f', -1, 64)
}
