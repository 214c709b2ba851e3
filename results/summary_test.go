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
