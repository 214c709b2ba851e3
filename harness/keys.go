package harness

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// DefaultZipfExponent is the exponent of --keys zipf:N when none is given.
const DefaultZipfExponent = 1.1

// KeySpace draws the key of each request: uniform over 0..N-1, or zipf
// (key 0 the most popular). The key of hit n is a pure function of the seed
// and n, so a run's key sequence is reproducible with the same seed whatever
// the worker scheduling.
type KeySpace struct {
	n    uint64
	seed uint64
	zipf *zipf // nil for uniform
	spec string
}

// ParseKeys parses "uniform:N" or "zipf:N[:S]".
func ParseKeys(spec string, seed uint64) (*KeySpace, error) {
	bad := func(why string) error {
		return fmt.Errorf("keys %q: %s (want uniform:N or zipf:N[:S], e.g. uniform:100000 or zipf:100000:1.1)", spec, why)
	}
	parts := strings.Split(spec, ":")
	if len(parts) < 2 {
		return nil, bad("no key count")
	}
	n, err := strconv.ParseUint(parts[1], 10, 64)
	if err != nil || n == 0 {
		return nil, bad("key count must be a whole number above 0")
	}
	ks := &KeySpace{n: n, seed: seed, spec: spec}
	switch parts[0] {
	case "uniform":
		if len(parts) != 2 {
			return nil, bad("uniform takes only N")
		}
	case "zipf":
		s := DefaultZipfExponent
		if len(parts) == 3 {
			s, err = strconv.ParseFloat(parts[2], 64)
			if err != nil || !(s > 0) || math.IsInf(s, 0) || s > 100 {
				return nil, bad("exponent S must be a number above 0")
			}
		} else if len(parts) > 3 {
			return nil, bad("too many fields")
		}
		ks.zipf = newZipf(n, s)
	default:
		return nil, bad(fmt.Sprintf("unknown distribution %q", parts[0]))
	}
	return ks, nil
}

// String returns the spec the key space was parsed from.
func (k *KeySpace) String() string { return k.spec }

// Key returns the key of hit n.
func (k *KeySpace) Key(n uint64) uint64 {
	state := k.seed ^ (n * 0x9e3779b97f4a7c15)
	if k.zipf == nil {
		hi, _ := bits.Mul64(splitmix64(&state), k.n)
		return hi
	}
	return k.zipf.sample(&state) - 1
}

// splitmix64 advances state and returns the next pseudo-random value.
func splitmix64(state *uint64) uint64 {
	*state += 0x9e3779b97f4a7c15
	z := *state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func uniform01(state *uint64) float64 {
	return float64(splitmix64(state)>>11) / (1 << 53)
}

// zipf samples ranks 1..n with P(k) proportional to k^-s by
// rejection-inversion (Hörmann and Derflinger, 1996): constant expected
// time and no table, so it works for any n and any s > 0.
type zipf struct {
	n           float64
	s           float64
	hIntegralX1 float64
	hIntegralN  float64
	threshold   float64
}

func newZipf(n uint64, s float64) *zipf {
	z := &zipf{n: float64(n), s: s}
	z.hIntegralX1 = z.hIntegral(1.5) - 1
	z.hIntegralN = z.hIntegral(z.n + 0.5)
	z.threshold = 2 - z.hIntegralInverse(z.hIntegral(2.5)-z.h(2))
	return z
}

func (z *zipf) sample(state *uint64) uint64 {
	for {
		u := z.hIntegralN + uniform01(state)*(z.hIntegralX1-z.hIntegralN)
		x := z.hIntegralInverse(u)
		k := math.Floor(x + 0.5)
		if k < 1 {
			k = 1
		} else if k > z.n {
			k = z.n
		}
		if k-x <= z.threshold || u >= z.hIntegral(k+0.5)-z.h(k) {
			return uint64(k)
		}
	}
}

func (z *zipf) h(x float64) float64 { return math.Exp(-z.s * math.Log(x)) }

func (z *zipf) hIntegral(x float64) float64 {
	lx := math.Log(x)
	return helper2((1-z.s)*lx) * lx
}

func (z *zipf) hIntegralInverse(x float64) float64 {
	t := x * (1 - z.s)
	if t < -1 {
		t = -1
	}
	return math.Exp(helper1(t) * x)
}

// helper1 is log1p(x)/x, accurate near 0.
func helper1(x float64) float64 {
	if math.Abs(x) > 1e-8 {
		return math.Log1p(x) / x
	}
	return 1 - x*(0.5-x*(1.0/3-0.25*x))
}

// helper2 is expm1(x)/x, accurate near 0.
func helper2(x float64) float64 {
	if math.Abs(x) > 1e-8 {
		return math.Expm1(x) / x
	}
	return 1 + x*0.5*(1+x/3*(1+0.25*x))
}
