package compare

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/perf-tools/perf/results"
)

// DefaultAlpha is the significance level of Runs, as benchstat's.
const DefaultAlpha = 0.05

// Options tunes Runs.
type Options struct {
	// Alpha is the significance level of the Mann–Whitney test; zero
	// means DefaultAlpha.
	Alpha float64
	// BaseLabels and CandidateLabels name the runs (their directories,
	// say); missing labels default to the runs' names.
	BaseLabels, CandidateLabels []string
}

// Comparison is the outcome of comparing base runs with candidate runs:
// the content of `perf compare --output json`.
type Comparison struct {
	Base      Side `json:"base"`
	Candidate Side `json:"candidate"`
	// Alpha is the significance level used.
	Alpha float64 `json:"alpha"`
	// Tested reports whether changes were tested for significance: both
	// sides hold at least two runs.
	Tested  bool         `json:"tested"`
	Metrics []Change     `json:"metrics"`
	Gates   []GateResult `json:"gates"`
	// Valid is false when a run of either side is invalid; the reasons
	// name the run.
	Valid          bool     `json:"valid"`
	InvalidReasons []string `json:"invalid_reasons"`
	// Notes explain the limits of the comparison (too few runs to find
	// any change significant, say).
	Notes []string `json:"notes"`
}

// Side lists the runs of one side.
type Side struct {
	Runs []string `json:"runs"`
}

// Change compares one metric. With several runs a side, Base and
// Candidate are the medians of the runs' values, as benchstat shows them.
type Change struct {
	Metric    string       `json:"metric"`
	Unit      results.Unit `json:"unit"`
	Base      float64      `json:"base"`
	Candidate float64      `json:"candidate"`
	// Delta is Candidate minus Base.
	Delta float64 `json:"delta"`
	// DeltaPercent is Delta in percent of Base; absent when Base is zero.
	DeltaPercent    *float64  `json:"delta_percent,omitempty"`
	BaseValues      []float64 `json:"base_values"`
	CandidateValues []float64 `json:"candidate_values"`
	// P is the Mann–Whitney p-value, when the change was tested.
	P *float64 `json:"p,omitempty"`
	// Significant reports a tested change with P below alpha.
	Significant bool `json:"significant"`
}

// GateResult is the outcome of one gate.
type GateResult struct {
	Gate string `json:"gate"`
	OK   bool   `json:"ok"`
	// Observed and Allowed read like "+30.0% (10ms -> 13ms)" and "<= +10%".
	Observed string `json:"observed"`
	Allowed  string `json:"allowed"`
	// Note explains a pass despite an observed violation (the change is
	// not significant) or which run was the worst.
	Note string `json:"note,omitempty"`
}

// Failed returns the gates that failed.
func (c *Comparison) Failed() []GateResult {
	var out []GateResult
	for _, g := range c.Gates {
		if !g.OK {
			out = append(out, g)
		}
	}
	return out
}

// Runs compares candidate runs with base runs metric by metric and
// checks the gates. With at least two runs a side, each change is tested
// with the two-sided Mann–Whitney U test on the per-run values, and a delta
// gate fails only on a significant change; unsigned gates bound every
// candidate run. It never reads files.
func Runs(base, candidate []*results.Run, gates []results.Bound, opts Options) (*Comparison, error) {
	if len(base) == 0 || len(candidate) == 0 {
		return nil, errors.New("compare: each side needs at least one run")
	}
	for _, r := range append(append([]*results.Run(nil), base...), candidate...) {
		if r == nil {
			return nil, errors.New("compare: nil run")
		}
	}
	alpha := opts.Alpha
	if alpha <= 0 || alpha >= 1 {
		alpha = DefaultAlpha
	}
	c := &Comparison{
		Base:           Side{Runs: results.Labels(base, opts.BaseLabels)},
		Candidate:      Side{Runs: results.Labels(candidate, opts.CandidateLabels)},
		Alpha:          alpha,
		Tested:         len(base) >= 2 && len(candidate) >= 2,
		Valid:          true,
		InvalidReasons: []string{},
		Notes:          []string{},
		Gates:          []GateResult{},
	}
	for side, runs := range map[string][]*results.Run{"base": base, "candidate": candidate} {
		names := c.Base.Runs
		if side == "candidate" {
			names = c.Candidate.Runs
		}
		for i, r := range runs {
			if r.Valid {
				continue
			}
			c.Valid = false
			reasons := strings.Join(r.InvalidReasons, "; ")
			if reasons == "" {
				reasons = "marked invalid"
			}
			c.InvalidReasons = append(c.InvalidReasons, fmt.Sprintf("%s run %s: %s", side, names[i], reasons))
		}
	}
	sort.Strings(c.InvalidReasons)
	if c.Tested {
		if minP := MinMannWhitneyP(len(base), len(candidate)); minP >= alpha {
			c.Notes = append(c.Notes, fmt.Sprintf("with %d+%d runs no change can be significant at alpha %s (smallest possible p %.3f): delta gates cannot fail; use at least 4 runs a side", len(base), len(candidate), results.FormatFloat(alpha, 4), minP))
		}
	} else if len(base) > 1 || len(candidate) > 1 {
		c.Notes = append(c.Notes, "one side holds a single run: changes are not tested for significance and delta gates compare medians directly")
	}

	byName := map[string]Change{}
	for _, m := range results.Metrics {
		mc := compareMetric(m, base, candidate, c.Tested, alpha)
		c.Metrics = append(c.Metrics, mc)
		byName[m.Name] = mc
	}
	for _, g := range gates {
		c.Gates = append(c.Gates, checkGate(g, byName, candidate, c.Candidate.Runs))
	}
	return c, nil
}

