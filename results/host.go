package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"
)

// HostSchema is the version of the host.json layout this package writes.
const HostSchema = "perf.host/v1"

// HostFile is the name of the host metrics file in a run directory.
const HostFile = "host.json"

// HostSamples is the content of host.json: once-a-second samples of the
// generator's host (and of the target's, when the target exposed them)
// during a run. A merged run keeps each source run's samples in Parts,
// under the name of the source directory, and leaves Generator and Target
// empty: the hosts are different machines and their samples do not add up.
type HostSamples struct {
	Schema string `json:"schema"`
	// Start is the wall-clock time of t = 0 for every sample in this value.
	Start time.Time `json:"start"`
	// IntervalS is the sampling interval in seconds.
	IntervalS float64      `json:"interval_s"`
	Generator []HostSample `json:"generator"`
	Target    []HostSample `json:"target,omitempty"`
	// Warnings are sampling problems that lost some data (a target that
	// did not answer, a /proc file that could not be read).
	Warnings []string `json:"warnings,omitempty"`
	// Parts holds, in a merged run, each source run's samples by name.
	Parts map[string]*HostSamples `json:"parts,omitempty"`
}

// HostSample is one sample of a host and of one process on it. Counters
// (network, TCP) are per-second rates over the interval since the previous
// sample; gauges (load, memory, TCP states) are values at the sample time.
type HostSample struct {
	// T is the sample time in seconds since HostSamples.Start.
	T float64 `json:"t"`
	// ProcCPUPercent is the measured process's CPU use (user + system) in
	// percent of the cores it may use (Cores): 100 means saturated.
	ProcCPUPercent float64 `json:"proc_cpu_percent"`
	// ProcCPUCores is the same use in cores (1.5 = one and a half cores).
	ProcCPUCores float64 `json:"proc_cpu_cores"`
	// ProcRSSBytes is the process's resident set size.
	ProcRSSBytes uint64 `json:"proc_rss_bytes"`
	// Cores is the number of cores the measured process may use: its
	// GOMAXPROCS, or its CPU affinity when smaller.
	Cores int `json:"cores,omitempty"`
	// HostCPUPercent is the host's CPU use over all cores, in percent.
	HostCPUPercent float64 `json:"host_cpu_percent"`
	// AffinityCPUPercent is the CPU use of every process on the cores the
	// measured process may run on (its CPU affinity), in percent: how much
	// of its CPU others left it.
	AffinityCPUPercent float64 `json:"affinity_cpu_percent"`
	// PerCore is the CPU use of each core, in percent.
	PerCore        []float64 `json:"per_core"`
	Load1          float64   `json:"load1"`
	Load5          float64   `json:"load5"`
	Load15         float64   `json:"load15"`
	MemUsedPercent float64   `json:"mem_used_percent"`
	MemUsedBytes   uint64    `json:"mem_used_bytes"`
	MemTotalBytes  uint64    `json:"mem_total_bytes"`
	Net            NetSample `json:"net"`
	TCP            TCPSample `json:"tcp"`
}

// NetSample sums every network interface, loopback included (a generator
// and a target on one host talk over it), in per-second rates.
type NetSample struct {
	RxBytes   float64 `json:"rx_bytes_per_s"`
	TxBytes   float64 `json:"tx_bytes_per_s"`
	RxPackets float64 `json:"rx_packets_per_s"`
	TxPackets float64 `json:"tx_packets_per_s"`
	RxDrops   float64 `json:"rx_drops_per_s"`
	TxDrops   float64 `json:"tx_drops_per_s"`
	RxErrors  float64 `json:"rx_errors_per_s"`
	TxErrors  float64 `json:"tx_errors_per_s"`
}

