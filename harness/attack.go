package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/perf-tools/perf/results"
)

// Defaults for Options' zero values.
const (
	// DefaultTimeout bounds each request, as vegeta's default.
	DefaultTimeout = 30 * time.Second
	// DefaultWorkers is how many workers (each with its own connection)
	// start the attack.
	DefaultWorkers = 32
	// DefaultMaxWorkers caps the workers added when every worker is busy
	// and hits fall due: enough to keep an open-model rate through a stall
	// of the target without opening a connection storm.
	DefaultMaxWorkers = 256
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
	DefaultMaxCPU = 95.0

	// spawnCheck is how often the supervisor looks for hits that fell due
	// while every worker was busy.
	spawnCheck = 10 * time.Millisecond
	// spawnLate is how late a hit no worker has taken must be before the
	// supervisor adds workers, and spawnStep how many it adds at most each
	// check: a hiccup of the generator's own (a GC, a busy neighbour) is
	// caught up by the workers there are; a target that holds every worker
	// gets more, 1,600 a second at most.
	spawnLate = 5 * time.Millisecond
	spawnStep = 16
	// dialAhead bounds how long the initial workers may take to connect
	// before the attack starts.
	dialAhead = 5 * time.Second
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
	Rate    Rate
	Shard   Shard
	// Duration is the measured window; Warmup runs before it, attacked
	// and logged but excluded from the summary and the verdicts.
	Duration, Warmup time.Duration
	Timeout          time.Duration
	Workers          int
	MaxWorkers       int
	Connections      int
	KeepAlive        bool
	Interval         time.Duration
	// OnInterval receives every interval as it closes, in order, from one
	// goroutine. An error from it ends the attack.
	OnInterval func(results.Interval) error
	// OnProgress, when set, is called once an interval with the state so far.
	OnProgress func(Progress)
	// OnMeasureStart, when set, is called once when warm-up ends and the
	// measured window begins (to start profiles that cover it).
	OnMeasureStart func()
}

// Progress is the live state of an attack, reported once an interval.
type Progress struct {
	Elapsed  time.Duration
	Rate     float64 // completions per second in the last interval
	P99      time.Duration
	Requests int64
	Errors   int64
}

// Outcome is what an attack measured over its measured window.
type Outcome struct {
	// Started is when hit 0 was due; MeasureStart when warm-up ended;
	// Ended when the last response came in.
	Started, MeasureStart, Ended time.Time
	// Corrected, Service and Lag are the measured window's histograms.
	Corrected, Service, Lag *hdrhistogram.Histogram
	Requests, Errors        int64
	StatusCodes             map[string]int64
	ErrorKinds              map[string]int64
	// Planned is the planned rate of this generator (its shard), per second.
	Planned float64
	// Achieved is completions per second over the measured window.
	Achieved    float64
	Interrupted bool
	// Workers is how many workers the attack ended with.
	Workers int
	// CPU is the generator process's CPU use over the measured window. The
	// attack does not sample it: the caller, which samples the host for
	// host.json anyway, fills it in before Health.Check.
	CPU results.CPUStats
}

// Attack sends the planned load and records every result until the plan
// ends or ctx is cancelled (then the outcome is marked interrupted and
// covers what was measured). It returns an error only when the attack could
// not run or an interval could not be written.
func Attack(ctx context.Context, o Options) (*Outcome, error) {
	if o.Targets == nil {
		return nil, errors.New("attack: no targets")
	}
	if o.Rate.Freq <= 0 || o.Rate.Per <= 0 {
		return nil, fmt.Errorf("attack: rate %v: must be above 0", o.Rate)
	}
	if o.Duration <= 0 {
		return nil, fmt.Errorf("attack: duration %v: must be above 0", o.Duration)
	}
	if o.Warmup < 0 {
		return nil, fmt.Errorf("attack: warm-up %v: must not be negative", o.Warmup)
	}
	setDefaults(&o)
	a := &attack{
		opts:  o,
		sched: constantSchedule{rate: o.Rate, shard: uint64(o.Shard.Index), count: uint64(o.Shard.Count)},
		end:   o.Warmup + o.Duration,
		rec:   newRecorder(),
		conns: map[*conn]struct{}{},
	}
	a.precise = o.PlannedRate() <= preciseSleepRate
	return a.run(ctx)
}

// PlannedRate is this generator's share of the planned rate, per second.
func (o Options) PlannedRate() float64 {
	n := max(o.Shard.Count, 1)
	return o.Rate.PerSecond() / float64(n)
}

