//go:build unix

package hostmetrics

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/procfs"
)

// BenchmarkSample measures one host sample, the cost the recorder adds to
// the load generator once a second: "default" counts TCP states in one
// sample of ten, as the recorder does; "no-states" never counts them.
// Besides the wall time it reports cpu-ns/op, the CPU time the process
// spent (GC included), which a busy machine disturbs far less.
func BenchmarkSample(b *testing.B) {
	for _, bc := range []struct {
		name  string
		every int
	}{{"default", 0}, {"no-states", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := newSampler(context.Background(), Options{TCPStatesEvery: bc.every})
			if err != nil {
				b.Fatal(err)
			}
			measure(b, func() error {
				_, err := s.sample()
				return err
			})
		})
	}
}

// BenchmarkTCPCounters measures the part of a sample that reads
// net/snmp, net/netstat and net/sockstat.
func BenchmarkTCPCounters(b *testing.B) {
	fs, err := procfs.NewFS(DefaultProcRoot)
	if err != nil {
		b.Fatal(err)
	}
	self, err := fs.Self()
	if err != nil {
		b.Fatal(err)
	}
	measure(b, func() error {
		if _, err := readTCPCounters(self); err != nil {
			return err
		}
		_, err := readSockstat(fs)
		return err
	})
}

// measure runs op in b's loop and reports its allocations and CPU time.
func measure(b *testing.B, op func() error) {
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
