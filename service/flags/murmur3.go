package flags

import "math/bits"

// MurmurHash3 x86_32 constants, from Austin Appleby's reference
// implementation (smhasher, MurmurHash3.cpp).
const (
	murmurC1 = 0xcc9e2d51
	murmurC2 = 0x1b873593
)

// murmur3Sum32 returns MurmurHash3_x86_32 of the concatenation a+b with the
// given seed, without building the concatenation: it streams over a's bytes
// and then b's, carrying a part-filled 4-byte block across the boundary.
// flagd buckets on flagKey+targetingKey, and Evaluate must not allocate;
// b is a string or a []byte, so a server can hash a user id it holds in a
// buffer without converting it.
func murmur3Sum32[B string | []byte](seed uint32, a string, b B) uint32 {
	h := seed
	i := 0
	for ; i+4 <= len(a); i += 4 {
		h = murmur3Block(h, uint32(a[i])|uint32(a[i+1])<<8|uint32(a[i+2])<<16|uint32(a[i+3])<<24)
	}
	// k gathers a block's bytes, little-endian, across the boundary.
	var k uint32
	var shift uint
	for ; i < len(a); i++ {
		k |= uint32(a[i]) << shift
		shift += 8
	}
	j := 0
	if shift > 0 {
		for ; shift < 32 && j < len(b); j++ {
			k |= uint32(b[j]) << shift
			shift += 8
		}
		if shift == 32 {
			h = murmur3Block(h, k)
			k, shift = 0, 0
		}
	}
	if shift == 0 {
		for ; j+4 <= len(b); j += 4 {
			h = murmur3Block(h, uint32(b[j])|uint32(b[j+1])<<8|uint32(b[j+2])<<16|uint32(b[j+3])<<24)
		}
		for ; j < len(b); j++ {
			k |= uint32(b[j]) << shift
			shift += 8
		}
	}
	if shift > 0 {
		k *= murmurC1
		k = bits.RotateLeft32(k, 15)
		k *= murmurC2
		h ^= k
	}
	h ^= uint32(len(a) + len(b))
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// murmur3Block mixes one full 4-byte block k into the hash state h.
func murmur3Block(h, k uint32) uint32 {
	k *= murmurC1
	k = bits.RotateLeft32(k, 15)
	k *= murmurC2
	h ^= k
	h = bits.RotateLeft32(h, 13)
	return h*5 + 0xe6546b64
}
