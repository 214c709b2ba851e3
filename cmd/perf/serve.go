package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cloudflare/tableflip"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/perf-tools/perf/hostmetrics"
	"github.com/perf-tools/perf/internal/statsd"
	"github.com/perf-tools/perf/service"
	"github.com/perf-tools/perf/service/flags"
	"github.com/perf-tools/perf/tuning"
)

// maxSeed bounds --seed: a billion items of the smallest size is already
// far more than a test store needs.
const maxSeed = 1_000_000_000

// serveOptions are the settings of perf serve.
type serveOptions struct {
	Addr      string
	AdminAddr string
	Data      string
	Seed      int64
	ValueSize int

	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	ShutdownGrace     time.Duration
	LockTimeout       time.Duration

	PIDFile          string
	UpgradeTimeout   time.Duration
	ControlTokenFile string

	StatsD           string
	StatsDPrefix     string
	StatsDSampleRate float64
	StatsDInterval   time.Duration

	Flags      string
	FlagsPoll  time.Duration
	UserHeader string
	UserCookie string

	// Candidate is the new version's base URL (--candidate), for ghost
	// mode and ramp-up.
	Candidate string
	// Ghost mode (serve_ghost.go).
	GhostShare     float64
	GhostBaseline  float64
	rolloutOptions // serve_rollout.go

	MutexProfileFraction int
	BlockProfileRate     int
	GCPercent            int
	Warm                 bool
	// gcPercentSet: --gc-percent or PERF_GC_PERCENT was given, so it
	// wins over GOGC.
	gcPercentSet bool

	Stderr io.Writer
	// TuningRoot is where the host's tuning is checked against the
	// server-latency profile at start; empty means "/".
	TuningRoot string
}

// serveTuningProfile is the tuning profile perf serve checks its host
// against at start.
const serveTuningProfile = "server-latency"

