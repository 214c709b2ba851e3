package results

import hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

// Summarize returns the percentiles of h, a latency histogram in
// nanoseconds, in milliseconds. Each percentile is the highest value
// equivalent to the recorded one at the histogram's precision, as the
// reference tools report it. An empty or nil histogram gives zeros.
func Summarize(h *hdrhistogram.Histogram) Percentiles {
	if h == nil || h.TotalCount() == 0 {
		return Percentiles{}
	}
	return Percentiles{
		P50:  nsToMS(h.ValueAtQuantile(50)),
		P90:  nsToMS(h.ValueAtQuantile(90)),
		P95:  nsToMS(h.ValueAtQuantile(95)),
		P99:  nsToMS(h.ValueAtQuantile(99)),
		P999: nsToMS(h.ValueAtQuantile(99.9)),
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
