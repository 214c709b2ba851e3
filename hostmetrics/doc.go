// Package hostmetrics samples a host and one of its processes while a load
// test runs, so that a latency result comes with the evidence of what the
// machines were doing: CPU (total, per core and within the process's CPU
// affinity), load, memory, network counters (loopback included), TCP
// counters and socket states, and the CPU use and RSS of one process,
// normalised to the cores it may use (UsableCores).
//
// Both halves of perf use it. perf attack samples its own host with Start
// and writes the samples to host.json (results.HostSamples); perf serve
// mounts Handler on its admin listener at Path, and perf attack
// --target-host-metrics polls it (Options.TargetURL, made by URL) to
// sample the target alike. The package is therefore neither the
// generator's nor the service's: it must not import harness, service or
// the command line, nor know of vegeta; it writes through package
// results' types only.
//
// Sampling runs inside the load generator, so it is kept cheap. Measured
// with BenchmarkSample (CPU time, on a 2-core machine busy with other
// work): about 0.5 ms a sample without counting sockets by state, and 0.9
// ms on average with the default count. Counting TCP sockets by state
// walks the kernel's socket table (sock_diag, as ss(8) does), so it is
// done in one sample of ten (Options.TCPStatesEvery). The readers yield
// the processor between their steps, so that a sample does not hold a
// core a generator needs for a whole half millisecond.
//
// Every file is read under Options.ProcRoot ("/proc"), as node_exporter's
// --path.procfs, so tests read the fixtures in testdata/proc; sock_diag,
// not a file, is asked only when the root is /proc. gopsutil reads CPU,
// load, memory, network and process counters, and
// github.com/prometheus/procfs the TCP counters of net/snmp, net/netstat
// and net/sockstat (tcp.go). Only the socket states of net/tcp, read when
// sock_diag is refused, have a scanner of their own, bounded by
// Options.MaxTCPSockets.
//
// A sample that fails in part is still recorded, with the counters it
// could read, and the failure becomes one warning per source in
// results.HostSamples. Every goroutine this package starts ends when the
// context given to Start is done or Recorder.Stop returns.
package hostmetrics
