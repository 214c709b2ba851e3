package service

import (
	"bufio"
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

// repeatReader reads data over and over, without end: a client that
// always has the next request ready.
type repeatReader struct {
	data []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.data[r.off:])
		n += c
		r.off = (r.off + c) % len(r.data)
	}
	return n, nil
}

// BenchmarkReadHead measures parsing one request as perf attack sends it:
// the request parser's share of a read, without the system calls.
func BenchmarkReadHead(b *testing.B) {
	const req = "GET /v1/items/12345 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: perf\r\n\r\n"
	br := bufio.NewReaderSize(&repeatReader{data: []byte(req)}, wireReadBuf)
	rr := reqReader{br: br, max: DefaultMaxHeaderBytes}
	var r request
	b.ReportAllocs()
	for b.Loop() {
		if err := rr.readHead(&r); err != nil || len(r.path) != len("/v1/items/12345") {
			b.Fatalf("%q, %v", r.path, err)
		}
	}
}
