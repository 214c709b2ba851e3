package service

import (
	"strconv"
	"testing"
)

func TestParseID(t *testing.T) {
	good := map[string]uint64{
		"0":                    0,
		"7":                    7,
		"123":                  123,
		"99999":                99999,
		"18446744073709551615": 1<<64 - 1,
	}
	for s, want := range good {
		got, ok := parseID(s)
		if !ok || got != want {
			t.Errorf("parseID(%q) = %d, %v; want %d, true", s, got, ok, want)
		}
	}
	for _, s := range []string{
		"", "-1", "+1", " 1", "1 ", "01", "00", "1a", "a1", "0x10", "1.5", "1e3",
		"18446744073709551616", "99999999999999999999", "100000000000000000000", "1/", "1/2", "１",
	} {
		if got, ok := parseID(s); ok {
			t.Errorf("parseID(%q) = %d, true; want false", s, got)
		}
	}
}

func TestParseIDAllocs(t *testing.T) {
	s := "1234567"
	if n := testing.AllocsPerRun(100, func() { parseID(s) }); n != 0 {
		t.Errorf("parseID allocates %v times per call, want 0", n)
	}
}

// FuzzParseID checks parseID against strconv: it accepts exactly the
// canonical decimal spellings of uint64 values.
func FuzzParseID(f *testing.F) {
	for _, s := range []string{"0", "42", "007", "-1", "18446744073709551615", "18446744073709551616", "", "9x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseID(s)
		want, err := strconv.ParseUint(s, 10, 64)
		canonical := err == nil && strconv.FormatUint(want, 10) == s
		if ok != canonical {
			t.Fatalf("parseID(%q) ok = %v, want %v", s, ok, canonical)
		}
		if ok && got != want {
			t.Fatalf("parseID(%q) = %d, want %d", s, got, want)
		}
	})
}