func newServeCmd() *cobra.Command {
	opts := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the read service: items from an embedded store, metrics and pprof",
		Long: `perf serve runs the read service under test. GET /v1/items/{id} reads a bbolt
store on every request (no response cache) and answers the item's JSON
document; the ids are the decimal numbers 0..N-1 that
'perf attack --keys uniform:N' draws.

Public listener (--addr):
  GET|HEAD /v1/items/{id}  200 application/json, the stored document
                           404 no such item, 400 malformed id,
                           405 other methods (Allow: GET, HEAD)

Admin listener (--admin-addr, loopback by default):
  /healthz         200 while the process is up
  /readyz          200 once the store is open and seeded, 503 before and
                   while shutting down
  /metrics         Prometheus: perf_serve_requests_total{code},
                   perf_serve_request_duration_seconds (classic and native
                   buckets), perf_serve_requests_in_flight, Go and process
  /debug/pprof/    pprof profiles (cpu, heap, mutex, block, goroutine, trace)
  /debug/host      one JSON sample of this host and process, for
                   'perf attack --target-host-metrics'
  /upgrade         GET: generation, pid, the last live upgrade and why it
                   failed; POST (control token): upgrade now
  /flags           the flags configuration in force (JSON): file, sha256,
                   generation, when loaded, the last failed reload
  /flags/evaluate?user=ID[&flag=KEY]
                   the variant of each flag that user gets, and why
  /ghost           ghost mode (JSON): counts, rates, candidate latency,
                   baseline, verdict, the last mismatching reads
  /rollout         GET: the ramp-up's state and every judged hold;
                   POST /rollout/{pause,resume,promote,abort} (control token)
The public listener never serves metrics or pprof.

Feature toggles and A/B experiments (--flags FILE): a flagd flag-definition
file (JSON; state, variants, defaultVariant, fractional targeting; anything
else is refused, naming the flag and the construct). A user's variant is
flagd's sticky bucket, MurmurHash3-32 of flag key + user id, so every node
and every reload that keeps the weights puts a user in the same variant, and
raising a rollout moves nobody out. The user id is the --user-header value,
else the --user-cookie value; a request with neither gets each flag's
default variant and is counted (perf_serve_requests_without_user_total).
A variant's value changes the read when it is a JSON object with:
  "view": "full" | "compact"   the whole document, or id, name and tags only
  "etag": true | false         an ETag header (CRC-32C of the body)
  "delay": "2ms"               added before answering (up to 10s)
(one flag at most sets each); other values are the team's own and change
nothing. Every response says what it was served with:
  X-Variant: doc-view=compact, etag=off
and Prometheus counts perf_serve_variant_requests_total{flag,variant,code}
and perf_serve_variant_request_duration_seconds{flag,variant}. The file's
directory is watched (editors and ConfigMaps replace files by rename); a
changed file is parsed and checked whole, then swapped in for the next
requests (perf_serve_flags_generation); a bad or deleted file leaves the last
good configuration in force, logged and counted
(perf_serve_flags_reloads_total{result="failure"}). deploy/flags.json is an
example: an experiment and a toggle.

Live upgrades: on SIGHUP, or POST /upgrade with the control token, perf serve
starts the binary now at its path with the same arguments and hands it both
listening sockets. The new generation opens the store read-only (both hold it
at once), warms it, and only then accepts; the old one closes its listeners,
answers with Connection: close, closes idle connections without a reset once
a request on its way has had 100ms to arrive, and drains. --pid-file always
names the generation that serves (systemd: ExecReload=/bin/kill -HUP $MAINPID
with PIDFile=; see deploy/perf-serve.service). A new binary that fails to
start or is not ready within --upgrade-timeout leaves the old one serving,
logged and counted (perf_serve_upgrades_total). Every response carries
X-Serve-Generation. Control endpoints need "Authorization: Bearer TOKEN"
with the token of --control-token-file or PERF_CONTROL_TOKEN.

Ramp-up (--candidate URL --rollout STEPS --rollout-slo BOUND): a growing share
of users is served by the candidate, another perf serve. STEPS is
WEIGHT%/HOLD,... such as 1%/30s,5%/30s,25%/1m,50%/1m,100%/1m: whole percents
from 1% to 100%, growing, each held at least 10ms. Users are placed by the
flags' sticky buckets (MurmurHash3 of "perf-serve-rollout" + the
--user-header or --user-cookie id), so nobody goes back as the weight grows;
requests without a user id stay on the primary. An item read of a user on the
candidate is proxied to it (1s timeout, 256 connections) and answered with its
status and body, marked X-Serve-Version: candidate; no answer is a 502, counted
as the candidate's error, not retried by perf serve. At the end of each hold, every
--rollout-slo (perf attack's grammar: p99<=25ms, errors<=0.1%) is judged on the
candidate's requests of that hold: pass advances; --rollout-failures failures in
a row (default 1) roll back to 0% and end the rollout; a hold without candidate
requests is held again. GET /rollout shows it all; pause, resume, abort and
promote (a live upgrade to the binary at this path, after which the new
generation serves everyone itself) need the control token:
'perf serve rollout status|pause|resume|promote|abort --admin URL'. A live
upgrade hands the rollout over: the new generation continues at the same step,
or stays rolled back or aborted; a plain restart starts a new rollout.
Prometheus: perf_serve_rollout_weight_percent, _step, _state{state},
_gates_total{verdict}, _candidate_requests_total{code},
_candidate_failures_total{kind}, _candidate_retries_total (Go's client re-sent
a GET whose kept-alive connection closed), _candidate_errors_total,
_candidate_request_duration_seconds.

StatsD (--statsd HOST:PORT): plain Etsy StatsD over UDP under --statsd-prefix:
counters requests.<code> and variant.<flag>.<variant>.requests.<code>
(exact), timers request_time and variant.<flag>.<variant>.request_time (ms,
sampled at --statsd-sample-rate), gauges in_flight, generation and
flags_generation. The request path never blocks on it; a full queue drops
timer samples and counts them (perf_serve_statsd_dropped_total).

Ghost traffic (--candidate http://host:port --ghost-share PERCENT): that share
of item reads, picked at random per read, is also sent to the candidate (the
new version, another perf serve) by a few background workers, with the same
user id; the user always gets this server's answer, which never waits for the
candidate. Only the status and a CRC-32C of the body are compared, not the
headers (X-Variant, ETag and X-Serve-Generation may differ). --ghost-baseline
PERCENT of the ghosted reads are also read again from this server's own store,
so noise (answers that differ between two reads of the same item) is measured
and the candidate is judged against it. A full queue drops ghost reads and
counts them; a slow candidate costs the users nothing. GET /ghost and
perf_serve_ghost_requests_total{result="match|mismatch|candidate_error|dropped"},
perf_serve_ghost_baseline_total{result} and
perf_serve_ghost_candidate_duration_seconds show the comparison.

The public listener is a lean HTTP/1.1 server (keep-alive, pipelining,
HTTP/1.0, HEAD), not Go's net/http, so a read costs about what a net/http
hello-world does. The timeouts mean what net/http's do: --read-header-timeout
bounds reading a request's headers, --read-timeout the whole request,
--write-timeout writing the response, --idle-timeout the wait for the next
request on a kept connection; beyond --max-header-bytes a request gets 431.
To keep timer updates off the hot path, each deadline is moved only when it
has drifted by more than a tenth of its length: a timeout fires within a
tenth of its length of the exact time. The admin listener is net/http.

At start, perf serve logs on stderr how this host's settings drift from the
server-latency tuning profile ('perf tune check server-latency' says which).

--seed N makes sure the store in --data holds items 0..N-1, adding only the
missing ones; each document is exactly --value-size bytes and depends only on
its id and size, so nodes seeded alike serve identical bytes. A store keeps
the value size it was seeded with; seeding it with another size fails.

Both listeners are bound before the store is seeded, and the bound addresses
are printed on stderr ("listening on http://127.0.0.1:PORT", "admin listening
on http://127.0.0.1:PORT"), so --addr 127.0.0.1:0 picks a free port. On
SIGINT or SIGTERM the service stops accepting, lets in-flight requests finish
(up to --shutdown-grace) and exits 0.

Every flag can also be set from the environment as PERF_<FLAG>, for example
PERF_ADDR, PERF_ADMIN_ADDR, PERF_DATA, PERF_SEED, PERF_VALUE_SIZE,
PERF_READ_TIMEOUT; a flag on the command line wins over the environment.`,
		Example: `  # serve 100,000 items of 1 KiB on :8080, admin on 127.0.0.1:6060
  perf serve --seed 100000

  # a free port for each listener, a separate store, smaller documents
  perf serve --addr 127.0.0.1:0 --admin-addr 127.0.0.1:0 --data /tmp/perf-data --seed 1000 --value-size 256

  # the same through the environment
  PERF_ADDR=:9090 PERF_SEED=100000 perf serve

  # an A/B experiment and a toggle, users by the X-User-Id header
  perf serve --seed 100000 --flags deploy/flags.json --user-header X-User-Id
  curl -si -H 'X-User-Id: 42' localhost:8080/v1/items/1 | grep X-Variant
  curl -s 'localhost:6060/flags/evaluate?user=42'

  # a live upgrade to the binary now at this path
  perf serve --seed 100000 --pid-file /run/perf-serve.pid &
  kill -HUP "$(cat /run/perf-serve.pid)"

  # mirror 5% of reads to a candidate and compare its answers
  perf serve --seed 100000 --candidate http://10.0.0.7:8080 --ghost-share 5
  curl -s localhost:6060/ghost
  # ramp users up to a candidate, rolled back if its p99 or errors fail a hold
  perf serve --seed 100000 --user-header X-User-Id --candidate http://10.0.0.8:8080 \
    --rollout 1%/30s,5%/30s,25%/1m,50%/1m,100%/1m --rollout-slo 'p99<=25ms' --rollout-slo 'errors<=0.1%'
  perf serve rollout status

  curl -s localhost:8080/v1/items/42
  curl -s localhost:6060/metrics | grep perf_serve_requests_total`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd.Flags()); err != nil {
				return usageErr(err)
			}
			opts.gcPercentSet = cmd.Flags().Changed("gc-percent")
			if err := opts.validate(); err != nil {
				return usageErr(err)
			}
			if err := opts.validateRollout(cmd.Flags().Changed); err != nil {
				return usageErr(err)
			}
			opts.Stderr = cmd.ErrOrStderr()
			return runServe(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Addr, "addr", ":8080", "public listen address (host:port; port 0 picks a free one)")
	f.StringVar(&opts.AdminAddr, "admin-addr", "127.0.0.1:6060", "admin listen address for /healthz, /readyz, /metrics, /debug/pprof/")
	f.StringVar(&opts.Data, "data", "./perf-data", "data directory; the store is DIR/"+service.StoreFile)
	f.Int64Var(&opts.Seed, "seed", 0, "make sure the store holds items 0..N-1 (0: serve what is there)")
	f.IntVar(&opts.ValueSize, "value-size", service.DefaultValueSize, fmt.Sprintf("bytes in each item's JSON document (%d..%d)", service.MinValueSizeAny, service.MaxValueSize))
	f.DurationVar(&opts.ReadHeaderTimeout, "read-header-timeout", service.DefaultReadHeaderTimeout, "time allowed to read a request's headers (to within a tenth)")
	f.DurationVar(&opts.ReadTimeout, "read-timeout", service.DefaultReadTimeout, "time allowed to read a whole request (to within a tenth)")
	f.DurationVar(&opts.WriteTimeout, "write-timeout", service.DefaultWriteTimeout, "time allowed to write a response (to within a tenth)")
	f.DurationVar(&opts.IdleTimeout, "idle-timeout", service.DefaultIdleTimeout, "how long an idle keep-alive connection stays open (to within a tenth)")
	f.IntVar(&opts.MaxHeaderBytes, "max-header-bytes", service.DefaultMaxHeaderBytes, "largest request header accepted, in bytes")
	f.DurationVar(&opts.ShutdownGrace, "shutdown-grace", service.DefaultShutdownGrace, "on SIGINT/SIGTERM, how long in-flight requests may take to finish")
	f.DurationVar(&opts.LockTimeout, "lock-timeout", service.DefaultLockTimeout, "how long to wait for a store another process holds")
	f.IntVar(&opts.GCPercent, "gc-percent", 400, "garbage collector target (as GOGC); the live heap is small, so a higher target trades a few MB for less GC work per read (default used only when GOGC is unset)")
	f.BoolVar(&opts.Warm, "warm", true, "read the whole store once before reporting ready, so the first requests do not pay page faults")
	f.StringVar(&opts.PIDFile, "pid-file", "", "file that always holds the PID of the generation that serves (written once it is ready; for systemd's PIDFile=)")
	f.DurationVar(&opts.UpgradeTimeout, "upgrade-timeout", time.Minute, "how long a live upgrade waits for the new generation to be ready before it gives up and keeps serving")
	f.StringVar(&opts.ControlTokenFile, "control-token-file", "", "file whose first line is the token the admin listener's control endpoints (POST /upgrade) require; PERF_CONTROL_TOKEN also sets it")
	f.StringVar(&opts.StatsD, "statsd", "", "publish request counters, timers and gauges to a StatsD daemon at HOST:PORT (UDP; see above)")
	f.StringVar(&opts.StatsDPrefix, "statsd-prefix", "perf.serve", "prefix of the StatsD names (dot-separated)")
	f.Float64Var(&opts.StatsDSampleRate, "statsd-sample-rate", 0.1, "share of requests whose time is sent as a StatsD timer, in (0, 1]; counters are exact whatever it is")
	f.DurationVar(&opts.StatsDInterval, "statsd-interval", time.Second, "how often StatsD counters and gauges are sent")
	f.StringVar(&opts.Flags, "flags", "", "flagd flag-definition file (JSON) of feature toggles and A/B experiments, reloaded when it changes (see above)")
	f.DurationVar(&opts.FlagsPoll, "flags-poll", 0, "read the --flags file every DURATION instead of watching its directory (for file systems without inotify); 0: watch, polling every 2s only if watching fails")
	f.StringVar(&opts.UserHeader, "user-header", "", "request header holding the user id that --flags buckets users by, e.g. X-User-Id")
	f.StringVar(&opts.UserCookie, "user-cookie", "", "cookie holding the user id, when the request has no --user-header")
	f.StringVar(&opts.Candidate, "candidate", "", "base URL of the new version, http://host:port (another perf serve), for ghost traffic (--ghost-share) and ramp-up (--rollout)")
	addGhostFlags(f, opts)
	addRolloutFlags(f, &opts.rolloutOptions)
	f.IntVar(&opts.MutexProfileFraction, "mutex-profile-fraction", 10, "report 1 in N mutex contention events in /debug/pprof/mutex (0: off)")
	f.IntVar(&opts.BlockProfileRate, "block-profile-rate", 100000, "sample one blocking event per N nanoseconds blocked in /debug/pprof/block (0: off)")
	cmd.AddCommand(newServeRolloutCmd())
	return cmd
}

