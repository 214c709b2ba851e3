package http1

import (
	"errors"
	"testing"
	"time"
)

func TestDeadline(t *testing.T) {
	const length = 10 * time.Second // a tenth: 1s
	t0 := time.Unix(1000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	var set []time.Time
	d := NewDeadline(func(t time.Time) error { set = append(set, t); return nil })
	for i, step := range []struct {
		op   string // near, by or set
		t    time.Duration
		want bool // the deadline is set to t
	}{
		{"near", 0, true}, // none set yet
		{"near", time.Second, false},
		{"near", -time.Second, false},
		{"near", time.Second + 1, true}, // drifted later: moved
		{"near", 0, true},               // drifted earlier: moved
		{"by", 5 * time.Second, false},  // an earlier one ends the wait early: kept
		{"by", -time.Second, false},     // a later one within a tenth: kept
		{"by", -time.Second - 1, true},  // a later one beyond: moved
		{"set", -time.Second - 1, true}, // always
	} {
		n := len(set)
		var err error
		switch step.op {
		case "near":
			err = d.Near(at(step.t), length)
		case "by":
			err = d.By(at(step.t), length)
		case "set":
			err = d.Set(at(step.t))
		}
		if err != nil {
			t.Fatal(err)
		}
		if moved := len(set) > n; moved != step.want || (moved && !set[n].Equal(at(step.t))) {
			t.Fatalf("step %d: %s(t0%+v): set %v, want %v", i, step.op, step.t, set[n:], step.want)
		}
	}

	fail := errors.New("closed")
	d = NewDeadline(func(time.Time) error { return fail })
	if err := d.Near(t0, length); err != fail {
		t.Fatalf("a failed set returned %v, want its error", err)
	}
}
