package results

import (
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/perf-tools/perf/internal/testenv"
	"github.com/perf-tools/perf/results/resultstest"
)

func TestParseSLOVariant(t *testing.T) {
	good := []struct {
		expr    string
		variant string
		metric  string
		limit   float64
		canon   string
	}{
		{"p99[compact]<=10ms", "compact", "p99", 10, "p99[compact] <= 10ms"},
		{" p99 [ doc-view=full, etag=on ] <= 25ms", "doc-view=full, etag=on", "p99", 25, "p99[doc-view=full, etag=on] <= 25ms"},
		{"errors[B]<=0.1%", "B", "errors", 0.1, "errors[B] <= 0.1%"},
		{"rate[(none)]>=5", "(none)", "rate", 5, "rate[(none)] >= 5"},
		{"p99<=10ms", "", "p99", 10, "p99 <= 10ms"},
	}
	for _, tc := range good {
		b, err := ParseSLO(tc.expr)
		if err != nil {
			t.Errorf("ParseSLO(%q): %v", tc.expr, err)
			continue
		}
		if b.Variant != tc.variant || b.Metric != tc.metric || b.Limit != tc.limit || b.String() != tc.canon {
			t.Errorf("ParseSLO(%q) = variant %q metric %q limit %v canon %q; want %q %q %v %q",
				tc.expr, b.Variant, b.Metric, b.Limit, b.String(), tc.variant, tc.metric, tc.limit, tc.canon)
		}
	}
	bad := []struct{ expr, says string }{
		{"p99[compact<=10ms", "in brackets"},
		{"p99]compact[<=10ms", "in brackets"},
		{"p99[]<=10ms", "one variant name"},
		{"p99[ ]<=10ms", "one variant name"},
		{"p99[a][b]<=10ms", "one variant name"},
		{"p99[a[b]]<=10ms", "one variant name"},
		{"[a]p99<=10ms", "right after the metric"},
		{"p99<=10ms[a]", "right after the metric"},
		{"p99[a]<=+10%", "signed limit"},
		{"lag[a]<=1ms", "a metric"},
	}
	for _, tc := range bad {
		_, err := ParseSLO(tc.expr)
		var be *BoundError
		if !errors.As(err, &be) || be.Expr != tc.expr || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("ParseSLO(%q) = %v, want a BoundError naming the input and saying %q", tc.expr, err, tc.says)
		}
	}
	// A gate compares runs, not variants: perf compare --variants does.
	if _, err := ParseBound("p99[a]<=+10%"); err == nil || !strings.Contains(err.Error(), "--variants") {
		t.Errorf("ParseBound of a variant gate = %v, want an error pointing to --variants", err)
	}
}

// variantRun is a run with variants A (p99 5ms) and B (p99 20ms, one error).
func variantRun() *Run {
	return &Run{
		Name: "ab", Requests: 200, DurationS: 10, SplitBy: "X-Variant",
		StatusCodes: map[string]int64{"200": 199, "500": 1}, Errors: 1,
		Latency: Latency{Corrected: Percentiles{P99: 20}},
		Variants: []Variant{
			{Name: "A", Responses: 100, StatusCodes: map[string]int64{"200": 100}, Latency: Latency{Corrected: Percentiles{P99: 5}}},
			{Name: "B", Responses: 100, Errors: 1, StatusCodes: map[string]int64{"200": 99, "500": 1}, Latency: Latency{Corrected: Percentiles{P99: 20}}},
		},
		Valid: true,
	}
}

func TestEvaluateVariantSLOs(t *testing.T) {
	run := variantRun()
	slos, err := ParseSLOs([]string{"p99<=25ms", "p99[A]<=10ms", "p99[B]<=10ms", "errors[B]<=0", "p99[C]<=10ms"})
	if err != nil {
		t.Fatal(err)
	}
	run.SLO = EvaluateSLOs(slos, run)
	want := []struct {
		ok       bool
		observed string
	}{
		{true, "p99 20ms"},
		{true, "[A] p99 5ms"},
		{false, "[B] p99 20ms"},
		{false, "[B] errors 1"},
		{false, `variant "C" got no response (variants: A, B)`},
	}
	for i, w := range want {
		if v := run.SLO[i]; v.OK != w.ok || v.Observed != w.observed {
			t.Errorf("%s: ok %v observed %q; want %v %q", v.Expr, v.OK, v.Observed, w.ok, w.observed)
		}
	}
	if n := len(run.Variant("A").SLO); n != 1 || !run.Variant("A").SLO[0].OK {
		t.Errorf("variant A's verdicts %+v, want the one that passed", run.Variant("A").SLO)
	}
	if n := len(run.Variant("B").SLO); n != 2 {
		t.Errorf("variant B's verdicts %+v, want two", run.Variant("B").SLO)
	}
	h := Headline(run)
	for _, s := range []string{"3 of 5 SLOs FAILED", "p99[B]<=10ms", "errors[B]<=0", "p99[C]<=10ms"} {
		if !strings.Contains(h, s) {
			t.Errorf("headline %q does not say %q", h, s)
		}
	}
	if strings.Contains(h, "p99[A]") {
		t.Errorf("headline %q names the variant SLO that passed", h)
	}
	// A variant with no response fails a latency bound, as a run does.
	run.Variants[0].Responses = 0
	if v := EvaluateSLOs(slos[1:2], run)[0]; v.OK {
		t.Errorf("p99[A] on a variant with no response passed: %+v", v)
	}
}

