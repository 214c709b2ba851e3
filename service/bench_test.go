package service

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

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

// BenchmarkRead measures one read as the public listener answers it:
// routing, id parsing, a bbolt read transaction, the document copied into
// the output buffer with its headers. The metrics and the connection are
// BenchmarkWire's.
func BenchmarkRead(b *testing.B) {
	const n = 100000
	st := seededStore(b, n, DefaultValueSize)
	srv := New(st, Options{})
	paths := make([][]byte, 1024)
	for i := range paths {
		id := uint64(i) * 7919 % n
		paths[i] = []byte(ItemsPath + strconv.FormatUint(id, 10))
	}
	get := []byte("GET")
	extra := srv.dateHeader(time.Now())
	out := make([]byte, 0, 4096)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		var code int
		out, code = srv.respond(out[:0], get, paths[i&1023], extra)
		if code != 200 {
			b.Fatalf("status %d", code)
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
