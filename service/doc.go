// Package service is the read service that perf serve runs: an embedded
// bbolt store of deterministic JSON items, the public HTTP/1.1 server that
// reads that store on every request, and the admin handler with health,
// readiness, Prometheus metrics and pprof.
//
// The public read path is the thing under test, so it is kept lean. The
// public listener is not net/http but a small HTTP/1.1 server (wire.go):
// net/http's own work per request costs about as much as a whole read, and
// would halve the service's throughput. Each connection has one goroutine, a
// 4 KiB read buffer and a reused output buffer; requests are parsed without
// allocating, pipelined requests are answered in order and their responses
// written with one system call once the read buffer is empty, and deadlines
// are moved only when they drift by more than a tenth of their length, so a
// busy keep-alive connection pays a timer update a few times a second. The
// request parser and the deadline are package internal/http1's, which
// perf attack's client shares; the connections, the answers, the timing
// and the shutdown are this package's. The server honours Options'
// timeouts and MaxHeaderBytes with net/http's meanings, and shuts down as
// http.Server.Shutdown does.
//
// One function, Server.respond, answers a request: it routes by hand,
// parses the id by hand, opens a bbolt read transaction (there is no
// response cache, on purpose) and appends the headers and the document,
// copied straight from the memory map, to the connection's output buffer.
// The Prometheus children are resolved once at start and the in-flight gauge
// reads an atomic counter, so metrics cost a few atomic adds. The only
// allocations per request are bbolt's own, inside the read transaction.
// BenchmarkRead and BenchmarkWire measure this path.
//
// Typical use, as cmd/perf does it:
//
//	// listen on the public and admin addresses first, so a port conflict fails fast
//	st, err := service.Open(filepath.Join(dir, service.StoreFile), service.StoreOptions{})
//	srv := service.New(st, service.Options{})
//	go srv.Run(ctx, publicLn, adminLn) // /readyz answers 503 until SetReady(true)
//	err = st.Seed(ctx, 100000, 1024, progress)
//	srv.SetReady(true)
//
// Tests in other packages start a seeded server with servicetest.Start.
//
// # Feature toggles and experiments
//
// Server.LoadFlags (or SetFlags) puts a flagd flag-definition file in force
// (package flags reads it) and WatchFlags keeps it equal to the file on
// disk. Every flag is picked for every request, by the user id that
// Options.UserHeader or UserCookie names (captured by the request parser
// without allocating), and every answer names the variants in its
// X-Variant header. What a variant does to a read is its value's business:
// a JSON object may set "view" (a compact document, without its payload,
// or the full one), "etag" (an ETag header, a CRC-32C of the body) or
// "delay" (a sleep before answering, for experiments and tests that need a
// slower variant); one flag at most sets each. All of that is worked out
// when the file is loaded (compileFlags: the effects, the X-Variant
// members, the per-variant metric children), so a request pays a
// MurmurHash3 per flag, a few appends and two metric updates per flag, and
// no allocation (BenchmarkFlagsPerRequest). A reload builds a new flagSet
// and swaps a pointer: a request is served whole by the set in force when
// it was read, and a file that does not parse or cannot be served never
// replaces a good one.
//
// # Live upgrades and the drain
//
// The server itself does not fork: Options.Upgrade is the caller's (perf
// serve passes tableflip's), and Server.Upgrade records and counts each
// attempt for GET /upgrade and Prometheus. What the package owns is that
// two generations can serve at once and that the old one drops nothing:
// the store is opened read-only (StoreOptions.ReadOnly, bbolt's shared
// lock), a Server without a store answers 503 until SetStore, and Run's
// shutdown closes the listener, answers with Connection: close, lets idle
// connections take a request already on its way for wireDrainSettle, then
// closes them lingering (never with a reset), leaves a new connection its
// first request for up to wireNewIdle as net/http does, and serves a
// connection accepted as the drain began. Every response carries the
// generation (GenerationHeader). Admin endpoints that change traffic
// (POST /upgrade) need Options.ControlToken, compared in constant time.
//
// # Ramp-up
//
// Server.StartRollout puts a rollout in force and Server.RunRollout judges
// its holds: a growing share of users moves to a candidate version
// (Rollout.Candidate, another perf serve) by steps of a weight and a hold
// (ParseRolloutSteps: "1%/30s,5%/30s,25%/1m"). A user's place is a sticky
// bucket of package flags (flags.Pick on a flag built for the weight, key
// RolloutFlagKey, the candidate's bucket first), so raising the weight
// moves nobody back; requests without a user id stay on the primary. The
// read path pays one atomic load without a rollout, and a MurmurHash3 per
// item read with one. An item read of a user on the candidate is proxied by
// the connection's goroutine through a bounded net/http client
// (rolloutproxy.go) and answered with the candidate's status and body,
// marked VersionHeader; no answer is a 502 and the candidate's error, never
// retried (the retries Go's transport makes on its own are counted).
//
// Each hold's candidate requests go into an HdrHistogram and counts (a
// request counts in the hold in which its answer came); at the hold's end
// they become a results.Run and every SLO is judged by
// results.Bound.Evaluate, the project's one SLO evaluation: a pass
// advances, Rollout.Failures failures in a row roll back to 0%, a hold
// without a candidate request is held again. GET /rollout shows the state
// and history; POST /rollout/{pause,resume,promote,abort} need the control
// token; promote calls Rollout.Promote (Server.Upgrade by default).
// Rollout.Notify and Rollout.Handover carry the rollout across a live
// upgrade (perf serve passes it in the environment): the new generation
// continues at the same step, or ends as the old one ended, and after a
// promote it is the promoted one.
//
// # StatsD
//
// With Options.StatsD, the public listener publishes counters per status
// and per variant, sampled request timers and gauges through package
// internal/statsd; every instrument is made at start or at a flags load, so
// a request pays atomic adds and a non-blocking enqueue (statsd.go).
//
// # Ghost mode
//
// With Options.Candidate (the new version's base URL, which ramp-up uses
// too) and Options.GhostShare, that percentage of item reads is also sent
// to the candidate, off the request path (ghost.go). A read is picked with
// the runtime's per-thread random numbers (math/rand/v2: no lock, no
// allocation), so the share holds whatever the pattern of paths on a
// connection. For a picked read, the request path computes the CRC-32C of
// the body respond appended and copies a fixed-size record (method, path,
// user id, status, hash, first bytes of the body) into a bounded channel
// with a non-blocking send: a full queue drops the read and counts it. A
// read not picked costs one random number; none allocates
// (TestGhostOfferAllocs, BenchmarkGhostOffer). The user always gets the
// primary's answer, and the primary never waits for the candidate.
//
// Options.GhostWorkers goroutines, started by Run and stopped with it,
// send each record's read to the candidate with the same user id (the
// UserHeader, else the UserCookie) through a net/http client with
// GhostTimeout and one connection per worker at most; they read the body,
// hash it and compare status and hash only: headers are not compared, as
// X-Serve-Generation, X-Variant and ETag may differ between versions
// without the answer doing so. The results are counted as match, mismatch,
// candidate_error (a transport error or timeout) and dropped, and the
// candidate's latency goes into a Prometheus histogram and an
// HdrHistogram read by the one percentile rule (internal/percentile).
//
// The baseline: Options.GhostBaseline percent of the ghosted reads are
// read again by the worker from this server's own store, with the
// variants the user gets now, and compared with the primary's first
// answer. What differs there (a flags reload in between, a store swapped)
// is noise, and GhostStatus (GET /ghost) says whether the candidate's
// mismatch rate exceeds the baseline's beyond it: a one-sided
// two-proportion z test, at z >= 3, once each side has 30 comparisons. It
// keeps the last ten mismatching reads for a person to look at.
//
// The admin handler registers the net/http/pprof handlers on its own mux.
// Importing net/http/pprof also registers them on http.DefaultServeMux; this
// package never serves that mux, and the public listener routes by hand, so
// it cannot expose pprof or metrics.
//
// Item ids are the decimal numbers 0..N-1 that perf attack --keys uniform:N
// draws; the store keys them as 8-byte big-endian integers, so the key space
// is sorted and compact. An item's document depends only on its id and the
// value size, so two stores seeded alike serve identical bytes.
//
// The package must not know about cobra, flags, environment variables or exit
// codes; that is cmd/perf's business, nor about the load generator (package
// harness and below), which it never imports. It never exits. It logs only
// what a server cannot return to anyone, as net/http does: failures to
// accept a connection on the public listener (retried after a pause) and
// the admin http.Server's own errors, to Options.ErrorLog, or to the log
// package's standard logger when that is nil.
package service