// envName returns the environment variable that sets a flag: PERF_ plus the
// flag name in upper case with dashes as underscores.
func envName(flag string) string {
	return "PERF_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// applyEnv sets every flag not given on the command line from its PERF_*
// environment variable, so flags win over the environment.
func applyEnv(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "help" {
			return
		}
		name := envName(f.Name)
		// An empty variable counts as unset, as shells and compose files
		// often leave them.
		v := os.Getenv(name)
		if v == "" {
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = fmt.Errorf("environment %s=%q: want %s for --%s: %w", name, v, typeName(f.Value.Type()), f.Name, e)
		}
	})
	return err
}

// typeName says in words what a flag of a pflag type takes.
func typeName(t string) string {
	switch t {
	case "int", "int64", "uint64":
		return "an integer"
	case "duration":
		return "a duration such as 5s or 250ms"
	case "bool":
		return "true or false"
	}
	return "a " + t
}

// validate checks the settings and says which one is wrong and what was
// expected.
func (o *serveOptions) validate() error {
	if o.Addr == "" {
		return errors.New("--addr is empty: want host:port, e.g. :8080 or 127.0.0.1:0")
	}
	if o.AdminAddr == "" {
		return errors.New("--admin-addr is empty: want host:port, e.g. 127.0.0.1:6060")
	}
	if o.Data == "" {
		return errors.New("--data is empty: want a directory")
	}
	if o.Seed < 0 || o.Seed > maxSeed {
		return fmt.Errorf("--seed %d: want a number of items from 0 to %d", o.Seed, maxSeed)
	}
	if err := service.CheckValueSize(uint64(o.Seed), o.ValueSize); err != nil {
		return fmt.Errorf("--value-size: %w", err)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"--read-header-timeout", o.ReadHeaderTimeout},
		{"--read-timeout", o.ReadTimeout},
		{"--write-timeout", o.WriteTimeout},
		{"--idle-timeout", o.IdleTimeout},
		{"--shutdown-grace", o.ShutdownGrace},
		{"--lock-timeout", o.LockTimeout},
		{"--upgrade-timeout", o.UpgradeTimeout},
	} {
		if d.v <= 0 {
			return fmt.Errorf("%s %v: want a positive duration such as 5s", d.name, d.v)
		}
	}
	if o.MaxHeaderBytes < 1024 || o.MaxHeaderBytes > 16<<20 {
		return fmt.Errorf("--max-header-bytes %d: want 1024 to %d", o.MaxHeaderBytes, 16<<20)
	}
	if o.GCPercent < -1 || o.GCPercent == 0 {
		return fmt.Errorf("--gc-percent %d: want a positive percentage, or -1 to turn the collector off", o.GCPercent)
	}
	if o.UserHeader != "" && !isToken(o.UserHeader) {
		return fmt.Errorf("--user-header %q: want a header name such as X-User-Id", o.UserHeader)
	}
	if o.UserCookie != "" && !isToken(o.UserCookie) {
		return fmt.Errorf("--user-cookie %q: want a cookie name such as uid", o.UserCookie)
	}
	if (o.UserHeader != "" || o.UserCookie != "") && o.Flags == "" && o.Rollout == "" {
		return errors.New("--user-header and --user-cookie choose users for --flags and --rollout: give --flags FILE or --rollout STEPS too")
	}
	if o.StatsD == "" && (o.StatsDPrefix != "perf.serve" || o.StatsDSampleRate != 0.1 || o.StatsDInterval != time.Second) {
		return errors.New("--statsd-prefix, --statsd-sample-rate and --statsd-interval set how perf serve publishes to StatsD: give --statsd HOST:PORT too")
	}
	if o.StatsDSampleRate <= 0 || o.StatsDSampleRate > 1 {
		return fmt.Errorf("--statsd-sample-rate %v: want a share in (0, 1], such as 0.1", o.StatsDSampleRate)
	}
	if o.StatsDInterval <= 0 {
		return fmt.Errorf("--statsd-interval %v: want a positive duration such as 1s", o.StatsDInterval)
	}
	if o.FlagsPoll < 0 {
		return fmt.Errorf("--flags-poll %v: want 0 (watch) or a positive duration such as 2s", o.FlagsPoll)
	}
	if err := o.validateGhost(); err != nil {
		return err
	}
	if o.MutexProfileFraction < 0 {
		return fmt.Errorf("--mutex-profile-fraction %d: want 0 (off) or more", o.MutexProfileFraction)
	}
	if o.BlockProfileRate < 0 {
		return fmt.Errorf("--block-profile-rate %d: want 0 (off) or more", o.BlockProfileRate)
	}
	return nil
}

