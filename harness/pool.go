package harness

import "math"

// lateGrowth decides, look by look of the supervisor, whether to add workers
// beyond the headroom when hits stay late with every worker busy. More
// workers help only a target that answers more when asked more (a slow one
// with room); a target at its capacity answers no more, only keeps more
// requests waiting, and on a target short of CPU each connection costs it
// more: grown for, it never clears its backlog and the pool climbs to its
// ceiling. Which of the two a target is shows only by trying: so each growth
// must pay off, answers rising with the pool, before the next; one that does
// not blocks growth for a while, twice as long each time it happens again,
// and one that does pay shortens the next pause only by half: a target's
// noise passes for a payoff now and then, not every time.
//
// A lateGrowth is used by the supervisor alone.
type lateGrowth struct {
	looks     int // looks so far
	lateFor   int // looks in a row with hits late and every worker busy
	onTimeFor int // looks in a row with hits on time
	// answers holds the answers of each of the last judgeLooks looks (a
	// ring).
	answers [judgeLooks]int64
	// The last growth still to be judged: at which look, the pool before
	// it, and the mean answers a look over the window before it.
	pending             bool
	grewAt              int
	poolBefore          int64
	answersBefore       float64
	backoff, blockUntil int // in looks
}

// growBackoff is the first pause, in looks, after a growth that did not pay
// off; each further one doubles it. judgeLooks is the window, in looks, over
// which answers are compared before and after a growth: long enough that a
// target's noise does not pass for a payoff.
const (
	growBackoff = 10
	judgeLooks  = 10
)

// growBy returns how many workers a growth adds to a pool of workers: an
// eighth of it, within growStep and 4*growStep, so that the answers of a
// target with room rise by a measurable share.
func growBy(workers int64) int64 { return min(max(growStep, workers/8), 4*growStep) }

// look records one look: the requests answered since the last and those
// that fell due, whether hits were late with every worker busy, the pool's
// size and how many workers were waiting on the target. It reports whether
// to add workers now.
func (g *lateGrowth) look(answered, due int64, late bool, workers, inFlight int64) bool {
	g.answers[g.looks%judgeLooks] = answered
	g.looks++
	if !late {
		g.lateFor = 0
		if g.onTimeFor++; g.onTimeFor >= judgeLooks {
			// Hits have been on time a while: the last growth did its
			// part. (One look on time, in the middle of working off a
			// backlog, says nothing.)
			g.pending, g.backoff = false, 0
		}
		return false
	}
	g.onTimeFor = 0
	// A target answering as many requests as fall due is working off a
	// backlog: the pool is not what holds it back, this look.
	if g.lateFor++; g.lateFor < lateLooks || g.looks < g.blockUntil || answered >= due {
		return false
	}
	rate := g.meanAnswers()
	if g.pending {
		// A new worker answers only after connecting and one latency: wait
		// that long (Little's law: the waiting workers over the answers a
		// look), and a whole window more, before judging.
		latency := float64(inFlight) / math.Max(rate, 1)
		if float64(g.looks-g.grewAt) < latency+judgeLooks {
			return false
		}
		g.pending = false
		added := float64(workers-g.poolBefore) / float64(g.poolBefore)
		if rate <= g.answersBefore || rate < g.answersBefore*(1+added*3/4) {
			g.backoff = max(2*g.backoff, growBackoff)
			g.blockUntil = g.looks + g.backoff
			return false
		}
		g.backoff /= 2
	}
	g.pending, g.grewAt, g.poolBefore, g.answersBefore = true, g.looks, workers, rate
	return true
}

func (g *lateGrowth) meanAnswers() float64 {
	var n int64
	for _, a := range g.answers {
		n += a
	}
	return float64(n) / float64(len(g.answers))
}
