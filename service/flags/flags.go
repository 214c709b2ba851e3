package flags

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"strconv"

	"github.com/perf-tools/perf/internal/jsonpos"
)

// The reasons Evaluate gives for a result.
const (
	// ReasonSplit: the flag's fractional targeting put the user in a bucket.
	ReasonSplit = "split"
	// ReasonStatic: the flag has no targeting, so everyone gets its default.
	ReasonStatic = "static"
	// ReasonDisabled: the flag's state is DISABLED, so it gives its default.
	ReasonDisabled = "disabled"
	// ReasonNoUser: the flag splits users but the request named none, so it
	// gives its default.
	ReasonNoUser = "no user id"
)

// Config is a validated flag set, parsed from a flagd flag-definition file.
// It is immutable after Parse, so it is safe for concurrent use; to change
// the flags, parse a new Config and swap the pointer.
type Config struct {
	hash  string
	keys  []string
	flags map[string]*flag
}

// flag is one flag, with everything Evaluate needs precomputed.
type flag struct {
	key      string
	enabled  bool
	variants []string // sorted
	values   []any    // values[i] is variants[i]'s value
	def      int      // index of the default variant
	// buckets and thresholds describe fractional targeting; both are empty
	// for a flag without targeting. A user whose hash h satisfies
	// h*100 < thresholds[i] (and not for any earlier i) gets
	// variants[buckets[i]]: thresholds[i] is the cumulative weight through
	// bucket i times 2^32, so the comparison is exact in uint64.
	buckets    []int
	thresholds []uint64
}

// Result is the outcome of evaluating a flag for a user.
type Result struct {
	Flag    string
	Variant string
	// Reason is one of ReasonSplit, ReasonStatic, ReasonDisabled, ReasonNoUser.
	Reason string
	// Value is the variant's value as decoded from the file (bool, string,
	// float64, []any, map[string]any or nil); it is shared, so do not modify it.
	Value any
}

// Load reads and parses the flagd flag-definition file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return Parse(path, data)
}

// Parse parses and validates a flagd flag-definition file; name is the file's
// name, for error messages. It refuses what perf serve does not support,
// naming the flag and the construct, rather than ignore it: a flag that
// silently evaluated differently from flagd would be worse than none.
func Parse(name string, data []byte) (*Config, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("%s: %s", name, jsonErrorText(data, err))
	}
	if top == nil {
		return nil, fmt.Errorf("%s: expected a JSON object with \"flags\"", name)
	}
	for _, k := range sortedKeys(top) {
		switch k {
		case "$schema", "flags":
		case "$evaluators":
			var ev map[string]json.RawMessage
			if err := json.Unmarshal(top[k], &ev); err != nil || len(ev) > 0 {
				return nil, fmt.Errorf("%s: \"$evaluators\" is not supported by perf serve (shared targeting rules); inline a fractional targeting in each flag", name)
			}
		default:
			return nil, fmt.Errorf("%s: unknown top-level key %q (expected \"$schema\" and \"flags\")", name, k)
		}
	}
	raw, ok := top["flags"]
	if !ok {
		return nil, fmt.Errorf("%s: no \"flags\" object", name)
	}
	var rawFlags map[string]json.RawMessage
	if err := json.Unmarshal(raw, &rawFlags); err != nil || rawFlags == nil {
		return nil, fmt.Errorf("%s: \"flags\" is not a JSON object", name)
	}
	sum := sha256.Sum256(data)
	c := &Config{
		hash:  hex.EncodeToString(sum[:]),
		keys:  sortedKeys(rawFlags),
		flags: make(map[string]*flag, len(rawFlags)),
	}
	for _, key := range c.keys {
		f, err := parseFlag(key, rawFlags[key])
		if err != nil {
			return nil, fmt.Errorf("%s: flag %q: %w", name, key, err)
		}
		c.flags[key] = f
	}
	return c, nil
}

