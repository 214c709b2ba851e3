package harness

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Rate is a constant request rate: Freq requests every Per.
type Rate struct {
	Freq int
	Per  time.Duration
}

// PerSecond returns the rate in requests per second.
func (r Rate) PerSecond() float64 { return float64(r.Freq) / r.Per.Seconds() }

// String renders the rate as ParseRate reads it.
func (r Rate) String() string {
	if r.Per == time.Second {
		return fmt.Sprintf("%d/s", r.Freq)
	}
	return fmt.Sprintf("%d/%s", r.Freq, r.Per)
}

// ParseRate parses a rate: "50000" (per second), "50000/s", "500/100ms",
// "3000/1m". The unit after the slash is a Go duration, with a bare unit
// meaning one of it ("s" is "1s").
func ParseRate(s string) (Rate, error) {
	bad := func(why string) (Rate, error) {
		return Rate{}, fmt.Errorf("rate %q: %s (want N, N/s or N/DURATION, e.g. 50000, 50000/s, 500/100ms)", s, why)
	}
	num, per, hasPer := strings.Cut(strings.TrimSpace(s), "/")
	freq, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil {
		return bad("the count is not a whole number")
	}
	if freq <= 0 {
		return bad("the count must be above 0")
	}
	r := Rate{Freq: freq, Per: time.Second}
	if hasPer {
		per = strings.TrimSpace(per)
		if per != "" && (per[0] < '0' || per[0] > '9') {
			per = "1" + per
		}
		d, err := time.ParseDuration(per)
		if err != nil {
			return bad("the period is not a duration")
		}
		if d <= 0 {
			return bad("the period must be above 0")
		}
		r.Per = d
	}
	if float64(r.Per)/float64(r.Freq) < 1 {
		return bad("more than one request per nanosecond")
	}
	return r, nil
}

// schedule is the rate plan as perf uses it: the intended send time of every
// hit, so that latency can be measured from when a request should have gone
// out, not from when a busy worker got to it. vegeta's Pacer answers only
// "how long until the next hit", which cannot say when a hit that is already
// late was due; a schedule answers both ways.
type schedule interface {
	// at returns the intended send time of hit n (0-based), from the start.
	at(n uint64) time.Duration
	// due returns how many hits are due by t: the number of n with at(n) <= t.
	due(t time.Duration) uint64
}

// constantSchedule spaces hits evenly: hit n of shard i of k is due at
// (n*k + i) * Per/Freq, so k shards together send exactly the whole plan.
type constantSchedule struct {
	rate         Rate
	shard, count uint64
}

var _ schedule = constantSchedule{}

const maxDuration = time.Duration(1<<63 - 1)

func (c constantSchedule) at(n uint64) time.Duration {
	global := n*c.count + c.shard
	hi, lo := bits.Mul64(global, uint64(c.rate.Per))
	if hi >= uint64(c.rate.Freq) {
		return maxDuration
	}
	q, _ := bits.Div64(hi, lo, uint64(c.rate.Freq))
	if q > uint64(maxDuration) {
		return maxDuration
	}
	return time.Duration(q)
}

func (c constantSchedule) due(t time.Duration) uint64 {
	if t < 0 {
		return 0
	}
	// Global hit g is due at floor(g*Per/Freq), which is <= t exactly when
	// g*Per < (t+1)*Freq: so ceil((t+1)*Freq/Per) hits are due.
	hi, lo := bits.Mul64(uint64(t)+1, uint64(c.rate.Freq))
	if hi >= uint64(c.rate.Per) {
		return uint64(maxDuration)
	}
	lo, borrow := bits.Sub64(lo, 1, 0)
	hi -= borrow
	q, _ := bits.Div64(hi, lo, uint64(c.rate.Per))
	global := q + 1
	if global <= c.shard {
		return 0
	}
	return (global-c.shard-1)/c.count + 1
}

// Shard is the i-th of n shares of a rate plan (0-based Index), for n
// generators that together make the planned rate.
type Shard struct{ Index, Count int }

// ParseShard parses "i/n" with 1 <= i <= n (1-based, as people count
// generators) and returns the shard.
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return Shard{}, fmt.Errorf("shard %q: want i/n with 1 <= i <= n, e.g. 1/4", s)
	}
	return Shard{Index: i - 1, Count: n}, nil
}
