// Package capture gathers the profiles around a load test that latency
// numbers alone do not give: of the target and of the generator itself.
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
// Host metrics are not here: they are package hostmetrics, which perf
// serve imports too, so the service never depends on the generator's
// package tree.
//
// Every goroutine this package starts ends when the context given to it is
// done or its Stop method returns; none outlives its caller's run.
//
// The package knows nothing of vegeta, of the attack engine or of the
// command line; it writes its files with results.WriteFileAtomic.
package capture
