package results

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/perf-tools/perf/results/resultstest"
)

// TestHlogJavaReference writes a latency.hlog with known values, has the
// reference Java HistogramLogProcessor read it, and checks that its
// percentiles agree with Summarize of the same data, warm-up excluded.
func TestHlogJavaReference(t *testing.T) {
	if _, ok := resultstest.Jar(); !ok {
		t.Skip("java or HdrHistogram's jar is absent (install default-jre-headless and libhdrhistogram-java)")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const warmup, measured = 2, 5
	want := map[string]*Interval{TagCorrected: {Corrected: NewHistogram()}, TagService: {Corrected: NewHistogram()}}
	var ivs []Interval
	for i := 0; i < warmup+measured; i++ {
		iv := Interval{
			Start:     testStart.Add(time.Duration(i) * time.Second),
			End:       testStart.Add(time.Duration(i+1) * time.Second),
			Warmup:    i < warmup,
			Corrected: NewHistogram(),
			Service:   NewHistogram(),
			Lag:       NewHistogram(),
		}
		for j := 0; j < 2000; j++ {
			// Log-normal around 2ms, spanning microseconds to seconds; the
			// warm-up is ten times slower, so leaving it in would show.
			d := time.Duration(2e6 * math.Exp(1.2*rng.NormFloat64()))
			if iv.Warmup {
				d *= 10
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
		back := Summarize(lg.Total(tag, false))
		if back != ours {
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
			// Java prints milliseconds with 3 decimals; both read the same
			// buckets, so beyond that rounding only HdrHistogram's 3
			// significant digits may differ.
			if tol := 0.0005 + c.ours*1e-3; math.Abs(c.java-c.ours) > tol {
				t.Errorf("%s %s: java %.3fms, Summarize %.6fms (tolerance %.4fms)", tag, c.name, c.java, c.ours, tol)
			}
		}
		t.Logf("%s: java p50 %.3f p99 %.3f max %.3f; Summarize p50 %.6f p99 %.6f max %.6f (ms)",
			tag, java.P50, java.P99, java.Max, ours.P50, ours.P99, ours.Max)
	}
}
