package compare

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/perf-tools/perf/internal/golden"
	"github.com/perf-tools/perf/results"
)

// cmpRun returns a realistic run whose corrected latencies scale with
// scale (1 = a p99 of 10ms).
func cmpRun(name string, scale float64, requests, errs int64, achieved float64) *results.Run {
	lat := func(ms float64) float64 { return math.Round(ms*scale*1000) / 1000 }
	return &results.Run{
		Schema:    results.Schema,
		Name:      name,
		StartedAt: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC),
		DurationS: 30,
		Target:    "http://127.0.0.1:8080/v1/items/{key}",
		Rate:      results.Rate{Target: 1000, Achieved: achieved, Plan: "1000/s"},
		Requests:  requests,
		Errors:    errs,
		Latency: results.Latency{
			Corrected: results.Percentiles{P50: lat(2), P90: lat(5), P95: lat(7), P99: lat(10), P999: lat(20), Max: lat(40), Mean: lat(2.5)},
			Service:   results.Percentiles{P50: lat(1.9), P90: lat(4.8), P95: lat(6.5), P99: lat(9), P999: lat(15), Max: lat(30), Mean: lat(2.3)},
		},
		Valid: true,
	}
}

func mustGates(t *testing.T, exprs ...string) []results.Bound {
	t.Helper()
	g, err := results.ParseBounds(exprs)
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

	c, err := Runs([]*results.Run{base}, []*results.Run{slow}, gates, Options{})
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
	c, err = Runs([]*results.Run{base}, []*results.Run{cmpRun("again", 1.01, 30010, 0, 1000.3)}, gates, Options{})
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
	c, err := Runs([]*results.Run{base}, []*results.Run{cand}, mustGates(t, "errors<=0", "errors<=0.1%", "errors<=+100", "errors<=+10%", "rate>=-1%", "rate>=900"), Options{})
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
	mk := func(prefix string, scales ...float64) []*results.Run {
		var rs []*results.Run
		for i, s := range scales {
			rs = append(rs, cmpRun(prefix+string(rune('a'+i)), s, 30000, 0, 1000))
		}
		return rs
	}
	gates := mustGates(t, "p99<=+10%", "p50<=+10%")

	// Five runs a side, candidate 30% slower in every run: significant.
	base := mk("b", 1, 1.02, 0.98, 1.01, 0.99)
	slow := mk("s", 1.3, 1.32, 1.28, 1.31, 1.29)
	c, err := Runs(base, slow, gates, Options{})
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
	c, err = Runs(noisyBase, noisyCand, gates, Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := gateByExpr(t, c, "p99<=+10%")
	if !g.OK || !strings.Contains(g.Note, "not significant") || !strings.Contains(g.Note, "~ (p=") {
		t.Errorf("noisy runs: gate %+v, want a pass noting the change is not significant", g)
	}

	// Three runs a side can never be significant at 0.05: a note says so.
	c, err = Runs(mk("b", 1, 1, 1), mk("c", 2, 2, 2), gates, Options{})
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
	c, err := Runs([]*results.Run{cmpRun("base", 1, 30000, 0, 1000)}, []*results.Run{bad}, nil, Options{CandidateLabels: []string{"runs/cand"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Valid || len(c.InvalidReasons) != 1 || !strings.Contains(c.InvalidReasons[0], "candidate run runs/cand: achieved rate 700/s") {
		t.Errorf("Valid=%v reasons=%q", c.Valid, c.InvalidReasons)
	}
	if _, err := Runs(nil, []*results.Run{bad}, nil, Options{}); err == nil {
		t.Error("empty base side: no error")
	}
}

func TestCompareReportsGolden(t *testing.T) {
	base := []*results.Run{cmpRun("b1", 1, 30000, 0, 1000), cmpRun("b2", 1.02, 30000, 0, 1000), cmpRun("b3", 0.98, 30000, 0, 1000), cmpRun("b4", 1.01, 30000, 0, 1000)}
	cand := []*results.Run{cmpRun("c1", 1.3, 30000, 3, 998), cmpRun("c2", 1.31, 30000, 0, 999), cmpRun("c3", 1.29, 30000, 1, 1000), cmpRun("c4", 1.32, 30000, 0, 999)}
	cand[2].Valid = false
	cand[2].InvalidReasons = []string{"generator CPU saturated (max 100%)"}
	c, err := Runs(base, cand, mustGates(t, "p99<=+10%", "p999<=+5ms", "errors<=0", "rate>=-1%"), Options{
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
		golden.Check(t, f.name, buf.Bytes())
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