func TestEscapeTag(t *testing.T) {
	for in, want := range map[string]string{
		"compact":                    "compact",
		"doc-view=compact, etag=off": "doc-view=compact%2C%20etag=off",
		"(none)":                     "(none)",
		"50%\tgo\n":                  "50%25%09go%0A",
		"é":                          "%C3%A9",
	} {
		if got := EscapeTag(in); got != want {
			t.Errorf("EscapeTag(%q) = %q, want %q", in, got, want)
		}
		back, err := UnescapeTag(EscapeTag(in))
		if err != nil || back != in {
			t.Errorf("UnescapeTag(EscapeTag(%q)) = %q, %v", in, back, err)
		}
	}
	for _, bad := range []string{"%", "%2", "%zz", "a%g1"} {
		if _, err := UnescapeTag(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("UnescapeTag(%q) = %v, want an error naming it", bad, err)
		}
	}
	kind, name, ok := ParseVariantTag(VariantTag(TagService, "a@b, c"))
	if !ok || kind != TagService || name != "a@b, c" {
		t.Errorf("ParseVariantTag round trip = %q %q %v", kind, name, ok)
	}
	for _, tag := range []string{TagCorrected, "lag@x", "corrected", "corrected@%zz"} {
		if _, _, ok := ParseVariantTag(tag); ok {
			t.Errorf("ParseVariantTag(%q) took it for a variant's tag", tag)
		}
	}
}

func FuzzEscapeTag(f *testing.F) {
	for _, s := range []string{"compact", "doc-view=compact, etag=off", "%", "a b\tc", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := EscapeTag(s)
		if strings.ContainsAny(e, ", \t\r\n") {
			t.Fatalf("EscapeTag(%q) = %q holds a comma or whitespace", s, e)
		}
		back, err := UnescapeTag(e)
		if err != nil || back != s {
			t.Fatalf("UnescapeTag(EscapeTag(%q)) = %q, %v", s, back, err)
		}
	})
}

// variantNames are the names the variant tests split by: a whole
// X-Variant value, with a comma and a space, among them.
var variantNames = []string{"doc-view=compact, etag=off", "doc-view=full, etag=off", VariantNone}

// writeVariantRun writes a run directory of seconds one-second intervals
// (the first warm-up) whose responses are split among variantNames, variant
// i's latencies scaled by i+1, and adds the measured samples of each
// variant to ref.
func writeVariantRun(t *testing.T, dir string, start time.Time, seconds int, seed uint64, ref map[string]*hdrhistogram.Histogram) *Run {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	tally := NewTally()
	tally.Window = time.Duration(seconds-1) * time.Second
	var intervals []Interval
	for i := range seconds {
		iv := Interval{
			Start: start.Add(time.Duration(i) * time.Second), End: start.Add(time.Duration(i+1) * time.Second),
			Warmup: i == 0, Corrected: NewHistogram(), Service: NewHistogram(), Lag: NewHistogram(),
		}
		counts := make([]int64, len(variantNames))
		for j, name := range variantNames {
			v := VariantHistograms{Name: name, Corrected: NewHistogram(), Service: NewHistogram()}
			for range 100 + 50*j {
				d := time.Duration(float64(j+1) * rng.ExpFloat64() * float64(time.Millisecond))
				Record(v.Corrected, d)
				Record(v.Service, d/2)
				Record(iv.Corrected, d)
				Record(iv.Service, d/2)
				Record(iv.Lag, 0)
				if !iv.Warmup {
					Record(ref[name], d)
				}
				counts[j]++
				iv.Intended++
			}
			iv.Variants = append(iv.Variants, v)
		}
		if !iv.Warmup {
			tally.AddInterval(iv)
			for j, name := range variantNames {
				vt := tally.Variant(name)
				vt.Responses += counts[j]
				vt.StatusCodes["200"] += counts[j]
				tally.StatusCodes["200"] += counts[j]
			}
		}
		intervals = append(intervals, iv)
	}
	run := &Run{Schema: Schema, Name: "variants", StartedAt: start, WarmupS: 1, SplitBy: "X-Variant", Valid: true}
	tally.Fill(run)
	slos, err := ParseSLOs([]string{"p99[doc-view=compact, etag=off]<=100ms"})
	if err != nil {
		t.Fatal(err)
	}
	run.SLO = EvaluateSLOs(slos, run)
	writeRunDir(t, dir, run, intervals)
	return run
}

