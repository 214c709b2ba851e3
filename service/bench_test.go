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
		out, code = srv.respond(out[:0], get, paths[i&1023], extra, effect{})
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

// BenchmarkReadFlags is BenchmarkRead with the flags of deploy/flags.json
// in force (an experiment serving half the users a compact document, and a
// toggle adding an ETag for a tenth), as the public listener serves a read
// with them: every flag picked for the user, the X-Variant header, the read
// with its variants' effects, and the per-variant metrics. Its "noop"
// variant has the same flags with no effects: the cost of the flags alone.
func BenchmarkReadFlags(b *testing.B) {
	for _, tc := range []struct{ name, file string }{{"deploy", "testdata/flags.json"}, {"noop", "testdata/flags-noop.json"}} {
		b.Run(tc.name, func(b *testing.B) {
			const n = 100000
			st := seededStore(b, n, DefaultValueSize)
			srv := New(st, Options{})
			if err := srv.LoadFlags(tc.file); err != nil {
				b.Fatal(err)
			}
			paths := make([][]byte, 1024)
			users := make([][]byte, 1024)
			for i := range paths {
				id := uint64(i) * 7919 % n
				paths[i] = []byte(ItemsPath + strconv.FormatUint(id, 10))
				users[i] = []byte("user-" + strconv.Itoa(i*31))
			}
			get := []byte("GET")
			c := &wireConn{w: &wire{s: srv}}
			out := make([]byte, 0, 4096)
			now := time.Now()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				fs := srv.flags.Load()
				var e effect
				c.sel, e = fs.pick(users[i&1023], c.sel[:0])
				var code int
				out, code = srv.respond(out[:0], get, paths[i&1023], c.headers(now, false, false, c.sel), e)
				if code != 200 {
					b.Fatalf("status %d", code)
				}
				for _, v := range c.sel {
					v.observe(srv.metrics, code, time.Microsecond)
				}
			}
		})
	}
}

// BenchmarkFlagsPerRequest measures what the flags add to a request
// without its read: picking every flag's variant for the user, the
// X-Variant header, and the per-variant metrics.
func BenchmarkFlagsPerRequest(b *testing.B) {
	st := seededStore(b, 1, DefaultValueSize)
	srv := New(st, Options{})
	if err := srv.LoadFlags("testdata/flags.json"); err != nil {
		b.Fatal(err)
	}
	users := make([][]byte, 1024)
	for i := range users {
		users[i] = []byte("user-" + strconv.Itoa(i*31))
	}
	c := &wireConn{w: &wire{s: srv}}
	now := time.Now()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		fs := srv.flags.Load()
		c.sel, _ = fs.pick(users[i&1023], c.sel[:0])
		c.headers(now, false, false, c.sel)
		for _, v := range c.sel {
			v.observe(srv.metrics, 200, time.Microsecond)
		}
	}
}
