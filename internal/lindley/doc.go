// Package lindley is an analytic test server: one FIFO queue whose latency
// is arithmetic, not CPU contention. It is for tests and benchmarks of
// perf's search (package harness/search and perf attack search), which
// need a target whose capacity is known in advance, on any machine.
//
// A real server's capacity depends on its CPU, on the generator sharing
// that CPU and on the scheduler; a test that asserts "the search finds
// about 4,000/s" against one fails on a slower machine. This server does
// not work for its latency: request i, arriving at A_i (when its handler
// starts), departs at
//
//	D_i = max(A_i, D_{i-1}) + S_i
//
// (Lindley's recursion for a single-server FIFO queue), computed under a
// mutex, and its handler sleeps until D_i and then answers 200 with a tiny
// body. The service time S_i comes from a Service:
//
//   - Fixed(S): capacity is exactly 1/S requests per second. Below it,
//     constant-rate arrivals each take S; above it, the queue and every
//     latency grow without bound, by S - 1/rate per request.
//   - Exponential(1/mu, seed): with Poisson arrivals at rate lambda, an
//     M/M/1 queue, whose sojourn time (wait plus service) is exponential
//     with rate mu - lambda, so its p99 is ln(100)/(mu - lambda). perf's
//     generator sends at a constant rate, which makes the queue D/M/1: the
//     sojourn is still exponential, with rate mu(1 - sigma), where sigma
//     in (0, 1) solves sigma = exp(-mu(1 - sigma)/lambda); its p99 is
//     ln(100)/(mu(1 - sigma)), lower than M/M/1's (at mu = 1,000/s and
//     lambda = 500/s: 5.8ms against 9.2ms). The tests check both against
//     the recursion.
//
// Parallel(d) is the opposite: no queue at all, every request just sleeps
// d, so latency never grows with the rate and any limit a search finds is
// the generator's own (for the generator-bound tests).
//
// Precision: the recursion is exact; what a client sees is D_i plus the
// timer's lateness and the time to write the response. Go's timers are
// run by the runtime's netpoller: on Linux they fire tens of microseconds
// late on a busy process and up to about a millisecond late on an idle
// one. The lateness does not accumulate, since D_i is computed from D_{i-1},
// not from when the previous answer actually left; but A_i is when the
// handler starts, so the server's own work (accepting, parsing, the
// scheduler) before that is outside the model, and a generator that shares
// the CPU delays it. Keep S well above a millisecond for quantitative
// tests.
//
// The queue is unbounded: past capacity, D_i runs ahead of the clock
// without limit. A request whose client goes away stops sleeping and is not
// counted as served, but its work stays in the queue (the server had
// accepted it), as it would in a server that does not notice.
//
// Listen serves a handler on 127.0.0.1 with net/http, for tests and
// benchmarks; the package knows nothing of perf's attack engine or
// results.
package lindley
