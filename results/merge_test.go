package results

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/perf-tools/perf/internal/testenv"
	"github.com/perf-tools/perf/results/resultstest"
)

// mergeGen describes one generator's run, built from known samples.
type mergeGen struct {
	name    string
	start   time.Time
	seconds int // intervals of one second; the first is warm-up
	perSec  int // samples a second
	seed    uint64
	valid   bool
	reason  string
	errs    int64 // errors a second
}

// mergeRef accumulates the measured samples of every generator, recorded
// directly: the reference the merged run must equal.
type mergeRef struct {
	corrected, service, lag *hdrhistogram.Histogram
}

func newMergeRef() *mergeRef {
	return &mergeRef{NewHistogram(), NewHistogram(), NewHistogram()}
}

// writeGenRun writes g's run directory under parent with the results
// writers and records its measured samples into ref.
func writeGenRun(t *testing.T, parent string, g mergeGen, ref *mergeRef) string {
	t.Helper()
	dir := filepath.Join(parent, g.name)
	rng := rand.New(rand.NewPCG(g.seed, 1))
	var intervals []Interval
	total := NewHistogram()
	var requests, errors int64
	for i := range g.seconds {
		iv := Interval{
			Start: g.start.Add(time.Duration(i) * time.Second), End: g.start.Add(time.Duration(i+1) * time.Second),
			Warmup:    i == 0,
			Corrected: NewHistogram(), Service: NewHistogram(), Lag: NewHistogram(),
			Intended: int64(g.perSec) + 3, Unsent: 3, Errors: g.errs,
		}
		for range g.perSec {
			d := time.Duration(rng.ExpFloat64() * float64(2*time.Millisecond))
			Record(iv.Corrected, d)
			Record(iv.Service, d/2)
			Record(iv.Lag, d/10)
			if !iv.Warmup {
				Record(ref.corrected, d)
				Record(ref.service, d/2)
				Record(ref.lag, d/10)
			}
		}
		if !iv.Warmup {
			total.Merge(iv.Corrected)
			requests += iv.Sent()
			errors += iv.Errors
		}
		intervals = append(intervals, iv)
	}
	measured := float64(g.seconds - 1)
	run := &Run{
		Name: g.name, StartedAt: g.start, DurationS: measured, WarmupS: 1,
		Target:   "http://127.0.0.1:8080/v1/items/{key}",
		Rate:     Rate{Target: float64(g.perSec + 3), Achieved: float64(requests) / measured, Plan: "100/s"},
		Requests: requests, Errors: errors,
		StatusCodes: map[string]int64{"200": requests - errors, "503": errors},
		ErrorKinds:  map[string]int64{"timeout": 1},
		Latency:     Latency{Corrected: Summarize(total)},
		Valid:       g.valid,
		SLO:         []Verdict{{Expr: "p99<=1000ms", OK: true}},
		Generator:   Generator{CPUMeanPercent: 10, CPUMaxPercent: 20, Workers: 4, MaxLagMS: 5},
		Warnings:    []string{"pprof cpu: refused"},
	}
	if g.reason != "" {
		run.InvalidReasons = []string{g.reason}
	}
	writeRunDir(t, dir, run, intervals)
	host := &HostSamples{Start: g.start, IntervalS: 1, Generator: []HostSample{{T: 1, ProcCPUPercent: 10}}}
	if err := WriteHostSamples(filepath.Join(dir, HostFile), host); err != nil {
		t.Fatal(err)
	}
	return dir
}

func readMergedHlog(t *testing.T, dir string) *Hlog {
	t.Helper()
	lg, err := ReadHlogFile(filepath.Join(dir, HlogFile))
	if err != nil {
		t.Fatal(err)
	}
	return lg
}

