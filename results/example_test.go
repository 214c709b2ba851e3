package results_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/perf-tools/perf/results"
)

func ExampleParseSLO() {
	slo, err := results.ParseSLO("p99 <= 25ms")
	if err != nil {
		fmt.Println(err)
		return
	}
	run := &results.Run{Latency: results.Latency{Corrected: results.Percentiles{P99: 12.3}}}
	v := slo.Evaluate(run)
	fmt.Println(v.OK, v.Observed)

	_, err = results.ParseSLO("p99 <= 25")
	fmt.Println(err)
	// Output:
	// true p99 12.3ms
	// invalid SLO "p99 <= 25": expected a positive duration with a unit, such as 25ms, after "<=", got "25"
}

func ExampleNewHlogWriter() {
	start := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	var log bytes.Buffer
	hw, err := results.NewHlogWriter(&log, start)
	if err != nil {
		panic(err)
	}
	for i := 0; i < 3; i++ {
		iv := results.Interval{
			Start:     start.Add(time.Duration(i) * time.Second),
			End:       start.Add(time.Duration(i+1) * time.Second),
			Warmup:    i == 0, // logged, but left out of Total below
			Corrected: results.NewHistogram(),
			Service:   results.NewHistogram(),
			Lag:       results.NewHistogram(),
		}
		results.Record(iv.Corrected, time.Duration(i+1)*time.Millisecond)
		if err := hw.WriteInterval(iv); err != nil {
			panic(err)
		}
	}

	lg, err := results.ReadHlog(&log)
	if err != nil {
		panic(err)
	}
	total := lg.Total(results.TagCorrected, false)
	fmt.Println(lg.WarmupEnd, total.TotalCount(), results.Summarize(total).Max)
	// Output:
	// 1s 2 3.000319
}
