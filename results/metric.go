package results

import (
	"math"
	"strconv"
)

// Unit is the unit of a metric's values, as JSON and tables name it.
type Unit string

// Units of the metrics.
const (
	UnitMS      Unit = "ms"
	UnitCount   Unit = "count"
	UnitPercent Unit = "%"
	UnitRate    Unit = "req/s"
)

// Better says which way a metric improves.
type Better int

// Directions of improvement.
const (
	// Lower is better: latency, errors. Bounds on such a metric are upper
	// bounds (<=, <).
	Lower Better = iota
	// Higher is better: the achieved rate. Bounds on it are lower bounds
	// (>=, >).
	Higher
)

// Metric is one number read from a run: what SLOs and gates bound, what
// comparisons and reports show. Metrics is the one list of them.
type Metric struct {
	// Name is how bounds and JSON spell it: "p99", "error_rate".
	Name string
	// Label is how tables print it: "p99.9", "error rate".
	Label  string
	Unit   Unit
	Better Better
	// Value reads the metric from a run's summary. Latencies are the
	// corrected ones, the view SLOs and gates judge.
	Value func(*Run) float64
	// Latency, for a latency metric, reads it from one set of percentiles
	// (corrected or service); nil for the others.
	Latency func(Percentiles) float64
	// Percentile is the percentile a latency metric reads (100 for max);
	// 0 for the mean and the metrics that are no percentile.
	Percentile float64
}

// latency returns the Metric of one corrected-latency statistic.
func latency(name, label string, pc float64, get func(Percentiles) float64) Metric {
	return Metric{Name: name, Label: label, Unit: UnitMS, Better: Lower, Latency: get, Percentile: pc,
		Value: func(r *Run) float64 { return get(r.Latency.Corrected) }}
}

// Metrics lists every metric in table order.
var Metrics = []Metric{
	latency("p50", "p50", 50, func(p Percentiles) float64 { return p.P50 }),
	latency("p90", "p90", 90, func(p Percentiles) float64 { return p.P90 }),
	latency("p95", "p95", 95, func(p Percentiles) float64 { return p.P95 }),
	latency("p99", "p99", 99, func(p Percentiles) float64 { return p.P99 }),
	latency("p999", "p99.9", 99.9, func(p Percentiles) float64 { return p.P999 }),
	latency("max", "max", 100, func(p Percentiles) float64 { return p.Max }),
	latency("mean", "mean", 0, func(p Percentiles) float64 { return p.Mean }),
	{Name: "errors", Label: "errors", Unit: UnitCount, Better: Lower, Value: func(r *Run) float64 { return float64(r.Errors) }},
	{Name: "error_rate", Label: "error rate", Unit: UnitPercent, Better: Lower, Value: ErrorShare},
	{Name: "rate", Label: "rate", Unit: UnitRate, Better: Higher, Value: func(r *Run) float64 { return r.Rate.Achieved }},
}

// LatencyMetrics returns the latency metrics of Metrics, in order.
func LatencyMetrics() []Metric {
	var out []Metric
	for _, m := range Metrics {
		if m.Latency != nil {
			out = append(out, m)
		}
	}
	return out
}

// MetricNamed returns the metric called name.
func MetricNamed(name string) (Metric, bool) {
	for _, m := range Metrics {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

// ErrorShare is the failed requests' share of all the run's requests, in
// percent; 0 for a run without requests.
func ErrorShare(r *Run) float64 {
	if r.Requests <= 0 {
		return 0
	}
	return 100 * float64(r.Errors) / float64(r.Requests)
}

// Format formats a value of the unit for people: milliseconds with about
// three significant digits, counts, percentages, rates per second.
func (u Unit) Format(v float64) string {
	switch u {
	case UnitMS:
		return formatMS(v)
	case UnitCount:
		return FormatFloat(v, 1)
	case UnitPercent:
		return FormatFloat(v, 3) + "%"
	default:
		return FormatFloat(v, 1) + "/s"
	}
}

// formatMS formats milliseconds with about three significant digits.
func formatMS(v float64) string {
	a := math.Abs(v)
	switch {
	case a == 0:
		return "0ms"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64) + "ms"
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64) + "ms"
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64) + "ms"
	default:
		return strconv.FormatFloat(v, 'f', 3, 64) + "ms"
	}
}
