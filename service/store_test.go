package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	bolt "go.etcd.io/bbolt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSeedReopenReadBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), StoreFile)
	st, err := Open(path, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var calls int
	var last uint64
	err = st.Seed(context.Background(), 20000, 256, func(done, total uint64) {
		calls++
		if done <= last || total != 20000 {
			t.Errorf("progress(%d, %d) after %d", done, total, last)
		}
		last = done
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 || last != 20000 {
		t.Fatalf("progress called %d times, last %d; want at least once, ending at 20000", calls, last)
	}
	before := make(map[uint64][]byte)
	for _, id := range []uint64{0, 1, 9999, 19999} {
		doc, err := st.Get(id, nil)
		if err != nil {
			t.Fatalf("Get(%d): %v", id, err)
		}
		want, _ := AppendDocument(nil, id, 256)
		if !bytes.Equal(doc, want) {
			t.Fatalf("Get(%d) = %q, want %q", id, doc, want)
		}
		before[id] = doc
	}
	if _, err := st.Get(20000, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(20000) err = %v, want ErrNotFound", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, err = Open(path, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.Count() != 20000 || st.ValueSize() != 256 {
		t.Fatalf("reopened store: %d items of %d bytes, want 20000 of 256", st.Count(), st.ValueSize())
	}
	for id, want := range before {
		doc, err := st.Get(id, nil)
		if err != nil || !bytes.Equal(doc, want) {
			t.Fatalf("after reopen Get(%d) = %q, %v; want the bytes read before", id, doc, err)
		}
	}
	// Seeding again to the same count or fewer writes nothing.
	if err := st.Seed(context.Background(), 10, 256, nil); err != nil {
		t.Fatal(err)
	}
	if st.Count() != 20000 {
		t.Fatalf("count %d after a smaller seed, want 20000", st.Count())
	}
}

// storeDigest hashes every item of a store in id order.
func storeDigest(t *testing.T, st *Store) [32]byte {
	t.Helper()
	h := sha256.New()
	var buf []byte
	for id := uint64(0); id < st.Count(); id++ {
		var err error
		if buf, err = st.Get(id, buf[:0]); err != nil {
			t.Fatalf("Get(%d): %v", id, err)
		}
		h.Write(buf)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

func TestSeedDeterministicAcrossStores(t *testing.T) {
	a := seededStore(t, 5000, 512)
	// The second store is seeded in two steps: resuming must give the same bytes.
	b, err := Open(filepath.Join(t.TempDir(), StoreFile), StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Seed(context.Background(), 1234, 512, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Seed(context.Background(), 5000, 512, nil); err != nil {
		t.Fatal(err)
	}
	for id := uint64(0); id < 5000; id++ {
		x, err1 := a.Get(id, nil)
		y, err2 := b.Get(id, nil)
		if err1 != nil || err2 != nil || !bytes.Equal(x, y) {
			t.Fatalf("item %d differs: %q (%v) vs %q (%v)", id, x, err1, y, err2)
		}
	}
	if storeDigest(t, a) != storeDigest(t, b) {
		t.Fatal("store digests differ")
	}
}

func TestSeedValueSizeMismatch(t *testing.T) {
	st := seededStore(t, 100, 128)
	err := st.Seed(context.Background(), 200, 256, nil)
	if !errors.Is(err, ErrValueSizeMismatch) {
		t.Fatalf("err = %v, want ErrValueSizeMismatch", err)
	}
	for _, want := range []string{"128 bytes", "256 bytes", st.Path()} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if st.Count() != 100 {
		t.Fatalf("count %d after a refused seed, want 100", st.Count())
	}
}

func TestSeedBadValueSize(t *testing.T) {
	st := seededStore(t, 0, 128)
	for _, size := range []int{0, 10, MaxValueSize + 1} {
		if err := st.Seed(context.Background(), 10, size, nil); !errors.Is(err, ErrValueSize) {
			t.Errorf("Seed(10, %d) = %v, want ErrValueSize", size, err)
		}
	}
}

func TestSeedCancelled(t *testing.T) {
	st := seededStore(t, 0, 1024)
	ctx, cancel := context.WithCancel(context.Background())
	err := st.Seed(ctx, 100000, 1024, func(done, total uint64) {
		if done >= 8192 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	n := st.Count()
	if n == 0 || n >= 100000 {
		t.Fatalf("count %d after a cancelled seed, want some but not all", n)
	}
	if _, err := st.Get(n-1, nil); err != nil {
		t.Fatalf("Get(%d), the last seeded item: %v", n-1, err)
	}
	if _, err := st.Get(n, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(%d), past the count: %v, want ErrNotFound", n, err)
	}
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), StoreFile)
	st, err := Open(path, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	start := time.Now()
	_, err = Open(path, StoreOptions{LockTimeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "another perf serve probably holds it") || !strings.Contains(err.Error(), path) {
		t.Errorf("error %q should name the file and the likely holder", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("second Open took %v: it should give up after its lock timeout", d)
	}
}

func TestOpenCorrupt(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string][]byte{
		"garbage": bytes.Repeat([]byte("not a bbolt file\n"), 1000),
		"short":   []byte("hello"),
	} {
		path := filepath.Join(dir, name+".db")
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Open(path, StoreOptions{})
		if err == nil {
			t.Fatalf("%s: Open succeeded on a file that is not a store", name)
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", name, err)
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
		got, _ := os.ReadFile(path)
		if !bytes.Equal(got, content) {
			t.Errorf("%s: Open changed the file", name)
		}
		t.Logf("%s: %v", name, err)
	}
}

func TestOpenForeignBolt(t *testing.T) {
	path := filepath.Join(t.TempDir(), StoreFile)
	st, err := Open(path, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Rewrite the format marker as another program's would be.
	if err := st.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyFormat, []byte("something-else/9"))
	}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, err := Open(path, StoreOptions{}); !errors.Is(err, ErrFormat) {
		t.Fatalf("Open = %v, want ErrFormat", err)
	}
}
