// Package capture gathers the evidence around a load test that latency
// numbers alone do not give: profiles of the target and of the generator,
// and host metrics of both.
//
// Profiles fetches a target's net/http/pprof endpoints: a CPU profile that
// covers the measured window (asked for right after warm-up, with
// ?seconds=N), then heap, allocs, goroutine, mutex and block profiles at the
// end. Every body is checked to be a gzip'd profile before it is written as
// NAME.pb.gz, so `go tool pprof` opens each file. A fetch that fails is a
// warning, never an error: a lost profile must not lose the run.
// StartSelfProfile does the same for the generator itself with
// runtime/pprof.
//
// SampleHost (and StartHost) sample the generator's host once a second with
// gopsutil and a few direct /proc reads: CPU (total and per core), load,
// memory, network counters (loopback included), TCP counters and states,
// and the CPU use of one process, normalised to the cores it may use.
// Sampling runs inside the load generator, so it is kept cheap (see
// BenchmarkSample): about 0.17 ms a sample on a 2-core VM; counting TCP
// sockets by state walks the kernel's socket table (sock_diag, as ss(8)
// does, about 2 ms with 14,000 TIME_WAIT sockets), so it is done in one
// sample of ten, for about 0.37 ms a sample on average.
//
// HostHandler serves one current sample as JSON, for perf serve's admin
// listener (GET /debug/host); the recorder polls it when
// HostOptions.TargetURL is set, to sample the target alike.
//
// Every goroutine this package starts ends when the context given to it is
// done or its Stop method returns; none outlives its caller's run.
//
// The package knows nothing of vegeta, of the attack engine or of the
// command line; it writes through package results' types.
package capture
