package results

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cmpRun returns a realistic run whose corrected latencies scale with
// scale (1 = a p99 of 10ms).
func cmpRun(name string, scale float64, requests, errs int64, achieved float64) *Run {
	lat := func(ms float64) float64 { return math.Round(ms*scale*1000) / 1000 }
	return &Run{
		Schema:    Schema,
		Name:      name,
		StartedAt: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC),
		DurationS: 30,
		Target:    "http://127.0.0.1:8080/v1/items/{key}",
		Rate:      Rate{Target: 1000, Achieved: achieved, Plan: "1000/s"},
		Requests:  requests,
		Errors:    errs,
		Latency: Latency{
			Corrected: Percentiles{P50: lat(2), P90: lat(5), P95: lat(7), P99: lat(10), P999: lat(20), Max: lat(40), Mean: lat(2.5)},
			Service:   Percentiles{P50: lat(1.9), P90: lat(4.8), P95: lat(6.5), P99: lat(9), P999: lat(15), Max: lat(30), Mean: lat(2.3)},
		},
		Valid: true,
	}
}

func TestParseGate(t *testing.T) {
	good := []struct {
		expr string
		want Gate
	}{
		{"p99<=+10%", Gate{Metric: "p99", Op: "<=", Delta: true, Percent: true, Limit: 10}},
		{" p999 <= +5ms ", Gate{Metric: "p999", Op: "<=", Delta: true, Limit: 5}},
		{"P99<25ms", Gate{Metric: "p99", Op: "<", Limit: 25}},
		{"max<=-1.5ms", Gate{Metric: "max", Op: "<=", Delta: true, Limit: -1.5}},
		{"mean<=+0%", Gate{Metric: "mean", Op: "<=", Delta: true, Percent: true, Limit: 0}},
		{"errors<=0", Gate{Metric: "errors", Op: "<=", Limit: 0}},
		{"errors<=0.1%", Gate{Metric: "errors", Op: "<=", Percent: true, Limit: 0.1}},
		{"errors<=+10", Gate{Metric: "errors", Op: "<=", Delta: true, Limit: 10}},
		{"errors<=+10%", Gate{Metric: "errors", Op: "<=", Delta: true, Percent: true, Limit: 10}},
		{"rate>=-1%", Gate{Metric: "rate", Op: ">=", Delta: true, Percent: true, Limit: -1}},
		{"rate>=1000/s", Gate{Metric: "rate", Op: ">=", Limit: 1000}},
		{"rate>-50", Gate{Metric: "rate", Op: ">", Delta: true, Limit: -50}},
	}
	for _, tt := range good {
		g, err := ParseGate(tt.expr)
		if err != nil {
			t.Errorf("ParseGate(%q): %v", tt.expr, err)
			continue
		}
		tt.want.Expr = tt.expr
		if g != tt.want {
			t.Errorf("ParseGate(%q) = %+v, want %+v", tt.expr, g, tt.want)
		}
		// The canonical form parses back to the same gate.
		back, err := ParseGate(g.String())
		if err != nil {
			t.Errorf("ParseGate(String() = %q): %v", g.String(), err)
			continue
		}
		back.Expr = g.Expr
		if back != g {
			t.Errorf("round trip %q -> %q: %+v, want %+v", tt.expr, g.String(), back, g)
		}
	}

	bad := []struct{ expr, wantMsg string }{
		{"", "METRIC OP LIMIT"},
		{"p99", "METRIC OP LIMIT"},
		{"p98<=+10%", `a metric (p50, p90`},
		{"error_rate<=1%", `a metric`},
		{"p99=+10%", `"<=" or ">=", not "="`},
		{"p99>=+10%", "upper bound"},
		{"rate<=+10%", "lower bound"},
		{"p99<=", "a limit after"},
		{"p99<=10%", "signed relative limit"},
		{"p99<=10", "a duration with a unit"},
		{"p99<=0ms", "a duration with a unit"},
		{"p99<=+-5ms", "a duration with a unit"},
		{"p99<=+NaN%", "a percentage"},
		{"errors<=1.5", "a whole count"},
		{"errors<=101%", "a percentage"},
		{"rate>=fast", "requests per second"},
		{"rate>=+Inf", "requests per second"},
	}
	for _, tt := range bad {
		_, err := ParseGate(tt.expr)
		var ge *GateError
		if !errors.As(err, &ge) {
			t.Errorf("ParseGate(%q): error %v, want a *GateError", tt.expr, err)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tt.wantMsg) || !strings.Contains(msg, `"`+tt.expr+`"`) {
			t.Errorf("ParseGate(%q): %q, want it to name the gate and say %q", tt.expr, msg, tt.wantMsg)
		}
	}
}