// parseFlag parses one flag's definition.
func parseFlag(key string, raw json.RawMessage) (*flag, error) {
	var def map[string]json.RawMessage
	if err := json.Unmarshal(raw, &def); err != nil || def == nil {
		return nil, errors.New("not a JSON object")
	}
	for _, k := range sortedKeys(def) {
		switch k {
		case "state", "variants", "defaultVariant", "targeting", "metadata":
		default:
			return nil, fmt.Errorf("unknown key %q (expected state, variants, defaultVariant, targeting, metadata)", k)
		}
	}
	f := &flag{key: key}
	var state string
	if err := json.Unmarshal(def["state"], &state); err != nil || (state != "ENABLED" && state != "DISABLED") {
		return nil, fmt.Errorf("state must be \"ENABLED\" or \"DISABLED\", got %s", orMissing(def["state"]))
	}
	f.enabled = state == "ENABLED"

	var variants map[string]json.RawMessage
	if err := json.Unmarshal(def["variants"], &variants); err != nil {
		return nil, fmt.Errorf("variants must be an object, got %s", orMissing(def["variants"]))
	}
	if len(variants) == 0 {
		return nil, errors.New("no variants")
	}
	f.variants = sortedKeys(variants)
	f.values = make([]any, len(f.variants))
	for i, v := range f.variants {
		if err := json.Unmarshal(variants[v], &f.values[i]); err != nil {
			return nil, fmt.Errorf("variant %q: %w", v, err)
		}
	}
	var dv string
	if err := json.Unmarshal(def["defaultVariant"], &dv); err != nil {
		return nil, fmt.Errorf("defaultVariant must be a variant's name, got %s", orMissing(def["defaultVariant"]))
	}
	var found bool
	if f.def, found = slices.BinarySearch(f.variants, dv); !found {
		return nil, fmt.Errorf("defaultVariant %q is not one of the variants", dv)
	}
	if err := f.parseTargeting(def["targeting"]); err != nil {
		return nil, err
	}
	return f, nil
}

// parseTargeting accepts no targeting, {}, or exactly {"fractional": [...]}.
func (f *flag) parseTargeting(raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var rule map[string]json.RawMessage
	if err := json.Unmarshal(raw, &rule); err != nil || rule == nil {
		return fmt.Errorf("targeting must be an object, got %s", raw)
	}
	for _, op := range sortedKeys(rule) {
		if op != "fractional" {
			return fmt.Errorf("targeting uses %q, which perf serve does not support (supported: fractional)", op)
		}
	}
	if len(rule) == 0 {
		return nil
	}
	var args []json.RawMessage
	if err := json.Unmarshal(rule["fractional"], &args); err != nil {
		return fmt.Errorf("fractional must be an array, got %s", rule["fractional"])
	}
	if len(args) > 0 && !bytes.HasPrefix(bytes.TrimSpace(args[0]), []byte("[")) {
		// flagd's optional first argument is the bucketing key expression.
		var expr, dflt any
		_ = json.Unmarshal(args[0], &expr)
		_ = json.Unmarshal([]byte(defaultBucketingKey), &dflt)
		if !reflect.DeepEqual(expr, dflt) {
			return fmt.Errorf("fractional buckets by %s, which perf serve does not support (supported: the default, flag key + targetingKey)", compact(args[0]))
		}
		args = args[1:]
	}
	if len(args) == 0 {
		return errors.New("fractional has no buckets")
	}
	var total int64
	for _, a := range args {
		var pair []json.RawMessage
		if err := json.Unmarshal(a, &pair); err != nil || len(pair) != 2 {
			return fmt.Errorf("fractional bucket %s is not a [variant, weight] pair", compact(a))
		}
		var v string
		if err := json.Unmarshal(pair[0], &v); err != nil {
			return fmt.Errorf("fractional bucket %s: the variant must be a string", compact(a))
		}
		idx, ok := slices.BinarySearch(f.variants, v)
		if !ok {
			return fmt.Errorf("fractional bucket %s: no variant %q", compact(a), v)
		}
		if slices.Contains(f.buckets, idx) {
			return fmt.Errorf("fractional lists variant %q twice", v)
		}
		w, err := weight(pair[1])
		if err != nil {
			return fmt.Errorf("fractional bucket %s: %w", compact(a), err)
		}
		total += w
		if total > 100 {
			break
		}
		f.buckets = append(f.buckets, idx)
		f.thresholds = append(f.thresholds, uint64(total)<<32)
	}
	if total != 100 {
		return fmt.Errorf("fractional weights must sum to 100, got %d", sumWeights(args))
	}
	return nil
}

// defaultBucketingKey is flagd's default bucketing key expression, the one
// fractional uses when it is given none.
const defaultBucketingKey = `{"cat": [{"var": "$flagd.flagKey"}, {"var": "targetingKey"}]}`

// weight parses a bucket's weight: a whole number from 0 to 100.
func weight(raw json.RawMessage) (int64, error) {
	// json.Number alone would also take a string holding a number.
	var n json.Number
	if len(raw) == 0 || raw[0] == '"' || json.Unmarshal(raw, &n) != nil {
		return 0, errors.New("the weight must be a number")
	}
	w, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		fw, ferr := strconv.ParseFloat(string(n), 64)
		if ferr != nil || fw != math.Trunc(fw) || math.Abs(fw) > 1e9 {
			return 0, fmt.Errorf("weight %s is not a whole number", n)
		}
		w = int64(fw)
	}
	if w < 0 {
		return 0, fmt.Errorf("weight %s is negative", n)
	}
	if w > 100 {
		return 0, fmt.Errorf("weight %s is over 100", n)
	}
	return w, nil
}

