package results

import (
	"testing"
	"time"
)

// segmentOf is a segment of n requests answered in latency each.
func segmentOf(t *testing.T, label string, n int, latency time.Duration, slos []Bound) Segment {
	t.Helper()
	tl := NewTally()
	tl.Window = time.Second
	for range n {
		Record(tl.Corrected, latency)
		Record(tl.Service, latency/2)
		Record(tl.Lag, 10*time.Microsecond)
	}
	tl.Requests = int64(n)
	tl.StatusCodes["200"] = int64(n)
	s, err := NewSegment(label, "steps:100,200/1s", 0, float64(n), &tl, slos)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestMergeSegments adds up the segments of two shards of one schedule: the
// merged histograms are the union of theirs, so the merged p99 is that of
// every request, and the SLOs are judged again on it.
func TestMergeSegments(t *testing.T) {
	slos, err := ParseSLOs([]string{"p99<=10ms"})
	if err != nil {
		t.Fatal(err)
	}
	a := &Run{Segments: []Segment{segmentOf(t, "step 1/2: 100/s", 50, time.Millisecond, slos), segmentOf(t, "step 2/2: 200/s", 98, time.Millisecond, slos)}}
	b := &Run{Segments: []Segment{segmentOf(t, "step 1/2: 100/s", 50, time.Millisecond, slos), segmentOf(t, "step 2/2: 200/s", 2, 50*time.Millisecond, slos)}}
	segs, warning, err := mergeSegments([]*Run{a, b}, slos)
	if err != nil || warning != "" || len(segs) != 2 {
		t.Fatalf("merged %d segments, warning %q, error %v", len(segs), warning, err)
	}
	if segs[0].Requests != 100 || segs[0].Rate.Target != 100 || segs[0].StatusCodes["200"] != 100 {
		t.Errorf("first segment: %d requests, planned %.0f/s, codes %v", segs[0].Requests, segs[0].Rate.Target, segs[0].StatusCodes)
	}
	// 100 requests, 2 of them at 50ms: p99 is 50ms, over the bound, though
	// each shard alone met it (b's 2 slow ones are its whole segment, and
	// fail it; a's do not exist).
	second := segs[1]
	h, err := DecodeSegmentHistogram(second.Histograms.Corrected)
	if err != nil || h.TotalCount() != 100 {
		t.Fatalf("merged histogram: %v, %d values", err, h.TotalCount())
	}
	if second.Latency.Corrected.P99 < 49 || len(second.SLO) != 1 || second.SLO[0].OK {
		t.Errorf("merged p99 %.3fms, verdicts %+v; want 50ms, failed", second.Latency.Corrected.P99, second.SLO)
	}
	if lag, _ := DecodeSegmentHistogram(second.Histograms.Lag); lag.TotalCount() != 100 {
		t.Errorf("merged lag histogram holds %d values, want 100", lag.TotalCount())
	}
	c := &Run{Segments: a.Segments[:1]}
	if segs, warning, _ := mergeSegments([]*Run{a, c}, slos); segs != nil || warning == "" {
		t.Errorf("runs of different schedules merged segment by segment: %d segments, warning %q", len(segs), warning)
	}
}