func FuzzParseGate(f *testing.F) {
	for _, s := range []string{"p99<=+10%", "p999<=+5ms", "errors<=0", "rate>=-1%", "errors<=0.5%", "rate>=100/s", "max < 1h", "p50<=-0.5ms", "", "<=", "p99<=+"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		g, err := ParseGate(expr)
		if err != nil {
			var ge *GateError
			if !errors.As(err, &ge) || ge.Expr != expr {
				t.Fatalf("ParseGate(%q): %v is not a *GateError naming the input", expr, err)
			}
			return
		}
		if math.IsNaN(g.Limit) || math.IsInf(g.Limit, 0) {
			t.Fatalf("ParseGate(%q): limit %v", expr, g.Limit)
		}
		back, err := ParseGate(g.String())
		if err != nil {
			t.Fatalf("ParseGate(%q).String() = %q does not parse: %v", expr, g.String(), err)
		}
		if back.Metric != g.Metric || back.Op != g.Op || back.Delta != g.Delta || back.Percent != g.Percent ||
			math.Abs(back.Limit-g.Limit) > 1e-6*math.Max(1, math.Abs(g.Limit)) {
			t.Fatalf("round trip of %q via %q: %+v, want %+v", expr, g.String(), back, g)
		}
	})
}

func mustGates(t *testing.T, exprs ...string) []Gate {
	t.Helper()
	g, err := ParseGates(exprs)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func gateByExpr(t *testing.T, c *Comparison, expr string) GateResult {
	t.Helper()
	for _, g := range c.Gates {
		if g.Gate == expr {
			return g
		}
	}
	t.Fatalf("no gate %q in %+v", expr, c.Gates)
	return GateResult{}
}

func TestCompareSingleRuns(t *testing.T) {
	base := cmpRun("base", 1, 30000, 0, 1000)
	slow := cmpRun("slow", 1.3, 30000, 0, 999)
	gates := mustGates(t, "p99<=+10%", "p999<=+5ms", "errors<=0", "rate>=-1%", "p99<=25ms")

	c, err := Compare([]*Run{base}, []*Run{slow}, gates, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Tested || !c.Valid {
		t.Errorf("Tested=%v Valid=%v, want false, true", c.Tested, c.Valid)
	}
	p99 := gateByExpr(t, c, "p99<=+10%")
	if p99.OK || p99.Observed != "+30.0% (10.0ms -> 13.0ms)" || p99.Allowed != "<= +10%" {
		t.Errorf("p99 gate = %+v, want a failure observing +30%%", p99)
	}
	if g := gateByExpr(t, c, "p999<=+5ms"); g.OK || !strings.HasPrefix(g.Observed, "+6.00ms") {
		t.Errorf("p999 gate = %+v, want a failure observing +6ms", g)
	}
	for _, ok := range []string{"errors<=0", "rate>=-1%", "p99<=25ms"} {
		if g := gateByExpr(t, c, ok); !g.OK {
			t.Errorf("gate %s = %+v, want a pass", ok, g)
		}
	}
	if n := len(c.Failed()); n != 2 {
		t.Errorf("%d gates failed, want 2", n)
	}

	// Two alike runs pass every gate.
	c, err = Compare([]*Run{base}, []*Run{cmpRun("again", 1.01, 30010, 0, 1000.3)}, gates, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f := c.Failed(); len(f) != 0 {
		t.Errorf("alike runs: failed gates %+v", f)
	}
}

func TestCompareErrorsAndRate(t *testing.T) {
	base := cmpRun("base", 1, 30000, 0, 1000)
	cand := cmpRun("cand", 1, 30000, 60, 950)
	c, err := Compare([]*Run{base}, []*Run{cand}, mustGates(t, "errors<=0", "errors<=0.1%", "errors<=+100", "errors<=+10%", "rate>=-1%", "rate>=900"), CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		ok       bool
		observed string
	}{
		"errors<=0":    {false, "60"},
		"errors<=0.1%": {false, "0.2%"},
		"errors<=+100": {true, "+60 (0 -> 60)"},
		"errors<=+10%": {false, "+inf% (0 -> 60)"},
		"rate>=-1%":    {false, "-5.0% (1000/s -> 950/s)"},
		"rate>=900":    {true, "950/s"},
	}
	for expr, w := range want {
		g := gateByExpr(t, c, expr)
		if g.OK != w.ok || g.Observed != w.observed {
			t.Errorf("gate %s = %+v, want ok=%v observed %q", expr, g, w.ok, w.observed)
		}
	}
	var buf bytes.Buffer
	if err := c.WriteJSON(&buf); err != nil {
		t.Fatalf("WriteJSON with an infinite change: %v", err)
	}
}

func TestCompareRepeatedRuns(t *testing.T) {
	mk := func(prefix string, scales ...float64) []*Run {
		var rs []*Run
		for i, s := range scales {
			rs = append(rs, cmpRun(prefix+string(rune('a'+i)), s, 30000, 0, 1000))
		}
		return rs
	}
	gates := mustGates(t, "p99<=+10%", "p50<=+10%")

	// Five runs a side, candidate 30% slower in every run: significant.
	base := mk("b", 1, 1.02, 0.98, 1.01, 0.99)
	slow := mk("s", 1.3, 1.32, 1.28, 1.31, 1.29)
	c, err := Compare(base, slow, gates, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Tested {
		t.Fatal("five runs a side: not tested")
	}
	p99 := c.Metrics[3]
	if p99.Metric != "p99" || !p99.Significant || p99.P == nil || math.Abs(*p99.P-2.0/252) > 1e-9 {
		t.Errorf("p99 = %+v, want significant with p=2/252", p99)
	}
	if g := gateByExpr(t, c, "p99<=+10%"); g.OK {
		t.Errorf("significant +30%%: gate passed: %+v", g)
	}

	// Overlapping noisy runs with a median change beyond the limit, not
	// significant: the gate passes and says why.
	noisyBase := mk("b", 1, 1.5, 0.8, 1.2, 0.9)
	noisyCand := mk("c", 1.15, 0.85, 1.6, 1.1, 1.25)
	c, err = Compare(noisyBase, noisyCand, gates, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g := gateByExpr(t, c, "p99<=+10%")
	if !g.OK || !strings.Contains(g.Note, "not significant") || !strings.Contains(g.Note, "~ (p=") {
		t.Errorf("noisy runs: gate %+v, want a pass noting the change is not significant", g)
	}

	// Three runs a side can never be significant at 0.05: a note says so.
	c, err = Compare(mk("b", 1, 1, 1), mk("c", 2, 2, 2), gates, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "smallest possible p 0.100") {
		t.Errorf("3+3 runs: notes %q", c.Notes)
	}
	if f := c.Failed(); len(f) != 0 {
		t.Errorf("3+3 runs: failed %+v", f)
	}
}

func TestCompareInvalid(t *testing.T) {
	bad := cmpRun("saturated", 1, 30000, 0, 700)
	bad.Valid = false
	bad.InvalidReasons = []string{"achieved rate 700/s is under 98% of the planned 1000/s"}
	c, err := Compare([]*Run{cmpRun("base", 1, 30000, 0, 1000)}, []*Run{bad}, nil, CompareOptions{CandidateLabels: []string{"runs/cand"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Valid || len(c.InvalidReasons) != 1 || !strings.Contains(c.InvalidReasons[0], "candidate run runs/cand: achieved rate 700/s") {
		t.Errorf("Valid=%v reasons=%q", c.Valid, c.InvalidReasons)
	}
	if _, err := Compare(nil, []*Run{bad}, nil, CompareOptions{}); err == nil {
		t.Error("empty base side: no error")
	}
}

func TestCompareReportsGolden(t *testing.T) {
	base := []*Run{cmpRun("b1", 1, 30000, 0, 1000), cmpRun("b2", 1.02, 30000, 0, 1000), cmpRun("b3", 0.98, 30000, 0, 1000), cmpRun("b4", 1.01, 30000, 0, 1000)}
	cand := []*Run{cmpRun("c1", 1.3, 30000, 3, 998), cmpRun("c2", 1.31, 30000, 0, 999), cmpRun("c3", 1.29, 30000, 1, 1000), cmpRun("c4", 1.32, 30000, 0, 999)}
	cand[2].Valid = false
	cand[2].InvalidReasons = []string{"generator CPU saturated (max 100%)"}
	c, err := Compare(base, cand, mustGates(t, "p99<=+10%", "p999<=+5ms", "errors<=0", "rate>=-1%"), CompareOptions{
		BaseLabels: []string{"base/b1", "base/b2", "base/b3", "base/b4"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"compare.txt", func(b *bytes.Buffer) error { return c.WriteText(b) }},
		{"compare.md", func(b *bytes.Buffer) error { return c.WriteMarkdown(b) }},
		{"compare.json", func(b *bytes.Buffer) error { return c.WriteJSON(b) }},
		{"compare.junit.xml", func(b *bytes.Buffer) error { return c.WriteJUnit(b) }},
	} {
		var buf bytes.Buffer
		if err := f.write(&buf); err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		checkGolden(t, f.name, buf.Bytes())
	}

	// The JUnit file is well-formed, one case a gate plus validity, and a
	// failed gate's message says observed vs allowed.
	var buf bytes.Buffer
	if err := c.WriteJUnit(&buf); err != nil {
		t.Fatal(err)
	}
	var suites junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &suites); err != nil {
		t.Fatalf("junit: %v", err)
	}
	s := suites.Suites[0]
	if s.Tests != 5 || s.Failures != 4 || s.Cases[0].Name != "p99<=+10%" || s.Cases[0].Failure == nil ||
		s.Cases[0].Failure.Message != "p99<=+10%: observed +29.9% (10.1ms -> 13.1ms), allowed <= +10%" ||
		s.Cases[3].Failure != nil || s.Cases[4].Name != "valid runs" || s.Cases[4].Failure == nil {
		t.Errorf("junit = %+v", s)
	}
	var back Comparison
	if err := json.Unmarshal(func() []byte { var b bytes.Buffer; _ = c.WriteJSON(&b); return b.Bytes() }(), &back); err != nil {
		t.Fatalf("JSON does not read back: %v", err)
	}
}

func TestFindRunDirs(t *testing.T) {
	root := t.TempDir()
	mkRun := func(dir string, r *Run) {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := WriteRun(dir, r); err != nil {
			t.Fatal(err)
		}
	}
	base := filepath.Join(root, "base")
	mkRun(filepath.Join(base, "r2"), cmpRun("r2", 1, 1, 0, 1))
	mkRun(filepath.Join(base, "r1"), cmpRun("r1", 1, 1, 0, 1))
	if err := os.Mkdir(filepath.Join(base, "notes"), 0o755); err != nil {
		t.Fatal(err)
	}
	single := filepath.Join(root, "single")
	mkRun(single, cmpRun("single", 1, 1, 0, 1))

	got, err := FindRunDirs(base)
	if err != nil || strings.Join(got, " ") != filepath.Join(base, "r1")+" "+filepath.Join(base, "r2") {
		t.Errorf("FindRunDirs(parent) = %q, %v", got, err)
	}
	got, err = FindRunDirs(single + "," + filepath.Join(base, "r*"))
	if err != nil || len(got) != 3 || got[0] != single {
		t.Errorf("FindRunDirs(list with glob) = %q, %v", got, err)
	}

	empty := filepath.Join(root, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	for arg, want := range map[string]string{
		empty:                          "is not a perf run directory: run.json missing",
		filepath.Join(root, "nothere"): "no such directory",
		filepath.Join(root, "x*"):      "matches nothing",
		",":                            "none given",
	} {
		_, err := FindRunDirs(arg)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("FindRunDirs(%q) = %v, want an error saying %q", arg, err, want)
		}
	}
	if _, err := FindRunDirs(empty); !errors.Is(err, ErrNotRunDir) {
		t.Errorf("FindRunDirs(empty dir): %v does not match ErrNotRunDir", err)
	}
}
