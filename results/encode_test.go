package results

import (
	"math/rand"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// TestV2EncoderRoundTrip checks the fast encoder against the library's
// decoder: every count comes back, for empty, sparse and dense histograms.
func TestV2EncoderRoundTrip(t *testing.T) {
	e := newV2Encoder()
	rng := rand.New(rand.NewSource(1))
	for name, fill := range map[string]func(h *hdrhistogram.Histogram){
		"empty":  func(*hdrhistogram.Histogram) {},
		"one":    func(h *hdrhistogram.Histogram) { Record(h, 3*time.Millisecond) },
		"extent": func(h *hdrhistogram.Histogram) { Record(h, 0); Record(h, time.Hour) },
		"dense": func(h *hdrhistogram.Histogram) {
			for range 100000 {
				Record(h, time.Duration(rng.ExpFloat64()*float64(2*time.Millisecond)))
			}
		},
		"big counts": func(h *hdrhistogram.Histogram) {
			_ = h.RecordValues(int64(time.Millisecond), 1<<40)
		},
	} {
		h := NewHistogram()
		fill(h)
		for range 2 { // the second pass reuses the encoder's buffers
			enc, err := e.encode(h)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got, err := hdrhistogram.Decode(append([]byte(nil), enc...))
			if err != nil {
				t.Fatalf("%s: decode: %v", name, err)
			}
			if !got.Equals(h) {
				t.Fatalf("%s: decoded histogram differs: count %d max %d, want %d %d",
					name, got.TotalCount(), got.Max(), h.TotalCount(), h.Max())
			}
		}
	}
}

func BenchmarkV2Encode(b *testing.B) {
	h := NewHistogram()
	rng := rand.New(rand.NewSource(1))
	for range 60000 {
		Record(h, time.Duration(50000+rng.ExpFloat64()*200000))
	}
	b.Run("fast", func(b *testing.B) {
		e := newV2Encoder()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.encode(h); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("library", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase); err != nil {
				b.Fatal(err)
			}
		}
	})
}
