package tuning_test

import (
	"errors"
	"testing"

	"github.com/perf-tools/perf/tuning"
)

func TestValue(t *testing.T) {
	for _, tc := range []struct {
		value, current string
		ok             bool
		target         string
	}{
		{"0", "0\n", true, "0"},
		{"0", "1\n", false, "0"},
		{">=4096", "4096\n", true, "4096"},
		{">=4096", "65535\n", true, "65535"}, // never lowered
		{">=4096", "128\n", false, "4096"},
		{"<=10", "60\n", false, "10"},
		{"<=10", "1\n", true, "1"}, // never raised
		{"madvise|never", "always [madvise] never\n", true, "madvise"},
		{"madvise|never", "[always] madvise never\n", false, "madvise"},
		{"never", "always defer defer+madvise [madvise] never\n", false, "never"},
		{"<=1024 >=65535", "32768\t60999\n", false, "1024 65535"},
		{"<=1024 >=65535", "1024\t65535\n", true, "1024 65535"},
		{"<=1024 >=65535", "500\t60999\n", false, "500 65535"}, // only the drifting field changes
		{"1024 65535", "1024\t65535\n", true, "1024 65535"},
		{"1024 65535", "32768 60999 5\n", false, "1024 65535"}, // exact: written whatever was there
		{">=4096 >=131072 >=16777216", "4096\t131072\t6291456\n", false, "4096 131072 16777216"},
		{">=5", "unlimited\n", true, "unlimited"},
		{">=5", "abc\n", false, "5"},
		{"performance", "powersave\n", false, "performance"},
	} {
		v, err := tuning.ParseValue(tc.value)
		if err != nil {
			t.Fatalf("ParseValue(%q): %v", tc.value, err)
		}
		if got := v.Satisfied(tc.current); got != tc.ok {
			t.Errorf("%q satisfied by %q = %v, want %v", tc.value, tc.current, got, tc.ok)
		}
		got, err := v.Target(tc.current)
		if err != nil || got != tc.target {
			t.Errorf("%q target from %q = %q, %v; want %q", tc.value, tc.current, got, err, tc.target)
		}
	}
}

func TestValueTargetFieldMismatch(t *testing.T) {
	v, _ := tuning.ParseValue("<=1024 >=65535")
	if _, err := v.Target("5\n"); !errors.Is(err, tuning.ErrInvalidValue) {
		t.Errorf("target of a one-field current for a two-field bound: %v", err)
	}
}

func TestParseValueErrors(t *testing.T) {
	for _, s := range []string{"", "   ", ">=", ">=x", "<=1.5", ">4096", "<10", "=5", "a||b", "|a", "[madvise]", "é"} {
		if _, err := tuning.ParseValue(s); !errors.Is(err, tuning.ErrInvalidValue) {
			t.Errorf("ParseValue(%q) = %v, want ErrInvalidValue", s, err)
		}
	}
}
