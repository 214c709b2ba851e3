package compare

import (
	"errors"
	"math"
	"sort"
)

// Limits up to which MannWhitney computes the exact distribution of U, as
// benchstat does: beyond them the normal approximation is good enough.
const (
	mannWhitneyExactLimit     = 50
	mannWhitneyTiesExactLimit = 25
)

// MannWhitneyResult is the outcome of a two-sided Mann–Whitney U test.
type MannWhitneyResult struct {
	// N1 and N2 are the sample sizes.
	N1, N2 int
	// U is the U statistic of the first sample: the number of pairs
	// (x, y) with x > y, ties counting one half.
	U float64
	// P is the two-sided p-value: the probability, if both samples come
	// from one distribution, of a U at least as far from its mean.
	P float64
	// Exact reports whether P comes from the exact distribution of U
	// (with ties, the exact permutation distribution of the mid-ranks)
	// rather than the normal approximation.
	Exact bool
}

// MannWhitney runs the two-sided Mann–Whitney U test (Wilcoxon rank-sum
// test) on two independent samples, the test benchstat uses to tell a real
// change from noise between repeated runs. Ties get mid-ranks. Small samples
// (up to 50 a side without ties, 25 with) use the exact distribution of U;
// larger ones the normal approximation with tie and continuity correction.
// When every value is equal the samples cannot differ and P is 1.
//
// The smallest P the exact test can give is 2/C(n1+n2, n1): 0.1 for three
// runs a side, so with three or fewer runs a side no difference is
// significant at alpha 0.05. MinMannWhitneyP computes that bound.
func MannWhitney(x, y []float64) (MannWhitneyResult, error) {
	return mannWhitney(x, y, mannWhitneyExactLimit, mannWhitneyTiesExactLimit)
}

// mannWhitney is MannWhitney with the exact-distribution limits as
// parameters, so tests can check the normal approximation on small samples.
func mannWhitney(x, y []float64, exactLimit, tiesExactLimit int) (MannWhitneyResult, error) {
	n1, n2 := len(x), len(y)
	res := MannWhitneyResult{N1: n1, N2: n2, P: 1}
	if n1 == 0 || n2 == 0 {
		return res, errors.New("mann-whitney: both samples need at least one value")
	}
	for _, v := range append(append([]float64(nil), x...), y...) {
		if math.IsNaN(v) {
			return res, errors.New("mann-whitney: a sample holds NaN")
		}
	}

	type obs struct {
		v     float64
		first bool
	}
	all := make([]obs, 0, n1+n2)
	for _, v := range x {
		all = append(all, obs{v, true})
	}
	for _, v := range y {
		all = append(all, obs{v, false})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].v < all[j].v })

	// Tie groups: size and doubled mid-rank (an integer), and the doubled
	// rank sum of the first sample.
	var groups []tieGroup
	var r1x2 int64
	for i := 0; i < len(all); {
		j, inX := i, 0
		for ; j < len(all) && all[j].v == all[i].v; j++ {
			if all[j].first {
				inX++
			}
		}
		t := j - i
		g := tieGroup{size: t, rank2: int64(2*i + t + 1)} // ranks i+1..j, doubled mean
		groups = append(groups, g)
		r1x2 += int64(inX) * g.rank2
		i = j
	}
	res.U = float64(r1x2)/2 - float64(n1*(n1+1))/2
	if len(groups) == 1 {
		res.Exact = true
		return res, nil // all values equal
	}
	ties := len(groups) < n1+n2

	if (!ties && n1 <= exactLimit && n2 <= exactLimit) ||
		(ties && n1 <= tiesExactLimit && n2 <= tiesExactLimit) {
		res.Exact = true
		le, ge, total := rankSumTails(groups, n1, r1x2)
		res.P = math.Min(1, 2*math.Min(le, ge)/total)
		return res, nil
	}

	// Normal approximation with tie correction and continuity correction.
	n := float64(n1 + n2)
	var tc float64
	for _, g := range groups {
		t := float64(g.size)
		tc += t*t*t - t
	}
	mu := float64(n1*n2) / 2
	sigma := math.Sqrt(float64(n1*n2) / 12 * ((n + 1) - tc/(n*(n-1))))
	d := res.U - mu
	switch {
	case d > 0:
		d = math.Max(0, d-0.5)
	case d < 0:
		d = math.Min(0, d+0.5)
	}
	z := d / sigma
	res.P = math.Min(1, math.Erfc(math.Abs(z)/math.Sqrt2))
	return res, nil
}

type tieGroup struct {
	size  int
	rank2 int64 // twice the group's mid-rank
}

// rankSumTails counts, over all C(N, n1) ways to pick the first sample's
// positions, those whose doubled rank sum is <= obs and >= obs. It is the
// exact permutation distribution of the rank sum, ties included, built by
// a knapsack over the tie groups.
func rankSumTails(groups []tieGroup, n1 int, obs int64) (le, ge, total float64) {
	var maxSum int64
	for _, g := range groups {
		maxSum += int64(g.size) * g.rank2
	}
	// ways[k][s]: ways to pick k items so far with doubled rank sum s.
	ways := make([][]float64, n1+1)
	for k := range ways {
		ways[k] = make([]float64, maxSum+1)
	}
	ways[0][0] = 1
	for _, g := range groups {
		binom := binomials(g.size)
		// k descending, so ways[k-j] still holds the previous groups' counts.
		for k := n1; k >= 0; k-- {
			for s := maxSum; s >= 0; s-- {
				sum := ways[k][s]
				for j := 1; j <= g.size && j <= k; j++ {
					prev := s - int64(j)*g.rank2
					if prev < 0 {
						break
					}
					sum += binom[j] * ways[k-j][prev]
				}
				ways[k][s] = sum
			}
		}
	}
	for s, c := range ways[n1] {
		total += c
		if int64(s) <= obs {
			le += c
		}
		if int64(s) >= obs {
			ge += c
		}
	}
	return le, ge, total
}

// binomials returns C(n, 0..n).
func binomials(n int) []float64 {
	b := make([]float64, n+1)
	b[0] = 1
	for j := 1; j <= n; j++ {
		b[j] = b[j-1] * float64(n-j+1) / float64(j)
	}
	return b
}

// MinMannWhitneyP returns the smallest two-sided p-value the exact test can
// reach with n1 and n2 values: 2/C(n1+n2, n1), capped at 1. A difference
// cannot be significant at alpha below it.
func MinMannWhitneyP(n1, n2 int) float64 {
	if n1 <= 0 || n2 <= 0 {
		return 1
	}
	c := 1.0
	for i := 1; i <= n1; i++ {
		c = c * float64(n2+i) / float64(i)
	}
	return math.Min(1, 2/c)
}
