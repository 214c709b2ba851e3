package harness

import (
	"strings"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	for in, want := range map[string]Rate{
		"50000":     {50000, time.Second},
		"50000/s":   {50000, time.Second},
		"500/100ms": {500, 100 * time.Millisecond},
		"3000/1m":   {3000, time.Minute},
		" 7 / 2s ":  {7, 2 * time.Second},
	} {
		got, err := ParseRate(in)
		if err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "fast", "0", "-5", "5/0s", "5/-1s", "5/parsec", "1.5", "2000000000/1s"} {
		if _, err := ParseRate(in); err == nil || !strings.Contains(err.Error(), "rate") {
			t.Errorf("ParseRate(%q) error = %v; want one naming the rate", in, err)
		}
	}
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"50000", "50000/s", "500/100ms", "1/1h", "x/y", "9/0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err != nil {
			return
		}
		if r.Freq <= 0 || r.Per <= 0 || r.PerSecond() <= 0 {
			t.Fatalf("ParseRate(%q) = %+v", s, r)
		}
		back, err := ParseRate(r.String())
		if err != nil || back.PerSecond() != r.PerSecond() {
			t.Fatalf("round trip of %q: %v -> %q -> %v, %v", s, r, r.String(), back, err)
		}
	})
}

// TestScheduleShards checks the plan's arithmetic: hits are evenly spaced,
// due counts them, and n shards together make exactly the whole plan.
func TestScheduleShards(t *testing.T) {
	whole := constantSchedule{rate: Rate{Freq: 3, Per: time.Second}, shard: 0, count: 1}
	for n := uint64(0); n < 10; n++ {
		if got, want := whole.at(n), time.Duration(n)*time.Second/3; got != want {
			t.Fatalf("at(%d) = %v, want %v", n, got, want)
		}
		if got := whole.due(whole.at(n)); got != n+1 {
			t.Fatalf("due(at(%d)) = %d, want %d", n, got, n+1)
		}
	}
	const shards = 4
	seen := map[time.Duration]int{}
	var total uint64
	for i := uint64(0); i < shards; i++ {
		s := constantSchedule{rate: Rate{Freq: 1000, Per: time.Second}, shard: i, count: shards}
		total += s.due(time.Second - 1)
		for n := uint64(0); s.at(n) < time.Second; n++ {
			seen[s.at(n)]++
		}
	}
	if len(seen) != 1000 || total != 1000 {
		t.Fatalf("4 shards of 1000/s send %d distinct hits (due says %d) in a second, want 1000", len(seen), total)
	}
	for at, k := range seen {
		if k != 1 || at%time.Millisecond != 0 {
			t.Fatalf("hit at %v sent %d times", at, k)
		}
	}
}

func TestParseShard(t *testing.T) {
	if s, err := ParseShard("2/4"); err != nil || s != (Shard{Index: 1, Count: 4}) {
		t.Errorf("ParseShard(2/4) = %v, %v", s, err)
	}
	for _, in := range []string{"0/4", "5/4", "1", "a/b", "1/0"} {
		if _, err := ParseShard(in); err == nil {
			t.Errorf("ParseShard(%q) accepted", in)
		}
	}
}
