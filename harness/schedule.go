package harness

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Limits on a rate schedule. They refuse values that are surely typos (a
// rate no generator sends, a plan longer than any run) and keep the plan's
// arithmetic exact: every hit count stays far below 2^53, where float64
// still counts whole hits.
const (
	// MaxPlanRate is the highest rate, per second, a schedule may plan at
	// any moment: one hit a nanosecond.
	MaxPlanRate = 1e9
	// MaxPlanDuration is the longest a schedule may last.
	MaxPlanDuration = 30 * 24 * time.Hour
	// maxSteps bounds the levels of one steps segment.
	maxSteps = 10000
	// minSinePeriod is the shortest period of a sine segment: a rate that
	// swings faster than a millisecond is not a shape a target can see.
	minSinePeriod = time.Millisecond
)

// Hints for the grammar of each form, given with every error about it.
const (
	wantHold  = "N/DURATION or hold:N/DURATION, e.g. 50000/5m"
	wantRamp  = "ramp:FROM..TO/DURATION, e.g. ramp:1000..50000/60s"
	wantSteps = "steps:FROM..TO+STEP/DURATION or steps:A,B,C/DURATION, e.g. steps:1000..10000+1000/30s"
	wantSine  = "sine:MEAN,AMPLITUDE,PERIOD[,PHASE]/DURATION, e.g. sine:5000,2000,60s/5m"
	wantFile  = "@FILE of time,rate rows, e.g. @plan.csv"
	wantAny   = "segments joined by ; each N/DURATION, hold:, ramp:, steps:, sine: or @FILE, e.g. ramp:0..50000/60s;50000/5m"
)

// PlanError is why a rate schedule was refused. It names the whole value
// and the segment at fault, because a schedule is typed on a command line
// where the user has to find the mistake in a long value.
type PlanError struct {
	Value   string // the value as given
	Index   int    // the segment at fault, from 1; 0 when the fault is the whole plan's
	Segment string // that segment's text
	Why     string // what is wrong
	Want    string // what the grammar expects there, with an example
	Err     error  // the underlying error (a file that cannot be read), if any
}

// Error reads, for example: rate "ramp:0..x/60s": segment 1 "ramp:0..x/60s":
// the end rate "x" is not a number (want ramp:FROM..TO/DURATION, e.g. ...).
func (e *PlanError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rate %q: ", e.Value)
	if e.Index > 0 {
		fmt.Fprintf(&b, "segment %d %q: ", e.Index, e.Segment)
	}
	b.WriteString(e.Why)
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	if e.Want != "" {
		fmt.Fprintf(&b, " (want %s)", e.Want)
	}
	return b.String()
}

// Unwrap returns the underlying error, so that errors.Is sees, for example,
// a plan file that does not exist.
func (e *PlanError) Unwrap() error { return e.Err }

// Plan is a rate that changes over time: a sequence of holds, ramps, steps,
// sine waves and tables read from a file. It is a pure function of time, so
// that every hit has an intended send time however late it goes out, and n
// shards split it exactly (see schedule). A Plan is immutable, and safe for
// any number of goroutines.
type Plan struct {
	value    string
	parts    []part // as parsed; WithWarmup rebuilds from them
	segments []PlanSegment
	pieces   []piece
	dur      time.Duration
	total    float64 // the hits of the whole plan: the rate's integral
	// rate is the plan's exact rate when constant is set: then the
	// schedule is constantSchedule's integer arithmetic, as before plans.
	rate     Rate
	constant bool
}

// PlanSegment is one segment of a plan as users see it in a report: steps
// expand to one segment per level, so that each level's results can be told
// apart.
type PlanSegment struct {
	// Label says what the segment plans: "ramp 0/s..50000/s", "hold
	// 50000/s", "step 3/10: 3000/s", "sine 5000±2000/s every 1m0s",
	// "plan.csv", "warm-up".
	Label string
	// Spec is the segment as written; every level of a steps segment has
	// the whole steps segment.
	Spec string
	// Start and End are the segment's span from the plan's start.
	Start, End time.Duration
}

// part is a segment before it is laid out: its pieces carry lengths only.
type part struct {
	label, spec string
	pieces      []piece
}

type shape uint8

const (
	shapeHold shape = iota
	shapeRamp
	shapeSine
)

// piece is a stretch of the plan whose rate has one closed form: constant,
// linear, or a sine. Its integral I(τ), the hits from its start to τ
// seconds in, is exact mathematics evaluated in float64.
type piece struct {
	shape shape
	// hold: rate a; ramp: from a to b, slope (b-a)/length per second;
	// sine: mean a, amplitude b, omega and phase in radians.
	a, b, slope  float64
	omega, phase float64
	ampOmega     float64 // b/omega
	cosPhase     float64
	length       time.Duration
	// Set by layout: the span in the plan, the hits before start and up to
	// end, and eps, a bound on the error of integral against the exact
	// integral (see first).
	start, end time.Duration
	cum, next  float64
	eps        float64
}

// integralAt returns I(τ) for τ nanoseconds into the piece.
func (pc *piece) integralAt(ns int64) float64 {
	return pc.integral(float64(ns) / 1e9)
}

// integral returns I(s) for s seconds into the piece.
func (pc *piece) integral(s float64) float64 {
	switch pc.shape {
	case shapeRamp:
		return s * (pc.a + 0.5*pc.slope*s)
	case shapeSine:
		return pc.a*s + pc.ampOmega*(pc.cosPhase-math.Cos(pc.omega*s+pc.phase))
	}
	return pc.a * s
}

// rateAt returns the rate s seconds into the piece, per second.
func (pc *piece) rateAt(s float64) float64 {
	switch pc.shape {
	case shapeRamp:
		return max(pc.a+pc.slope*s, 0)
	case shapeSine:
		return max(pc.a+pc.b*math.Sin(pc.omega*s+pc.phase), 0)
	}
	return pc.a
}

// estimate returns, roughly, the seconds into the piece at which I reaches
// y: exact in real arithmetic, and only a starting point for first.
func (pc *piece) estimate(y float64) float64 {
	T := pc.length.Seconds()
	if y <= 0 {
		return 0
	}
	switch pc.shape {
	case shapeRamp:
		// The root of slope/2 τ² + a τ - y = 0 in the form without
		// cancellation, for ramps up and down alike.
		d := pc.a + math.Sqrt(max(pc.a*pc.a+2*pc.slope*y, 0))
		if d <= 0 {
			return T
		}
		return min(2*y/d, T)
	case shapeSine:
		return pc.newton(y, T)
	}
	if pc.a <= 0 {
		return T
	}
	return min(y/pc.a, T)
}

// newton inverts a sine piece's integral: Newton's method (the rate is its
// derivative), kept inside a shrinking bracket by falling back to
// bisection wherever the rate is near 0 and a Newton step would overshoot.
func (pc *piece) newton(y, T float64) float64 {
	lo, hi := 0.0, T
	x := min(y/pc.a, T)
	for range 100 {
		f := pc.integral(x) - y
		if f < 0 {
			lo = x
		} else {
			hi = x
		}
		nx := (lo + hi) / 2
		if d := pc.a + pc.b*math.Sin(pc.omega*x+pc.phase); d > 0 {
			if n := x - f/d; n > lo && n < hi {
				nx = n
			}
		}
		if math.Abs(nx-x) < 1e-10 || hi-lo < 1e-10 {
			return nx
		}
		x = nx
	}
	return x
}

// first returns the nanosecond into the piece at which hit y (counted from
// the piece's start) is due: the first ns with integralAt(ns) >= y, as found
// by bisection over the whole piece, with ns == length standing for "not in
// this piece". The bisection is what makes the plan consistent despite
// rounding: integralAt may, at the scale of its rounding errors, not be
// monotone (a sine's cos), but bisection over one fixed bracket with
// predicates nested in y (integral >= y) gives results monotone in y, so
// at(n) never goes back in time. It is cheap because it evaluates the
// integral only near the closed-form estimate: eps bounds the error of
// integralAt against the exact, monotone integral, so once integralAt(a)
// >= y+4eps every ns from a on tests true, and once integralAt(b) < y-4eps
// every ns up to b tests false, without being evaluated.
func (pc *piece) first(y float64) int64 {
	T := int64(pc.length)
	e := min(max(int64(math.Round(pc.estimate(y)*1e9)), 0), T)
	margin := 4 * pc.eps
	a := T
	for d := int64(0); ; d = 4*d + 1 {
		if e+d >= T {
			break
		}
		if pc.integralAt(e+d) >= y+margin {
			a = e + d
			break
		}
	}
	b := int64(-1)
	for d := int64(1); ; d *= 4 {
		if e-d < 0 {
			break
		}
		if pc.integralAt(e-d) < y-margin {
			b = e - d
			break
		}
	}
	lo, hi := int64(-1), T
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		var reached bool
		switch {
		case mid >= a:
			reached = true
		case mid <= b:
			reached = false
		default:
			reached = pc.integralAt(mid) >= y
		}
		if reached {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// layout builds a plan from its parts: places the pieces end to end,
// accumulates their hits, and bounds each one's rounding error.
func layout(value string, parts []part) *Plan {
	p := &Plan{value: value, parts: parts}
	var at time.Duration
	var cum float64
	for _, pt := range parts {
		seg := PlanSegment{Label: pt.label, Spec: pt.spec, Start: at}
		for _, pc := range pt.pieces {
			pc.start, pc.end = at, at+pc.length
			pc.cum = cum
			T := pc.length.Seconds()
			// The largest magnitude the integral's terms reach, times a
			// generous multiple of float64's unit roundoff. For a sine the
			// cos of a large argument is off by up to an ulp of that
			// argument, scaled by the amplitude over omega.
			mag := math.Abs(pc.a)*T + math.Abs(pc.slope)*T*T/2
			if pc.shape == shapeSine {
				mag += pc.ampOmega * (2 + pc.omega*T + math.Abs(pc.phase))
			}
			pc.eps = 256 * 0x1p-52 * mag
			pc.next = cum + pc.integralAt(int64(pc.length))
			cum = pc.next
			at = pc.end
			p.pieces = append(p.pieces, pc)
		}
		seg.End = at
		p.segments = append(p.segments, seg)
	}
	p.dur, p.total = at, cum
	return p
}

// ConstantPlan returns the plan of one constant rate for d. Its schedule is
// the exact integer constantSchedule, so a plain --rate sends the hits it
// always did.
func ConstantPlan(r Rate, d time.Duration) *Plan {
	p := layout(r.String(), []part{holdPart("hold "+r.String(), r.String(), r.PerSecond(), d)})
	p.rate, p.constant = r, true
	return p
}

func holdPart(label, spec string, rate float64, d time.Duration) part {
	return part{label: label, spec: spec, pieces: []piece{{shape: shapeHold, a: rate, length: d}}}
}

// String returns the plan as given: the --rate value, or the constant
// rate's own form.
func (p *Plan) String() string { return p.value }

// Duration returns how long the plan lasts, warm-up included.
func (p *Plan) Duration() time.Duration { return p.dur }

// Segments returns the plan's segments in order; they are contiguous, from
// 0 to Duration.
func (p *Plan) Segments() []PlanSegment {
	return append([]PlanSegment(nil), p.segments...)
}

// Constant returns the plan's rate when it is one constant rate (made by
// ConstantPlan, with or without a warm-up), for the callers that report a
// constant rate as they always did.
func (p *Plan) Constant() (Rate, bool) { return p.rate, p.constant }

// pieceAt returns the index of the piece that time t (0 <= t < Duration)
// lies in.
func (p *Plan) pieceAt(t time.Duration) int {
	lo, hi := 0, len(p.pieces)-1
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if p.pieces[mid].end <= t {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// RateAt returns the planned rate at t, per second; 0 outside the plan.
func (p *Plan) RateAt(t time.Duration) float64 {
	if t < 0 || t >= p.dur {
		return 0
	}
	pc := &p.pieces[p.pieceAt(t)]
	return pc.rateAt((t - pc.start).Seconds())
}

// cumulative returns the plan's hits over [0, t]: the integral of its rate.
func (p *Plan) cumulative(t time.Duration) float64 {
	if t <= 0 {
		return 0
	}
	if t >= p.dur {
		return p.total
	}
	pc := &p.pieces[p.pieceAt(t)]
	return pc.cum + pc.integralAt(int64(t-pc.start))
}

// Hits returns the hits the plan expects over [from, to): the integral of
// its rate, which the schedule's hits match within one.
func (p *Plan) Hits(from, to time.Duration) float64 {
	if to <= from {
		return 0
	}
	return max(p.cumulative(to)-p.cumulative(from), 0)
}

// MeanRate returns the plan's mean rate per second, the one figure to
// compare an achieved rate with.
func (p *Plan) MeanRate() float64 {
	if p.dur <= 0 {
		return 0
	}
	return p.total / p.dur.Seconds()
}

// StartRate returns the rate at the plan's start, per second: the rate a
// warm-up holds so that the target is warm for the plan's first segment.
func (p *Plan) StartRate() float64 {
	if p.constant {
		return p.rate.PerSecond()
	}
	return p.RateAt(0)
}

// PeakRate returns the plan's highest rate, per second: for each piece the
// larger end of a hold or a ramp, or a sine's mean plus its amplitude.
func (p *Plan) PeakRate() float64 {
	if p.constant {
		return p.rate.PerSecond()
	}
	peak := 0.0
	for i := range p.pieces {
		pc := &p.pieces[i]
		switch pc.shape {
		case shapeSine:
			peak = max(peak, pc.a+pc.b)
		default:
			peak = max(peak, pc.a, pc.b)
		}
	}
	return peak
}

// WithWarmup returns a new plan that holds StartRate for w before p,
// labelled "warm-up"; p is unchanged. A constant plan stays constant (its
// Rate, for longer), so it keeps its exact integer schedule.
func (p *Plan) WithWarmup(w time.Duration) *Plan {
	if w <= 0 {
		return p
	}
	warm := holdPart("warm-up", "warm-up", p.StartRate(), w)
	q := layout(p.value, append([]part{warm}, p.parts...))
	q.rate, q.constant = p.rate, p.constant
	return q
}

// schedule returns the exact schedule of shard s of the plan (a Count of 0
// means the whole plan).
func (p *Plan) schedule(s Shard) schedule {
	count := uint64(max(s.Count, 1))
	shard := uint64(max(s.Index, 0))
	if p.constant {
		return constantSchedule{rate: p.rate, shard: shard, count: count}
	}
	return planSchedule{plan: p, shard: shard, count: count}
}

// planSchedule is the schedule of a plan that is not one constant rate:
// global hit g is due at the first nanosecond at which the rate's integral
// from the start reaches g, and hit n of shard i of k is global hit n*k+i,
// as in constantSchedule, so that k shards together send exactly the plan.
type planSchedule struct {
	plan         *Plan
	shard, count uint64
}

var _ schedule = planSchedule{}

func (s planSchedule) at(n uint64) time.Duration {
	if n > (math.MaxUint64-s.shard)/s.count {
		return maxDuration
	}
	return s.plan.at(n*s.count + s.shard)
}

func (s planSchedule) due(t time.Duration) uint64 {
	g := s.plan.due(t)
	if g <= s.shard {
		return 0
	}
	return (g-s.shard-1)/s.count + 1
}

// at returns when global hit g is due, or maxDuration when it is beyond
// the plan's end. It is monotone in g (see piece.first) and allocates
// nothing: workers call it once a hit.
func (p *Plan) at(g uint64) time.Duration {
	y := float64(g)
	// The first piece by whose end the plan has reached y hits.
	lo, hi := 0, len(p.pieces)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if p.pieces[mid].next < y {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == len(p.pieces) {
		return maxDuration
	}
	pc := &p.pieces[lo]
	t := pc.start + time.Duration(pc.first(y-pc.cum))
	if t >= p.dur {
		return maxDuration
	}
	return t
}

// due returns how many global hits are due by t: the first g with at(g) >
// t. It starts from the integral's estimate and corrects it against at
// itself, so that at(g) <= t exactly when g < due(t), whatever the
// rounding.
func (p *Plan) due(t time.Duration) uint64 {
	if t < 0 {
		return 0
	}
	t = min(t, p.dur-1)
	n := uint64(math.Floor(max(p.cumulative(t), 0))) + 1
	var lo, hi uint64 // the answer is in [lo, hi], and at(hi) > t
	if p.at(n) <= t {
		lo, hi = n+1, n+1
		for step := uint64(1); p.at(hi) <= t; step *= 2 {
			lo, hi = hi+1, hi+1+step
		}
	} else {
		hi = n
		for step := uint64(1); ; step *= 2 {
			if hi == 0 {
				return 0
			}
			m := hi - min(step, hi)
			if p.at(m) <= t {
				lo = m + 1
				break
			}
			hi = m
		}
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if p.at(mid) > t {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// IsSchedule reports whether a --rate value is a schedule for ParsePlan
// rather than a plain rate for ParseRate. It looks for ";", ":" or "@",
// which no plain rate has, because "N/DURATION" means N per DURATION as a
// rate (vegeta's meaning) but N per second held for DURATION in a schedule.
func IsSchedule(s string) bool { return strings.ContainsAny(s, ";:@") }

// ParsePlan parses a rate schedule: segments joined by ";", each one of
//
//	N/DURATION or hold:N/DURATION    N per second held for DURATION
//	ramp:FROM..TO/DURATION           linear from FROM/s to TO/s
//	steps:FROM..TO+STEP/DURATION     levels FROM, FROM+STEP, ... TO, each for DURATION
//	steps:A,B,C/DURATION             the levels listed, each for DURATION
//	sine:MEAN,AMP,PERIOD[,PHASE]/DURATION  MEAN + AMP·sin(2π t/PERIOD + PHASE°)
//	@FILE                            time,rate rows, linear between them
//
// A value without ";", ":" or "@" is a plain rate (see IsSchedule) and is
// refused: callers read it with ParseRate. Errors are *PlanError.
func ParsePlan(s string) (*Plan, error) { return parsePlan(s, os.ReadFile) }

// parsePlan is ParsePlan reading files with readFile, so that tests (the
// fuzz test above all) need not touch the file system.
func parsePlan(s string, readFile func(string) ([]byte, error)) (*Plan, error) {
	if !IsSchedule(s) {
		return nil, &PlanError{Value: s, Why: "not a schedule: a plain N/DURATION is a rate of N per DURATION", Want: "a schedule with ;, : or @, e.g. hold:50000/5m for 50000/s held for 5m"}
	}
	var parts []part
	var total time.Duration
	for i, text := range strings.Split(s, ";") {
		sp := segParser{value: s, index: i + 1, text: strings.TrimSpace(text), want: wantAny, readFile: readFile}
		ps, err := sp.parse()
		if err != nil {
			return nil, err
		}
		for _, pt := range ps {
			for _, pc := range pt.pieces {
				if pc.length > MaxPlanDuration-total {
					return nil, sp.fail("the plan would last longer than %v", MaxPlanDuration)
				}
				total += pc.length
			}
		}
		parts = append(parts, ps...)
	}
	p := layout(strings.TrimSpace(s), parts)
	if p.total < 1 {
		return nil, &PlanError{Value: s, Why: "the plan sends no requests (its rates are 0 throughout)", Want: wantAny}
	}
	return p, nil
}

// segParser parses one segment, and says where a fault is.
type segParser struct {
	value    string
	index    int
	text     string
	want     string
	readFile func(string) ([]byte, error)
}

func (sp *segParser) fail(format string, args ...any) *PlanError {
	return &PlanError{Value: sp.value, Index: sp.index, Segment: sp.text, Why: fmt.Sprintf(format, args...), Want: sp.want}
}

func (sp *segParser) parse() ([]part, error) {
	if sp.text == "" {
		return nil, sp.fail("the segment is empty")
	}
	if path, ok := strings.CutPrefix(sp.text, "@"); ok {
		sp.want = wantFile
		return sp.file(strings.TrimSpace(path))
	}
	kind, body, ok := strings.Cut(sp.text, ":")
	if !ok {
		kind, body = "hold", sp.text
	}
	kind = strings.TrimSpace(kind)
	switch kind {
	case "hold":
		sp.want = wantHold
	case "ramp":
		sp.want = wantRamp
	case "steps":
		sp.want = wantSteps
	case "sine":
		sp.want = wantSine
	default:
		return nil, sp.fail("unknown shape %q", kind)
	}
	args, durText, ok := strings.Cut(body, "/")
	if !ok {
		return nil, sp.fail("no /DURATION at the end")
	}
	d, err := sp.duration(durText)
	if err != nil {
		return nil, err
	}
	args = strings.TrimSpace(args)
	switch kind {
	case "hold":
		r, err := sp.rate("rate", args)
		if err != nil {
			return nil, err
		}
		return []part{holdPart("hold "+perSecond(r), sp.text, r, d)}, nil
	case "ramp":
		from, to, ok := strings.Cut(args, "..")
		if !ok {
			return nil, sp.fail("no .. between the start and end rates")
		}
		a, b, err := sp.span(from, to)
		if err != nil {
			return nil, err
		}
		return []part{{label: "ramp " + perSecond(a) + ".." + perSecond(b), spec: sp.text, pieces: []piece{rampPiece(a, b, d)}}}, nil
	case "steps":
		levels, err := sp.levels(args)
		if err != nil {
			return nil, err
		}
		parts := make([]part, len(levels))
		for i, r := range levels {
			parts[i] = holdPart(fmt.Sprintf("step %d/%d: %s", i+1, len(levels), perSecond(r)), sp.text, r, d)
		}
		return parts, nil
	}
	return sp.sine(args, d)
}

func rampPiece(a, b float64, d time.Duration) piece {
	if a == b {
		return piece{shape: shapeHold, a: a, length: d}
	}
	return piece{shape: shapeRamp, a: a, b: b, slope: (b - a) / d.Seconds(), length: d}
}

// duration parses a segment's DURATION.
func (sp *segParser) duration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, sp.fail("the duration %q is not a duration like 30s, 5m or 1h30m", s)
	}
	if d <= 0 {
		return 0, sp.fail("the duration %q must be above 0", s)
	}
	if d > MaxPlanDuration {
		return 0, sp.fail("the duration %q is longer than %v", s, MaxPlanDuration)
	}
	return d, nil
}

// rate parses a rate per second; what names it in errors.
func (sp *segParser) rate(what, s string) (float64, error) {
	s = strings.TrimSpace(s)
	r, why := parseRate(s)
	if why != "" {
		return 0, sp.fail("the %s %q %s", what, s, why)
	}
	return r, nil
}

// parseRate parses a rate per second, or says why it cannot be one.
func parseRate(s string) (float64, string) {
	r, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil || math.IsNaN(r) || math.IsInf(r, 0):
		return 0, "is not a number"
	case r < 0:
		return 0, "is below 0"
	case r > MaxPlanRate:
		return 0, fmt.Sprintf("is above %g/s", float64(MaxPlanRate))
	}
	return r, ""
}

// span parses the start and end rates of a ramp or a range of steps.
func (sp *segParser) span(from, to string) (a, b float64, err error) {
	if a, err = sp.rate("start rate", from); err != nil {
		return 0, 0, err
	}
	b, err = sp.rate("end rate", to)
	return a, b, err
}

// levels parses a steps segment's FROM..TO+STEP or A,B,C.
func (sp *segParser) levels(s string) ([]float64, error) {
	from, rest, isRange := strings.Cut(s, "..")
	if !isRange {
		var levels []float64
		for i, f := range strings.Split(s, ",") {
			r, err := sp.rate(fmt.Sprintf("level %d", i+1), f)
			if err != nil {
				return nil, err
			}
			if len(levels) == maxSteps {
				return nil, sp.fail("more than %d levels", maxSteps)
			}
			levels = append(levels, r)
		}
		return levels, nil
	}
	to, stepText, ok := strings.Cut(rest, "+")
	if !ok {
		return nil, sp.fail("no +STEP after the end rate")
	}
	a, b, err := sp.span(from, to)
	if err != nil {
		return nil, err
	}
	step, err := sp.rate("step", stepText)
	if err != nil {
		return nil, err
	}
	if step == 0 {
		return nil, sp.fail("the step %q must be above 0", strings.TrimSpace(stepText))
	}
	// Levels count down when FROM is above TO. A level within a billionth
	// of a step of TO is TO (decimal steps do not add up exactly in
	// binary).
	span := math.Abs(b - a)
	n := math.Floor(span/step+1e-9) + 1
	if n > maxSteps {
		return nil, sp.fail("%.0f levels, more than %d", n, maxSteps)
	}
	dir := 1.0
	if b < a {
		dir = -1
	}
	levels := make([]float64, int(n))
	for i := range levels {
		levels[i] = a + dir*float64(i)*step
		if math.Abs(levels[i]-b) <= 1e-9*step {
			levels[i] = b
		}
		levels[i] = max(levels[i], 0)
	}
	return levels, nil
}

// sine parses MEAN,AMPLITUDE,PERIOD[,PHASE].
func (sp *segParser) sine(s string, d time.Duration) ([]part, error) {
	f := strings.Split(s, ",")
	if len(f) < 3 || len(f) > 4 {
		return nil, sp.fail("%d values before the /, want 3 or 4", len(f))
	}
	mean, err := sp.rate("mean", f[0])
	if err != nil {
		return nil, err
	}
	amp, err := sp.rate("amplitude", f[1])
	if err != nil {
		return nil, err
	}
	if amp > mean {
		return nil, sp.fail("the amplitude %s is above the mean %s: the rate would go below 0", perSecond(amp), perSecond(mean))
	}
	if mean+amp > MaxPlanRate {
		return nil, sp.fail("the peak rate %s is above %g/s", perSecond(mean+amp), float64(MaxPlanRate))
	}
	periodText := strings.TrimSpace(f[2])
	period, err := time.ParseDuration(periodText)
	if err != nil {
		return nil, sp.fail("the period %q is not a duration like 60s", periodText)
	}
	if period < minSinePeriod {
		return nil, sp.fail("the period %q is shorter than %v", periodText, minSinePeriod)
	}
	var phase float64
	if len(f) == 4 {
		text := strings.TrimSuffix(strings.TrimSpace(f[3]), "°")
		phase, err = strconv.ParseFloat(text, 64)
		if err != nil || math.IsNaN(phase) || math.IsInf(phase, 0) || math.Abs(phase) > 360 {
			return nil, sp.fail("the phase %q is not a number of degrees from -360 to 360", strings.TrimSpace(f[3]))
		}
	}
	label := fmt.Sprintf("sine %s±%s/s every %v", strconv.FormatFloat(mean, 'f', -1, 64), strconv.FormatFloat(amp, 'f', -1, 64), period)
	if phase != 0 {
		label += fmt.Sprintf(" from %s°", strconv.FormatFloat(phase, 'f', -1, 64))
	}
	pc := piece{shape: shapeHold, a: mean, length: d}
	if amp > 0 {
		omega := 2 * math.Pi / period.Seconds()
		rad := phase * math.Pi / 180
		pc = piece{shape: shapeSine, a: mean, b: amp, omega: omega, phase: rad,
			ampOmega: amp / omega, cosPhase: math.Cos(rad), length: d}
	}
	return []part{{label: label, spec: sp.text, pieces: []piece{pc}}}, nil
}

// file reads a plan file: time,rate rows, linear between them.
func (sp *segParser) file(path string) ([]part, error) {
	if path == "" {
		return nil, sp.fail("no file name after @")
	}
	data, err := sp.readFile(path)
	if err != nil {
		e := sp.fail("cannot read the plan file")
		e.Err = err
		return nil, e
	}
	type row struct {
		at   time.Duration
		rate float64
	}
	var rows []row
	header := true
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		where := fmt.Sprintf("%s line %d", path, i+1)
		f := strings.Split(line, ",")
		if len(f) != 2 {
			return nil, sp.fail("%s: %d fields, want time,rate", where, len(f))
		}
		at, okAt := rowTime(f[0])
		rateText := strings.TrimSpace(f[1])
		rate, why := parseRate(rateText)
		if header && !okAt && why != "" {
			header = false // a header row: names, not values
			continue
		}
		header = false
		if !okAt {
			return nil, sp.fail("%s: the time %q is neither seconds nor a duration like 90s", where, strings.TrimSpace(f[0]))
		}
		if why != "" {
			return nil, sp.fail("%s: the rate %q %s", where, rateText, why)
		}
		switch {
		case len(rows) == 0 && at != 0:
			return nil, sp.fail("%s: the first time is %v, want 0", where, at)
		case len(rows) > 0 && at <= rows[len(rows)-1].at:
			return nil, sp.fail("%s: the time %v is not after the previous row's %v", where, at, rows[len(rows)-1].at)
		case at > MaxPlanDuration:
			return nil, sp.fail("%s: the time %v is beyond %v", where, at, MaxPlanDuration)
		}
		rows = append(rows, row{at, rate})
	}
	if len(rows) < 2 {
		return nil, sp.fail("%s: %d rows of time,rate, want at least 2", path, len(rows))
	}
	pt := part{label: filepath.Base(path), spec: sp.text}
	for i := 1; i < len(rows); i++ {
		pt.pieces = append(pt.pieces, rampPiece(rows[i-1].rate, rows[i].rate, rows[i].at-rows[i-1].at))
	}
	return []part{pt}, nil
}

// rowTime parses a plan file's time: seconds, or a Go duration.
func rowTime(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if sec, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(sec) || sec < 0 || sec > MaxPlanDuration.Seconds() {
			return 0, false
		}
		return time.Duration(math.Round(sec * 1e9)), true
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, false
	}
	return d, true
}

// perSecond formats a rate per second as users wrote it: 50000/s, 2.5/s.
func perSecond(r float64) string { return strconv.FormatFloat(r, 'f', -1, 64) + "/s" }
