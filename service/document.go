package service

import (
	"fmt"
	"strconv"
)

// Value size bounds. The lower bound keeps room for the JSON skeleton of a
// small id; larger ids may need more (see MinValueSize). The upper bound
// keeps a seeded store and a response within reason.
const (
	DefaultValueSize = 1024
	MinValueSizeAny  = 64
	MaxValueSize     = 1 << 20
)

// tagWords are the words item tags are drawn from.
var tagWords = [...]string{
	"red", "green", "blue", "amber", "north", "south", "east", "west",
	"fast", "slow", "new", "used", "alpha", "beta", "gamma", "delta",
}

// payloadAlphabet holds the 64 JSON-safe characters the payload is drawn from.
const payloadAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// splitmix64 is the deterministic generator behind an item's tags and payload:
// the same id always gives the same bytes, on every machine.
func splitmix64(x *uint64) uint64 {
	*x += 0x9e3779b97f4a7c15
	z := *x
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// skeleton appends the document of id up to the opening quote of the payload
// and returns it with the state of the generator.
func skeleton(dst []byte, id uint64) ([]byte, uint64) {
	state := id
	r := splitmix64(&state)
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendUint(dst, id, 10)
	dst = append(dst, `,"name":"item-`...)
	dst = strconv.AppendUint(dst, id, 10)
	dst = append(dst, `","tags":["`...)
	dst = append(dst, tagWords[r&15]...)
	dst = append(dst, `","`...)
	dst = append(dst, tagWords[(r>>4)&15]...)
	dst = append(dst, `"],"payload":"`...)
	return dst, state
}

// skeletonClose is what follows the payload.
const skeletonClose = `"}`

// MinValueSize returns the smallest value size whose documents hold item id:
// the JSON skeleton with an empty payload.
func MinValueSize(id uint64) int {
	var buf [160]byte
	b, _ := skeleton(buf[:0], id)
	return max(len(b)+len(skeletonClose), MinValueSizeAny)
}

// CheckValueSize reports whether documents of valueSize bytes can hold every
// item 0..n-1, with an error that says what is needed.
func CheckValueSize(n uint64, valueSize int) error {
	if valueSize > MaxValueSize {
		return fmt.Errorf("%w: %d bytes is too large, the most is %d", ErrValueSize, valueSize, MaxValueSize)
	}
	if valueSize < MinValueSizeAny {
		return fmt.Errorf("%w: %d bytes is too small, the least is %d", ErrValueSize, valueSize, MinValueSizeAny)
	}
	if n == 0 {
		return nil
	}
	if need := MinValueSize(n - 1); valueSize < need {
		return fmt.Errorf("%w: %d bytes is too small, item %d needs at least %d", ErrValueSize, valueSize, n-1, need)
	}
	return nil
}

// AppendDocument appends the JSON document of item id, exactly valueSize
// bytes long, to dst. It is deterministic: the same id and size give the same
// bytes. It fails when valueSize cannot hold the document's skeleton.
func AppendDocument(dst []byte, id uint64, valueSize int) ([]byte, error) {
	start := len(dst)
	dst, state := skeleton(dst, id)
	pad := valueSize - (len(dst) - start) - len(skeletonClose)
	if pad < 0 || valueSize > MaxValueSize {
		return dst[:start], CheckValueSize(id+1, valueSize)
	}
	for pad > 0 {
		r := splitmix64(&state)
		for i := 0; i < 10 && pad > 0; i++ {
			dst = append(dst, payloadAlphabet[r&63])
			r >>= 6
			pad--
		}
	}
	return append(dst, skeletonClose...), nil
}
