package harness

// TEMPORARY stub until the schedule branch merges. DELETE.

import (
	"errors"
	"strings"
	"time"
)

type Plan struct {
	rate Rate
	d    time.Duration
	segs []PlanSegment
}

type PlanSegment struct {
	Label, Spec string
	Start, End  time.Duration
}

func ParsePlan(s string) (*Plan, error) { return nil, errors.New("stub") }
func IsSchedule(s string) bool          { return strings.ContainsAny(s, ";:@") }
func ConstantPlan(r Rate, d time.Duration) *Plan {
	return &Plan{rate: r, d: d, segs: []PlanSegment{{Label: "hold " + r.String(), Spec: r.String(), End: d}}}
}
func (p *Plan) String() string                 { return p.rate.String() }
func (p *Plan) Duration() time.Duration        { return p.d }
func (p *Plan) Segments() []PlanSegment        { return p.segs }
func (p *Plan) RateAt(t time.Duration) float64 { return p.rate.PerSecond() }
func (p *Plan) Hits(from, to time.Duration) float64 {
	return p.rate.PerSecond() * (to - from).Seconds()
}
func (p *Plan) MeanRate() float64  { return p.rate.PerSecond() }
func (p *Plan) StartRate() float64 { return p.rate.PerSecond() }
func (p *Plan) WithWarmup(w time.Duration) *Plan {
	q := *p
	q.d += w
	return &q
}
func (p *Plan) Constant() (Rate, bool) { return p.rate, true }
func (p *Plan) schedule(s Shard) schedule {
	return constantSchedule{rate: p.rate, shard: uint64(s.Index), count: uint64(max(s.Count, 1))}
}
