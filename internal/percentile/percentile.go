package percentile

import (
	"math"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Values returns the values of h at the percentiles ps (0 to
// 100, in ascending order) as the reference Java HdrHistogram computes
// them: the value at rank ceil(p% of the count), the nearest-rank
// definition, so that at least p% of the recorded values are at or below
// it, reported as the highest value equivalent to it at the histogram's
// precision. hdrhistogram-go's ValueAtPercentile rounds the rank instead,
// which with few values can report the value below the true percentile
// (the 599th of 600 values for p99.9, where Java and this function report
// the 600th). An empty histogram gives zeros.
func Values(h *hdrhistogram.Histogram, ps ...float64) []int64 {
	out := make([]int64, len(ps))
	n := h.TotalCount()
	if n == 0 {
		return out
	}
	ranks := make([]int64, len(ps))
	for i, p := range ps {
		// As AbstractHistogram.getValueAtPercentile: nudge p down by one
		// ulp so that an exact product is not pushed up by rounding.
		p = math.Min(math.Max(math.Nextafter(p, math.Inf(-1)), 0), 100)
		ranks[i] = max(int64(math.Ceil(p*float64(n)/100)), 1)
	}
	var cum int64
	j := 0
	for _, b := range h.Distribution() {
		cum += b.Count
		for j < len(ranks) && cum >= ranks[j] {
			out[j] = b.To
			if ps[j] <= 0 {
				out[j] = b.From
			}
			j++
		}
		if j == len(ranks) {
			break
		}
	}
	return out
}
