package flags

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLoadExample(t *testing.T) {
	c, err := Load("testdata/flags.json")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Flags(), []string{"cache-size", "compact-doc", "greeting", "new-path"}; !slices.Equal(got, want) {
		t.Errorf("Flags() = %q, want %q", got, want)
	}
	if got, want := c.Variants("cache-size"), []string{"large", "medium", "small"}; !slices.Equal(got, want) {
		t.Errorf("Variants(cache-size) = %q, want %q", got, want)
	}
	if c.Variants("nope") != nil {
		t.Error("Variants of an unknown flag is not nil")
	}
	// From coreutils: sha256sum testdata/flags.json. Edit the file, update this.
	data, _ := os.ReadFile("testdata/flags.json")
	if want := "3ab56a9df1721f9ebae8adccc7ee8cfee1ad37448b9829688228e0573a56c093"; c.Hash() != want {
		t.Errorf("Hash() = %q, want %q", c.Hash(), want)
	}
	if c2, _ := Parse("x", append(data, ' ')); c2.Hash() == c.Hash() {
		t.Error("Hash does not change with the file's bytes")
	}

	for _, tc := range []struct {
		flag, user   string
		variant, why string
		value        any
	}{
		{"new-path", "user-1", "off", ReasonDisabled, false},
		{"greeting", "user-1", "plain", ReasonStatic, "hello"},
		{"greeting", "", "plain", ReasonStatic, "hello"},
		{"compact-doc", "", "full", ReasonNoUser, false},
	} {
		r, ok := c.Evaluate(tc.flag, tc.user)
		want := Result{Flag: tc.flag, Variant: tc.variant, Reason: tc.why, Value: tc.value}
		if !ok || r != want {
			t.Errorf("Evaluate(%q, %q) = %+v, %v; want %+v, true", tc.flag, tc.user, r, ok, want)
		}
	}
	r, _ := c.Evaluate("cache-size", "user-7")
	if r.Reason != ReasonSplit || r.Value != map[string]float64{"small": 64, "medium": 256, "large": 1024}[r.Variant] {
		t.Errorf("Evaluate(cache-size, user-7) = %+v", r)
	}
	if _, ok := c.Evaluate("missing", "user-1"); ok {
		t.Error("Evaluate of an unknown flag returned true")
	}
}

func TestLoadMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.json")
	_, err := Load(path)
	if err == nil || !strings.HasPrefix(err.Error(), "read "+path+": ") || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("Load(missing) = %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

// flagFile wraps one flag's definition in a file.
func flagFile(def string) string {
	return `{"flags": {"f": ` + def + `}}`
}

const toggle = `"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"`

func TestParseGood(t *testing.T) {
	for _, data := range []string{
		`{"flags": {}}`,
		`{"$schema": "https://flagd.dev/schema/v0/flags.json", "flags": {}, "$evaluators": {}}`,
		flagFile(`{` + toggle + `}`),
		flagFile(`{` + toggle + `, "targeting": null}`),
		flagFile(`{` + toggle + `, "targeting": {}}`),
		flagFile(`{` + toggle + `, "targeting": {"fractional": [["on", 100]]}}`),
		flagFile(`{` + toggle + `, "targeting": {"fractional": [["on", 0], ["off", 100]]}}`),
		flagFile(`{` + toggle + `, "targeting": {"fractional": [["on", 50.0], ["off", 5e1]]}}`),
		flagFile(`{` + toggle + `, "targeting": {"fractional": [{"cat": [{"var": "$flagd.flagKey"}, {"var": "targetingKey"}]}, ["on", 50], ["off", 50]]}}`),
		flagFile(`{"state": "DISABLED", "variants": {"a": "x", "b": 1.5, "c": {"k": [1]}, "d": null}, "defaultVariant": "d", "metadata": {"owner": "x"}}`),
	} {
		if _, err := Parse("flags.json", []byte(data)); err != nil {
			t.Errorf("Parse(%s): %v", data, err)
		}
	}
}

func TestParseRefusals(t *testing.T) {
	for _, tc := range []struct{ data, want string }{
		{"{\n  \"flags\": {\n    \"f\": {,}\n  }\n}", `flags.json: line 3, column 11: invalid character ',' looking for beginning of object key string`},
		{`[]`, `flags.json: expected a JSON object with "flags", got JSON array`},
		{`null`, `flags.json: expected a JSON object with "flags"`},
		{`{}`, `flags.json: no "flags" object`},
		{`{"flags": []}`, `flags.json: "flags" is not a JSON object`},
		{`{"flags": {}, "flag": {}}`, `flags.json: unknown top-level key "flag" (expected "$schema" and "flags")`},
		{`{"flags": {}, "$evaluators": {"emails": {"in": ["@x", {"var": "email"}]}}}`, `flags.json: "$evaluators" is not supported by perf serve (shared targeting rules); inline a fractional targeting in each flag`},
		{flagFile(`true`), `flags.json: flag "f": not a JSON object`},
		{flagFile(`{` + toggle + `, "disabled": true}`), `flags.json: flag "f": unknown key "disabled" (expected state, variants, defaultVariant, targeting, metadata)`},
		{flagFile(`{"variants": {"on": true}, "defaultVariant": "on"}`), `flags.json: flag "f": state must be "ENABLED" or "DISABLED", got nothing`},
		{flagFile(`{"state": "enabled", "variants": {"on": true}, "defaultVariant": "on"}`), `flags.json: flag "f": state must be "ENABLED" or "DISABLED", got "enabled"`},
		{flagFile(`{"state": "ENABLED", "defaultVariant": "on"}`), `flags.json: flag "f": variants must be an object, got nothing`},
		{flagFile(`{"state": "ENABLED", "variants": {}, "defaultVariant": "on"}`), `flags.json: flag "f": no variants`},
		{flagFile(`{"state": "ENABLED", "variants": {"on": true}}`), `flags.json: flag "f": defaultVariant must be a variant's name, got nothing`},
		{flagFile(`{"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "off"}`), `flags.json: flag "f": defaultVariant "off" is not one of the variants`},
		{flagFile(`{` + toggle + `, "targeting": []}`), `flags.json: flag "f": targeting must be an object, got []`},
		{flagFile(`{` + toggle + `, "targeting": {"if": [{"in": ["@x", {"var": "email"}]}, "on", "off"]}}`), `flags.json: flag "f": targeting uses "if", which perf serve does not support (supported: fractional)`},
		{flagFile(`{` + toggle + `, "targeting": {"sem_ver": [{"var": "version"}, ">=", "1.0.0"]}}`), `flags.json: flag "f": targeting uses "sem_ver", which perf serve does not support (supported: fractional)`},
		{flagFile(`{` + toggle + `, "targeting": {"$ref": "emails"}}`), `flags.json: flag "f": targeting uses "$ref", which perf serve does not support (supported: fractional)`},
		{flagFile(`{` + toggle + `, "targeting": {"fractional": [["on", 50], ["off", 50]], "starts_with": []}}`), `flags.json: flag "f": targeting uses "starts_with", which perf serve does not support (supported: fractional)`},
		{flagFile(`{` + toggle + `, "targeting": {"fractional": {}}}`), `flags.json: flag "f": fractional must be an array, got {}`},
		{flagFile(`{` + toggle + `, "targeting": {"fractional": []}}`), `flags.json: flag "f": fractional has no buckets`},
		{flagFile(`{` + toggle + `, "targeting": {"fractional": [{"var": "email"}, ["on", 50], ["off", 50]]}}`), `flags.json: flag "f": fractional buckets by {"var":"email"}, which perf serve does not support (supported: the default, flag key + targetingKey)`},
		{flagFile(`{` + toggle + `, "targeting": {"fractional": [{"cat": [{"var": "targetingKey"}, {"var": "$flagd.flagKey"}]}, ["on", 50], ["off", 50]]}}`), `flags.json: flag "f": fractional buckets by {"cat":[{"var":"targetingKey"},{"var":"$flagd.flagKey"}]}, which perf serve does not support (supported: the default, flag key + targetingKey)`},
		{flagFile(`{` + toggle + `, "targeting": {"fractional": [["on", 50], ["off"]]}}`), `flags.json: flag "f": fractional bucket ["off"] is not a [variant, weight] pair`},
		{flagFile(`{` + toggle + `, "targeting": {"fractional": [["on", 50], [false, 50]]}}`), `flags.json: flag "f": fractional bucket [false,50]: the variant must be a string`},
		{flagFile(`{` + toggle + `, "targeting": {"fractional": [["on", 50], ["maybe", 50]]}}`), `flags.json: flag "f": fractional bucket ["maybe",50]: no variant "maybe"`},
		{flagFile(`{` + toggle + `, "targeting": {"fractional": [["on", 50], ["on", 50]]}}`), `flags.json: flag "f": fractional lists variant "on" twice`},
		{flagFile(`{` + toggle + `, "targeting": {"fractional": [["on", 50.5], ["off", 49.5]]}}`), `flags.json: flag "f": fractional bucket ["on",50.5]: weight 50.5 is not a whole number`},
		{flagFile(`{` + toggle + `, "targeting": {"fractional": [["on", "50"], ["off", 50]]}}`), `flags.json: flag "f": fractional bucket ["on","50"]: the weight must be a number`},
		{flagFile(`{` + toggle + `, "targeting": {"fractional": [["on", -10], ["off", 110]]}}`), `flags.json: flag "f": fractional bucket ["on",-10]: weight -10 is negative`},
		{flagFile(`{` + toggle + `, "targeting": {"fractional": [["on", 101], ["off", 0]]}}`), `flags.json: flag "f": fractional bucket ["on",101]: weight 101 is over 100`},
		{flagFile(`{` + toggle + `, "targeting": {"fractional": [["on", 40], ["off", 50]]}}`), `flags.json: flag "f": fractional weights must sum to 100, got 90`},
		{flagFile(`{` + toggle + `, "targeting": {"fractional": [["on", 60], ["off", 50]]}}`), `flags.json: flag "f": fractional weights must sum to 100, got 110`},
	} {
		c, err := Parse("flags.json", []byte(tc.data))
		if err == nil {
			t.Errorf("Parse(%s) = %v, want error %q", tc.data, c, tc.want)
		} else if err.Error() != tc.want {
			t.Errorf("Parse(%s):\n got %q\nwant %q", tc.data, err, tc.want)
		}
	}
}

// weights builds a file with one flag "f" whose fractional buckets are the
// given variants and weights, in order.
func weights(t testing.TB, key string, buckets ...any) *Config {
	t.Helper()
	var variants, frac []string
	for i := 0; i < len(buckets); i += 2 {
		variants = append(variants, fmt.Sprintf("%q: %q", buckets[i], buckets[i]))
		frac = append(frac, fmt.Sprintf("[%q, %d]", buckets[i], buckets[i+1]))
	}
	data := fmt.Sprintf(`{"flags": {%q: {"state": "ENABLED", "variants": {%s}, "defaultVariant": %q, "targeting": {"fractional": [%s]}}}}`,
		key, strings.Join(variants, ", "), buckets[0], strings.Join(frac, ", "))
	c, err := Parse("flags.json", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const users = 100000

func user(i int) string { return "user-" + fmt.Sprint(i) }

func TestSplitShares(t *testing.T) {
	for _, buckets := range [][]any{
		{"a", 50, "b", 50},
		{"a", 10, "b", 90},
		{"a", 20, "b", 30, "c", 50},
		{"a", 0, "b", 100},
	} {
		c := weights(t, "f", buckets...)
		count := map[string]int{}
		for i := range users {
			r, _ := c.Evaluate("f", user(i))
			if r.Reason != ReasonSplit {
				t.Fatalf("Evaluate(f, %s) reason %q, want %q", user(i), r.Reason, ReasonSplit)
			}
			count[r.Variant]++
		}
		for i := 0; i < len(buckets); i += 2 {
			share := float64(count[buckets[i].(string)]) / users
			want := float64(buckets[i+1].(int)) / 100
			if math.Abs(share-want) > 0.01 {
				t.Errorf("split %v: %q got %.4f of users, want %.2f ± 0.01", buckets, buckets[i], share, want)
			}
		}
	}
}

// TestBucketRule checks Evaluate's integer thresholds against flagd's rule
// written out plainly: the user's position is murmur3(flagKey+user) as a
// fraction of 2^32, times 100, and the first bucket whose cumulative weight
// exceeds it wins. The hash is the one-buffer reference, and the float
// arithmetic is exact here (h*100 < 2^39, divided by a power of two).
func TestBucketRule(t *testing.T) {
	c := weights(t, "cache", "a", 20, "b", 0, "c", 30, "d", 50)
	for i := range users {
		pos := float64(murmur3Ref(0, []byte("cache"+user(i)))) / (1 << 32) * 100
		want := "d"
		switch {
		case pos < 20:
			want = "a"
		case pos < 50:
			want = "c"
		}
		if r, _ := c.Evaluate("cache", user(i)); r.Variant != want {
			t.Fatalf("user %s at %.6f: got %q, want %q", user(i), pos, r.Variant, want)
		}
	}
}

func TestSticky(t *testing.T) {
	data, err := os.ReadFile("testdata/flags.json")
	if err != nil {
		t.Fatal(err)
	}
	// Two separately parsed Configs stand for two processes, or a reload.
	a, err := Parse("a.json", data)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse("b.json", slices.Clone(data))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for i := range 10000 {
		for _, f := range []string{"compact-doc", "cache-size"} {
			ra, _ := a.Evaluate(f, user(i))
			rb, _ := b.Evaluate(f, user(i))
			again, _ := a.Evaluate(f, user(i))
			if ra != rb || ra != again {
				t.Fatalf("flag %s user %s: %+v, then %+v, in another Config %+v", f, user(i), ra, again, rb)
			}
			seen[f+"/"+ra.Variant]++
		}
	}
	if len(seen) != 5 {
		t.Errorf("variants seen %v, want both of compact-doc's and all three of cache-size's", seen)
	}
}

func TestRolloutIsMonotone(t *testing.T) {
	before := weights(t, "rollout", "on", 30, "off", 70)
	after := weights(t, "rollout", "on", 50, "off", 50)
	var on, moved int
	for i := range users {
		rb, _ := before.Evaluate("rollout", user(i))
		ra, _ := after.Evaluate("rollout", user(i))
		if rb.Variant == "on" {
			on++
			if ra.Variant != "on" {
				moved++
			}
		}
	}
	if on < users/4 {
		t.Fatalf("only %d users were on at 30%%", on)
	}
	if moved != 0 {
		t.Errorf("raising the rollout from 30%% to 50%% moved %d of %d users out of \"on\"", moved, on)
	}
}

func TestFlagsIndependent(t *testing.T) {
	x := weights(t, "x", "on", 50, "off", 50)
	y := weights(t, "y", "on", 50, "off", 50)
	var onX, onY, both int
	for i := range users {
		rx, _ := x.Evaluate("x", user(i))
		ry, _ := y.Evaluate("y", user(i))
		if rx.Variant == "on" {
			onX++
		}
		if ry.Variant == "on" {
			onY++
		}
		if rx.Variant == "on" && ry.Variant == "on" {
			both++
		}
	}
	want := float64(onX) / users * float64(onY) / users
	if got := float64(both) / users; math.Abs(got-want) > 0.01 {
		t.Errorf("share on in both flags %.4f, want near %.4f (the product of %d and %d of %d)", got, want, onX, onY, users)
	}
}

func BenchmarkEvaluate(b *testing.B) {
	c, err := Load("testdata/flags.json")
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = user(i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok := c.Evaluate("cache-size", ids[i&1023]); !ok {
			b.Fatal("no flag")
		}
		i++
	}
}

func TestEvaluateDoesNotAllocate(t *testing.T) {
	c, err := Load("testdata/flags.json")
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(1000, func() { c.Evaluate("cache-size", "user-42") }); n != 0 {
		t.Errorf("Evaluate allocates %v times", n)
	}
}

func TestFlagView(t *testing.T) {
	c, err := Load("testdata/flags.json")
	if err != nil {
		t.Fatal(err)
	}
	if c.Flag("missing") != nil {
		t.Error("Flag of an unknown key is not nil")
	}
	f := c.Flag("cache-size")
	if f.Key() != "cache-size" || !f.Enabled() || f.Variants()[f.Default()] != "medium" {
		t.Errorf("cache-size: key %q enabled %v default %q", f.Key(), f.Enabled(), f.Variants()[f.Default()])
	}
	vs, ws := f.Split()
	var named []string
	for _, v := range vs {
		named = append(named, f.Variants()[v])
	}
	if want := []string{"small", "medium", "large"}; !slices.Equal(named, want) || !slices.Equal(ws, []int{20, 30, 50}) {
		t.Errorf("Split = %q %v, want %q [20 30 50]", named, ws, want)
	}
	if vs, ws := c.Flag("greeting").Split(); vs != nil || ws != nil {
		t.Errorf("Split of a flag without targeting = %v %v", vs, ws)
	}
	// Pick over the bytes of a user id is Evaluate over the string.
	for i := range 2000 {
		u := user(i)
		r, _ := c.Evaluate("cache-size", u)
		v, why := Pick(f, []byte(u))
		if f.Variants()[v] != r.Variant || why != r.Reason || f.Value(v) != r.Value {
			t.Fatalf("user %q: Pick %q %q, Evaluate %+v", u, f.Variants()[v], why, r)
		}
	}
	buf := []byte("user-42")
	if n := testing.AllocsPerRun(1000, func() { Pick(f, buf) }); n != 0 {
		t.Errorf("Pick allocates %v times", n)
	}
}
