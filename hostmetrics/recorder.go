package hostmetrics

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/perf-tools/perf/results"
)

// Defaults for Options.
const (
	// DefaultInterval is the sampling interval.
	DefaultInterval = time.Second
	// DefaultProcRoot is where procfs is mounted.
	DefaultProcRoot = "/proc"
	// DefaultTCPStatesEvery is how often, in samples, TCP sockets are
	// counted by state. Counting walks the kernel's TCP hash table, which
	// costs about 2 ms (against about 0.2 ms for the rest of a sample) on a
	// host with 14,000 TIME_WAIT sockets; the cheap counts (CurrEstab, and
	// sockstat's InUse, TimeWait, Orphan) are in every sample.
	DefaultTCPStatesEvery = 10
	// DefaultMaxTCPSockets bounds the sockets read from /proc/net/tcp and
	// tcp6 when sock_diag is not available to count states. Beyond it the
	// states are counted for the first sockets only
	// (TCPSample.StatesTruncated).
	DefaultMaxTCPSockets = 2000
)

// Options configures Start. The zero value samples this process's host
// once a second.
type Options struct {
	// Interval is DefaultInterval when zero.
	Interval time.Duration
	// PID is the process whose CPU use is sampled; 0 is this process.
	PID int32
	// Cores is the number of cores the process may use, to normalise its
	// CPU use; 0 means, for this process, UsableCores and for another
	// process the number of CPUs.
	Cores int
	// TargetURL, when set, is polled once an interval for the target's
	// sample: a Handler, as perf serve mounts it at Path. URL makes one
	// from an admin listener's address.
	TargetURL string
	// Client polls TargetURL; nil uses a fresh client. Each poll is
	// bounded by Interval.
	Client *http.Client
	// ProcRoot is DefaultProcRoot when empty.
	ProcRoot string
	// TCPStatesEvery is DefaultTCPStatesEvery when zero; negative never
	// counts TCP states.
	TCPStatesEvery int
	// MaxTCPSockets is DefaultMaxTCPSockets when zero.
	MaxTCPSockets int
}

// Recorder samples a host in the background, from Start until its context
// is done or Stop is called. Its methods are safe for concurrent use.
type Recorder struct {
	start    time.Time
	interval time.Duration
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	// taken, when set (by tests), is called after each sample or poll is
	// recorded, with r.mu released.
	taken func()

	mu        sync.Mutex
	generator []results.HostSample
	target    []results.HostSample
	failures  map[string]*failure // by source, to keep warnings bounded
}

// failure counts the failed samples or polls of one source.
type failure struct {
	n    int
	last string
}

// Start checks opts and starts sampling; the samples are taken by one
// goroutine (two with TargetURL) that ends when ctx is done or Stop is
// called. The first sample comes one interval after the start, since rates
// need two readings.
func Start(ctx context.Context, opts Options) (*Recorder, error) {
	return start(ctx, opts, nil)
}

// start is Start with a hook called after each sample or poll.
func start(ctx context.Context, opts Options, taken func()) (*Recorder, error) {
	if opts.Interval < 0 {
		return nil, fmt.Errorf("host metrics interval %v, want > 0", opts.Interval)
	}
	if opts.Interval == 0 {
		opts.Interval = DefaultInterval
	}
	if opts.TargetURL != "" {
		if err := checkURL(opts.TargetURL); err != nil {
			return nil, err
		}
	}
	s, err := newSampler(ctx, opts)
	if err != nil {
		return nil, err
	}
	if taken == nil {
		taken = func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &Recorder{start: s.start, interval: opts.Interval, cancel: cancel, taken: taken, failures: map[string]*failure{}}
	r.wg.Go(func() { r.sampleLoop(ctx, s, opts.Interval) })
	if opts.TargetURL != "" {
		client := opts.Client
		if client == nil {
			client = &http.Client{}
		}
		r.wg.Go(func() { r.pollLoop(ctx, client, opts.TargetURL, opts.Interval) })
	}
	return r, nil
}

// every calls fn once an interval until ctx is done.
func every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fn()
	}
}

func (r *Recorder) sampleLoop(ctx context.Context, s *sampler, interval time.Duration) {
	every(ctx, interval, func() {
		smp, err := s.sample()
		r.mu.Lock()
		r.generator = append(r.generator, smp)
		if err != nil {
			r.fail("generator", err)
		}
		r.mu.Unlock()
		r.taken()
	})
}

func (r *Recorder) pollLoop(ctx context.Context, client *http.Client, u string, interval time.Duration) {
	every(ctx, interval, func() {
		smp, err := poll(ctx, client, u, interval)
		r.mu.Lock()
		if err != nil {
			if ctx.Err() == nil {
				r.fail("target", err)
			}
		} else {
			smp.T = time.Since(r.start).Seconds()
			r.target = append(r.target, smp)
		}
		r.mu.Unlock()
		r.taken()
	})
}

// fail records a failed sample; r.mu is held.
func (r *Recorder) fail(source string, err error) {
	f := r.failures[source]
	if f == nil {
		f = &failure{}
		r.failures[source] = f
	}
	f.n++
	f.last = err.Error()
}

// Stop ends the sampling, waits for its goroutines and returns the samples.
func (r *Recorder) Stop() *results.HostSamples {
	r.cancel()
	r.Wait()
	return r.Samples()
}

// Wait blocks until the sampling goroutines have ended (their context is
// done, or Stop was called).
func (r *Recorder) Wait() { r.wg.Wait() }

// Samples returns a copy of the samples so far, with the warnings of the
// failed samples (one per source, with a count), ready for
// results.WriteHostSamples.
func (r *Recorder) Samples() *results.HostSamples {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := &results.HostSamples{
		Schema:    results.HostSchema,
		Start:     r.start,
		IntervalS: r.interval.Seconds(),
		Generator: slices.Clone(r.generator),
		Target:    slices.Clone(r.target),
	}
	if h.Generator == nil {
		h.Generator = []results.HostSample{}
	}
	for _, src := range []string{"generator", "target"} {
		if f := r.failures[src]; f != nil {
			h.Warnings = append(h.Warnings, fmt.Sprintf("host metrics of the %s: %d samples failed, last: %s", src, f.n, f.last))
		}
	}
	return h
}

// ProcessCPU returns the generator process's CPU use over the samples so
// far: the generator health numbers of run.json.
func (r *Recorder) ProcessCPU() results.CPUStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return results.ProcessCPU(r.generator)
}