func setDefaults(o *Options) {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.MaxWorkers <= 0 {
		o.MaxWorkers = DefaultMaxWorkers
	}
	if o.Connections <= 0 {
		o.Connections = DefaultConnections
	}
	if o.MaxWorkers > o.Connections {
		o.MaxWorkers = o.Connections
	}
	if o.Workers > o.MaxWorkers {
		o.Workers = o.MaxWorkers
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Shard.Count <= 0 {
		o.Shard = Shard{Index: 0, Count: 1}
	}
}

type attack struct {
	opts  Options
	sched schedule
	start time.Time
	end   time.Duration // hits due at or after this offset are not sent

	next     atomic.Uint64 // the next hit to take
	lastHit  uint64        // index of the plan's last hit
	lastSent atomic.Int64  // when the last hit was sent, ns since start
	inFlight atomic.Int64  // workers waiting on the target
	begin    chan struct{} // closed when start is set and hits may be taken
	stopped  atomic.Bool
	stopCh   chan struct{}
	workers  atomic.Int64
	wg       sync.WaitGroup
	rec      *recorder
	precise  bool // sleep on a timerfd; see sleepUntil

	connMu sync.Mutex
	conns  map[*conn]struct{} // open connections, to cut off on interrupt
}

func (a *attack) run(ctx context.Context) (*Outcome, error) {
	a.stopCh = make(chan struct{})
	// The initial workers connect first, as wrk does, so that the first
	// second does not measure connection set-up; then the plan starts a
	// little ahead, with every worker parked and waiting for hit 0.
	a.lastHit = a.sched.due(a.end-1) - 1
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
		Corrected:    results.NewHistogram(),
		Service:      results.NewHistogram(),
		Lag:          results.NewHistogram(),
		StatusCodes:  map[string]int64{},
		ErrorKinds:   map[string]int64{},
		Planned:      a.opts.PlannedRate(),
	}
	if a.opts.Warmup == 0 && a.opts.OnMeasureStart != nil {
		a.opts.OnMeasureStart()
	}

	spawnTick := time.NewTicker(spawnCheck)
	defer spawnTick.Stop()
	boundary := a.nextBoundary(0)
	timer := time.NewTimer(time.Until(a.start.Add(boundary)))
	defer timer.Stop()
	var (
		prev      time.Duration
		intErr    error
		cut       <-chan time.Time
		measuring = a.opts.Warmup == 0
	)
	done := ctx.Done()
loop:
	for {
		select {
		case <-done:
			out.Interrupted = true
			a.stop()
			done = nil
			cut = time.After(drainGrace)
		case <-cut:
			a.cutConnections()
			cut = nil
		case <-spawnTick.C:
			a.supervise()
		case <-finished:
			break loop
		case <-timer.C:
			if err := a.closeInterval(out, prev, boundary); err != nil {
				intErr = err
				out.Interrupted = true
				a.stop()
				a.cutConnections()
			}
			if !measuring && boundary >= a.opts.Warmup {
				measuring = true
				if a.opts.OnMeasureStart != nil {
					a.opts.OnMeasureStart()
				}
			}
			prev = boundary
			boundary = a.nextBoundary(prev)
			timer.Reset(time.Until(a.start.Add(boundary)))
		}
	}
	// The last, partial interval: from the last boundary to now.
	last := time.Since(a.start)
	if last > prev {
		if err := a.closeInterval(out, prev, last); err != nil && intErr == nil {
			intErr = err
		}
	}
	out.Ended = time.Now()
	out.Workers = int(a.workers.Load())
	out.Achieved = a.achieved(out)
	return out, intErr
}

// achieved is the rate the generator kept over the measured window. The
// window is the planned duration, stretched to when the plan's last hit was
// actually sent (plus one interval between hits) when the generator fell
// behind, or cut to the interrupt. The target's latency on the last
// responses does not count against the generator, its lateness does.
func (a *attack) achieved(out *Outcome) float64 {
	window := a.opts.Duration
	if out.Interrupted {
		window = out.Ended.Sub(out.MeasureStart)
	} else if ls := a.lastSent.Load(); ls > 0 {
		perHit := time.Duration(float64(time.Second) / out.Planned)
		if late := time.Duration(ls) - a.opts.Warmup + perHit; late > window {
			window = late
		}
	}
	if window <= 0 {
		return 0
	}
	return float64(out.Requests) / window.Seconds()
}

// nextBoundary returns the end of the interval that starts at prev: one
// interval on, with the warm-up's end always a boundary.
func (a *attack) nextBoundary(prev time.Duration) time.Duration {
	b := prev + a.opts.Interval
	if w := a.opts.Warmup; prev < w && b > w {
		b = w
	}
	return b
}