// serveGenerationEnv passes a process's generation to the process a live
// upgrade starts.
const serveGenerationEnv = "PERF_SERVE_GENERATION"

// runServe binds both listeners (or takes them over from the generation it
// replaces), opens and seeds the store, and serves until ctx is done
// (SIGINT or SIGTERM) or a live upgrade has handed the listeners to a new
// generation; then it drains in-flight requests.
func runServe(ctx context.Context, opts *serveOptions) error {
	stderr := opts.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) }
	// SIGHUP asks for a live upgrade. Caught from the start: its default
	// would kill a process still starting.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	// A bad flags file fails before anything is bound or opened.
	var flagCfg *flags.Config
	if opts.Flags != "" {
		var err error
		if flagCfg, err = flags.Load(opts.Flags); err != nil {
			return usageErr(fmt.Errorf("--flags: %w", err))
		}
	}
	gen, err := serveGeneration()
	if err != nil {
		return usageErr(err)
	}
	token, err := controlToken(opts)
	if err != nil {
		return usageErr(err)
	}
	if err := checkDataDir(opts.Data); err != nil {
		return err
	}
	var sd *statsd.Client
	if opts.StatsD != "" {
		sd, err = statsd.New(statsd.Options{
			Addr: opts.StatsD, Prefix: opts.StatsDPrefix, SampleRate: opts.StatsDSampleRate,
			FlushInterval: opts.StatsDInterval, ErrorLog: log.New(stderr, "statsd: ", 0),
		})
		if err != nil {
			return usageErr(fmt.Errorf("--statsd: %w", err))
		}
		// Last, once the server has drained: the final counts go out.
		defer func() {
			cerr := sd.Close()
			s := sd.Stats()
			msg := fmt.Sprintf("statsd: %d metrics in %d datagrams written to %s", s.Lines, s.Datagrams, opts.StatsD)
			if s.SendErrors > 0 {
				msg += fmt.Sprintf("; %d datagrams not sent", s.SendErrors)
			}
			if s.Dropped > 0 {
				msg += fmt.Sprintf("; %d timer samples dropped (queue full)", s.Dropped)
			}
			if cerr != nil {
				msg += fmt.Sprintf("; %v", cerr)
			}
			logf("%s", msg)
		}()
	}
	// The upgrader holds the listeners: a generation started by a live
	// upgrade takes them over from the one before, so no connection is
	// refused in between.
	upg, err := tableflip.New(tableflip.Options{PIDFile: opts.PIDFile, UpgradeTimeout: opts.UpgradeTimeout})
	if err != nil {
		return fmt.Errorf("set up live upgrades: %w", err)
	}
	defer upg.Stop()
	// Bind before the store is seeded, so a port conflict fails fast.
	publicLn, err := upgListen(upg, "public", opts.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (--addr): %w", opts.Addr, err)
	}
	adminLn, err := upgListen(upg, "admin", opts.AdminAddr)
	if err != nil {
		publicLn.Close()
		return fmt.Errorf("listen on %s (--admin-addr): %w", opts.AdminAddr, err)
	}

	if opts.gcPercentSet || os.Getenv("GOGC") == "" {
		debug.SetGCPercent(opts.GCPercent)
	}
	runtime.SetMutexProfileFraction(opts.MutexProfileFraction)
	runtime.SetBlockProfileRate(opts.BlockProfileRate)

	srv := service.New(nil, service.Options{
		ReadHeaderTimeout: opts.ReadHeaderTimeout,
		ReadTimeout:       opts.ReadTimeout,
		WriteTimeout:      opts.WriteTimeout,
		IdleTimeout:       opts.IdleTimeout,
		MaxHeaderBytes:    opts.MaxHeaderBytes,
		ShutdownGrace:     opts.ShutdownGrace,
		Generation:        gen,
		StatsD:            sd,
		ControlToken:      token,
		Upgrade: func() error {
			// A generation upgraded to moments ago may still have its
			// predecessor draining; tableflip refuses to start another
			// until that one has exited, so wait for it (it exits within
			// the shutdown grace).
			wctx, cancel := context.WithTimeout(ctx, opts.ShutdownGrace+5*time.Second)
			err := upg.WaitForParent(wctx)
			cancel()
			if err != nil && wctx.Err() != nil {
				return fmt.Errorf("generation %d, which this one replaced, has not exited: %w", gen-1, err)
			}
			// The new process is this binary as it is on disk now, with
			// the same arguments; it learns its generation from here.
			if err := os.Setenv(serveGenerationEnv, strconv.FormatUint(gen+1, 10)); err != nil {
				return err
			}
			for tries := 0; ; tries++ {
				err := upg.Upgrade()
				// tableflip learns that the predecessor exited a moment
				// after WaitForParent does: ask again for up to a second.
				if err == nil || err.Error() != "parent hasn't exited" || tries == 100 {
					return err
				}
				time.Sleep(10 * time.Millisecond)
			}
		},
		UserHeader:    opts.UserHeader,
		UserCookie:    opts.UserCookie,
		Candidate:     opts.Candidate,
		GhostShare:    opts.GhostShare,
		GhostBaseline: ghostBaseline(opts.GhostBaseline),
		ErrorLog:      log.New(stderr, "http: ", 0),
		AdminHandlers: map[string]http.Handler{hostmetrics.Path: hostmetrics.Handler()},
	})
	if flagCfg != nil {
		if err := srv.SetFlags(flagCfg, opts.Flags); err != nil {
			publicLn.Close()
			adminLn.Close()
			return usageErr(fmt.Errorf("--flags: %w", err))
		}
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	served := false
	serve := func() {
		served = true
		go func() { done <- srv.Run(runCtx, publicLn, adminLn) }()
	}
	// halt stops serving, or closes the listeners if serving never began.
	halt := func() error {
		if !served {
			publicLn.Close()
			adminLn.Close()
			return nil
		}
		stop()
		return <-done
	}
	// The first generation serves from the start: /readyz says 503 while
	// the store is seeded. A generation started by a live upgrade accepts
	// nothing until it is ready; the one before serves until then.
	upgraded := upg.HasParent()
	if !upgraded {
		serve()
	}
	logf("listening on http://%s", publicLn.Addr())
	logf("admin listening on http://%s", adminLn.Addr())
	logf("generation %d, pid %d", gen, os.Getpid())
	logTuning(opts.TuningRoot, logf)
	logGhost(opts, logf)
	if flagCfg != nil {
		logf("flags: %s: %d flags, sha256 %.12s, users by %s", opts.Flags, len(flagCfg.Flags()), flagCfg.Hash(), userSource(opts))
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			srv.WatchFlags(runCtx, opts.Flags, opts.FlagsPoll, logf)
		}()
		defer func() { stop(); <-watched }()
	}

	st, err := openServingStore(ctx, opts, logf)
	if err != nil {
		runErr := halt()
		if ctx.Err() != nil {
			// Interrupted by a signal: a clean stop, and the next start resumes.
			logf("stopped while seeding; the next start adds the missing items")
			return runErr
		}
		return err
	}
	defer st.Close() // after Run has returned: deferred calls run last first
	srv.SetStore(st)
	if opts.Warm {
		start := time.Now()
		n, err := st.Warm(ctx)
		if err != nil && ctx.Err() == nil {
			halt()
			return err
		}
		if n > 0 {
			logf("warmed the store: read %d MB in %v", n>>20, time.Since(start).Round(time.Millisecond))
		}
	}
	if !served {
		serve()
	}
	defer startRollout(runCtx, srv, opts, gen, logf)()
	if ctx.Err() == nil {
		srv.SetReady(true)
		// Tells the generation before, if any, to drain and exit, and
		// writes the PID file.
		if err := upg.Ready(); err != nil {
			logf("live upgrade: %v", err)
		}
		logf("ready: store %s holds %d items of %d bytes (generation %d, pid %d)", st.Path(), st.Count(), st.ValueSize(), gen, os.Getpid())
	}

	why := "signal"
