package main

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/perf-tools/perf/internal/testenv"
	"github.com/perf-tools/perf/results"
)

// variantTestRun is compareTestRun split into variants full (p99 10ms x
// scale) and compact (p99 10ms x scale x slower).
func variantTestRun(name string, scale, slower float64) *results.Run {
	r := compareTestRun(name, scale)
	r.SplitBy = "X-Variant:doc-view"
	full := compareTestRun(name, scale)
	comp := compareTestRun(name, scale*slower)
	r.Variants = []results.Variant{
		{Name: "compact", Responses: 15000, StatusCodes: map[string]int64{"200": 15000}, RateAchieved: 500, Latency: comp.Latency, SLO: []results.Verdict{}},
		{Name: "full", Responses: 14994, StatusCodes: map[string]int64{"200": 14994}, RateAchieved: 499.8, Latency: full.Latency, SLO: []results.Verdict{}},
	}
	return r
}

// TestCompareVariants compares two variants of repeated runs as two sides:
// five runs whose compact variant is 30% slower than their full one fail a
// p99 gate, significantly; a variant the runs lack is a usage error.
func TestCompareVariants(t *testing.T) {
	root := t.TempDir()
	for i, s := range []float64{1, 1.01, 0.99, 1.02, 0.98} {
		writeCompareRun(t, filepath.Join(root, "ab", fmt.Sprintf("r%d", i+1)), variantTestRun("ab", s, 1.3))
		writeCompareRun(t, filepath.Join(root, "same", fmt.Sprintf("r%d", i+1)), variantTestRun("same", s, 1))
	}
	code, out, errOut := runCompareCLI(t, "compare", "--control", "full", "--treatment", "compact", filepath.Join(root, "ab"), "--gate", "p99<=+10%")
	if code != exitGate || !strings.Contains(out, "p=0.008 n=5+5") || !strings.Contains(out, "[full]") || !strings.Contains(out, "[compact]") {
		t.Fatalf("compact 30%% slower than full in 5 runs: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runCompareCLI(t, "compare", "--control", "full", "--treatment", "compact", filepath.Join(root, "same", "r*"), "--gate", "p99<=+10%")
	if code != exitOK {
		t.Fatalf("variants alike: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"--control", "full", "--treatment", "lean", filepath.Join(root, "ab", "r1")}, `--treatment: run ` + filepath.Join(root, "ab", "r1") + `: variant "lean" got no response (expected one of: compact, full)`},
		{[]string{"--control", "full", filepath.Join(root, "ab")}, "--control and --treatment are both needed"},
		{[]string{"--control", "full", "--treatment", "full", filepath.Join(root, "ab")}, "expected two variants"},
		{[]string{"--control", "full", "--treatment", "compact"}, "need the runs as arguments"},
		{[]string{"--control", "full", "--treatment", "compact", "--base", filepath.Join(root, "ab")}, "drop --base and --candidate"},
	} {
		code, out, errOut := runCompareCLI(t, append([]string{"compare"}, tc.args...)...)
		if code != exitUsage || !strings.Contains(errOut, tc.says) {
			t.Errorf("compare %v: exit %d, stderr %q; want %d saying %q\n%s", tc.args, code, errOut, exitUsage, tc.says, out)
		}
	}
}

func TestAttackVariantUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"--url", "http://127.0.0.1:1/", "-H", "X-User-Id: {key}"}, `header "X-User-Id: {key}" has {key} but no key space was given`},
		{[]string{"--url", "http://127.0.0.1:1/", "--split-by", "X Variant"}, `--split-by: split-by "X Variant"`},
		{[]string{"--url", "http://127.0.0.1:1/", "--slo", "p99[B]<=10ms"}, `--slo "p99[B]<=10ms" bounds variant "B"`},
		{[]string{"--url", "http://127.0.0.1:1/", "--split-by", "X-Variant", "--slo", "p99[B<=10ms"}, `invalid SLO "p99[B<=10ms"`},
	} {
		code, out, errOut := perf(t, append([]string{"attack", "--out-dir", t.TempDir(), "--duration", "1s"}, tc.args...)...)
		if code != exitUsage || !strings.Contains(errOut, tc.says) {
			t.Errorf("attack %v: exit %d, stderr %q; want %d saying %q\n%s", tc.args, code, errOut, exitUsage, tc.says, out)
		}
	}
}

