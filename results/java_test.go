package results

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/perf-tools/perf/internal/testenv"
	"github.com/perf-tools/perf/results/resultstest"
)

// TestHlogJavaReference writes latency.hlog files with known values, has the
// reference Java HistogramLogProcessor read them, and checks that its
// percentiles agree with Summarize of the same data, warm-up excluded.
func TestHlogJavaReference(t *testing.T) {
	if _, ok := resultstest.Jar(); !ok {
		testenv.SkipOrFail(t, testenv.Java, "java or HdrHistogram's jar is absent (install default-jre-headless and libhdrhistogram-java)")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	lognormal := func(int) time.Duration {
		// Around 2ms, spanning microseconds to seconds.
		return time.Duration(2e6 * math.Exp(1.2*rng.NormFloat64()))
	}
	for _, tc := range []struct {
		name             string
		warmup, measured int
		perInterval      int
		latency          func(j int) time.Duration
	}{
		{"lognormal", 2, 5, 2000, lognormal},
		// 600 values: p99.9 is rank 599.4, where rounding the rank (599)
		// and the reference's ceiling (600) pick different values.
		{"small-tail", 1, 1, 600, func(j int) time.Duration {
			if j == 599 {
				return 150 * time.Millisecond // the one slow request
			}
			return time.Millisecond + time.Duration(j)*time.Microsecond
		}},
		{"one-value", 0, 1, 1, func(int) time.Duration { return 7 * time.Millisecond }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := map[string]*Interval{TagCorrected: {Corrected: NewHistogram()}, TagService: {Corrected: NewHistogram()}}
			var ivs []Interval
			for i := 0; i < tc.warmup+tc.measured; i++ {
				iv := Interval{
					Start:     testStart.Add(time.Duration(i) * time.Second),
					End:       testStart.Add(time.Duration(i+1) * time.Second),
					Warmup:    i < tc.warmup,
					Corrected: NewHistogram(),
					Service:   NewHistogram(),
					Lag:       NewHistogram(),
				}
				for j := 0; j < tc.perInterval; j++ {
					d := tc.latency(j)
					if iv.Warmup {
						d *= 10 // leaving the warm-up in would show
					}
					Record(iv.Corrected, d)
					Record(iv.Service, d/3)
					Record(iv.Lag, d/100)
				}
				if !iv.Warmup {
					want[TagCorrected].Corrected.Merge(iv.Corrected)
					want[TagService].Corrected.Merge(iv.Service)
				}
				ivs = append(ivs, iv)
			}
			path := filepath.Join(t.TempDir(), HlogFile)
			if err := os.WriteFile(path, writeTestHlog(t, ivs...), 0o644); err != nil {
				t.Fatal(err)
			}
			lg, err := ReadHlogFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, tag := range []string{TagCorrected, TagService} {
				java := resultstest.JavaTotals(t, path, tag, lg.WarmupEnd.Seconds())
				ours := Summarize(want[tag].Corrected)
				if back := Summarize(lg.Total(tag, false)); back != ours {
					t.Errorf("%s: ReadHlog total %+v, want %+v", tag, back, ours)
				}
				if java.Count != want[tag].Corrected.TotalCount() {
					t.Errorf("%s: java counted %d values, want %d", tag, java.Count, want[tag].Corrected.TotalCount())
				}
				for _, c := range []struct {
					name       string
					java, ours float64
				}{
					{"p50", java.P50, ours.P50}, {"p90", java.P90, ours.P90}, {"p99", java.P99, ours.P99},
					{"p99.9", java.P999, ours.P999}, {"max", java.Max, ours.Max},
				} {
					// Both compute the same value from the same buckets; Java
					// prints milliseconds with 3 decimals.
					if math.Abs(c.java-c.ours) > 0.0005+1e-9 {
						t.Errorf("%s %s: java %.3fms, Summarize %.6fms", tag, c.name, c.java, c.ours)
					}
				}
				t.Logf("%s: java p50 %.3f p99 %.3f p99.9 %.3f max %.3f; Summarize p50 %.6f p99 %.6f p99.9 %.6f max %.6f (ms)",
					tag, java.P50, java.P99, java.P999, java.Max, ours.P50, ours.P99, ours.P999, ours.Max)
			}
		})
	}
}