wait:
	for {
		select {
		case err := <-done:
			// A listener failed on its own.
			return err
		case <-ctx.Done():
			break wait
		case <-upg.Exit():
			why = "upgrade"
			break wait
		case <-hup:
			go func() {
				logf("upgrade: starting generation %d", gen+1)
				if err := srv.Upgrade(); err != nil {
					logf("upgrade failed: %v; generation %d keeps serving", err, gen)
					return
				}
				logf("upgrade: generation %d is ready; generation %d drains", gen+1, gen)
			}()
		}
	}
	if why == "upgrade" {
		logf("shutting down generation %d: generation %d serves; draining in-flight requests (up to %v)", gen, gen+1, opts.ShutdownGrace)
	} else {
		logf("shutting down: draining in-flight requests (up to %v)", opts.ShutdownGrace)
		removePIDFile(opts.PIDFile, logf)
	}
	stop()
	if err := <-done; err != nil {
		return err
	}
	logf("stopped: generation %d answered %d requests", gen, srv.Answered())
	return nil
}

// upgListen returns the listener of a role, public or admin, that the
// generation before handed over, or a new one on addr. The role is in the
// key the generations agree on: with --addr and --admin-addr both
// 127.0.0.1:0, the address alone would not tell the two apart.
func upgListen(upg *tableflip.Upgrader, role, addr string) (net.Listener, error) {
	return upg.ListenWithCallback("tcp", role+" "+addr, func(network, _ string) (net.Listener, error) {
		return net.Listen(network, addr)
	})
}

