package hostmetrics

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/perf-tools/perf/results"
	"github.com/prometheus/procfs"
	"github.com/shirou/gopsutil/v4/common"
	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
	gnet "github.com/shirou/gopsutil/v4/net"
	"github.com/shirou/gopsutil/v4/process"
)

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
	fs        procfs.FS
	self      procfs.Proc // whose net/snmp and net/netstat are this host's
	selfErr   error       // why self could not be resolved
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

func newSampler(ctx context.Context, opts Options) (*sampler, error) {
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
	fs, err := procfs.NewFS(s.root)
	if err != nil {
		return nil, fmt.Errorf("host metrics: %w", err)
	}
	s.fs = fs
	s.self, s.selfErr = fs.Self()
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

// read takes the readings a sample needs; a counter that could not be read
// is left out and the errors joined. It, and sample, yield the processor
// between their steps: on a generator given one core, a sample's half
// millisecond of /proc reads in one piece would be half a millisecond in
// which no request is sent, and would show as send lag.
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
	if s.selfErr != nil {
		errs = append(errs, fmt.Errorf("tcp counters: %w", s.selfErr))
	} else if c, err := readTCPCounters(s.self); err != nil {
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
	if ss, err := readSockstat(s.fs); err == nil {
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