// TestE2EAttackSplitByVariant attacks a server that puts each user (the
// X-User-Id header, a key of the key space) in variant A or B by a hash,
// names it in X-Variant as perf serve does, and answers B delay later.
// B's p99 cannot be below the delay; A's is far below it on loopback.
// The run's two variants must show the delay in their p99s, a variant SLO
// must pass for A and fail for B (exit 3, the headline naming it), and
// perf compare --control A --treatment B must see B slower.
func TestE2EAttackSplitByVariant(t *testing.T) {
	testenv.SkipUnderRace(t)
	const delay = 20 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := fnv.New32a()
		h.Write([]byte(r.Header.Get("X-User-Id")))
		v := "A"
		if h.Sum32()%2 == 1 {
			v = "B"
			time.Sleep(delay)
		}
		w.Header().Set("X-Variant", "exp="+v+", etag=off")
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	out := t.TempDir()
	code, stdout, stderr := perf(t, "attack", "--url", srv.URL+"/v1/items/{key}", "--keys", "uniform:1000",
		"-H", "X-User-Id: {key}", "--split-by", "X-Variant:exp", "--rate", "200", "--duration", "2s", "--warmup", "500ms",
		"--out-dir", out, "--name", "ab", "--tune-profile", "",
		// The run judges the variants, not the generator: a busy shared
		// machine's send lag must not make it invalid (exit 5).
		"--max-lag", "20ms",
		"--slo", "p99[A]<=12ms", "--slo", "p99[B]<=12ms")
	if code != exitGate {
		t.Fatalf("exit %d, want %d (the SLO on B fails)\n%s\n%s", code, exitGate, stdout, stderr)
	}
	t.Logf("report:\n%s", stdout)
	dir := onlyRunDir(t, out)
	run := readRunJSON(t, dir)
	a, b := run.Variant("A"), run.Variant("B")
	if a == nil || b == nil || len(run.Variants) != 2 || a.Responses+b.Responses != run.Responses() {
		t.Fatalf("variants %+v, want A and B holding the run's %d responses", run.Variants, run.Responses())
	}
	ms := float64(delay) / 1e6
	if b.Latency.Service.P99 < ms || b.Latency.Corrected.P99 < ms || a.Latency.Corrected.P99 >= ms {
		t.Errorf("p99 corrected A %.3fms B %.3fms, service B %.3fms; want B at least the %v delay, A below it",
			a.Latency.Corrected.P99, b.Latency.Corrected.P99, b.Latency.Service.P99, delay)
	}
	if len(a.SLO) != 1 || !a.SLO[0].OK || len(b.SLO) != 1 || b.SLO[0].OK {
		t.Errorf("verdicts A %+v B %+v; want A's to pass, B's to fail", a.SLO, b.SLO)
	}
	if !strings.Contains(stdout, "variant SLOs FAILED: p99[B]<=12ms") || !strings.Contains(stdout, "Variants (X-Variant:exp)") {
		t.Errorf("the report does not name the failed variant SLO or show the variants:\n%s", stdout)
	}
	lg, err := results.ReadHlogFile(filepath.Join(dir, results.HlogFile))
	if err != nil {
		t.Fatal(err)
	}
	if n := lg.Total(results.VariantTag(results.TagCorrected, "B"), false).TotalCount(); n != b.Responses {
		t.Errorf("latency.hlog holds %d measured responses of B, run.json %d", n, b.Responses)
	}
	code, stdout, stderr = perf(t, "compare", "--control", "A", "--treatment", "B", dir, "--gate", "p99<=+1ms")
	if code != exitGate || !strings.Contains(stdout, dir+" [B]") {
		t.Errorf("compare B against A: exit %d, want %d\n%s\n%s", code, exitGate, stdout, stderr)
	}
}

// TestE2EAttackSplitByServeExperiment is the per-variant test against the
// real perf serve: an experiment whose "slow" variant has a delay the test
// sets, attacked with a user per key and split by the X-Variant member of
// that experiment. The slow variant's p99 must be at least the delay, the
// other's below it, and the split must match the flag's weights.
func TestE2EAttackSplitByServeExperiment(t *testing.T) {
	testenv.SkipUnderRace(t)
	const delay = 15 * time.Millisecond
	flagsPath := filepath.Join(t.TempDir(), "flags.json")
	os.WriteFile(flagsPath, fmt.Appendf(nil, `{"flags": {"exp": {"state": "ENABLED", "defaultVariant": "fast",
		"variants": {"fast": {"view": "compact"}, "slow": {"delay": %q}},
		"targeting": {"fractional": [["fast", 70], ["slow", 30]]}}}}`, delay.String()), 0o644)
	p := startServeProc(t, nil, "--data", t.TempDir(), "--seed", "1000", "--flags", flagsPath, "--user-header", "X-User-Id")
	p.waitReady()
	out := t.TempDir()
	code, stdout, stderr := perf(t, "attack", "--url", p.publicURL+"/v1/items/{key}", "--keys", "uniform:1000",
		"-H", "X-User-Id: {key}", "--split-by", "X-Variant:exp", "--rate", "300", "--duration", "3s",
		"--out-dir", out, "--name", "experiment", "--max-lag", "1s",
		"--slo", "p99[fast]<=10ms", "--slo", "p99[slow]<=10ms")
	if code != exitGate {
		t.Fatalf("exit %d, want %d (the SLO on the slow variant fails)\n%s\n%s", code, exitGate, stdout, stderr)
	}
	t.Logf("report:\n%s", stdout)
	run := readRunJSON(t, onlyRunDir(t, out))
	fast, slow := run.Variant("fast"), run.Variant("slow")
	if fast == nil || slow == nil || len(run.Variants) != 2 || fast.Responses+slow.Responses != run.Responses() {
		t.Fatalf("variants %+v, want fast and slow holding the run's %d responses", run.Variants, run.Responses())
	}
	ms := float64(delay) / 1e6
	if slow.Latency.Service.P50 < ms || fast.Latency.Corrected.P99 >= ms {
		t.Errorf("corrected p99 fast %.3fms slow %.3fms, service p50 slow %.3fms; want slow's at least the %v delay, fast's below it",
			fast.Latency.Corrected.P99, slow.Latency.Corrected.P99, slow.Latency.Service.P50, delay)
	}
	// 900 users' keys drawn uniformly from 1000: the slow share is near
	// the flag's 30%.
	share := float64(slow.Responses) / float64(run.Responses())
	if share < 0.2 || share > 0.4 {
		t.Errorf("slow variant served %.0f%% of responses, want about 30%%", share*100)
	}
	// perf serve counted the same split.
	served := promSamples(t, p.adminURL+"/metrics", "perf_serve_variant_requests_total")
	if got := served[`{code="200",flag="exp",variant="slow"}`]; got != float64(slow.Responses) {
		t.Errorf("perf serve counted %v slow responses, perf attack %d", got, slow.Responses)
	}
}