// serveGeneration returns this process's generation: 1, or what the
// generation that started it by a live upgrade said.
func serveGeneration() (uint64, error) {
	v := os.Getenv(serveGenerationEnv)
	if v == "" {
		return 1, nil
	}
	gen, err := strconv.ParseUint(v, 10, 64)
	if err != nil || gen == 0 {
		return 0, fmt.Errorf("environment %s=%q: want a generation number from 1", serveGenerationEnv, v)
	}
	return gen, nil
}

// controlToken reads the token that guards the admin listener's control
// endpoints: PERF_CONTROL_TOKEN, or the first line of --control-token-file.
func controlToken(o *serveOptions) (string, error) {
	if o.ControlTokenFile == "" {
		return os.Getenv("PERF_CONTROL_TOKEN"), nil
	}
	b, err := os.ReadFile(o.ControlTokenFile)
	if err != nil {
		return "", fmt.Errorf("--control-token-file: %w", err)
	}
	tok, _, _ := strings.Cut(string(b), "\n")
	if tok = strings.TrimSpace(tok); tok == "" {
		return "", fmt.Errorf("--control-token-file %s: the file is empty: want the token on its first line", o.ControlTokenFile)
	}
	return tok, nil
}

// removePIDFile removes the PID file on a final stop, if it still names this
// process: after an upgrade it names the new generation.
func removePIDFile(path string, logf func(string, ...any)) {
	if path == "" {
		return
	}
	b, err := os.ReadFile(path)
	if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		return
	}
	if err := os.Remove(path); err != nil {
		logf("remove PID file: %v", err)
	}
}

