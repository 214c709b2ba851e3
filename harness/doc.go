// Package harness is perf's attack engine: it sends open-model load at a
// planned rate and records every result into HdrHistograms, timed from the
// intended send time of each request.
//
// The target formats are vegeta's: target files are read with its Targeter
// readers, so users' vegeta target files work unchanged; vegeta's types
// never leave this package. The rate plan is a constant rate (vegeta's
// ConstantPacer) or a schedule of holds, ramps, steps, sines and
// piecewise-linear files (Plan, schedule.go), computed in closed form per
// hit (see schedule), because
// coordinated-omission-safe timing needs every hit's intended time, which
// vegeta's Attacker does not expose and its Pacer cannot give for a hit
// that is already late. Requests go out through a lean HTTP/1.1 client, one
// keep-alive connection per worker, because net/http's client costs more CPU
// per request than the rest of the generator together, and a generator that
// saturates measures itself. The client (client.go) parses responses with
// package internal/http1, which perf serve's server shares; the package
// never imports the service.
//
// How a hit is timed: hit n is due at start + at(n), a pure function of the
// plan: for a constant rate in 128-bit integers (constantSchedule), for a
// schedule at the nanosecond the integral of its rate reaches n
// (planSchedule), so shards split either exactly. A worker takes the next hit, sleeps until it is
// due (or sends at once when it is late), sends, reads the response, and
// records three values: corrected (response end minus the intended time),
// service (response end minus the actual send) and lag (actual send minus
// intended). A stalled target or a late worker therefore shows in corrected
// latency: coordinated omission is not possible by construction, whatever
// the number of workers. Below 5,000 hits a second workers sleep on a
// timerfd, which wakes them within tens of microseconds where an idle Go
// runtime can be a millisecond late. Every worker connects before it takes
// a hit, the initial ones before the plan starts; a supervisor keeps the
// pool ahead of demand (1.5 times the mean number waiting on the target,
// plus 16), grows it when hits stay late because every worker is busy, and
// never while the generator itself is short of CPU (see attack.supervise),
// up to MaxWorkers.
//
// How a hit is counted: its result goes to the interval of its intended
// send time, which stays open until every hit due in it has finished, so a
// window holds exactly the plan's hits (sent, or counted as never sent when
// the window ended first). A request without a response is a failure,
// counted by kind with its first message, and has no latency. A request is
// sent twice only when that is safe (see attack.send), and counted. The
// start of every segment of a schedule is an interval boundary, so each
// segment's summary is the sum of its own intervals (Outcome.Segments).
//
// An attack may give up (Options.GiveUp, see Limit) once an SLO has failed
// beyond doubt: more requests answered above a latency bound, or in flight
// longer than it, than the percentile allows of the whole plan. Hits the
// generator has not sent yet are not counted against the target; whether
// the generator or the target limited a run is Health.GeneratorBound's to
// say, and perf attack search (package harness/search) stops on the former.
//
// An attack may split its responses by a response header (Options.Split,
// perf attack --split-by): the client classifies the header's value in
// place as it parses the response, an interning table (lock-free once a
// value is known, at most MaxVariants) gives each variant an id, and the
// recorder adds a response to its variant's histograms too. A request
// without a response has no variant. A {key} in a request header takes the
// URL's key (Targets), so the key space drives the users of an experiment.
//
// Recording takes one uncontended mutex and three histogram increments (two
// more for a variant); the
// supervisor hands each interval, once complete, to the caller (to stream
// latency.hlog and timeline.csv) and reuses its histograms, so memory stays
// flat however long the run. Options.OnCounts receives each interval too,
// with its status codes and error kinds, for a live publisher: Statsd sends
// them to a StatsD daemon through package internal/statsd, from the
// supervisor's goroutine, never from a worker's.
//
// # A whole run
//
// Attack is the engine alone. Run is the data path of perf attack around
// it: it creates the run directory through a results.Writer, which takes
// every interval as it closes; samples the host into host.json (package
// hostmetrics) and captures the target's and its own profiles over the
// measured window (package capture); raises the GC target while it sends; judges the generator's
// health from its CPU over the window (Health); and closes the writer with
// the summary (run.json, SLO verdicts) and the pages the caller renders.
// A rate schedule or a search runs its attacks through Run the same way.
//
// The package knows nothing of the command line and writes files only
// through package results.
package harness
