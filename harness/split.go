package harness

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/perf-tools/perf/results"
)

// MaxVariants is the most distinct variants an attack keeps apart; the
// responses of any further ones are counted under results.VariantOther,
// and run.json warns. It bounds the histograms an attack holds (two a
// variant an open interval) and the lines latency.hlog gets a second.
const MaxVariants = 64

// Split names the response header whose value is each response's variant:
// the whole value (HEADER), or the value of one member of a comma-separated
// list of NAME=VALUE members (HEADER:MEMBER). perf serve's
// "X-Variant: doc-view=compact, etag=off" is variant
// "doc-view=compact, etag=off" split by X-Variant, and "compact" split by
// X-Variant:doc-view.
type Split struct {
	header string
	member string
}

// ParseSplit parses --split-by: HEADER or HEADER:MEMBER.
func ParseSplit(spec string) (*Split, error) {
	bad := func(why string) error {
		return fmt.Errorf("split-by %q: %s (want HEADER or HEADER:MEMBER, e.g. X-Variant or X-Variant:doc-view)", spec, why)
	}
	header, member, hasMember := strings.Cut(spec, ":")
	header, member = strings.TrimSpace(header), strings.TrimSpace(member)
	if header == "" {
		return nil, bad("no header name")
	}
	for i := 0; i < len(header); i++ {
		if !isTokenByte(header[i]) {
			return nil, bad(fmt.Sprintf("%q is not allowed in a header name", header[i]))
		}
	}
	if hasMember {
		if member == "" {
			return nil, bad("no member name after ':'")
		}
		if strings.ContainsAny(member, ",=:; \t\"") {
			return nil, bad("a member name may not hold ',', '=', ':', ';', quotes or spaces")
		}
	}
	return &Split{header: header, member: member}, nil
}

// String returns the split as --split-by reads it.
func (s *Split) String() string {
	if s.member == "" {
		return s.header
	}
	return s.header + ":" + s.member
}

// isTokenByte reports whether c may be in an HTTP header name (RFC 9110
// token).
func isTokenByte(c byte) bool {
	if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// value returns the variant named by a header's value: the value itself,
// or that of the split's member; nil when the member is missing.
func (s *Split) value(v []byte) []byte {
	if s.member == "" {
		return v
	}
	for len(v) > 0 {
		var item []byte
		item, v, _ = bytes.Cut(v, []byte{','})
		item = bytes.TrimSpace(item)
		if len(item) > len(s.member) && item[len(s.member)] == '=' && string(item[:len(s.member)]) == s.member {
			return bytes.TrimSpace(item[len(s.member)+1:])
		}
	}
	return nil
}

// Variant ids: the two buckets of responses the split could not name, then
// the variants in order of first appearance.
const (
	variantNone  = 0
	variantOther = 1
)

// variants interns the variants' names: each distinct value of the split
// header becomes a small id, found without a lock or an allocation once
// known. New values (a few in a run) copy the table.
type variants struct {
	split *Split
	table atomic.Pointer[variantTable]
	mu    sync.Mutex // serialises additions
}

// variantTable is one immutable version of the table.
type variantTable struct {
	ids   map[string]int
	names []string
}

func newVariants(s *Split) *variants {
	v := &variants{split: s}
	v.table.Store(&variantTable{ids: map[string]int{}, names: []string{results.VariantNone, results.VariantOther}})
	return v
}

// classify returns the id of the variant a header's value names. It is an
// http1.ResponseReader's classifier, called by every worker.
func (v *variants) classify(value []byte) int {
	name := v.split.value(value)
	if len(name) == 0 {
		return variantNone
	}
	if id, ok := v.table.Load().ids[string(name)]; ok {
		return id
	}
	return v.add(name)
}

func (v *variants) add(name []byte) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	t := v.table.Load()
	if id, ok := t.ids[string(name)]; ok {
		return id
	}
	if len(t.names)-2 >= MaxVariants {
		return variantOther
	}
	n := &variantTable{ids: make(map[string]int, len(t.ids)+1), names: append(t.names[:len(t.names):len(t.names)], string(name))}
	for k, id := range t.ids {
		n.ids[k] = id
	}
	n.ids[string(name)] = len(n.names) - 1
	v.table.Store(n)
	return len(n.names) - 1
}

// name returns the name of variant id.
func (v *variants) name(id int) string { return v.table.Load().names[id] }
