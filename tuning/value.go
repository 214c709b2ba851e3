package tuning

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// op is how one field of a wanted value is compared.
type op int

const (
	opOneOf op = iota // one of a list of exact alternatives
	opAtLeast
	opAtMost
)

// field is one whitespace-separated field of a wanted value.
type field struct {
	op   op
	alts []string // opOneOf
	n    int64    // opAtLeast, opAtMost
}

// Value is a parsed wanted value: one or more fields, each exact ("0"),
// alternatives ("madvise|never"), at least (">=4096") or at most ("<=10").
// A value with several fields ("<=1024 >=65535") is compared field by field
// against a current value with the same number of fields.
type Value struct {
	raw    string
	fields []field
}

// maxValueLen bounds a wanted value; sysctl writes are at most a page.
const maxValueLen = 4096

// ParseValue parses a wanted value as profiles write it.
func ParseValue(s string) (Value, error) {
	if len(s) > maxValueLen {
		return Value{}, fmt.Errorf("value of %d bytes: %w: want at most %d bytes", len(s), ErrInvalidValue, maxValueLen)
	}
	parts := strings.Fields(s)
	if len(parts) == 0 {
		return Value{}, fmt.Errorf("value %q: %w: want a value such as \"0\", \">=4096\", \"madvise|never\" or \"<=1024 >=65535\"", s, ErrInvalidValue)
	}
	v := Value{raw: strings.Join(parts, " ")}
	for _, p := range parts {
		f, err := parseField(p)
		if err != nil {
			return Value{}, fmt.Errorf("value %q: %w", s, err)
		}
		v.fields = append(v.fields, f)
	}
	return v, nil
}

func parseField(p string) (field, error) {
	for _, c := range []struct {
		prefix string
		op     op
	}{{">=", opAtLeast}, {"<=", opAtMost}} {
		if rest, ok := strings.CutPrefix(p, c.prefix); ok {
			n, err := strconv.ParseInt(rest, 10, 64)
			if err != nil {
				return field{}, fmt.Errorf("field %q: %w: want an integer after %s", p, ErrInvalidValue, c.prefix)
			}
			return field{op: c.op, n: n}, nil
		}
	}
	if strings.ContainsAny(p, "<>=[]") {
		return field{}, fmt.Errorf("field %q: %w: comparisons are written >=N or <=N, alternatives a|b", p, ErrInvalidValue)
	}
	alts := strings.Split(p, "|")
	for _, a := range alts {
		if a == "" {
			return field{}, fmt.Errorf("field %q: %w: empty alternative", p, ErrInvalidValue)
		}
		for _, r := range a {
			if r < 0x21 || r > 0x7e {
				return field{}, fmt.Errorf("field %q: %w: only printable ASCII", p, ErrInvalidValue)
			}
		}
	}
	return field{op: opOneOf, alts: alts}, nil
}

// String returns the value as written, with whitespace normalised.
func (v Value) String() string { return v.raw }

// selected matches the current choice in sysfs files that list the
// alternatives and bracket the current one: "always [madvise] never".
var selected = regexp.MustCompile(`\[([^\]\s]+)\]`)

// currentFields splits a value read from a file into fields. For bracketed
// sysfs choices it returns the bracketed one.
func currentFields(raw string) []string {
	if m := selected.FindStringSubmatch(raw); m != nil {
		return []string{m[1]}
	}
	return strings.Fields(raw)
}

// displayValue is the current value as a table shows it.
func displayValue(raw string) string { return strings.Join(currentFields(raw), " ") }

// Satisfied reports whether a current value, as read from its file,
// satisfies v.
func (v Value) Satisfied(current string) bool {
	cur := currentFields(current)
	if len(cur) != len(v.fields) {
		return false
	}
	for i, f := range v.fields {
		if !f.satisfied(cur[i]) {
			return false
		}
	}
	return true
}

func (f field) satisfied(cur string) bool {
	switch f.op {
	case opAtLeast, opAtMost:
		n, err := parseCurrentInt(cur)
		if err != nil {
			return false
		}
		if f.op == opAtLeast {
			return n >= f.n
		}
		return n <= f.n
	default:
		for _, a := range f.alts {
			if a == cur {
				return true
			}
		}
		return false
	}
}

// parseCurrentInt reads an integer field; "unlimited" (rlimits) is the
// largest value.
func parseCurrentInt(s string) (int64, error) {
	if s == "unlimited" || s == "infinity" {
		return math.MaxInt64, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

// Target returns the value to write so that current satisfies v, changing
// only the fields that do not: a field that is already better than an
// at-least or at-most bound is kept, and an alternative already in place is
// kept; otherwise the bound or the first alternative is written.
func (v Value) Target(current string) (string, error) {
	cur := currentFields(current)
	if len(cur) != len(v.fields) {
		if v.exact() {
			return v.raw, nil
		}
		return "", fmt.Errorf("current value %q has %d fields, wanted %q has %d: %w", displayValue(current), len(cur), v.raw, len(v.fields), ErrInvalidValue)
	}
	out := make([]string, len(v.fields))
	for i, f := range v.fields {
		switch {
		case f.satisfied(cur[i]):
			out[i] = cur[i]
		case f.op == opOneOf:
			out[i] = f.alts[0]
		default:
			out[i] = strconv.FormatInt(f.n, 10)
		}
	}
	return strings.Join(out, " "), nil
}

// exact reports whether every field names exactly one value, so the value
// can be written whatever the current one looks like.
func (v Value) exact() bool {
	for _, f := range v.fields {
		if f.op != opOneOf || len(f.alts) != 1 {
			return false
		}
	}
	return true
}
