package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"runtime/metrics"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/perf-tools/perf/hostmetrics"
	"github.com/perf-tools/perf/results"
)

// Defaults for Options' zero values.
const (
	// DefaultTimeout bounds each request, as vegeta's default.
	DefaultTimeout = 30 * time.Second
	// DefaultWorkers is the fewest workers (each with its own connection)
	// that start the attack; at high rates it starts with as many as the
	// rate needs at initialLatency.
	DefaultWorkers = 32
	// DefaultConnections caps the connections open at once; each worker
	// holds at most one per endpoint.
	DefaultConnections = 10000
	// DefaultInterval is the length of one interval of the .hlog and the
	// timeline.
	DefaultInterval = time.Second
	// DefaultMaxLag is the bound on send-lag p99 above which a run is
	// invalid: the generator did not send on time, so it measured itself.
	DefaultMaxLag = 5 * time.Millisecond
	// DefaultMinAchieved is the share of the planned rate a valid run must
	// achieve.
	DefaultMinAchieved = 0.98
	// DefaultMaxCPU is the generator CPU use, in percent of the cores it may
	// use, at or above which a run is invalid as saturated.
	DefaultMaxCPU = results.DefaultMaxCPUPercent

	// superviseEvery is how often the supervisor sizes the worker pool
	// and closes the intervals whose hits are all in.
	superviseEvery = 10 * time.Millisecond
	// growStep is the fewest workers the supervisor adds at a look when it
	// grows the pool, and a quarter of the most (see growBy): every new
	// worker dials a connection, and a burst of dials is a pause of its own.
	growStep = 16
	// The pool keeps headroom x the concurrency the rate needs, plus
	// minSpare, ready (see attack.supervise).
	headroom = 1.5
	minSpare = 16
	// initialLatency sizes the initial pool: enough workers for the rate at
	// this latency, so that a target slow at first (cold caches, a burst of
	// new connections) does not make the pool grow in a hurry from the
	// first millisecond.
	initialLatency = 3 * time.Millisecond
	// schedLate is how long the generator's own goroutines may wait to
	// run (their p99 since the supervisor's last look) before the pool
	// stops growing: hits late then are the generator's, and more workers
	// (and connections) would only take more of its CPU.
	schedLate = time.Millisecond
	// growCPU is the generator's own CPU use, as a share of the cores it
	// may use, at which the pool stops growing, for the same reason.
	growCPU = 0.9
	// lateBy is how late a hit no worker has taken must be, with every
	// worker busy, for lateLooks looks in a row, before the supervisor adds
	// workers beyond the headroom: a stall of the target longer than a few
	// hundredths of a second, not one of the short pauses a pool with
	// headroom rides through.
	lateBy    = time.Millisecond
	lateLooks = 3
	// dialAhead bounds how long the initial workers may take to connect
	// before the attack starts.
	dialAhead = 5 * time.Second
	// endGrace is how late after the window's end a hit due before it may
	// still be sent (late, its lag recorded); one not sent by then is
	// counted as never sent. It keeps the last hits of a run whose
	// generator paused at the end (a GC, a busy neighbour) from counting as
	// lost, and a generator far behind from sending on for long.
	endGrace = 100 * time.Millisecond
	// drainGrace is how long an interrupted attack waits for requests in
	// flight before it cuts them off.
	drainGrace = time.Second
	// preciseSleepRate is the planned rate (per second) up to which workers
	// sleep on a timerfd; see attack.sleep.
	preciseSleepRate = 5000
)

// Options configures an attack. Zero values take the Default* constants.
type Options struct {
	Targets *Targets
	// Rate is a constant plan, held for Duration. Plan, when set, is a
	// rate schedule instead, and Duration is its length.
	Rate  Rate
	Plan  *Plan
	Shard Shard
	// Duration is the measured window; Warmup runs before it, at the
	// plan's starting rate, attacked and logged but excluded from the
	// summary and the verdicts.
	Duration, Warmup time.Duration
	Timeout          time.Duration
	Workers          int
	// MaxWorkers caps the pool. Zero derives it from the plan: as many
	// workers as the rate needs if every request took the whole Timeout,
	// within Connections and the process's open-file limit.
	MaxWorkers  int
	Connections int
	Interval    time.Duration
	// OnInterval receives every interval, in order, from one goroutine,
	// once all its hits are in. An error from it ends the attack.
	OnInterval func(results.Interval) error
	// OnCounts, when set, receives every interval as OnInterval does,
	// with the counts an Interval does not hold (see Statsd).
	OnCounts func(results.Interval, IntervalCounts)
	// OnProgress, when set, is called once an interval with the state so far.
	OnProgress func(Progress)
	// OnMeasureStart, when set, is called once when warm-up ends and the
	// measured window begins (to start profiles that cover it).
	OnMeasureStart func()
	// GiveUp lists the bounds on which the attack ends early (see Limit).
	GiveUp []Limit
	// Split, when set, names the response header whose value is each
	// response's variant: the outcome then holds each variant's histograms
	// and counts (Tally.Variants), and every interval its variants'
	// histograms.
	Split *Split
}

