package capture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/perf-tools/perf/results"
	"github.com/shirou/gopsutil/v4/common"
	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
	gnet "github.com/shirou/gopsutil/v4/net"
	"github.com/shirou/gopsutil/v4/process"
)

// Defaults for HostOptions.
const (
	// DefaultHostInterval is the sampling interval.
	DefaultHostInterval = time.Second
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
	// HostPath is where perf serve's admin listener mounts HostHandler.
	HostPath = "/debug/host"
)

// HostOptions configures StartHost. The zero value samples this process's
// host once a second.
type HostOptions struct {
	// Interval is DefaultHostInterval when zero.
	Interval time.Duration
	// PID is the process whose CPU use is sampled; 0 is this process.
	PID int32
	// Cores is the number of cores the process may use, to normalise its
	// CPU use; 0 means, for this process, GOMAXPROCS or its CPU affinity
	// when smaller, and for another process the number of CPUs.
	Cores int
	// TargetURL, when set, is polled once an interval for the target's
	// sample: a HostHandler, as perf serve mounts it at HostPath.
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

// HostRecorder samples a host in the background, from StartHost until its
// context is done or Stop is called. Its methods are safe for concurrent
// use.
type HostRecorder struct {
	start    time.Time
	interval time.Duration
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu        sync.Mutex
	generator []results.HostSample
	target    []results.HostSample
	warnings  []string
	failures  map[string]*failure // by source, to keep warnings bounded
}

// failure counts the failed samples or polls of one source.
type failure struct {
	n    int
	last string
}

// SampleHost starts sampling the host and process pid (0: this process)
// every interval (0: DefaultHostInterval) until ctx is done. It never
// fails: a problem is a warning in Samples. Use StartHost for the other
// options.
func SampleHost(ctx context.Context, interval time.Duration, pid int32) *HostRecorder {
	r, err := StartHost(ctx, HostOptions{Interval: interval, PID: pid})
	if err != nil {
		r = &HostRecorder{start: time.Now(), interval: interval, cancel: func() {}}
		r.warnings = append(r.warnings, fmt.Sprintf("host metrics: %v", err))
	}
	return r
}

// StartHost checks opts and starts sampling; the samples are taken by one
// goroutine (two with TargetURL) that ends when ctx is done or Stop is
// called. The first sample comes one interval after the start, since rates
// need two readings.
func StartHost(ctx context.Context, opts HostOptions) (*HostRecorder, error) {
	if opts.Interval < 0 {
		return nil, fmt.Errorf("host metrics interval %v, want > 0", opts.Interval)
	}
	if opts.Interval == 0 {
		opts.Interval = DefaultHostInterval
	}
	if opts.TargetURL != "" {
		if err := checkHostURL(opts.TargetURL); err != nil {
			return nil, err
		}
	}
	s, err := newSampler(ctx, opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &HostRecorder{start: s.start, interval: opts.Interval, cancel: cancel, failures: map[string]*failure{}}
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

// checkHostURL checks the address of a HostHandler.
func checkHostURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("target host metrics address %q: %w", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("target host metrics address %q: want http://HOST:PORT%s (perf serve's admin listener)", s, HostPath)
	}
	return nil
}

// HostURL returns the address of the host metrics of a perf serve admin
// listener given as "http://HOST:PORT" (or already ending in HostPath),
// checked: the value to pass as HostOptions.TargetURL for a
// --target-host-metrics flag.
func HostURL(admin string) (string, error) {
	if err := checkHostURL(admin); err != nil {
		return "", err
	}
	u, _ := url.Parse(admin)
	if u.Path == "" || u.Path == "/" {
		u.Path = HostPath
	}
	return u.String(), nil
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

func (r *HostRecorder) sampleLoop(ctx context.Context, s *sampler, interval time.Duration) {
	every(ctx, interval, func() {
		smp, err := s.sample()
		r.mu.Lock()
		r.generator = append(r.generator, smp)
		if err != nil {
			r.fail("generator", err)
		}
		r.mu.Unlock()
	})
}

func (r *HostRecorder) pollLoop(ctx context.Context, client *http.Client, u string, interval time.Duration) {
	every(ctx, interval, func() {
		smp, err := pollHost(ctx, client, u, interval)
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
	})
}

// fail records a failed sample; r.mu is held.
func (r *HostRecorder) fail(source string, err error) {
	f := r.failures[source]
	if f == nil {
		f = &failure{}
		r.failures[source] = f
	}
	f.n++
	f.last = err.Error()
}

// pollHost fetches one sample from a HostHandler.
func pollHost(ctx context.Context, client *http.Client, u string, timeout time.Duration) (results.HostSample, error) {
	var smp results.HostSample
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return smp, fmt.Errorf("get %s: %w", u, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return smp, fmt.Errorf("get %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return smp, fmt.Errorf("get %s: read body: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return smp, fmt.Errorf("get %s: %s: %s", u, resp.Status, snippet(body))
	}
	if err := json.Unmarshal(body, &smp); err != nil {
		return smp, fmt.Errorf("get %s: not a host sample (JSON of perf serve's %s): %w", u, HostPath, err)
	}
	return smp, nil
}

// Stop ends the sampling, waits for its goroutines and returns the samples.
func (r *HostRecorder) Stop() *results.HostSamples {
	r.cancel()
	r.Wait()
	return r.Samples()
}

// Wait blocks until the sampling goroutines have ended (their context is
// done, or Stop was called).
func (r *HostRecorder) Wait() { r.wg.Wait() }

// Samples returns a copy of the samples so far, with the warnings of the
// failed samples (one per source, with a count), ready for
// results.WriteHostSamples.
func (r *HostRecorder) Samples() *results.HostSamples {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := &results.HostSamples{
		Schema:    results.HostSchema,
		Start:     r.start,
		IntervalS: r.interval.Seconds(),
		Generator: slices.Clone(r.generator),
		Target:    slices.Clone(r.target),
		Warnings:  slices.Clone(r.warnings),
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
func (r *HostRecorder) ProcessCPU() results.CPUStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return results.ProcessCPU(r.generator)
}

// reading is one set of cumulative counters; a sample is the difference
// of two readings.
type reading struct {
	at       time.Time
	perCore  []cpu.TimesStat
	procCPU  float64 // user + system seconds
	net      gnet.IOCountersStat
	tcp      tcpCounters
	haveProc bool
	haveNet  bool
	haveTCP  bool
}

// sampler takes samples of one host and process. It is not safe for
// concurrent use.
type sampler struct {
	env       context.Context // carries gopsutil's procfs root; no deadline
	root      string
	proc      *process.Process
	cores     int
	affinity  map[string]bool // names ("cpu3") of the cores the process may run on; nil: all
	maxTCP    int
	start     time.Time
	prev      reading
	buf       []byte
	noNetlink bool
	// statesEvery and n schedule the TCP state counts.
	statesEvery int
	n           int
}

func newSampler(ctx context.Context, opts HostOptions) (*sampler, error) {
	s := &sampler{root: opts.ProcRoot, cores: opts.Cores, maxTCP: opts.MaxTCPSockets,
		statesEvery: opts.TCPStatesEvery}
	if s.statesEvery == 0 {
		s.statesEvery = DefaultTCPStatesEvery
	}
	if s.root == "" {
		s.root = DefaultProcRoot
	}
	if s.maxTCP == 0 {
		s.maxTCP = DefaultMaxTCPSockets
	}
	pid := opts.PID
	if pid == 0 {
		pid = int32(os.Getpid())
		if s.cores == 0 {
			s.cores = UsableCores()
		}
		if cores := affinityCores(); cores != nil {
			s.affinity = map[string]bool{}
			for _, c := range cores {
				s.affinity["cpu"+strconv.Itoa(c)] = true
			}
		}
	}
	if s.cores <= 0 {
		s.cores = runtime.NumCPU()
	}
	s.env = context.WithValue(context.WithoutCancel(ctx), common.EnvKey, common.EnvMap{common.HostProcEnvKey: s.root})
	p, err := process.NewProcessWithContext(s.env, pid)
	if err != nil {
		return nil, fmt.Errorf("host metrics: process %d: %w", pid, err)
	}
	s.proc = p
	s.buf = make([]byte, 64<<10)
	s.start = time.Now()
	s.prev, _ = s.read()
	return s, nil
}

// read takes a reading; a counter that could not be read is left out and
// the first error returned.
// read takes the readings a sample needs. It, and sample, yield the
// processor between their steps: on a generator given one core, a sample's
// half millisecond of /proc reads in one piece would be half a millisecond
// in which no request is sent, and would show as send lag.
func (s *sampler) read() (reading, error) {
	var errs []error
	rd := reading{at: time.Now()}
	pc, err := cpu.TimesWithContext(s.env, true)
	if err != nil {
		errs = append(errs, fmt.Errorf("cpu times: %w", err))
	}
	rd.perCore = pc
	runtime.Gosched()
	if t, err := s.proc.TimesWithContext(s.env); err != nil {
		errs = append(errs, fmt.Errorf("process %d cpu times: %w", s.proc.Pid, err))
	} else {
		rd.procCPU, rd.haveProc = t.User+t.System, true
	}
	runtime.Gosched()
	if n, err := gnet.IOCountersWithContext(s.env, false); err != nil || len(n) == 0 {
		errs = append(errs, fmt.Errorf("network counters: %w", err))
	} else {
		rd.net, rd.haveNet = n[0], true
	}
	runtime.Gosched()
	if c, err := readTCPCounters(s.root); err != nil {
		errs = append(errs, err)
	} else {
		rd.tcp, rd.haveTCP = c, true
	}
	return rd, errors.Join(errs...)
}

// sample takes a reading and returns the sample since the previous one.
func (s *sampler) sample() (results.HostSample, error) {
	cur, err := s.read()
	errs := []error{err}
	prev := s.prev
	s.prev = cur
	smp := results.HostSample{T: cur.at.Sub(s.start).Seconds(), Cores: s.cores, PerCore: []float64{}}
	dt := cur.at.Sub(prev.at).Seconds()
	if dt <= 0 {
		dt = 1e-9
	}
	if cur.haveProc && prev.haveProc {
		smp.ProcCPUCores = max(cur.procCPU-prev.procCPU, 0) / dt
		smp.ProcCPUPercent = 100 * smp.ProcCPUCores / float64(s.cores)
	}
	if len(cur.perCore) > 0 && len(cur.perCore) == len(prev.perCore) {
		var busy, all, affBusy, affAll float64
		smp.PerCore = make([]float64, len(cur.perCore))
		for i := range cur.perCore {
			b0, a0 := busyAll(prev.perCore[i])
			b1, a1 := busyAll(cur.perCore[i])
			smp.PerCore[i] = percent(b1-b0, a1-a0)
			busy += b1 - b0
			all += a1 - a0
			if s.affinity == nil || s.affinity[cur.perCore[i].CPU] {
				affBusy += b1 - b0
				affAll += a1 - a0
			}
		}
		smp.HostCPUPercent = percent(busy, all)
		smp.AffinityCPUPercent = percent(affBusy, affAll)
	}
	runtime.Gosched()
	if m, err := s.proc.MemoryInfoWithContext(s.env); err == nil {
		smp.ProcRSSBytes = m.RSS
	} else {
		errs = append(errs, fmt.Errorf("process %d memory: %w", s.proc.Pid, err))
	}
	runtime.Gosched()
	if l, err := load.AvgWithContext(s.env); err == nil {
		smp.Load1, smp.Load5, smp.Load15 = l.Load1, l.Load5, l.Load15
	} else {
		errs = append(errs, fmt.Errorf("load average: %w", err))
	}
	runtime.Gosched()
	if m, err := mem.VirtualMemoryWithContext(s.env); err == nil {
		smp.MemUsedPercent, smp.MemUsedBytes, smp.MemTotalBytes = m.UsedPercent, m.Used, m.Total
	} else {
		errs = append(errs, fmt.Errorf("memory: %w", err))
	}
	if cur.haveNet && prev.haveNet {
		a, b := prev.net, cur.net
		rate := func(x, y uint64) float64 {
			if y < x { // a counter wrapped or an interface went away
				return 0
			}
			return float64(y-x) / dt
		}
		smp.Net = results.NetSample{
			RxBytes: rate(a.BytesRecv, b.BytesRecv), TxBytes: rate(a.BytesSent, b.BytesSent),
			RxPackets: rate(a.PacketsRecv, b.PacketsRecv), TxPackets: rate(a.PacketsSent, b.PacketsSent),
			RxDrops: rate(a.Dropin, b.Dropin), TxDrops: rate(a.Dropout, b.Dropout),
			RxErrors: rate(a.Errin, b.Errin), TxErrors: rate(a.Errout, b.Errout),
		}
	}
	if cur.haveTCP {
		smp.TCP.CurrEstab = cur.tcp.currEstab
		if prev.haveTCP {
			a, b := prev.tcp, cur.tcp
			rate := func(x, y int64) float64 { return float64(max(y-x, 0)) / dt }
			smp.TCP.RetransSegs = rate(a.retransSegs, b.retransSegs)
			smp.TCP.OutSegs = rate(a.outSegs, b.outSegs)
			smp.TCP.ActiveOpens = rate(a.activeOpens, b.activeOpens)
			smp.TCP.PassiveOpens = rate(a.passiveOpens, b.passiveOpens)
			smp.TCP.AttemptFails = rate(a.attemptFails, b.attemptFails)
			smp.TCP.EstabResets = rate(a.estabResets, b.estabResets)
			smp.TCP.ListenOverflows = rate(a.listenOverflows, b.listenOverflows)
			smp.TCP.ListenDrops = rate(a.listenDrops, b.listenDrops)
		}
	}
	runtime.Gosched()
	if ss, err := readSockstat(s.root); err == nil {
		smp.TCP.InUse, smp.TCP.Orphan, smp.TCP.TimeWait, smp.TCP.Alloc = ss.inuse, ss.orphan, ss.tw, ss.alloc
	} else {
		errs = append(errs, err)
	}
	if s.statesEvery > 0 && s.n%s.statesEvery == 0 {
		runtime.Gosched()
		st, trunc, err := s.tcpStates(smp.TCP.TimeWait)
		if err != nil {
			errs = append(errs, err)
		} else {
			smp.TCP.States, smp.TCP.StatesTruncated = st, trunc
		}
	}
	s.n++
	return smp, errors.Join(errs...)
}

// tcpStates counts TCP sockets by state: on the live /proc with sock_diag
// (TIME_WAIT taken from sockstat's tw), else, or when sock_diag is refused,
// from root/net/tcp and tcp6, bounded by maxTCP sockets.
func (s *sampler) tcpStates(timeWait int64) (map[string]int64, bool, error) {
	if s.root == DefaultProcRoot && !s.noNetlink {
		st, err := countTCPStatesNetlink(s.buf)
		if err == nil {
			if timeWait > 0 {
				st["TIME_WAIT"] = timeWait
			}
			return st, false, nil
		}
		s.noNetlink = true // not permitted here: use procfs from now on
	}
	return countTCPStates(s.root, s.maxTCP, s.buf)
}

// busyAll returns the busy and the total CPU seconds of t. Guest time is
// already inside User and Nice, so it is not added again.
func busyAll(t cpu.TimesStat) (busy, all float64) {
	all = t.User + t.System + t.Idle + t.Nice + t.Iowait + t.Irq + t.Softirq + t.Steal
	return all - t.Idle - t.Iowait, all
}

func percent(part, whole float64) float64 {
	if whole <= 0 {
		return 0
	}
	return min(max(100*part/whole, 0), 100)
}

// HostHandler returns an http.Handler that answers GET with one sample of
// this process and its host as JSON (a results.HostSample), the rates
// taken since the previous request (or since HostHandler was called).
// perf serve mounts it on its admin listener at HostPath, so perf attack
// --target-host-metrics samples the target as it samples itself. Several
// pollers at once split the intervals between them.
func HostHandler() http.Handler {
	h := &hostHandler{}
	h.s, h.err = newSampler(context.Background(), HostOptions{})
	return h
}

type hostHandler struct {
	mu  sync.Mutex
	s   *sampler
	err error
}

func (h *hostHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed: GET one host sample", http.StatusMethodNotAllowed)
		return
	}
	if h.err != nil {
		http.Error(w, h.err.Error(), http.StatusInternalServerError)
		return
	}
	h.mu.Lock()
	smp, _ := h.s.sample() // a counter that failed is left zero
	h.mu.Unlock()
	b, err := json.Marshal(smp)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(append(b, '\n'))
}
