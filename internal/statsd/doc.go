// Package statsd publishes counters, timers and gauges to a StatsD daemon
// over UDP, as plain Etsy StatsD, from code whose hot path must never
// block, allocate or slow down for it: perf serve's request path and perf
// attack's intervals both use it.
//
// A Client is created once (New); its metrics are created at load time
// (Counter, Timer, Gauge) and used on the hot path:
//
//   - Counter.Add is one atomic add. Counters are aggregated in the
//     process and sent as their delta each FlushInterval, unsampled
//     (`name:delta|c`), so the daemon's counts are exact.
//   - Timer.Observe samples at Options.SampleRate with the runtime's
//     per-thread random source (lock-free), then enqueues the sample
//     without blocking into a bounded queue; when the queue is full the
//     sample is dropped and counted (Client.Dropped). Samples are sent as
//     `name:12.345|ms|@0.1`; Etsy's daemon scales a timer's count by
//     1/rate, so only timer counts (and rates) are estimates, within the
//     binomial spread of the sampling. Timers are `ms`, never DogStatsD's
//     `h` or `d`, which Etsy's daemon would count as counters.
//   - Gauge's function is read by the flusher each FlushInterval.
//
// One goroutine per Client, started by New and ended by Close, sends:
// counters and gauges every FlushInterval, timer samples every tenth of it
// (so that the queue need only hold a tenth of a second's samples, and the
// daemon receives them spread out). Close makes a final flush and waits for
// it at most CloseTimeout.
//
// Underneath, github.com/DataDog/datadog-go/v5 formats the lines and
// batches them into datagrams below the MTU (1432 bytes of payload), with
// tags, telemetry, client-side aggregation and origin detection off. Two
// things that client cannot be told, the package does in its transport,
// the one place that writes to the socket: datadog-go adds tags from the
// environment (DD_ENV, DD_SERVICE, DD_VERSION, DD_ENTITY_ID) with no
// option to stop it, and it samples again at any rate it is given, so a
// sample already taken by Timer.Observe could not carry its rate through
// it. The transport therefore drops every DogStatsD field of a line (tags,
// container id, cardinality, timestamps) and appends the client's
// `|@rate` to its timer lines; the batches are sized so that a datagram
// stays below the MTU after that.
//
// An address that is down, refuses datagrams or does not resolve never
// fails New nor slows the hot path: New only checks the address's form,
// and the flusher resolves it (within DialTimeout) when it first sends.
// What could not be sent is counted in Stats (and logged to
// Options.ErrorLog at most once a minute), for the caller to export.
//
// Names are dot-separated; Name builds one from parts that may hold any
// characters (status codes, variant names), replacing what StatsD or
// Graphite would misread.
//
// The package knows nothing of HTTP, of perf serve or of perf attack.
package statsd