func newVariantRef() map[string]*hdrhistogram.Histogram {
	ref := map[string]*hdrhistogram.Histogram{}
	for _, n := range variantNames {
		ref[n] = NewHistogram()
	}
	return ref
}

// TestVariantsInHlog writes a split run and reads its variants' tags back,
// with our reader and with the reference Java one.
func TestVariantsInHlog(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	ref := newVariantRef()
	run := writeVariantRun(t, dir, testStart, 4, 1, ref)
	if len(run.Variants) != 3 || run.Variants[2].Name != VariantNone {
		t.Fatalf("variants %v, want 3 with (none) last", run.VariantNames())
	}
	back, err := ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.SplitBy != "X-Variant" || len(back.Variants) != 3 || back.Variants[0].SLO[0].OK != true {
		t.Fatalf("run.json read back: split %q variants %+v", back.SplitBy, back.Variants)
	}
	lg, err := ReadHlogFile(filepath.Join(dir, HlogFile))
	if err != nil {
		t.Fatal(err)
	}
	if !containsTag(lg.Tags, "corrected@doc-view=compact%2C%20etag=off") {
		t.Fatalf("tags %v, want the escaped variant's", lg.Tags)
	}
	_, java := resultstest.Jar()
	for _, name := range variantNames {
		want := Summarize(ref[name])
		got := run.Variant(name)
		if got.Latency.Corrected != want || got.Responses != ref[name].TotalCount() {
			t.Errorf("%s: run.json %+v (%d responses), want %+v (%d)", name, got.Latency.Corrected, got.Responses, want, ref[name].TotalCount())
		}
		tag := VariantTag(TagCorrected, name)
		if s := Summarize(lg.Total(tag, false)); s != want {
			t.Errorf("%s: hlog total %+v, want %+v", tag, s, want)
		}
		if !java {
			continue
		}
		tot := resultstest.JavaTotals(t, filepath.Join(dir, HlogFile), tag, lg.WarmupEnd.Seconds())
		if tot.Count != ref[name].TotalCount() || math.Abs(tot.P99-want.P99) > 0.0005+1e-9 || math.Abs(tot.Max-want.Max) > 0.0005+1e-9 {
			t.Errorf("%s: java count %d p99 %.3f max %.3f; want %d %.6f %.6f", tag, tot.Count, tot.P99, tot.Max, ref[name].TotalCount(), want.P99, want.Max)
		}
	}
	if !java {
		testenv.SkipOrFail(t, testenv.Java, "java or HdrHistogram's jar is absent: the variants' tags were not read by the reference reader")
	}
}

func containsTag(tags []string, tag string) bool {
	for _, t := range tags {
		if t == tag {
			return true
		}
	}
	return false
}

func TestMergeVariants(t *testing.T) {
	tmp := t.TempDir()
	ref := newVariantRef()
	a, b := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	ra := writeVariantRun(t, a, testStart, 3, 1, ref)
	rb := writeVariantRun(t, b, testStart.Add(200*time.Millisecond), 4, 2, ref)
	out := filepath.Join(tmp, "out")
	if err := Merge([]string{a, b}, out, WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	m, err := ReadRun(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.SplitBy != "X-Variant" || len(m.Variants) != len(variantNames) {
		t.Fatalf("merged split %q variants %v", m.SplitBy, m.VariantNames())
	}
	for _, name := range variantNames {
		v := m.Variant(name)
		if v == nil {
			t.Fatalf("merged run lacks variant %q", name)
		}
		if want := ra.Variant(name).Responses + rb.Variant(name).Responses; v.Responses != want || v.StatusCodes["200"] != want {
			t.Errorf("%s: merged %d responses (%v), want %d", name, v.Responses, v.StatusCodes, want)
		}
		if want := Summarize(ref[name]); v.Latency.Corrected != want {
			t.Errorf("%s: merged corrected %+v, want %+v", name, v.Latency.Corrected, want)
		}
	}
	if len(m.SLO) != 1 || len(m.Variants[0].SLO) != 1 {
		t.Errorf("merged SLOs %+v, variant's %+v; want the variant SLO evaluated again", m.SLO, m.Variants[0].SLO)
	}
	lg := readMergedHlog(t, out)
	tag := VariantTag(TagCorrected, variantNames[1])
	if got, want := lg.Total(tag, false).TotalCount(), ref[variantNames[1]].TotalCount(); got != want {
		t.Errorf("merged hlog %s holds %d measured values, want %d", tag, got, want)
	}
}
