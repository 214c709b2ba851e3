package results

import (
	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/perf-tools/perf/internal/percentile"
)

// Summarize returns the percentiles of h, a latency histogram in
// nanoseconds, in milliseconds. Percentiles are computed as the reference
// Java HdrHistogram does (see ValuesAtPercentiles), so they agree with what
// its tools print for latency.hlog. An empty or nil histogram gives zeros.
func Summarize(h *hdrhistogram.Histogram) Percentiles {
	if h == nil || h.TotalCount() == 0 {
		return Percentiles{}
	}
	v := ValuesAtPercentiles(h, 50, 90, 95, 99, 99.9)
	return Percentiles{
		P50:  nsToMS(v[0]),
		P90:  nsToMS(v[1]),
		P95:  nsToMS(v[2]),
		P99:  nsToMS(v[3]),
		P999: nsToMS(v[4]),
		Max:  nsToMS(h.Max()),
		Mean: h.Mean() / 1e6,
	}
}

// SummarizeLag returns the send-lag summary of h, a histogram in
// nanoseconds, in milliseconds. An empty or nil histogram gives zeros.
func SummarizeLag(h *hdrhistogram.Histogram) LagSummary {
	p := Summarize(h)
	return LagSummary{P50: p.P50, P99: p.P99, Max: p.Max}
}

// ValuesAtPercentiles returns the values of h at the percentiles ps (0 to
// 100, in ascending order) by the one percentile rule, the reference Java
// HdrHistogram's (nearest rank, reported as the highest equivalent value):
// see percentile.Values, where it lives so that package service, which
// must not import this one, uses it too.
func ValuesAtPercentiles(h *hdrhistogram.Histogram, ps ...float64) []int64 {
	return percentile.Values(h, ps...)
}