// openServingStore returns the store in --data opened read-only, which
// another generation may hold at the same time, seeding it first when it
// lacks items (opened for writing, which waits for no other process to hold
// it, for --lock-timeout).
func openServingStore(ctx context.Context, opts *serveOptions, logf func(string, ...any)) (*service.Store, error) {
	path := filepath.Join(opts.Data, service.StoreFile)
	ro := service.StoreOptions{LockTimeout: opts.LockTimeout, ReadOnly: true}
	if _, err := os.Stat(path); err == nil {
		st, err := service.Open(path, ro)
		if err != nil {
			return nil, err
		}
		if uint64(opts.Seed) <= st.Count() {
			// Enough items; a value size other than asked is an error.
			if err := seed(ctx, st, opts, logf); err != nil {
				st.Close()
				return nil, err
			}
			return st, nil
		}
		st.Close()
	}
	rw, err := service.Open(path, service.StoreOptions{LockTimeout: opts.LockTimeout})
	if err != nil {
		return nil, err
	}
	err = seed(ctx, rw, opts, logf)
	if cerr := rw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return service.Open(path, ro)
}

// userSource says where perf serve finds a request's user id.
func userSource(o *serveOptions) string {
	switch {
	case o.UserHeader != "" && o.UserCookie != "":
		return "header " + o.UserHeader + ", else cookie " + o.UserCookie
	case o.UserHeader != "":
		return "header " + o.UserHeader
	case o.UserCookie != "":
		return "cookie " + o.UserCookie
	}
	return "nothing (no --user-header or --user-cookie: every request gets each flag's default variant)"
}

