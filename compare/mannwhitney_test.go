package compare

import (
	"math"
	"testing"
)

func mwSeq(from, step float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = from + float64(i)*step
	}
	return out
}

// TestMannWhitneyKnownValues checks p-values against published ones: R's
// wilcox.test (exact, no ties), benchstat's tests, and Julia's
// HypothesisTests (exact with ties and the normal approximation).
func TestMannWhitneyKnownValues(t *testing.T) {
	tests := []struct {
		name   string
		x, y   []float64
		approx bool
		u, p   float64
		tol    float64
	}{
		// R: wilcox.test(1:3, 4:6)$p.value == 0.1; 2/C(6,3).
		{name: "R 3+3", x: mwSeq(1, 1, 3), y: mwSeq(4, 1, 3), u: 0, p: 0.1, tol: 1e-12},
		// R: wilcox.test(1:5, 6:10)$p.value == 2/252.
		{name: "R 5+5", x: mwSeq(1, 1, 5), y: mwSeq(6, 1, 5), u: 0, p: 2.0 / 252, tol: 1e-12},
		// benchstat (x/perf/internal/stats): {2,1,3,5} vs {12,11,13,15}.
		{name: "benchstat", x: []float64{2, 1, 3, 5}, y: []float64{12, 11, 13, 15}, u: 0, p: 0.028571428571428577, tol: 1e-12},
		{name: "benchstat reversed", x: []float64{12, 11, 13, 15}, y: []float64{2, 1, 3, 5}, u: 16, p: 0.028571428571428577, tol: 1e-12},
		{name: "benchstat same", x: []float64{2, 1, 3, 5}, y: []float64{2, 1, 3, 5}, u: 8, p: 1, tol: 1e-12},
		// Julia HypothesisTests: ExactMannWhitneyUTest.
		{name: "julia exact", x: mwSeq(1, 1, 10), y: mwSeq(2.1, 2, 10), u: 20, p: 0.0232, tol: 1e-4},
		{name: "julia exact 2", x: mwSeq(1.5, 10, 10), y: mwSeq(2.1, 2, 10), u: 85, p: 0.0068, tol: 1e-4},
		{name: "julia exact ties", x: mwSeq(1, 1, 10), y: mwSeq(2, 1, 10), u: 40.5, p: 0.5096, tol: 1e-4},
		{name: "julia exact ties 2", x: mwSeq(1, 1, 10), y: []float64{1, 2, 3, 4, 5, 1, 1, 1, 1, 1}, u: 85, p: 0.0057, tol: 1e-4},
		{name: "julia exact all tied", x: mwSeq(1, 1, 10), y: mwSeq(1, 1, 10), u: 50, p: 1, tol: 1e-12},
		// Julia HypothesisTests: ApproximateMannWhitneyUTest.
		{name: "julia approx", x: mwSeq(1, 1, 10), y: mwSeq(2.1, 2, 10), approx: true, u: 20, p: 0.0257, tol: 1e-4},
		{name: "julia approx 2", x: mwSeq(1.5, 10, 10), y: mwSeq(2.1, 2, 10), approx: true, u: 85, p: 0.0091, tol: 1e-4},
		{name: "julia approx ties", x: mwSeq(1, 1, 10), y: mwSeq(2, 1, 10), approx: true, u: 40.5, p: 0.4948, tol: 1e-4},
		{name: "julia approx equal", x: mwSeq(1, 1, 10), y: mwSeq(1, 1, 10), approx: true, u: 50, p: 1, tol: 1e-12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limit, tiesLimit := mannWhitneyExactLimit, mannWhitneyTiesExactLimit
			if tt.approx {
				limit, tiesLimit = 0, 0
			}
			got, err := mannWhitney(tt.x, tt.y, limit, tiesLimit)
			if err != nil {
				t.Fatal(err)
			}
			if got.U != tt.u {
				t.Errorf("U = %v, want %v", got.U, tt.u)
			}
			if math.Abs(got.P-tt.p) > tt.tol {
				t.Errorf("p = %.6f, want %.6f ± %g", got.P, tt.p, tt.tol)
			}
			if got.Exact == tt.approx && got.P != 1 {
				t.Errorf("Exact = %v, want %v", got.Exact, !tt.approx)
			}
		})
	}
}

func TestMannWhitneySymmetricAndLarge(t *testing.T) {
	// Large samples take the normal approximation; the p-value must not
	// depend on the order of the samples.
	x, y := mwSeq(0, 1, 80), mwSeq(5, 1, 80)
	a, err := MannWhitney(x, y)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := MannWhitney(y, x)
	if a.Exact || math.Abs(a.P-b.P) > 1e-12 {
		t.Errorf("p(x,y)=%v exact=%v, p(y,x)=%v", a.P, a.Exact, b.P)
	}
	if a.U+b.U != 80*80 {
		t.Errorf("U1+U2 = %v, want %v", a.U+b.U, 80*80)
	}
}

func TestMannWhitneyBadInput(t *testing.T) {
	if _, err := MannWhitney(nil, []float64{1}); err == nil {
		t.Error("empty sample: no error")
	}
	if _, err := MannWhitney([]float64{math.NaN()}, []float64{1}); err == nil {
		t.Error("NaN: no error")
	}
}

func TestMinMannWhitneyP(t *testing.T) {
	for _, tt := range []struct {
		n1, n2 int
		want   float64
	}{{1, 1, 1}, {3, 3, 0.1}, {4, 4, 2.0 / 70}, {5, 5, 2.0 / 252}, {2, 10, 2.0 / 66}} {
		if got := MinMannWhitneyP(tt.n1, tt.n2); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("MinMannWhitneyP(%d, %d) = %v, want %v", tt.n1, tt.n2, got, tt.want)
		}
		// The bound is reached by fully separated samples.
		r, _ := MannWhitney(mwSeq(0, 1, tt.n1), mwSeq(100, 1, tt.n2))
		if math.Abs(r.P-tt.want) > 1e-12 {
			t.Errorf("separated %d+%d: p = %v, want %v", tt.n1, tt.n2, r.P, tt.want)
		}
	}
}
