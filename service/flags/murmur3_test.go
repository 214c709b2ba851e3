package flags

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"testing"
)

// Published MurmurHash3_x86_32 vectors: the ones with seed 0x9747b28c and the
// byte-pattern ones are from the test list circulated with the reference
// implementation (Ian Boyd's, on Stack Overflow "MurmurHash3 test vectors");
// "hello" and the fox with seed 0 match Python's mmh3 and Guava's murmur3_32.
var murmurVectors = []struct {
	in   string
	seed uint32
	want uint32
}{
	{"", 0, 0},
	{"", 1, 0x514e28b7},
	{"", 0xffffffff, 0x81f16f39},
	{"\x00\x00\x00\x00", 0, 0x2362f9de},
	{"\x00\x00\x00", 0, 0x85f0b427},
	{"\x00\x00", 0, 0x30f4c306},
	{"\x00", 0, 0x514e28b7},
	{"\xff\xff\xff\xff", 0, 0x76293b50},
	{"\x21\x43\x65\x87", 0, 0xf55b516b},
	{"\x21\x43\x65\x87", 0x5082edee, 0x2362f9de},
	{"\x21\x43\x65", 0, 0x7e4a8634},
	{"\x21\x43", 0, 0xa0f7b07a},
	{"\x21", 0, 0x72661cf4},
	{"aaaa", 0x9747b28c, 0x5a97808a},
	{"aaa", 0x9747b28c, 0x283e0130},
	{"aa", 0x9747b28c, 0x5d211726},
	{"a", 0x9747b28c, 0x7fa09ea6},
	{"abcd", 0x9747b28c, 0xf0478627},
	{"abc", 0x9747b28c, 0xc84a62dd},
	{"ab", 0x9747b28c, 0x74875592},
	{"Hello, world!", 0x9747b28c, 0x24884cba},
	{"ππππππππ", 0x9747b28c, 0xd58063c1},
	{"abc", 0, 0xb3dd93fa},
	{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 0, 0xee925b90},
	{"The quick brown fox jumps over the lazy dog", 0x9747b28c, 0x2fa826cd},
	{"hello", 0, 0x248bfa47},
	{"The quick brown fox jumps over the lazy dog", 0, 0x2e4ff723},
}

func TestMurmur3Vectors(t *testing.T) {
	for _, v := range murmurVectors {
		// Every split point must give the hash of the whole string.
		for cut := 0; cut <= len(v.in); cut++ {
			if got := murmur3Sum32(v.seed, v.in[:cut], v.in[cut:]); got != v.want {
				t.Errorf("murmur3(%q|%q, seed %#x) = %#08x, want %#08x", v.in[:cut], v.in[cut:], v.seed, got, v.want)
			}
		}
		if got := murmur3Ref(v.seed, []byte(v.in)); got != v.want {
			t.Errorf("reference murmur3(%q, seed %#x) = %#08x, want %#08x", v.in, v.seed, got, v.want)
		}
	}
}

// murmur3Ref is a plain one-buffer MurmurHash3_x86_32, written separately
// from murmur3Sum32 as the streaming version's oracle.
func murmur3Ref(seed uint32, data []byte) uint32 {
	h := seed
	n := len(data) / 4
	for i := 0; i < n; i++ {
		k := binary.LittleEndian.Uint32(data[4*i:])
		k *= 0xcc9e2d51
		k = bits.RotateLeft32(k, 15)
		k *= 0x1b873593
		h ^= k
		h = bits.RotateLeft32(h, 13)
		h = h*5 + 0xe6546b64
	}
	tail := data[4*n:]
	var k uint32
	switch len(tail) {
	case 3:
		k ^= uint32(tail[2]) << 16
		fallthrough
	case 2:
		k ^= uint32(tail[1]) << 8
		fallthrough
	case 1:
		k ^= uint32(tail[0])
		k *= 0xcc9e2d51
		k = bits.RotateLeft32(k, 15)
		k *= 0x1b873593
		h ^= k
	}
	h ^= uint32(len(data))
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

func TestMurmur3SplitsRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		buf := make([]byte, r.IntN(40))
		for i := range buf {
			buf[i] = byte(r.Uint32())
		}
		cut := r.IntN(len(buf) + 1)
		seed := r.Uint32()
		want := murmur3Ref(seed, buf)
		if got := murmur3Sum32(seed, string(buf[:cut]), string(buf[cut:])); got != want {
			t.Fatalf("murmur3(%x|%x, seed %#x) = %#08x, reference %#08x", buf[:cut], buf[cut:], seed, got, want)
		}
	}
}

func FuzzMurmur3Split(f *testing.F) {
	f.Add(uint32(0), "compact-doc", "user-1")
	f.Add(uint32(1), "abc", "d")
	f.Add(uint32(0x9747b28c), "", "ππ")
	f.Fuzz(func(t *testing.T, seed uint32, a, b string) {
		want := murmur3Ref(seed, []byte(a+b))
		if got := murmur3Sum32(seed, a, b); got != want {
			t.Fatalf("murmur3(%q|%q, seed %#x) = %#08x, reference %#08x", a, b, seed, got, want)
		}
	})
}