// sumWeights adds up the weights of well-formed buckets, for the error
// message when they do not make 100.
func sumWeights(args []json.RawMessage) int64 {
	var total int64
	for _, a := range args {
		var pair []json.RawMessage
		if json.Unmarshal(a, &pair) == nil && len(pair) == 2 {
			w, _ := weight(pair[1])
			total += w
		}
	}
	return total
}

// Hash returns the SHA-256 of the file's bytes in hex, to show which
// configuration is in force.
func (c *Config) Hash() string { return c.hash }

// Flags returns the flags' keys, sorted.
func (c *Config) Flags() []string { return slices.Clone(c.keys) }

// Variants returns a flag's variant names, sorted, or nil for an unknown flag.
func (c *Config) Variants(flag string) []string {
	f, ok := c.flags[flag]
	if !ok {
		return nil
	}
	return slices.Clone(f.variants)
}

// Evaluate returns the variant of flag that user gets, and false if there is
// no such flag. A user's bucket is a pure function of the flag key and the
// user id, as in flagd: the same user gets the same variant in every process
// and after every reload that keeps the weights. Evaluate does not allocate.
func (c *Config) Evaluate(flag, user string) (Result, bool) {
	f, ok := c.flags[flag]
	if !ok {
		return Result{}, false
	}
	i, reason := pick(f, user)
	return Result{Flag: f.key, Variant: f.variants[i], Reason: reason, Value: f.values[i]}, true
}

// Flag returns the flag with key, or nil. A server that evaluates every
// flag for every request looks each up once, at load, and calls Flag.Pick.
func (c *Config) Flag(key string) *Flag {
	f, ok := c.flags[key]
	if !ok {
		return nil
	}
	return (*Flag)(f)
}

// Flag is one flag of a Config, read-only.
type Flag flag

// Key returns the flag's key.
func (f *Flag) Key() string { return f.key }

// Enabled reports whether the flag's state is ENABLED.
func (f *Flag) Enabled() bool { return f.enabled }

// Variants returns the flag's variant names, sorted; Pick's indexes index
// it.
func (f *Flag) Variants() []string { return slices.Clone(f.variants) }

// Value returns variant i's value (see Result.Value); it is shared, so do
// not modify it.
func (f *Flag) Value(i int) any { return f.values[i] }

// Default returns the index of the default variant.
func (f *Flag) Default() int { return f.def }

// Split returns the fractional targeting as variant indexes and their
// weights in percent, in the file's order, or nil for a flag without it.
func (f *Flag) Split() (variants []int, weights []int) {
	var prev uint64
	for i, t := range f.thresholds {
		variants = append(variants, f.buckets[i])
		weights = append(weights, int((t-prev)>>32))
		prev = t
	}
	return variants, weights
}

// Pick returns the index of the variant that user gets, and why, as
// Evaluate does; user is a string or the bytes of one. It does not
// allocate.
func Pick[U string | []byte](f *Flag, user U) (int, string) {
	return pick((*flag)(f), user)
}

func pick[U string | []byte](f *flag, user U) (int, string) {
	switch {
	case !f.enabled:
		return f.def, ReasonDisabled
	case len(f.buckets) == 0:
		return f.def, ReasonStatic
	case len(user) == 0:
		return f.def, ReasonNoUser
	}
	pos := uint64(murmur3Sum32(0, f.key, user)) * 100
	for b, t := range f.thresholds {
		if pos < t {
			return f.buckets[b], ReasonSplit
		}
	}
	// Unreachable: the last threshold is 100 << 32, above every position.
	return f.def, ReasonSplit
}

// jsonErrorText describes a JSON decoding error with its line and column.
func jsonErrorText(data []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := jsonpos.Position(data, se.Offset)
		return fmt.Sprintf("line %d, column %d: %v", line, col, err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "expected a JSON object with \"flags\", got JSON " + te.Value
	}
	return err.Error()
}

// orMissing shows a raw JSON value in an error, or "nothing" if it is absent.
func orMissing(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "nothing"
	}
	return compact(raw)
}

// compact shows a raw JSON value in an error on one line.
func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}

// sortedKeys returns m's keys, sorted, so errors and orders are the same on
// every run.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