// closeInterval swaps the recorder's slot, hands the interval on, and adds
// it to the outcome when it lies in the measured window.
func (a *attack) closeInterval(out *Outcome, from, to time.Duration) error {
	s := a.rec.swap()
	defer a.rec.release(s)
	warm := to <= a.opts.Warmup && a.opts.Warmup > 0
	iv := results.Interval{
		Start:     a.start.Add(from),
		End:       a.start.Add(to),
		Warmup:    warm,
		Corrected: s.corrected,
		Service:   s.service,
		Lag:       s.lag,
		Intended:  int64(a.sched.due(min(to, a.end)-1) - a.sched.due(min(from, a.end)-1)),
		Completed: s.completed,
		Errors:    s.errors,
	}
	// Each step below takes tens to hundreds of microseconds; on a one-core
	// generator nothing is sent meanwhile, so yield between them.
	runtime.Gosched()
	if !warm {
		out.Corrected.Merge(s.corrected)
		out.Service.Merge(s.service)
		out.Lag.Merge(s.lag)
		out.Requests += s.completed
		out.Errors += s.errors
		for code, n := range s.codes {
			if n > 0 {
				out.StatusCodes[statusKey(code)] += n
			}
		}
		for k, n := range s.kinds {
			out.ErrorKinds[k] += n
		}
	}
	if a.opts.OnProgress != nil {
		secs := (to - from).Seconds()
		p := Progress{Elapsed: to, Requests: out.Requests, Errors: out.Errors}
		if secs > 0 {
			p.Rate = float64(s.completed) / secs
		}
		p.P99 = time.Duration(s.corrected.ValueAtQuantile(99))
		a.opts.OnProgress(p)
	}
	if a.opts.OnInterval != nil {
		runtime.Gosched()
		return a.opts.OnInterval(iv)
	}
	return nil
}

func (a *attack) stop() {
	if a.stopped.CompareAndSwap(false, true) {
		close(a.stopCh)
	}
}

// supervise adds workers when hits have fallen due that no worker has taken
// (every worker is busy): an open-model generator keeps sending at the
// planned rate whatever the target's latency, up to MaxWorkers.
func (a *attack) supervise() {
	if a.stopped.Load() {
		return
	}
	now := time.Since(a.start)
	if now >= a.end {
		return
	}
	// Only hits late by more than spawnLate count: at high rates every
	// worker is busy for microseconds at a time, and a worker (and a
	// connection) per such moment would cost more than it saves.
	due := a.sched.due(now - spawnLate)
	taken := a.next.Load()
	if due <= taken {
		return
	}
	// Late hits with a worker not waiting on the target mean the generator
	// itself is behind (its CPU, a pause): another worker would only add a
	// connection to a process that cannot keep up. Only when every worker
	// is waiting on the target does one more help.
	if a.inFlight.Load() < a.workers.Load() {
		return
	}
	for n := min(due-taken, spawnStep); n > 0 && a.workers.Load() < int64(a.opts.MaxWorkers); n-- {
		a.spawn(nil)
	}
}

// spawn starts a worker. An initial worker (ready not nil) connects to
// every endpoint and reports ready before it takes hits.
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
// connection's deadline.
func (a *attack) cutConnections() {
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
	if ready != nil {
		if a.opts.KeepAlive {
			for i := range t.endpoints {
				// A failed dial is not an error yet: the first request
				// dials again and records what happens.
				_ = a.connect(conns, i)
			}
		}
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
		if due >= a.end || a.stopped.Load() {
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
		req, ep, head := t.request(n, buf)
		if cap(req) > cap(buf) && t.list == nil {
			buf = req // keep the grown buffer
		}
		if n == a.lastHit {
			a.lastSent.Store(int64(sent.Sub(a.start)))
		}
		a.inFlight.Add(1)
		code, err := a.send(conns, ep, req, head, sent)
		a.inFlight.Add(-1)
		done := time.Now()
		if a.stopped.Load() && err != nil {
			return // cut off by an interrupt: not a result of the target's
		}
		a.rec.record(intended, sent, done, code, err)
	}
}

// sleepUntil waits until t, or returns false when the attack stops first.
// Long waits can be interrupted. The last 20ms use time.Sleep when the
// generator is busy, and the worker's timerfd sleeper (ts) at low rates: the Go runtime
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
	conns[ep] = c
	a.track(c, true)
	return nil
}

// send does one request on the worker's connection to endpoint ep, dialing
// when there is none. A request that fails on a reused connection before any
// response arrived (the server closed it while idle) is retried once on a
// new one, as net/http does, so idle timeouts are not counted as errors.
func (a *attack) send(conns []*conn, ep int, req []byte, head bool, now time.Time) (int, error) {
	for attempt := 0; ; attempt++ {
		reused := conns[ep] != nil
		if !reused {
			if err := a.connect(conns, ep); err != nil {
				return 0, err
			}
		}
		c := conns[ep]
		if err := c.setDeadline(now, a.opts.Timeout); err != nil {
			return 0, err
		}
		resp, err := c.roundTrip(req, head)
		if err != nil || resp.close || !a.opts.KeepAlive {
			a.track(c, false)
			c.close()
			conns[ep] = nil
		}
		if err != nil && reused && attempt == 0 && staleConn(err) {
			now = time.Now()
			continue
		}
		return resp.code, err
	}
}

// staleConn reports whether err is how a keep-alive connection the server
// closed while idle fails on its next use.
func staleConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
