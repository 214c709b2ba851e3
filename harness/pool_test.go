package harness

import (
	"math/rand/v2"
	"testing"
)

// TestLateGrowthPaysOff drives lateGrowth with two simulated targets whose
// every worker is busy and hits late: one that answers in proportion to the
// workers it is given (slow, with room), and one at its capacity, answering
// the same whatever the pool. The first must get workers at every judgment;
// the second one growth, then none for longer and longer.
func TestLateGrowthPaysOff(t *testing.T) {
	const looks = 400
	for _, tc := range []struct {
		name    string
		answers func(workers int64) int64 // answers a look
		min     int64
		max     int64
	}{
		// 10 answers a look per 16 workers: a latency of 16 looks.
		{"target with room", func(w int64) int64 { return w * 10 / 16 }, 1000, 1 << 40},
		{"target at capacity", func(int64) int64 { return 400 }, 16, 16 * 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var g lateGrowth
			workers, grown := int64(32), 0
			for range looks {
				if g.look(tc.answers(workers), 1<<30, true, workers, workers) {
					workers += growBy(workers)
					grown++
				}
			}
			t.Logf("added %d workers in %d growths", workers-32, grown)
			if added := workers - 32; added < tc.min || added > tc.max {
				t.Errorf("added %d workers in %d growths over %d looks; want %d to %d", added, grown, looks, tc.min, tc.max)
			}
		})
	}

	// Hits on time again for a while: a growth that was pending is
	// forgotten, and the next late spell grows at once after lateLooks.
	var g lateGrowth
	for range lateLooks {
		g.look(400, 500, true, 32, 32)
	}
	for range judgeLooks {
		g.look(400, 500, false, 48, 10)
	}
	grew := false
	for range lateLooks {
		grew = g.look(400, 500, true, 48, 48)
	}
	if !grew {
		t.Error("a new late spell did not grow the pool after lateLooks looks")
	}

	// A look whose answers keep up with the plan, or with no hit late,
	// neither grows the pool nor forgets the growth still to be judged:
	// against a target at its capacity working off a backlog, whose
	// answers now and then reach the plan, growth stays judged.
	var c lateGrowth
	workers, grown := int64(120), 0
	for i := range 800 {
		answered := int64(380)
		if i%4 == 0 {
			answered = 410 // noise: as many as fell due
		}
		if c.look(answered, 400, i%7 != 0, workers, workers) {
			workers += growBy(workers)
			grown++
		}
	}
	if grown > 8 {
		t.Errorf("%d growths (to %d workers) against a target at capacity whose answers sometimes reach the plan", grown, workers)
	}

	// A target at its capacity whose answers a look vary by a tenth either
	// way: noise now and then looks like a payoff, but seldom twice.
	rng := rand.New(rand.NewPCG(1, 2))
	var n lateGrowth
	workers, grown = 150, 0
	for range 800 {
		answered := int64(380 + rng.IntN(77) - 38)
		if n.look(answered, 400, true, workers, workers) {
			workers += growBy(workers)
			grown++
		}
	}
	if grown > 12 {
		t.Errorf("%d growths (to %d workers) in 8s against a noisy target at capacity", grown, workers)
	}
	t.Logf("noisy target at capacity: %d growths, to %d workers", grown, workers)
}
