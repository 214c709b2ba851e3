package service

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// StoreFile is the name of the store file perf serve keeps in its data
// directory.
const StoreFile = "items.db"

// DefaultLockTimeout is how long Open waits for the file lock another
// process holds before it gives up.
const DefaultLockTimeout = time.Second

// storeFormat names the layout of the items and meta buckets; a store written
// in another layout is refused rather than misread.
const storeFormat = "perf-items/1"

// Errors the store returns; test them with errors.Is.
var (
	// ErrNotFound means the store holds no item with that id.
	ErrNotFound = errors.New("item not found")
	// ErrLocked means another process holds the store file open.
	ErrLocked = errors.New("store is locked")
	// ErrCorrupt means the file is not a bbolt database or is damaged.
	ErrCorrupt = errors.New("store file is not a valid bbolt database (corrupt or another kind of file)")
	// ErrFormat means the file is a bbolt database, but not one perf wrote.
	ErrFormat = errors.New("store has an unknown layout")
	// ErrValueSize means a value size is out of range or cannot hold an item's document.
	ErrValueSize = errors.New("value size out of range")
	// ErrReadOnly means a store opened read-only was asked to change.
	ErrReadOnly = errors.New("store is open read-only")
	// ErrValueSizeMismatch means the store was seeded with another value size.
	ErrValueSizeMismatch = errors.New("store was seeded with another value size")
)

var (
	bucketItems = []byte("items")
	bucketMeta  = []byte("meta")
	keyFormat   = []byte("format")
	keyCount    = []byte("count")
	keyValue    = []byte("value_size")
)

// StoreOptions configures Open.
type StoreOptions struct {
	// LockTimeout bounds the wait for a lock held by another process;
	// zero means DefaultLockTimeout.
	LockTimeout time.Duration
	// ReadOnly opens an existing store for reading only, under a shared
	// lock: any number of processes may hold it so at once (two
	// generations of perf serve during a live upgrade), and none may
	// write it meanwhile. Seed fails on such a store.
	ReadOnly bool
}

// Store is the bbolt file of items. Reads are safe from many goroutines; Seed
// is the only writer.
type Store struct {
	db       *bolt.DB
	path     string
	readOnly bool

	// count and valueSize mirror the meta bucket: items 0..count-1 are
	// present and each document is valueSize bytes.
	count     atomic.Uint64
	valueSize atomic.Int64

	warmSum atomic.Uint32
}

// Open opens the store at path, creating it if it does not exist. It fails
// with ErrLocked when another process holds the file (after
// opts.LockTimeout), and with ErrCorrupt when the file is not a bbolt
// database.
func Open(path string, opts StoreOptions) (*Store, error) {
	timeout := opts.LockTimeout
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	db, err := bolt.Open(path, 0o644, &bolt.Options{
		Timeout:  timeout,
		ReadOnly: opts.ReadOnly,
		// Statistics cost a mutex on every read transaction, and nothing reads them.
		NoStatistics: true,
		FreelistType: bolt.FreelistMapType,
	})
	if err != nil {
		switch {
		case errors.Is(err, berrors.ErrTimeout):
			if opts.ReadOnly {
				return nil, fmt.Errorf("open %s: %w after %v: another process is writing it (seeding, probably)", path, ErrLocked, timeout)
			}
			return nil, fmt.Errorf("open %s: %w after %v: another perf serve probably holds it", path, ErrLocked, timeout)
		case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
			errors.Is(err, berrors.ErrVersionMismatch),
			// bbolt has no sentinel for a file shorter than its two meta
			// pages, which is what a small foreign file looks like.
			strings.Contains(err.Error(), "file size too small"):
			return nil, fmt.Errorf("open %s: %w: %w", path, ErrCorrupt, err)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &Store{db: db, path: path, readOnly: opts.ReadOnly}
	if err := s.init(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// init creates the buckets of a new store, or checks and loads the meta
// bucket of an existing one.
func (s *Store) init() error {
	update := s.db.Update
	if s.readOnly {
		update = s.db.View
	}
	err := update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil && s.readOnly {
			return fmt.Errorf("%w: it has no meta bucket (a store perf serve never seeded?)", ErrFormat)
		}
		if meta == nil {
			if tx.Bucket(bucketItems) != nil {
				return fmt.Errorf("%w: it has an items bucket but no meta bucket", ErrFormat)
			}
			var err error
			if meta, err = tx.CreateBucket(bucketMeta); err != nil {
				return err
			}
			if _, err := tx.CreateBucket(bucketItems); err != nil {
				return err
			}
			return meta.Put(keyFormat, []byte(storeFormat))
		}
		if f := meta.Get(keyFormat); string(f) != storeFormat {
			return fmt.Errorf("%w %q, want %q", ErrFormat, f, storeFormat)
		}
		if tx.Bucket(bucketItems) == nil {
			return fmt.Errorf("%w: the items bucket is missing", ErrFormat)
		}
		if v := meta.Get(keyCount); len(v) == 8 {
			s.count.Store(binary.BigEndian.Uint64(v))
		}
		if v := meta.Get(keyValue); len(v) == 8 {
			s.valueSize.Store(int64(binary.BigEndian.Uint64(v)))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("init %s: %w", s.path, err)
	}
	return nil
}

// Path returns the file the store lives in.
func (s *Store) Path() string { return s.path }

// Count returns how many items the store holds: ids 0..Count()-1.
func (s *Store) Count() uint64 { return s.count.Load() }

// ValueSize returns the size in bytes of every document, or 0 for an empty
// store.
func (s *Store) ValueSize() int { return int(s.valueSize.Load()) }

// Close closes the store file.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close %s: %w", s.path, err)
	}
	return nil
}

// Get appends the document of item id to dst and returns it. It opens a read
// transaction on every call: that is the point of the service. It returns
// ErrNotFound for an id the store does not hold.
func (s *Store) Get(id uint64, dst []byte) ([]byte, error) {
	tx, err := s.db.Begin(false)
	if err != nil {
		return dst, fmt.Errorf("read item %d: %w", id, err)
	}
	var key [8]byte
	binary.BigEndian.PutUint64(key[:], id)
	v := tx.Bucket(bucketItems).Get(key[:])
	if v == nil {
		_ = tx.Rollback()
		return dst, ErrNotFound
	}
	// v points into the memory map and is valid only inside the transaction.
	dst = append(dst, v...)
	_ = tx.Rollback()
	return dst, nil
}

// Read calls fn with the document of item id, inside a read transaction:
// doc points into the store's memory map and is valid only until fn
// returns, so fn must copy or write it and not keep it. Read returns
// ErrNotFound for an id the store does not hold, and fn's error otherwise.
// It saves Get's copy on the hot path.
func (s *Store) Read(id uint64, fn func(doc []byte) error) error {
	tx, err := s.db.Begin(false)
	if err != nil {
		return fmt.Errorf("read item %d: %w", id, err)
	}
	var key [8]byte
	binary.BigEndian.PutUint64(key[:], id)
	v := tx.Bucket(bucketItems).Get(key[:])
	if v == nil {
		_ = tx.Rollback()
		return ErrNotFound
	}
	err = fn(v)
	_ = tx.Rollback()
	return err
}

// Warm reads every item once, so the store's pages are in the page cache and
// mapped into this process before the first request, and a freshly started
// node does not pay page faults and disk reads on its first requests. It
// returns the number of bytes read.
func (s *Store) Warm(ctx context.Context) (int64, error) {
	var total int64
	var sink byte
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketItems).Cursor()
		n := 0
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if n++; n%65536 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			if len(v) > 0 {
				// Touch every 4 KiB of the value.
				for i := 0; i < len(v); i += 4096 {
					sink ^= v[i]
				}
				sink ^= v[len(v)-1]
			}
			total += int64(len(v))
		}
		return nil
	})
	// Keep the loads: a sum nobody reads could be optimized away.
	s.warmSum.Store(uint32(sink))
	if err != nil {
		return total, fmt.Errorf("warm %s: %w", s.path, err)
	}
	return total, nil
}

