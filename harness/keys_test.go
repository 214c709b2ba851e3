package harness

import (
	"math"
	"strings"
	"testing"
)

func TestKeysUniform(t *testing.T) {
	k := mustKeys(t, "uniform:10")
	counts := make([]int, 10)
	for n := range uint64(100000) {
		key := k.Key(n)
		if key >= 10 {
			t.Fatalf("key %d out of range", key)
		}
		counts[key]++
	}
	for key, c := range counts {
		if c < 9500 || c > 10500 {
			t.Errorf("key %d drawn %d times of 100000, want about 10000", key, c)
		}
	}
}

func TestKeysReproducible(t *testing.T) {
	a, _ := ParseKeys("zipf:1000:1.2", 7)
	b, _ := ParseKeys("zipf:1000:1.2", 7)
	c, _ := ParseKeys("zipf:1000:1.2", 8)
	same, differ := true, false
	for n := range uint64(1000) {
		same = same && a.Key(n) == b.Key(n)
		differ = differ || a.Key(n) != c.Key(n)
	}
	if !same || !differ {
		t.Errorf("same seed same keys: %v; other seed other keys: %v", same, differ)
	}
}

// TestKeysZipf checks the sampler against the distribution's own
// probabilities: P(k) = k^-s / H(N, s).
func TestKeysZipf(t *testing.T) {
	const n, s, draws = 100, 1.1, 200000
	k, err := ParseKeys("zipf:100", 3)
	if err != nil {
		t.Fatal(err)
	}
	counts := make([]float64, n)
	for i := range uint64(draws) {
		counts[k.Key(i)]++
	}
	var h float64
	for r := 1; r <= n; r++ {
		h += math.Pow(float64(r), -s)
	}
	for _, r := range []int{1, 2, 5, 10, 50} {
		want := math.Pow(float64(r), -s) / h * draws
		if got := counts[r-1]; math.Abs(got-want) > 5*math.Sqrt(want)+1 {
			t.Errorf("rank %d drawn %v times, want about %.0f", r, got, want)
		}
	}
}

func TestParseKeysErrors(t *testing.T) {
	for _, in := range []string{"", "uniform", "uniform:0", "uniform:x", "uniform:10:2", "zipf:10:0", "zipf:10:-1", "zipf:10:nan", "normal:10", "zipf:10:1:1"} {
		if _, err := ParseKeys(in, 1); err == nil || !strings.Contains(err.Error(), "keys") {
			t.Errorf("ParseKeys(%q) error = %v", in, err)
		}
	}
}

func FuzzParseKeys(f *testing.F) {
	for _, s := range []string{"uniform:100", "zipf:100", "zipf:100:1.5", "zipf:1:0.5", "uniform:18446744073709551615"} {
		f.Add(s, uint64(1), uint64(0))
	}
	f.Fuzz(func(t *testing.T, spec string, seed, n uint64) {
		k, err := ParseKeys(spec, seed)
		if err != nil {
			return
		}
		if key := k.Key(n); key >= k.n {
			t.Fatalf("%s: key %d of hit %d out of range", spec, key, n)
		}
	})
}