// isToken reports whether s is an HTTP token (RFC 9110 section 5.6.2),
// as header and cookie names are.
func isToken(s string) bool {
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return s != ""
}

// logTuning logs, in one line, how the host under root drifts from the
// server-latency tuning profile. It never fails: a host that cannot be
// checked is one log line too.
func logTuning(root string, logf func(string, ...any)) {
	if root == "" {
		root = "/"
	}
	_, results, err := tuning.CheckProfile(root, serveTuningProfile)
	if err != nil {
		logf("tuning: %s: cannot check this host: %v", serveTuningProfile, err)
		return
	}
	if !tuning.Drifted(results) {
		logf("tuning: %s: ok", serveTuningProfile)
		return
	}
	drift := 0
	for _, r := range results {
		if r.Status == tuning.StatusDrift {
			drift++
		}
	}
	logf("tuning: %s: %d of %d settings drift (perf tune check %s)", serveTuningProfile, drift, len(results), serveTuningProfile)
}

// seed fills the store to opts.Seed items, reporting progress on stderr at
// most once a second.
func seed(ctx context.Context, st *service.Store, opts *serveOptions, logf func(string, ...any)) error {
	n := uint64(opts.Seed)
	if n <= st.Count() {
		if n > 0 && st.ValueSize() != opts.ValueSize {
			// Seed reports the mismatch clearly.
			return st.Seed(ctx, n, opts.ValueSize, nil)
		}
		return nil
	}
	start := time.Now()
	last := start
	from := st.Count()
	logf("seeding %s: items %d..%d of %d bytes", st.Path(), from, n-1, opts.ValueSize)
	err := st.Seed(ctx, n, opts.ValueSize, func(done, total uint64) {
		if now := time.Now(); now.Sub(last) >= time.Second && done < total {
			last = now
			logf("seeding: %d/%d items (%d%%)", done, total, done*100/total)
		}
	})
	if err != nil {
		return err
	}
	logf("seeded %d items in %v", n-from, time.Since(start).Round(time.Millisecond))
	return nil
}

// checkDataDir creates the data directory if needed and makes sure this
// process can write in it, so the failure names the directory rather than a
// bbolt internal.
func checkDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create data directory %s (--data): %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".perf-write-check-*")
	if err != nil {
		return fmt.Errorf("data directory %s (--data) is not writable: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("data directory %s (--data): remove %s: %w", dir, name, err)
	}
	return nil
}
