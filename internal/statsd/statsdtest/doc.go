// Package statsdtest runs Etsy's StatsD daemon (the npm package statsd,
// run by node) for a test, and reads what the daemon itself aggregated:
// the sums of its counters, the counts of its timers (scaled by 1/rate, as
// it reports them), its gauges, and the lines it received and could not
// parse. A client's output is then checked against an independent
// implementation of the protocol, not against our own reading of it.
//
// Start finds the daemon's stats.js at $PERF_STATSD_JS or at the paths in
// Paths (where .ci/run installs it: npm install --prefix
// /opt/perf-test/statsd statsd@0.9.0), and node on the PATH; without them
// the test skips, or fails under PERF_TEST_REQUIRE=statsd or all
// (internal/testenv). The daemon listens on 127.0.0.1 at ports the kernel
// picked (UDP for metrics, TCP for its management interface), flushes every
// FlushInterval into a backend of this package (backend.js) that prints
// each flush as a JSON line, and is killed at the test's cleanup. Its UDP
// server is the daemon's own with a larger receive buffer (udp.js), so that
// a test's burst of datagrams is not lost while node is busy; the parsing
// and aggregation are the daemon's.
//
// Readiness and completeness are events, never sleeps: the daemon is ready
// once a probe datagram, sent after each flush until one is seen, shows in
// a flush; Wait returns once the daemon's own count of lines received
// (statsd.metrics_received, less the probes) reaches what the sender says
// it sent.
//
// The package is for tests only; it knows nothing of perf's client beyond
// the protocol.
package statsdtest
