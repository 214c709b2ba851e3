package flags

import (
	"slices"
	"strings"
	"testing"
)

// FuzzParse: Parse never panics, refuses with an error that names the file,
// and a Config it accepts evaluates every flag to one of its variants.
func FuzzParse(f *testing.F) {
	f.Add(`{"flags": {"f": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off", "targeting": {"fractional": [["on", 30], ["off", 70]]}}}}`)
	f.Add(`{"flags": {"f": {"state": "DISABLED", "variants": {"a": 1}, "defaultVariant": "a"}}}`)
	f.Fuzz(func(t *testing.T, data string) {
		c, err := Parse("fuzz.json", []byte(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.json") {
				t.Fatalf("error %q does not name the file", err)
			}
			if c != nil {
				t.Fatal("a Config with an error")
			}
			return
		}
		for _, flag := range c.Flags() {
			variants := c.Variants(flag)
			for _, user := range []string{"", "user-1", "user-2", "ππ"} {
				r, ok := c.Evaluate(flag, user)
				if !ok || !slices.Contains(variants, r.Variant) {
					t.Fatalf("flag %q user %q: %+v (known %v), want one of %v", flag, user, r, ok, variants)
				}
			}
		}
	})
}
