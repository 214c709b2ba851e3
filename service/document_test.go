package service

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

type document struct {
	ID      uint64   `json:"id"`
	Name    string   `json:"name"`
	Tags    []string `json:"tags"`
	Payload string   `json:"payload"`
}

func TestAppendDocument(t *testing.T) {
	for _, size := range []int{MinValueSize(99999), 100, 256, 1024, 4096, 100000} {
		for _, id := range []uint64{0, 1, 42, 99999} {
			doc, err := AppendDocument(nil, id, size)
			if err != nil {
				t.Fatalf("AppendDocument(%d, %d): %v", id, size, err)
			}
			if len(doc) != size {
				t.Fatalf("AppendDocument(%d, %d): %d bytes, want %d", id, size, len(doc), size)
			}
			var d document
			if err := json.Unmarshal(doc, &d); err != nil {
				t.Fatalf("AppendDocument(%d, %d) is not JSON: %v\n%s", id, size, err, doc)
			}
			if d.ID != id || d.Name == "" || len(d.Tags) != 2 {
				t.Fatalf("AppendDocument(%d, %d) = %+v", id, size, d)
			}
			again, _ := AppendDocument([]byte("prefix"), id, size)
			if !bytes.Equal(again[len("prefix"):], doc) {
				t.Fatalf("AppendDocument(%d, %d) is not deterministic", id, size)
			}
		}
	}
	a, _ := AppendDocument(nil, 1, 1024)
	b, _ := AppendDocument(nil, 2, 1024)
	if bytes.Equal(a[40:], b[40:]) {
		t.Error("items 1 and 2 have the same payload")
	}
}

func TestAppendDocumentTooSmall(t *testing.T) {
	need := MinValueSize(123456789)
	dst := []byte("keep")
	out, err := AppendDocument(dst, 123456789, need-1)
	if !errors.Is(err, ErrValueSize) {
		t.Fatalf("err = %v, want ErrValueSize", err)
	}
	if string(out) != "keep" {
		t.Fatalf("dst changed to %q on error", out)
	}
	if _, err := AppendDocument(nil, 123456789, need); err != nil {
		t.Fatalf("at the minimum size %d: %v", need, err)
	}
}

func TestCheckValueSize(t *testing.T) {
	for _, tc := range []struct {
		n    uint64
		size int
		ok   bool
	}{
		{0, 64, true},
		{100000, 1024, true},
		{100000, 63, false},
		{100000, MaxValueSize, true},
		{100000, MaxValueSize + 1, false},
		{1_000_000_000, 64, false},
		{1_000_000_000, MinValueSize(999_999_999), true},
	} {
		err := CheckValueSize(tc.n, tc.size)
		if (err == nil) != tc.ok {
			t.Errorf("CheckValueSize(%d, %d) = %v, want ok %v", tc.n, tc.size, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrValueSize) {
			t.Errorf("CheckValueSize(%d, %d) = %v, want ErrValueSize", tc.n, tc.size, err)
		}
	}
}