func TestMerge(t *testing.T) {
	tmp := t.TempDir()
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 200e6, time.UTC)
	ref := newMergeRef()
	a := writeGenRun(t, tmp, mergeGen{name: "gen-a", start: t0, seconds: 5, perSec: 100, seed: 1, valid: true, errs: 1}, ref)
	b := writeGenRun(t, tmp, mergeGen{name: "gen-b", start: t0.Add(250 * time.Millisecond), seconds: 5, perSec: 70,
		seed: 2, valid: false, reason: "generator saturated", errs: 2}, ref)
	out := filepath.Join(tmp, "merged")

	if err := Merge([]string{a, b}, out, WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	run, err := ReadRun(out)
	if err != nil {
		t.Fatal(err)
	}
	ra, _ := ReadRun(a)
	rb, _ := ReadRun(b)

	// Counts are the sums.
	if run.Requests != ra.Requests+rb.Requests || run.Requests != 4*170 {
		t.Errorf("requests %d, want %d", run.Requests, ra.Requests+rb.Requests)
	}
	if run.Errors != ra.Errors+rb.Errors {
		t.Errorf("errors %d, want %d", run.Errors, ra.Errors+rb.Errors)
	}
	wantCodes := map[string]int64{"200": ra.StatusCodes["200"] + rb.StatusCodes["200"], "503": 12}
	if !reflect.DeepEqual(run.StatusCodes, wantCodes) || run.ErrorKinds["timeout"] != 2 {
		t.Errorf("codes %v kinds %v, want %v and timeout 2", run.StatusCodes, run.ErrorKinds, wantCodes)
	}
	if run.Rate.Target != 176 || run.Rate.Achieved != ra.Rate.Achieved+rb.Rate.Achieved {
		t.Errorf("rate %+v", run.Rate)
	}

	// The percentiles are exactly those of all the measured samples.
	if want := Summarize(ref.corrected); run.Latency.Corrected != want {
		t.Errorf("corrected %+v, want %+v", run.Latency.Corrected, want)
	}
	if want := Summarize(ref.service); run.Latency.Service != want {
		t.Errorf("service %+v, want %+v", run.Latency.Service, want)
	}
	if want := SummarizeLag(ref.lag); run.Lag != want {
		t.Errorf("lag %+v, want %+v", run.Lag, want)
	}

	// Validity is the AND; reasons name their source.
	if run.Valid || !slices.Contains(run.InvalidReasons, b+": generator saturated") {
		t.Errorf("valid %v reasons %q", run.Valid, run.InvalidReasons)
	}
	if !slices.Contains(run.Warnings, a+": pprof cpu: refused") {
		t.Errorf("warnings %q", run.Warnings)
	}
	if len(run.SLO) != 1 || run.SLO[0].Expr != "p99<=1000ms" || !run.SLO[0].OK || run.SLO[0].Observed == "" {
		t.Errorf("slo %+v", run.SLO)
	}
	if run.Generator.Workers != 8 || run.Generator.CPUMaxPercent != 20 {
		t.Errorf("generator %+v", run.Generator)
	}

	// The merged log: one interval a second, the histograms added.
	lg := readMergedHlog(t, out)
	ivs := lg.Intervals[TagCorrected]
	if len(ivs) != 5 || !lg.StartTime.Equal(t0.Truncate(time.Second)) {
		t.Fatalf("%d merged intervals from %v, want 5 from %v", len(ivs), lg.StartTime, t0.Truncate(time.Second))
	}
	for i, iv := range ivs {
		if iv.Histogram.TotalCount() != 170 || iv.Warmup != (i == 0) || iv.Start != time.Duration(i)*time.Second {
			t.Errorf("interval %d: start %v count %d warmup %v", i, iv.Start, iv.Histogram.TotalCount(), iv.Warmup)
		}
	}
	for tag, h := range map[string]*hdrhistogram.Histogram{TagCorrected: ref.corrected, TagService: ref.service, TagLag: ref.lag} {
		got := lg.Total(tag, false)
		if got.TotalCount() != h.TotalCount() || !reflect.DeepEqual(got.CumulativeDistribution(), h.CumulativeDistribution()) {
			t.Errorf("merged %s log differs from the union of the samples", tag)
		}
	}

	// The timeline is recomputed from the merged seconds.
	tf, err := os.Open(filepath.Join(out, TimelineFile))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ReadTimeline(tf)
	tf.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 {
		t.Fatalf("%d timeline rows, want 5", len(rows))
	}
	// Each merged second holds both generators' histograms of that second,
	// and its row is the one the timeline writer makes of it.
	la, lb := readMergedHlog(t, a), readMergedHlog(t, b)
	var want bytes.Buffer
	tw := NewTimelineWriter(&want)
	for i, r := range rows {
		if r.Second != float64(i) || r.Intended != 176 || r.Unsent != 6 || r.LengthS != 1 || r.Errors != 3 || r.Warmup != (i == 0) {
			t.Errorf("row %d: %+v", i, r)
		}
		sum := NewHistogram()
		sum.Merge(la.Intervals[TagCorrected][i].Histogram)
		sum.Merge(lb.Intervals[TagCorrected][i].Histogram)
		if !reflect.DeepEqual(sum.CumulativeDistribution(), ivs[i].Histogram.CumulativeDistribution()) {
			t.Errorf("merged second %d is not the sum of the generators' seconds", i)
		}
		lag := NewHistogram()
		lag.Merge(la.Intervals[TagLag][i].Histogram)
		lag.Merge(lb.Intervals[TagLag][i].Histogram)
		start := t0.Truncate(time.Second).Add(time.Duration(i) * time.Second)
		tw.WriteInterval(Interval{Start: start, End: start.Add(time.Second), Warmup: i == 0,
			Corrected: sum, Lag: lag, Intended: 176, Unsent: 6, Errors: 3})
	}
	if got, _ := os.ReadFile(filepath.Join(out, TimelineFile)); string(got) != want.String() {
		t.Errorf("timeline.csv:\n%s\nwant:\n%s", got, want.String())
	}

	// host.json keeps each generator's samples under its name.
	h, err := ReadHostSamples(filepath.Join(out, HostFile))
	if err != nil {
		t.Fatal(err)
	}
	if g := h.Generators(); len(g) != 2 || len(g["gen-a"]) != 1 || len(g["gen-b"]) != 1 {
		t.Errorf("host parts: %v", g)
	} else if !h.Start.Equal(t0) || g["gen-a"][0].T != 1 || g["gen-b"][0].T != 1.25 {
		// Every part counts from the merged start.
		t.Errorf("host start %v, sample times %v and %v; want %v, 1 and 1.25", h.Start, g["gen-a"][0].T, g["gen-b"][0].T, t0)
	}

	// A merged run merges again like any other run.
	ref2 := newMergeRef()
	c := writeGenRun(t, tmp, mergeGen{name: "gen-c", start: t0.Add(100 * time.Millisecond), seconds: 5, perSec: 30, seed: 3, valid: true}, ref2)
	out2 := filepath.Join(tmp, "merged2")
	if err := Merge([]string{out, c}, out2, WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	run2, err := ReadRun(out2)
	if err != nil {
		t.Fatal(err)
	}
	ref.corrected.Merge(ref2.corrected)
	if run2.Requests != 4*200 || run2.Latency.Corrected != Summarize(ref.corrected) {
		t.Errorf("second merge: requests %d, corrected %+v", run2.Requests, run2.Latency.Corrected)
	}
	h2, err := ReadHostSamples(filepath.Join(out2, HostFile))
	if err != nil {
		t.Fatal(err)
	}
	if g := h2.Generators(); len(g) != 3 || g["merged/gen-a"] == nil {
		t.Errorf("host parts after a second merge: %v", slices.Sorted(func(yield func(string) bool) {
			for k := range g {
				if !yield(k) {
					return
				}
			}
		}))
	}
}

func TestMergeMisaligned(t *testing.T) {
	tmp := t.TempDir()
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	ref := newMergeRef()
	a := writeGenRun(t, tmp, mergeGen{name: "a", start: t0, seconds: 4, perSec: 10, seed: 1, valid: true}, ref)
	b := writeGenRun(t, tmp, mergeGen{name: "b", start: t0.Add(2 * time.Second), seconds: 4, perSec: 10, seed: 2, valid: true}, ref)
	out := filepath.Join(tmp, "out")
	if err := Merge([]string{a, b}, out, WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	run, err := ReadRun(out)
	if err != nil {
		t.Fatal(err)
	}
	// The summary is still the union of the measured samples.
	if !run.Valid || run.Latency.Corrected != Summarize(ref.corrected) {
		t.Errorf("valid %v corrected %+v, want %+v", run.Valid, run.Latency.Corrected, Summarize(ref.corrected))
	}
	found := false
	for _, w := range run.Warnings {
		found = found || strings.Contains(w, "started up to 2s apart")
	}
	if !found {
		t.Errorf("no warning about the start spread: %q", run.Warnings)
	}
	lg := readMergedHlog(t, out)
	if n := len(lg.Intervals[TagCorrected]); n != 6 {
		t.Errorf("%d merged seconds, want 6", n)
	}
}

func TestMergeBadInput(t *testing.T) {
	tmp := t.TempDir()
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	ref := newMergeRef()
	a := writeGenRun(t, tmp, mergeGen{name: "a", start: t0, seconds: 2, perSec: 5, seed: 1, valid: true}, ref)
	b := writeGenRun(t, tmp, mergeGen{name: "b", start: t0, seconds: 2, perSec: 5, seed: 2, valid: true}, ref)
	notRun := filepath.Join(tmp, "empty")
	os.Mkdir(notRun, 0o755)
	full := filepath.Join(tmp, "full")
	os.Mkdir(full, 0o755)
	os.WriteFile(filepath.Join(full, "x"), nil, 0o644)
	noTimeline := filepath.Join(tmp, "notimeline")
	os.Mkdir(noTimeline, 0o755)
	for _, name := range []string{RunFile, HlogFile} {
		data, _ := os.ReadFile(filepath.Join(a, name))
		os.WriteFile(filepath.Join(noTimeline, name), data, 0o644)
	}

	for _, tc := range []struct {
		dirs []string
		out  string
		want string
	}{
		{[]string{a}, filepath.Join(tmp, "o1"), "expected at least 2"},
		{[]string{a, b}, "", "no output directory"},
		{[]string{a, notRun}, filepath.Join(tmp, "o2"), "not a perf run directory"},
		{[]string{a, filepath.Join(tmp, "missing")}, filepath.Join(tmp, "o3"), "no such directory"},
		{[]string{a, noTimeline}, filepath.Join(tmp, "o4"), TimelineFile},
		{[]string{a, b}, full, "not empty"},
		{[]string{a, b}, filepath.Join(a, RunFile), "not a directory"},
	} {
		err := Merge(tc.dirs, tc.out, WriterOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Merge(%v, %q) error = %v, want %q", tc.dirs, tc.out, err, tc.want)
		}
	}
	for _, o := range []string{"o1", "o2", "o3", "o4"} {
		if _, err := os.Stat(filepath.Join(tmp, o)); err == nil {
			t.Errorf("failed merge left %s behind", o)
		}
	}
}

// TestMergeJavaReader checks the merged latency.hlog with the reference
// HistogramLogProcessor: it reads every merged sample.
func TestMergeJavaReader(t *testing.T) {
	if _, ok := resultstest.Jar(); !ok {
		testenv.SkipOrFail(t, testenv.Java, "java or HdrHistogram's jar is absent")
	}
	tmp := t.TempDir()
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 300e6, time.UTC)
	ref := newMergeRef()
	a := writeGenRun(t, tmp, mergeGen{name: "a", start: t0, seconds: 4, perSec: 50, seed: 5, valid: true}, ref)
	b := writeGenRun(t, tmp, mergeGen{name: "b", start: t0.Add(150 * time.Millisecond), seconds: 4, perSec: 40, seed: 6, valid: true}, ref)
	out := filepath.Join(tmp, "out")
	if err := Merge([]string{a, b}, out, WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	// From second 1: the warm-up second left out, as in run.json.
	tot := resultstest.JavaTotals(t, filepath.Join(out, HlogFile), TagCorrected, 1)
	if tot.Count != ref.corrected.TotalCount() {
		t.Errorf("java read %d samples, want %d", tot.Count, ref.corrected.TotalCount())
	}
	if want := float64(ref.corrected.Max()) / 1e6; math.Abs(tot.Max-want) > 0.001 {
		t.Errorf("java max %v ms, want %v", tot.Max, want)
	}
}