// TCPSample holds the host's TCP counters (from /proc/net/snmp and
// /proc/net/netstat, as per-second rates) and socket states (gauges).
type TCPSample struct {
	RetransSegs     float64 `json:"retrans_segs_per_s"`
	OutSegs         float64 `json:"out_segs_per_s"`
	ActiveOpens     float64 `json:"active_opens_per_s"`
	PassiveOpens    float64 `json:"passive_opens_per_s"`
	AttemptFails    float64 `json:"attempt_fails_per_s"`
	EstabResets     float64 `json:"estab_resets_per_s"`
	ListenOverflows float64 `json:"listen_overflows_per_s"`
	ListenDrops     float64 `json:"listen_drops_per_s"`
	// CurrEstab is the number of connections in ESTABLISHED or CLOSE_WAIT.
	CurrEstab int64 `json:"curr_estab"`
	// InUse, Orphan, TimeWait and Alloc are /proc/net/sockstat's TCP line
	// (IPv4 and IPv6 together).
	InUse    int64 `json:"inuse"`
	Orphan   int64 `json:"orphan"`
	TimeWait int64 `json:"time_wait"`
	Alloc    int64 `json:"alloc"`
	// States counts sockets by state ("ESTABLISHED", "TIME_WAIT", ...),
	// IPv4 and IPv6 together. Counting them walks the kernel's socket
	// table, so it is done in one sample of ten by default; the other
	// samples leave States out.
	States map[string]int64 `json:"states,omitempty"`
	// StatesTruncated says States counts only the first sockets listed.
	StatesTruncated bool `json:"states_truncated,omitempty"`
}

// CPUStats summarises a process's CPU use over samples, in percent of the
// cores it may use.
type CPUStats struct {
	MeanPercent float64
	MaxPercent  float64
	// Samples is the number of samples summarised.
	Samples int
	// Cores is the number of cores the process could use (the largest
	// any sample saw).
	Cores int
}

// GeneratorSince returns the generator samples taken after t, each of which
// covers the interval up to its own time: the samples of a measured window
// that begins at t.
func (h *HostSamples) GeneratorSince(t time.Time) []HostSample {
	var out []HostSample
	for _, x := range h.Generator {
		if h.Start.Add(time.Duration(x.T * float64(time.Second))).After(t) {
			out = append(out, x)
		}
	}
	return out
}

// ProcessCPU returns the mean and max process CPU use over samples: the
// generator health numbers of run.json (Generator.CPUMeanPercent and
// CPUMaxPercent). It returns zero stats for no samples.
func ProcessCPU(samples []HostSample) CPUStats {
	return cpuStats(samples, func(x HostSample) float64 { return x.ProcCPUPercent })
}

// AffinityCPU returns the mean and max CPU use of the cores the process may
// run on, over samples (Generator.HostCPUMeanPercent and HostCPUMaxPercent).
func AffinityCPU(samples []HostSample) CPUStats {
	return cpuStats(samples, func(x HostSample) float64 { return x.AffinityCPUPercent })
}

func cpuStats(samples []HostSample, percent func(HostSample) float64) CPUStats {
	var s CPUStats
	if len(samples) == 0 {
		return s
	}
	var sum float64
	for _, x := range samples {
		s.Cores = max(s.Cores, x.Cores)
		p := percent(x)
		sum += p
		s.MaxPercent = max(s.MaxPercent, p)
	}
	s.Samples = len(samples)
	s.MeanPercent = sum / float64(len(samples))
	return s
}

// Generators returns the generator samples of h by name: "generator" for a
// single run, the part names for a merged run. It lets a report draw the
// generator CPU of plain and merged runs alike.
func (h *HostSamples) Generators() map[string][]HostSample {
	out := map[string][]HostSample{}
	if len(h.Generator) > 0 {
		out["generator"] = h.Generator
	}
	names := make([]string, 0, len(h.Parts))
	for n := range h.Parts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if p := h.Parts[n]; p != nil && len(p.Generator) > 0 {
			out[n] = p.Generator
		}
	}
	return out
}

// WriteHostSamples writes h as JSON to path, setting its schema.
func WriteHostSamples(path string, h *HostSamples) error {
	if h == nil {
		return fmt.Errorf("write %s: no host samples", path)
	}
	c := *h
	c.Schema = HostSchema
	b, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return WriteFileAtomic(path, append(b, '\n'))
}

// ErrHostSchema is returned (wrapped) by ReadHostSamples for a host.json of
// another schema.
var ErrHostSchema = errors.New("unsupported host.json schema")

// ReadHostSamples reads a host.json file written by WriteHostSamples.
func ReadHostSamples(path string) (*HostSamples, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var h HostSamples
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("read %s: not a host.json file: %w", path, err)
	}
	if h.Schema != HostSchema {
		return nil, fmt.Errorf("read %s: schema %q, want %q: %w", path, h.Schema, HostSchema, ErrHostSchema)
	}
	return &h, nil
}
