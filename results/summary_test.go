package results

import (
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	if got := Summarize(nil); got != (Percentiles{}) {
		t.Errorf("Summarize(nil) = %+v", got)
	}
	if got := Summarize(NewHistogram()); got != (Percentiles{}) {
		t.Errorf("Summarize(empty) = %+v", got)
	}
	h := NewHistogram()
	for i := 1; i <= 1000; i++ {
		Record(h, time.Duration(i)*time.Millisecond/10) // 0.1ms .. 100ms
	}
	got := Summarize(h)
	// 3 significant digits: each value within 0.1% above the exact one.
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"p50", got.P50, 50}, {"p90", got.P90, 90}, {"p95", got.P95, 95}, {"p99", got.P99, 99},
		{"p999", got.P999, 99.9}, {"max", got.Max, 100}, {"mean", got.Mean, 50.05},
	} {
		if c.got < c.want*0.999 || c.got > c.want*1.001 {
			t.Errorf("%s = %vms, want %vms within 0.1%%", c.name, c.got, c.want)
		}
	}
	lag := SummarizeLag(h)
	if lag.P50 != got.P50 || lag.P99 != got.P99 || lag.Max != got.Max {
		t.Errorf("SummarizeLag = %+v, want the p50, p99 and max of %+v", lag, got)
	}
}

// TestValuesAtPercentilesNearestRank checks the reference definition where
// hdrhistogram-go's ValueAtPercentile differs: 600 values, one slow.
func TestValuesAtPercentilesNearestRank(t *testing.T) {
	h := NewHistogram()
	for j := 0; j < 599; j++ {
		Record(h, time.Millisecond)
	}
	Record(h, 150*time.Millisecond)
	got := ValuesAtPercentiles(h, 0, 50, 99.9, 100)
	want := []int64{999_936, 1_000_447, 150_077_439, 150_077_439}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("ValuesAtPercentiles = %v, want %v", got, want)
			break
		}
	}
	// hdrhistogram-go rounds the rank: 99.9% of 600 is rank 599.4 -> 599.
	if v := h.ValueAtQuantile(99.9); v != 1_000_447 {
		t.Logf("hdrhistogram-go's p99.9 is now %d; the workaround may be unneeded", v)
	}
	if p := Summarize(h); p.P999 != 150.077439 || p.Max != 150.077439 {
		t.Errorf("Summarize p99.9 %v max %v, want 150.077439", p.P999, p.Max)
	}
}