// Limit is a bound an attack may give up on. Once more than Allowed
// requests of the measured window are certain to exceed Over at the target
// (answered more than Over after they were sent, or in flight and due
// longer than Over ago), or, when Over is zero, once more than Allowed
// have failed, the verdict the limit stands for has failed beyond doubt,
// and the attack ends early instead of burying an overloaded target for
// the rest of its plan. Only the target's time counts: a generator that
// paused or fell behind does not end the attack, and is judged by its
// health at the end. Expr names that verdict (an SLO expression).
type Limit struct {
	Over    time.Duration
	Allowed int64
	Expr    string
}

// Progress is the live state of an attack, reported once an interval.
type Progress struct {
	// Elapsed is the end of the interval just closed, in the plan's time.
	Elapsed  time.Duration
	Rate     float64 // requests sent per second in that interval
	P99      time.Duration
	Requests int64
	Errors   int64
}

// Outcome is what an attack measured over its measured window: the hits of
// the plan whose intended send time lies in it, wherever their results
// arrived.
type Outcome struct {
	// Started is when hit 0 was due; MeasureStart when warm-up ended.
	Started, MeasureStart time.Time
	// Tally holds what was measured in the window, whose length is
	// Duration, or less when the attack was interrupted (zero when that
	// was during the warm-up).
	results.Tally
	// Planned is the planned rate of this generator (its shard), per second.
	Planned     float64
	Interrupted bool
	// Workers is how many workers the attack ended with, MaxWorkers the
	// ceiling it could grow to.
	Workers, MaxWorkers int
	// AllBusy is how long, in the measured window, every worker was busy
	// waiting on the target while hits fell due, and Exhausted how much of
	// that the pool was at its ceiling.
	AllBusy, Exhausted time.Duration
	// WarmupAllBusy and WarmupExhausted are the same in the warm-up: an
	// attack that gave up soon after it may have too short a window to
	// judge by.
	WarmupAllBusy, WarmupExhausted time.Duration
	// GaveUp, when set, says which Limit ended the attack early and why;
	// GaveUpOn is that limit, and ByService whether the target's own
	// service time (response end minus the actual send, without the
	// generator's send lag) exceeded it for more requests than it allows,
	// counting the requests in flight when it gave up once they finished.
	GaveUp    string
	GaveUpOn  Limit
	ByService bool
	// Segments are the measured window's segments of a rate schedule with
	// what was measured in each; nil for a plan of one segment.
	Segments []SegmentOutcome
	// CPU is the generator process's CPU use over the measured window, and
	// HostCPU that of every process on the cores the generator may use. The
	// attack does not sample them: the caller, which samples the host for
	// host.json anyway, fills them in before Health.Check.
	CPU, HostCPU results.CPUStats
}

// SegmentOutcome is what was measured in one segment of a rate schedule.
// Its Start and End are from the start of the measured window.
type SegmentOutcome struct {
	PlanSegment
	// Planned is this generator's mean planned rate in the segment, per
	// second.
	Planned float64
	results.Tally
}

// Attack sends the planned load and records every result until the plan
// ends or ctx is cancelled (then the outcome is marked interrupted and
// covers what was measured). The run takes its planned time: when the
// window ends, hits not yet sent are counted as unsent, and requests in
// flight get at most Timeout to finish. It returns an error only when the
// attack could not run or an interval could not be written.
func Attack(ctx context.Context, o Options) (*Outcome, error) {
	if o.Targets == nil {
		return nil, errors.New("attack: no targets")
	}
	if o.Plan == nil {
		if o.Rate.Freq <= 0 || o.Rate.Per <= 0 {
			return nil, fmt.Errorf("attack: rate %v: must be above 0", o.Rate)
		}
		if o.Duration <= 0 {
			return nil, fmt.Errorf("attack: duration %v: must be above 0", o.Duration)
		}
		o.Plan = ConstantPlan(o.Rate, o.Duration)
	}
	o.Duration = o.Plan.Duration()
	if o.Warmup < 0 {
		return nil, fmt.Errorf("attack: warm-up %v: must not be negative", o.Warmup)
	}
	setDefaults(&o)
	full := o.Plan.WithWarmup(o.Warmup)
	a := &attack{
		opts:   o,
		sched:  full.schedule(o.Shard),
		grid:   newGrid(o.Interval, o.Warmup, o.Plan),
		end:    o.Warmup + o.Duration,
		rec:    newRecorder(o.Split != nil),
		conns:  map[*conn]struct{}{},
		limits: o.GiveUp,
		over:   make([]atomic.Int64, len(o.GiveUp)),
	}
	if o.Split != nil {
		a.variants = newVariants(o.Split)
	}
	a.cutoff.Store(int64(a.end))
	a.precise = o.peakRate() <= preciseSleepRate
	a.cpu.cores = float64(hostmetrics.UsableCores())
	return a.run(ctx)
}

