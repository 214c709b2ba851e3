package harness

import (
	"fmt"
	"os"
	"time"

	"github.com/shirou/gopsutil/v4/process"

	"github.com/perf-tools/perf/harness/capture"
)

// CPUStats is the generator process's CPU use, in percent of the cores it
// may use (the smaller of GOMAXPROCS and its CPU affinity): 100 means every
// usable core was busy for the whole interval.
type CPUStats struct {
	MeanPercent float64
	MaxPercent  float64
	Samples     int
	Cores       int
}

// cpuSampler samples this process's CPU time (gopsutil, from /proc/self/stat)
// at every interval boundary. One sample costs a file read, a few µs.
type cpuSampler struct {
	proc      *process.Process
	cores     int
	lastCPU   float64
	lastWall  time.Time
	sum, max  float64
	n         int
	available bool
}

func newCPUSampler() (*cpuSampler, error) {
	p, err := process.NewProcess(int32(os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("watch generator cpu: %w", err)
	}
	s := &cpuSampler{proc: p, cores: capture.UsableCores()}
	s.reset()
	return s, nil
}

func (s *cpuSampler) total() (float64, bool) {
	t, err := s.proc.Times()
	if err != nil {
		return 0, false
	}
	return t.User + t.System, true
}

// reset starts a new window of samples.
func (s *cpuSampler) reset() {
	s.lastCPU, s.available = s.total()
	s.lastWall = time.Now()
	s.sum, s.max, s.n = 0, 0, 0
}

// sample takes one sample since the last; keep says it counts.
func (s *cpuSampler) sample(keep bool) {
	cpu, ok := s.total()
	now := time.Now()
	wall := now.Sub(s.lastWall).Seconds()
	if ok && s.available && wall > 0.05 && keep {
		pct := (cpu - s.lastCPU) / wall / float64(s.cores) * 100
		s.sum += pct
		s.n++
		s.max = max(s.max, pct)
	}
	s.lastCPU, s.lastWall, s.available = cpu, now, ok
}

func (s *cpuSampler) stats() CPUStats {
	st := CPUStats{MaxPercent: s.max, Samples: s.n, Cores: s.cores}
	if s.n > 0 {
		st.MeanPercent = s.sum / float64(s.n)
	}
	return st
}