// seedBatchBytes is roughly how many bytes of documents one seeding
// transaction writes: big transactions make seeding fast.
const seedBatchBytes = 8 << 20

// Seed makes sure the store holds items 0..n-1, each a JSON document of
// valueSize bytes, and writes only the ones missing. It commits in large
// batches of sequential keys, recording progress in the meta bucket with
// each batch, so an interrupted seed resumes where it stopped. progress, if
// not nil, is called after each batch with the items present and n. Seed
// refuses, with ErrValueSizeMismatch, to add items of another size than the
// ones already stored.
func (s *Store) Seed(ctx context.Context, n uint64, valueSize int, progress func(done, total uint64)) error {
	if err := CheckValueSize(n, valueSize); err != nil {
		return fmt.Errorf("seed %s: %w", s.path, err)
	}
	have := s.Count()
	if have > 0 {
		if vs := s.ValueSize(); vs != valueSize {
			return fmt.Errorf("seed %s: %w: it holds %d items of %d bytes, %d bytes asked; use another data directory or remove %s",
				s.path, ErrValueSizeMismatch, have, vs, valueSize, s.path)
		}
	}
	if have >= n {
		if progress != nil {
			progress(n, n)
		}
		return nil
	}
	if s.readOnly {
		return fmt.Errorf("seed %s: %w: it holds %d items, %d asked", s.path, ErrReadOnly, have, n)
	}
	// Skip the fsync of each batch and sync once at the end: a crash
	// mid-seed loses at most the batches since the last sync, and the meta
	// count is written in the same transaction as its items, so a reopened
	// store never claims items it does not hold.
	s.db.NoSync = true
	defer func() { s.db.NoSync = false }()

	batch := uint64(max(1, seedBatchBytes/valueSize))
	arena := make([]byte, 0, int(batch)*valueSize)
	keys := make([]byte, 8*batch)
	for start := have; start < n; start += batch {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("seed %s: stopped at %d of %d items: %w", s.path, start, n, err)
		}
		end := min(start+batch, n)
		err := s.db.Update(func(tx *bolt.Tx) error {
			items := tx.Bucket(bucketItems)
			// Keys arrive in order, so full pages are the right choice.
			items.FillPercent = 1.0
			// Put keeps references to key and value until the commit, so
			// each batch gets its own slice of the arena.
			arena = arena[:0]
			for id := start; id < end; id++ {
				k := keys[8*(id-start) : 8*(id-start)+8]
				binary.BigEndian.PutUint64(k, id)
				off := len(arena)
				var err error
				if arena, err = AppendDocument(arena, id, valueSize); err != nil {
					return err
				}
				if err := items.Put(k, arena[off:len(arena):len(arena)]); err != nil {
					return fmt.Errorf("put item %d: %w", id, err)
				}
			}
			meta := tx.Bucket(bucketMeta)
			if err := meta.Put(keyCount, binary.BigEndian.AppendUint64(nil, end)); err != nil {
				return err
			}
			return meta.Put(keyValue, binary.BigEndian.AppendUint64(nil, uint64(valueSize)))
		})
		if err != nil {
			return fmt.Errorf("seed %s: %w", s.path, err)
		}
		s.valueSize.Store(int64(valueSize))
		s.count.Store(end)
		if progress != nil {
			progress(end, n)
		}
	}
	if err := s.db.Sync(); err != nil {
		return fmt.Errorf("seed %s: sync: %w", s.path, err)
	}
	return nil
}
