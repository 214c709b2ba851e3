package service

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"testing"
)

// discardWriter is a reusable ResponseWriter that copies the body into one
// buffer, as net/http's response buffer would, so the benchmark measures the
// handler and the store (including touching the document), not a
// recorder's allocations.
type discardWriter struct {
	h    http.Header
	code int
	n    int
	buf  []byte
}

func (w *discardWriter) Header() http.Header  { return w.h }
func (w *discardWriter) WriteHeader(code int) { w.code = code }
func (w *discardWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf[:0], p...)
	w.n += len(p)
	return len(p), nil
}

func seededStore(tb testing.TB, n uint64, valueSize int) *Store {
	tb.Helper()
	st, err := Open(filepath.Join(tb.TempDir(), StoreFile), StoreOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	if err := st.Seed(context.Background(), n, valueSize, nil); err != nil {
		tb.Fatal(err)
	}
	return st
}

// BenchmarkRead measures one read through the public handler and the store:
// routing, id parsing, a bbolt read transaction, the copy, the headers and
// the metrics.
func BenchmarkRead(b *testing.B) {
	const n = 100000
	st := seededStore(b, n, DefaultValueSize)
	srv := New(st, Options{})
	h := srv.Handler()
	reqs := make([]*http.Request, 1024)
	for i := range reqs {
		id := uint64(i) * 7919 % n
		reqs[i] = &http.Request{Method: http.MethodGet, URL: &url.URL{Path: ItemsPath + strconv.FormatUint(id, 10)}}
	}
	w := &discardWriter{h: make(http.Header)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		w.code = 0
		h.ServeHTTP(w, reqs[i&1023])
		if w.code != http.StatusOK {
			b.Fatalf("status %d", w.code)
		}
	}
}

// BenchmarkStoreGet measures the store read alone.
func BenchmarkStoreGet(b *testing.B) {
	const n = 100000
	st := seededStore(b, n, DefaultValueSize)
	buf := make([]byte, 0, DefaultValueSize)
	b.ReportAllocs()
	for i := uint64(0); b.Loop(); i++ {
		var err error
		if buf, err = st.Get(i*7919%n, buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSeed measures seeding 100,000 items of 1 KiB.
func BenchmarkSeed(b *testing.B) {
	for b.Loop() {
		st, err := Open(filepath.Join(b.TempDir(), StoreFile), StoreOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if err := st.Seed(context.Background(), 100000, DefaultValueSize, nil); err != nil {
			b.Fatal(err)
		}
		st.Close()
	}
}