// PlannedRate is this generator's share of the planned rate, per second:
// the mean rate of the plan's measured window.
func (o Options) PlannedRate() float64 {
	n := float64(max(o.Shard.Count, 1))
	if o.Plan != nil {
		return o.Plan.MeanRate() / n
	}
	return o.Rate.PerSecond() / n
}

// peakRate is this generator's share of the highest rate of the plan, per
// second, which sizes the worker pool.
func (o Options) peakRate() float64 {
	n := float64(max(o.Shard.Count, 1))
	if o.Plan != nil {
		return o.Plan.PeakRate() / n
	}
	return o.Rate.PerSecond() / n
}

func setDefaults(o *Options) {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Connections <= 0 {
		o.Connections = DefaultConnections
	}
	if o.Shard.Count <= 0 {
		o.Shard = Shard{Index: 0, Count: 1}
	}
	if o.MaxWorkers <= 0 {
		o.MaxWorkers = derivedMaxWorkers(o.peakRate(), o.Timeout, o.Connections, len(o.Targets.endpoints))
	}
	if o.MaxWorkers > o.Connections {
		o.MaxWorkers = o.Connections
	}
	if o.Workers <= 0 {
		o.Workers = max(DefaultWorkers, int(math.Ceil(o.peakRate()*initialLatency.Seconds())))
	}
	if o.Workers > o.MaxWorkers {
		o.Workers = o.MaxWorkers
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
}

// derivedMaxWorkers is the pool's ceiling when none is given: the
// concurrency the rate needs if every request took the whole timeout (an
// open model keeps sending through a stall of the target), within the
// connections allowed and the open files this process may hold.
func derivedMaxWorkers(rate float64, timeout time.Duration, connections, endpoints int) int {
	n := int(math.Min(math.Ceil(rate*timeout.Seconds()), float64(connections)))
	if files := openFileLimit(); files > 0 {
		// Each worker holds a connection per endpoint; leave room for the
		// files and sockets the rest of the process needs.
		n = min(n, (files-64)/max(endpoints, 1))
	}
	return max(n, 1)
}

// grid divides the plan's time into the intervals of the log: one every
// Interval from the start, with the end of the warm-up and the start of
// every segment of a schedule always a boundary, so that no interval
// spans two segments.
type grid struct {
	every time.Duration
	// breaks are the boundaries every interval starts from, in order from
	// 0: the end of the warm-up and the segments' starts. first[i] is the
	// index of the first interval from breaks[i].
	breaks []time.Duration
	first  []int
	nWarm  int // intervals in the warm-up
	// measured is the index of the break the measured window starts at:
	// interval k lies in segment breakAt(k) - measured.
	measured int
}

// newGrid returns the grid of plan (without its warm-up) after a warm-up.
func newGrid(every, warmup time.Duration, plan *Plan) grid {
	g := grid{every: every, breaks: []time.Duration{0}}
	if warmup > 0 {
		g.breaks = append(g.breaks, warmup)
		g.measured = 1
	}
	if plan != nil {
		for _, s := range plan.Segments() {
			if b := warmup + s.Start; b > g.breaks[len(g.breaks)-1] {
				g.breaks = append(g.breaks, b)
			}
		}
	}
	g.first = make([]int, len(g.breaks))
	for i := 1; i < len(g.breaks); i++ {
		g.first[i] = g.first[i-1] + int((g.breaks[i]-g.breaks[i-1]+every-1)/every)
	}
	g.nWarm = g.first[g.measured]
	return g
}

// index returns the interval that offset d lies in.
func (g grid) index(d time.Duration) int {
	i := len(g.breaks) - 1
	if i > 0 && d < g.breaks[i] {
		i = sort.Search(len(g.breaks), func(j int) bool { return g.breaks[j] > d }) - 1
	}
	return g.first[i] + int((d-g.breaks[max(i, 0)])/g.every)
}

// breakAt returns the index of the break interval k counts from.
func (g grid) breakAt(k int) int {
	return sort.Search(len(g.first), func(j int) bool { return g.first[j] > k }) - 1
}

// from returns the start of interval k.
func (g grid) from(k int) time.Duration {
	i := g.breakAt(k)
	return g.breaks[i] + time.Duration(k-g.first[i])*g.every
}

// segment returns the segment of the measured window interval k lies in.
func (g grid) segment(k int) int { return g.breakAt(k) - g.measured }

type attack struct {
	opts  Options
	sched schedule
	grid  grid
	start time.Time
	end   time.Duration // the planned end of the window, from start
	// cutoff is the end of the plan as it is run: end, or the moment of an
	// interrupt. Hits due at or after it are not part of the run.
	cutoff atomic.Int64
	// stopAt is when sending stops: hits not sent by then are unsent.
	stopAt time.Duration

	next     atomic.Uint64 // the next hit to take
	inFlight atomic.Int64  // workers waiting on the target
	finished atomic.Int64  // requests finished (answered or failed)
	begin    chan struct{} // closed when start is set and hits may be taken
	stopped  atomic.Bool
	stopCh   chan struct{}
	// cut says why requests still in flight were cut off, once they were:
	// errInterrupted, or errEndCut when they outlived the run's end.
	cut     atomic.Pointer[error]
	workers atomic.Int64
	wg      sync.WaitGroup
	rec     *recorder
	// variants interns the variants' names when the attack splits by a
	// response header; nil otherwise.
	variants *variants
	precise  bool // sleep on a timerfd; see sleepUntil
	// allBusy and exhausted are the outcome's; waits and cpu the
	// generator's own health. Only the supervisor touches them.
	allBusy, exhausted             time.Duration
	warmupAllBusy, warmupExhausted time.Duration
	waits                          schedGauge
	cpu                            cpuGauge
	// busy is the mean number of workers waiting on the target, smoothed
	// over the last looks; grow decides growth beyond the headroom.
	busy float64
	grow lateGrowth
	// prevNow and prevFinished are the plan's time and the requests
	// finished at the last look.
	prevNow      time.Duration
	prevFinished int64

	connMu sync.Mutex
	conns  map[*conn]struct{} // open connections, to cut off on interrupt

	// limits are the bounds to give up on; over[i] counts the measured
	// window's requests answered more than limits[i].Over after they were
	// sent (or failed); sentMeasured and finishedMeasured count its
	// requests sent and finished.
	limits                         []Limit
	over                           []atomic.Int64
	sentMeasured, finishedMeasured atomic.Int64
	gaveUpOn                       int // the index of the limit given up on
}

func (a *attack) run(ctx context.Context) (*Outcome, error) {
	a.stopCh = make(chan struct{})
	a.stopAt = a.end + endGrace
	// The initial workers connect first, as wrk does, so that the first
	// second does not measure connection set-up; then the plan starts a
	// little ahead, with every worker parked and waiting for hit 0.
	a.begin = make(chan struct{})
	var ready sync.WaitGroup
	for range a.opts.Workers {
		ready.Add(1)
		a.spawn(&ready)
	}
	connected := make(chan struct{})
	go func() { ready.Wait(); close(connected) }()
	select {
	case <-connected:
	case <-time.After(dialAhead):
	case <-ctx.Done():
	}
	a.start = time.Now().Add(5 * time.Millisecond)
	close(a.begin)
	finished := make(chan struct{})
	go func() { a.wg.Wait(); close(finished) }()

	out := &Outcome{
		Started:      a.start,
		MeasureStart: a.start.Add(a.opts.Warmup),
		Tally:        results.NewTally(),
		Planned:      a.opts.PlannedRate(),
		MaxWorkers:   a.opts.MaxWorkers,
	}
	if segs := a.opts.Plan.Segments(); len(segs) > 1 {
		n := float64(max(a.opts.Shard.Count, 1))
		for _, s := range segs {
			out.Segments = append(out.Segments, SegmentOutcome{
				PlanSegment: s,
				Planned:     a.opts.Plan.Hits(s.Start, s.End) / (s.End - s.Start).Seconds() / n,
				Tally:       results.NewTally(),
			})
		}
	}
	tick := time.NewTicker(superviseEvery)
	defer tick.Stop()
	measure := time.NewTimer(time.Until(out.MeasureStart))
	defer measure.Stop()
	// At the window's end (and a grace), sending stops; requests in flight
	// then have their timeout to finish, after which they are cut off.
	ending := time.NewTimer(time.Until(a.start.Add(a.stopAt)))
	defer ending.Stop()
	var (
		intErr error
		cut    <-chan time.Time
		done   = ctx.Done()
	)
loop:
	for {
		select {
		case <-done:
			out.Interrupted = true
			a.interrupt()
			done = nil
			cut = time.After(drainGrace)
		case <-ending.C:
			a.stop()
			if cut == nil {
				cut = time.After(a.opts.Timeout + drainGrace)
			}
		case <-cut:
			why := errEndCut
			switch {
			case out.Interrupted:
				why = errInterrupted
			case out.GaveUp != "":
				why = errGaveUp
			}
			a.cutConnections(why)
			cut = nil
		case <-measure.C:
			if a.opts.OnMeasureStart != nil && !out.Interrupted {
				a.opts.OnMeasureStart()
			}
		case <-tick.C:
			a.supervise()
			if out.GaveUp == "" && !out.Interrupted {
				if why, i := a.overLimit(); why != "" {
					out.GaveUp, out.GaveUpOn, a.gaveUpOn = why, a.limits[i], i
					a.interrupt()
					if cut == nil {
						cut = time.After(drainGrace)
					}
				}
			}
			if err := a.closeReady(out, false); err != nil && intErr == nil {
				intErr = err
				out.Interrupted = true
				a.interrupt()
				a.cutConnections(errInterrupted)
			}
		case <-finished:
			break loop
		}
	}
	// Every worker is gone: what was not sent never will be.
	if err := a.closeReady(out, true); err != nil && intErr == nil {
		intErr = err
	}
	if out.GaveUp != "" {
		// Every request is in: those in flight when the attack gave up
		// have their service times counted too.
		out.ByService = a.over[a.gaveUpOn].Load() > out.GaveUpOn.Allowed
	}
	out.Workers = int(a.workers.Load())
	out.AllBusy, out.Exhausted = a.allBusy, a.exhausted
	out.WarmupAllBusy, out.WarmupExhausted = a.warmupAllBusy, a.warmupExhausted
	out.Window = max(min(time.Duration(a.cutoff.Load()), a.end)-a.opts.Warmup, 0)
	for i := range out.Segments {
		s := &out.Segments[i]
		s.Window = max(min(out.Window, s.End)-s.Start, 0)
	}
	return out, intErr
}

// overLimit returns why, and on which limit's Expr, the attack should give
// up now; "" while no limit is certain to be exceeded. A request sent to
// the target, due longer ago than a latency limit and not answered yet
// will exceed it whenever it finishes: of the measured requests in flight,
// all but at most those due within the last Over are such. Hits not yet
// sent are not counted: they wait on the generator, and a generator that
// falls behind is its own failure (see Health.GeneratorBound), not the
// target's.
func (a *attack) overLimit() (why string, limit int) {
	now := time.Since(a.start)
	if len(a.limits) == 0 || now < a.opts.Warmup {
		return "", 0
	}
	inFlight := a.sentMeasured.Load() - a.finishedMeasured.Load()
	for i, l := range a.limits {
		n := a.over[i].Load()
		if l.Over <= 0 {
			if n > l.Allowed {
				return fmt.Sprintf("%d requests failed, more than the %d that %s allows", n, l.Allowed, l.Expr), i
			}
			continue
		}
		recent := int64(a.sched.due(now) - a.sched.due(now-l.Over))
		waiting := max(inFlight-recent, 0)
		if late := n + waiting; late > l.Allowed {
			return fmt.Sprintf("%d requests took longer than %s at the target (%d answered late, at least %d in flight longer), more than the %d that %s allows",
				late, l.Over, n, waiting, l.Allowed, l.Expr), i
		}
	}
	return "", 0
}

// countLimits counts a finished request of the measured window against the
// limits: service is its time at the target (response end minus the
// actual send), failed whether it failed. A failed request counts against
// a latency limit too: its user got no answer within it.
func (a *attack) countLimits(service time.Duration, failed bool) {
	a.finishedMeasured.Add(1)
	for i, l := range a.limits {
		if failed || (l.Over > 0 && service > l.Over) {
			a.over[i].Add(1)
		}
	}
}

// bounds returns the span of interval k in the plan as it is run.
func (a *attack) bounds(k int) (from, to time.Duration) {
	return a.grid.from(k), min(a.grid.from(k+1), time.Duration(a.cutoff.Load()))
}

// intended returns how many hits of the plan are due in [from, to).
func (a *attack) intended(from, to time.Duration) int64 {
	return int64(a.sched.due(to-1) - a.sched.due(from-1))
}

// closeReady closes, in order, the intervals whose every hit is in (sent
// and finished) and whose time has passed. At the end (final), once no
// worker is left, it closes the rest, counting their missing hits as
// unsent.
func (a *attack) closeReady(out *Outcome, final bool) error {
	cutoff := time.Duration(a.cutoff.Load())
	for {
		k := a.rec.first
		from, to := a.bounds(k)
		if from >= cutoff || (!final && time.Since(a.start) < to) {
			return nil
		}
		want := a.intended(from, to)
		s := a.rec.closeFirst(func(done int64) bool { return final || done >= want })
		if s == nil {
			return nil
		}
		err := a.closeInterval(out, k, from, to, want, s)
		a.rec.release(s)
		if err != nil {
			return err
		}
	}
}

// closeInterval hands interval k on, and adds it to the outcome when it
// lies in the measured window.
func (a *attack) closeInterval(out *Outcome, k int, from, to time.Duration, intended int64, s *slot) error {
	warm := k < a.grid.nWarm
	iv := results.Interval{
		Start:     a.start.Add(from),
		End:       a.start.Add(to),
		Warmup:    warm,
		Corrected: s.corrected,
		Service:   s.service,
		Lag:       s.lag,
		Intended:  intended,
		Unsent:    max(intended-s.done, 0),
		Failures:  s.failures(),
		Errors:    s.errors,
	}
	for id, v := range s.variants {
		if v != nil && v.responses > 0 {
			iv.Variants = append(iv.Variants, results.VariantHistograms{Name: a.variants.name(id), Corrected: v.corrected, Service: v.service})
		}
	}
	// Each step below takes tens to hundreds of microseconds; on a one-core
	// generator nothing is sent meanwhile, so yield between them.
	runtime.Gosched()
	if !warm {
		addInterval(&out.Tally, iv, s)
		if out.Segments != nil {
			addInterval(&out.Segments[a.grid.segment(k)].Tally, iv, s)
		}
	}
	if a.opts.OnProgress != nil {
		p := Progress{Elapsed: to, Requests: out.Requests, Errors: out.Errors}
		if secs := (to - from).Seconds(); secs > 0 {
			p.Rate = float64(s.done) / secs
		}
		p.P99 = time.Duration(results.ValuesAtPercentiles(s.corrected, 99)[0])
		a.opts.OnProgress(p)
	}
	if a.opts.OnCounts != nil {
		a.opts.OnCounts(iv, s.counts())
	}
	if a.opts.OnInterval != nil {
		runtime.Gosched()
		return a.opts.OnInterval(iv)
	}
	return nil
}

// addInterval adds a measured interval to t: the interval holds its
// histograms and the counts of sent, unsent and failed hits (every hit done
// was due in it: s.done <= intended); status codes, error kinds, retries
// and the variants' counts are the slot's.
func addInterval(t *results.Tally, iv results.Interval, s *slot) {
	t.AddInterval(iv)
	// iv.Variants are the slot's variants with responses, in id order.
	j := 0
	for _, vs := range s.variants {
		if vs == nil || vs.responses == 0 {
			continue
		}
		vt := t.Variant(iv.Variants[j].Name)
		j++
		vt.Responses += vs.responses
		vt.Errors += vs.errors
		for code, n := range vs.codes {
			vt.StatusCodes[statusKey(code)] += n
		}
	}
	t.Retries += s.retries
	for code, n := range s.codes {
		if n > 0 {
			t.StatusCodes[statusKey(code)] += n
		}
	}
	for kind, n := range s.kinds {
		t.AddError(kind, n, s.messages[kind])
	}
}

// stop ends sending: workers take no more hits.
func (a *attack) stop() {
	if a.stopped.CompareAndSwap(false, true) {
		close(a.stopCh)
	}
}

// interrupt ends the plan now: hits due from now on are not part of the
// run, and those due before that were not sent are unsent.
func (a *attack) interrupt() {
	a.stop()
	// After stop, so that any hit a worker still sends was due before.
	if now := int64(time.Since(a.start)); now < a.cutoff.Load() {
		a.cutoff.Store(max(now, 0))
	}
}

// supervise keeps the worker pool ahead of demand. The concurrency a rate
// needs is the rate times the current latency, and it is seen directly: the
// mean number of workers waiting on the target (Little's law), smoothed over
// the last few looks in which every hit due found a worker. The pool keeps
// headroom times that,
// plus minSpare, connected and ready, so that a hit due finds a worker
// waiting instead of waiting for one; and when hits stay late (lateBy,
// lateLooks) with every worker busy while the target answers fewer requests
// than fall due, it adds more, as long as each addition pays off (see
// lateGrowth). It never grows past MaxWorkers; time spent with every worker
// busy and hits late is the AllBusy of the outcome, and Exhausted the part
// of it at the ceiling.
//
// It follows the mean, not the busiest moment: every few hundred
// milliseconds a pause (the target's GC, the generator's, the log being
// written) holds every worker at once, and a pool sized for each pause
// grows to hundreds of connections, which measured here cost a one-core
// target more than the pauses did (40,000/s against perf serve: valid with
// 128 connections, buried with 320). Nor does it grow while the generator
// is late to run its own goroutines (schedLate) or its CPU is near
// saturation (growCPU): workers then look busy because their answers wait
// to be read, and more of them, each with a connection to dial, would only
// take the CPU the ones there are need.
func (a *attack) supervise() {
	inFlight := a.inFlight.Load()
	congested := a.waits.late()
	a.cpu.update(time.Now())
	congested = congested || a.cpu.share >= growCPU
	if a.stopped.Load() {
		return
	}
	now := time.Since(a.start)
	finished := a.finished.Load()
	answered, due := finished-a.prevFinished, int64(a.sched.due(now)-a.sched.due(a.prevNow))
	a.prevNow, a.prevFinished = now, finished
	workers := a.workers.Load()
	late := int64(a.sched.due(now-lateBy)) - int64(a.next.Load())
	// The demand is seen only while every hit due finds a worker: once hits
	// wait for one, the number waiting on the target is the pool's size,
	// not the demand, and growing for it would grow for ever against a
	// target at its capacity. Then only growth that pays off (see
	// lateGrowth) adds workers.
	want := int64(0)
	if late <= 0 {
		a.busy += 0.3 * (float64(inFlight) - a.busy)
		want = int64(math.Ceil(headroom*a.busy)) + minSpare
	}
	allBusy := late > 0 && inFlight >= workers
	if allBusy && now < a.end {
		busy, exhausted := &a.allBusy, &a.exhausted
		if now < a.opts.Warmup {
			busy, exhausted = &a.warmupAllBusy, &a.warmupExhausted
		}
		*busy += superviseEvery
		if workers >= int64(a.opts.MaxWorkers) {
			*exhausted += superviseEvery
		}
	}
	if a.grow.look(answered, due, allBusy, workers, inFlight) {
		want = max(want, workers+min(late, growBy(workers)))
	}
	if congested {
		return
	}
	for n := min(want-workers, growBy(workers)); n > 0 && a.workers.Load() < int64(a.opts.MaxWorkers); n-- {
		a.spawn(nil)
	}
}

// cpuGauge follows the generator's own CPU use from one look of the
// supervisor to the next, smoothed over a few looks, as a share of the cores
// it may use.
type cpuGauge struct {
	cores float64
	at    time.Time
	used  time.Duration
	share float64
}

func (g *cpuGauge) update(now time.Time) {
	used := processCPU()
	if dt := now.Sub(g.at); !g.at.IsZero() && dt > 0 && used > 0 && g.cores > 0 {
		g.share = 0.7*g.share + 0.3*float64(used-g.used)/float64(dt)/g.cores
	}
	g.at, g.used = now, used
}

// schedGauge follows how long the generator's runnable goroutines wait to
// run, from the runtime's own histogram of it.
type schedGauge struct {
	sample []metrics.Sample
	prev   []uint64
}

// late reports whether, since the last call, the p99 of the generator's
// waits to run reached schedLate.
func (g *schedGauge) late() bool { return g.p99() >= schedLate }

// p99 returns the p99 of the generator's waits to run since the last call
// (0 at the first call, or when the runtime does not say).
func (g *schedGauge) p99() time.Duration {
	if g.sample == nil {
		g.sample = []metrics.Sample{{Name: "/sched/latencies:seconds"}}
	}
	metrics.Read(g.sample)
	if g.sample[0].Value.Kind() != metrics.KindFloat64Histogram {
		return 0
	}
	h := g.sample[0].Value.Float64Histogram()
	if len(g.prev) != len(h.Counts) {
		g.prev = append(g.prev[:0], h.Counts...)
		return 0
	}
	var n uint64
	for i, c := range h.Counts {
		n += c - g.prev[i]
	}
	var p99 time.Duration
	if n > 0 {
		// Counts[i] holds waits in [Buckets[i], Buckets[i+1]).
		var cum uint64
		for i, c := range h.Counts {
			cum += c - g.prev[i]
			if cum*100 >= n*99 {
				p99 = time.Duration(h.Buckets[i] * float64(time.Second))
				break
			}
		}
	}
	copy(g.prev, h.Counts)
	return p99
}

// spawn starts a worker. It connects to every endpoint before it takes
// hits; an initial worker (ready not nil) then reports ready and waits for
// the plan to start.
func (a *attack) spawn(ready *sync.WaitGroup) {
	a.workers.Add(1)
	a.wg.Add(1)
	go a.worker(ready)
}

func (a *attack) track(c *conn, open bool) {
	a.connMu.Lock()
	if open {
		a.conns[c] = struct{}{}
	} else {
		delete(a.conns, c)
	}
	a.connMu.Unlock()
}

// cutConnections ends every request still in flight by expiring its
// connection's deadline; why is what their failures will say.
func (a *attack) cutConnections(why error) {
	a.cut.Store(&why)
	a.connMu.Lock()
	for c := range a.conns {
		_ = c.nc.SetDeadline(time.Unix(1, 0))
	}
	a.connMu.Unlock()
}

// worker takes hits in order, waits for each one's intended time, sends it
// on its own connection and records the result. It returns when the plan
// is exhausted or the attack stops.
func (a *attack) worker(ready *sync.WaitGroup) {
	defer a.wg.Done()
	t := a.opts.Targets
	conns := make([]*conn, len(t.endpoints))
	defer func() {
		for _, c := range conns {
			if c != nil {
				a.track(c, false)
				c.close()
			}
		}
	}()
	// Every worker connects before it takes a hit, the initial ones before
	// the plan starts: a dial on a hit's path would be that hit's send lag,
	// and a pool growing in a hurry would dial in bursts.
	if a.opts.Targets.keepAlive {
		for i := range t.endpoints {
			// A failed dial is not an error yet: the first request
			// dials again and records what happens.
			_ = a.connect(conns, i)
		}
	}
	if ready != nil {
		ready.Done()
		<-a.begin
	}
	var ts *sleeper
	if a.precise {
		if s, err := newSleeper(); err == nil {
			ts = s
			defer s.close()
		}
	}
	buf := make([]byte, 0, 256)
	for {
		n := a.next.Add(1) - 1
		due := a.sched.at(n)
		// A hit taken and not sent is unsent: the last interval's close
		// counts every hit of the plan that no result came in for.
		if due >= time.Duration(a.cutoff.Load()) || a.stopped.Load() {
			return
		}
		intended := a.start.Add(due)
		sent := time.Now()
		if wait := intended.Sub(sent); wait > 0 {
			if !a.sleepUntil(intended, ts) {
				return
			}
			sent = time.Now()
		}
		if sent.Sub(a.start) > a.stopAt {
			return
		}
		req, m := t.request(n, buf)
		if cap(req) > cap(buf) && t.list == nil {
			buf = req // keep the grown buffer
		}
		// Only an attack with limits counts its measured requests.
		counted := a.limits != nil && due >= a.opts.Warmup
		if counted {
			a.sentMeasured.Add(1)
		}
		a.inFlight.Add(1)
		code, variant, retried, err := a.send(conns, m, req, sent)
		a.inFlight.Add(-1)
		a.finished.Add(1)
		done := time.Now()
		if why := a.cut.Load(); err != nil && why != nil {
			err = *why
		}
		if counted {
			a.countLimits(done.Sub(sent), err != nil || code < 200 || code >= 400)
		}
		a.rec.record(a.grid.index(due), intended, sent, done, code, variant, retried, err)
	}
}

// sleepUntil waits until t, or returns false when the attack stops first.
// A wait of 20ms or more sleeps on a runtime timer, which an interrupt can
// cut short, until 10ms before t. The rest (the last 10ms, or the whole of
// a shorter wait) uses time.Sleep when the generator is busy, and the
// worker's timerfd sleeper (ts) at low rates: the Go runtime
// rounds an idle wait for a timer up to whole milliseconds (epoll's
// resolution), which at low rates would add up to a millisecond of send lag
// to every request, while a timerfd in the netpoller wakes within tens of
// microseconds. At high rates the scheduler runs often enough that its
// timers are as precise, and cheaper than a syscall per sleep.
func (a *attack) sleepUntil(t time.Time, ts *sleeper) bool {
	d := time.Until(t)
	if d >= 20*time.Millisecond {
		// Most of a long wait on a runtime timer, which an interrupt can
		// cut short; the last stretch precisely, below.
		tm := time.NewTimer(d - 10*time.Millisecond)
		select {
		case <-tm.C:
		case <-a.stopCh:
			tm.Stop()
			return false
		}
		d = time.Until(t)
	}
	if d > 0 && (ts == nil || ts.sleep(d) != nil) {
		time.Sleep(d)
	}
	return !a.stopped.Load()
}

// connect dials endpoint ep into the worker's conns.
func (a *attack) connect(conns []*conn, ep int) error {
	c, err := dial(a.opts.Targets.endpoints[ep], a.opts.Timeout)
	if err != nil {
		return err
	}
	if a.variants != nil {
		c.rr.Capture(a.opts.Split.header, a.variants.classify)
	}
	conns[ep] = c
	a.track(c, true)
	return nil
}

// send does one request on the worker's connection to the request's
// endpoint, dialing when there is none. A kept-alive connection may have
// been closed by the server while idle; the request is then sent once more
// on a new connection, as net/http does, but only when that cannot send it
// twice or hide a failure: nothing of the request was written, or it is
// replayable (see meta) and not one byte of a response arrived. A response
// cut short is never retried. retried reports a second send, which the
// outcome counts. variant is the response's variant id when the attack
// splits (see variants), -1 without the header or without a response.
func (a *attack) send(conns []*conn, m meta, req []byte, now time.Time) (code, variant int, retried bool, err error) {
	for attempt := 0; ; attempt++ {
		reused := conns[m.ep] != nil
		if !reused {
			if err := a.connect(conns, m.ep); err != nil {
				return 0, -1, attempt > 0, err
			}
		}
		c := conns[m.ep]
		if err := c.setDeadline(now, a.opts.Timeout); err != nil {
			return 0, -1, attempt > 0, err
		}
		resp, err := c.roundTrip(req, m.head)
		if err != nil || resp.close || !a.opts.Targets.keepAlive {
			a.track(c, false)
			c.close()
			conns[m.ep] = nil
		}
		if err != nil && reused && attempt == 0 && mayResend(err, m.replayable) && a.cut.Load() == nil {
			now = time.Now()
			continue
		}
		return resp.code, resp.variant, attempt > 0, err
	}
}

// mayResend reports whether a request that failed with err on a reused
// connection may be sent again: the server closed the connection while it
// was idle, before it could have acted on the request.
func mayResend(err error, replayable bool) bool {
	var we *wireError
	if !errors.As(err, &we) {
		return false
	}
	switch we.stage {
	case stageUnwritten:
		return true
	case stageWait:
		return replayable && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE))
	}
	return false
}
