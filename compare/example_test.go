package compare_test

import (
	"fmt"
	"os"

	"github.com/perf-tools/perf/compare"
	"github.com/perf-tools/perf/results"
)

func ExampleRuns() {
	run := func(name string, p99 float64) *results.Run {
		return &results.Run{
			Schema: results.Schema, Name: name, Valid: true, Requests: 30000,
			Rate:    results.Rate{Target: 1000, Achieved: 1000},
			Latency: results.Latency{Corrected: results.Percentiles{P50: 2, P90: 5, P95: 7, P99: p99, P999: 2 * p99, Max: 4 * p99, Mean: 2.5}},
		}
	}
	gates, err := results.ParseBounds([]string{"p99<=+10%", "errors<=0"})
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := compare.Runs([]*results.Run{run("base", 10)}, []*results.Run{run("candidate", 13)}, gates, compare.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, g := range c.Gates {
		fmt.Printf("%s ok=%v observed %s\n", g.Gate, g.OK, g.Observed)
	}
	_ = c.WriteText(os.Stdout)
	// Output:
	// p99<=+10% ok=false observed +30.0% (10.0ms -> 13.0ms)
	// errors<=0 ok=true observed 0
	// base:      base
	// candidate: candidate
	//
	// metric      base    candidate  delta
	// p50         2.00ms  2.00ms     +0ms (+0.0%)
	// p90         5.00ms  5.00ms     +0ms (+0.0%)
	// p95         7.00ms  7.00ms     +0ms (+0.0%)
	// p99         10.0ms  13.0ms     +3.00ms (+30.0%)
	// p99.9       20.0ms  26.0ms     +6.00ms (+30.0%)
	// max         40.0ms  52.0ms     +12.0ms (+30.0%)
	// mean        2.50ms  2.50ms     +0ms (+0.0%)
	// errors      0       0          +0 (+0.0%)
	// error rate  0%      0%         +0% (+0.0%)
	// rate        1000/s  1000/s     +0/s (+0.0%)
	//
	// gates:
	//   FAIL  p99<=+10%  observed +30.0% (10.0ms -> 13.0ms), allowed <= +10%
	//   PASS  errors<=0  observed 0, allowed <= 0
	//
	// result: FAIL (1 of 2 gates failed)
}

func Example_bound() {
	for _, expr := range []string{"p999 <= +5ms", "rate>=-1%", "p99<=10%"} {
		g, err := results.ParseBound(expr)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s: relative=%v percent=%v limit=%v\n", g, g.Relative, g.Percent, g.Limit)
	}
	// Output:
	// p999 <= +5ms: relative=true percent=false limit=5
	// rate >= -1%: relative=true percent=true limit=-1
	// invalid gate "p99<=10%": expected a signed relative limit such as +10% (a change from the base), got "10%"
}