func compareMetric(m results.Metric, base, candidate []*results.Run, tested bool, alpha float64) Change {
	mc := Change{Metric: m.Name, Unit: m.Unit}
	for _, r := range base {
		mc.BaseValues = append(mc.BaseValues, m.Value(r))
	}
	for _, r := range candidate {
		mc.CandidateValues = append(mc.CandidateValues, m.Value(r))
	}
	// Rounded to a millionth of the unit, far below any measurement's
	// precision, so JSON shows 2.61 rather than 2.6100000000000003.
	mc.Base, mc.Candidate = round6(median(mc.BaseValues)), round6(median(mc.CandidateValues))
	mc.Delta = round6(mc.Candidate - mc.Base)
	if pct, ok := relative(mc.Base, mc.Candidate); ok {
		pct = round6(pct)
		mc.DeltaPercent = &pct
	}
	if tested {
		if res, err := MannWhitney(mc.BaseValues, mc.CandidateValues); err == nil {
			p := res.P
			mc.P = &p
			mc.Significant = p < alpha
		}
	}
	return mc
}

// relative returns the change from base to cand in percent; not ok when
// base is zero and cand is not.
func relative(base, cand float64) (float64, bool) {
	if base == 0 {
		return 0, cand == 0
	}
	return 100 * (cand - base) / math.Abs(base), true
}

func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func checkGate(g results.Bound, byName map[string]Change, candidate []*results.Run, names []string) GateResult {
	res := GateResult{Gate: g.Expr, Allowed: g.Allowed()}
	mc := byName[g.Metric]
	if !g.Relative {
		// An absolute bound holds for every candidate run: report the worst.
		m := g.Measure()
		worst := 0
		for i, r := range candidate {
			v, w := m.Value(r), m.Value(candidate[worst])
			if (g.Op[0] == '<' && v > w) || (g.Op[0] == '>' && v < w) {
				worst = i
			}
		}
		v := m.Value(candidate[worst])
		res.OK = g.Holds(v)
		res.Observed = m.Unit.Format(v)
		if len(candidate) > 1 {
			res.Note = fmt.Sprintf("worst of %d candidate runs: %s", len(candidate), names[worst])
		}
		return res
	}
	var observed float64
	if g.Percent {
		pct, ok := relative(mc.Base, mc.Candidate)
		if !ok {
			pct = math.Inf(1)
		}
		observed = pct
		res.Observed = fmt.Sprintf("%s (%s -> %s)", formatPercent(pct), mc.Unit.Format(mc.Base), mc.Unit.Format(mc.Candidate))
	} else {
		observed = mc.Delta
		res.Observed = fmt.Sprintf("%s (%s -> %s)", formatDelta(mc.Unit, mc.Delta), mc.Unit.Format(mc.Base), mc.Unit.Format(mc.Candidate))
	}
	res.OK = g.Holds(observed)
	if !res.OK && mc.P != nil && !mc.Significant {
		res.OK = true
		res.Note = fmt.Sprintf("change not significant (%s)", significanceText(mc, len(mc.BaseValues), len(mc.CandidateValues)))
	}
	return res
}
