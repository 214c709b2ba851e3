package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/perf-tools/perf/harness"
	"github.com/perf-tools/perf/harness/capture"
	"github.com/perf-tools/perf/hostmetrics"
	"github.com/perf-tools/perf/report"
	"github.com/perf-tools/perf/results"
	"github.com/perf-tools/perf/tuning"
)

// attackOptions are the settings of one perf attack.
type attackOptions struct {
	url         string
	keys        string
	randSeed    uint64
	targets     string
	format      string
	method      string
	headers     []string
	body        string
	insecure    bool
	rate        string
	durationSet bool // --duration was given: a schedule refuses it
	duration    time.Duration
	warmup      time.Duration
	timeout     time.Duration
	connections int
	workers     int
	maxWorkers  int
	keepalive   bool
	name        string
	nameSet     bool // --name was given: a shard does not name itself
	outDir      string
	slos        []string
	output      string
	maxLag      time.Duration
	minAchieved float64
	shard       string
	progress    bool
	tuneProfile string
	pprof       string
	selfProfile bool
	targetHost  string
	splitBy     string
	statsd      statsdFlags

	command []string
	stdin   io.Reader
}

func newAttackCmd() *cobra.Command {
	o := &attackOptions{}
	cmd := &cobra.Command{
		Use:   "attack (--url URL | --targets FILE) [flags]",
		Short: "Send open-model load at a target and record every latency",
		Long: `Send load at a fixed rate (an open model: requests go out on schedule whatever
the target's latency) and record every latency in HdrHistograms, timed from the
moment each request should have been sent. This is coordinated-omission safe,
as wrk2 measures: a stall of the target shows in the numbers.

Three histograms are kept: corrected (response end minus intended send time),
service (response end minus actual send) and lag (actual minus intended send).
The summary, verdicts and percentiles use corrected latency unless named.

Rate: --rate N (per second), N/s, or N/DURATION as vegeta reads it
(500/100ms is 5,000/s), held for --duration. Or a rate schedule: segments
joined in order by ';', which sets the run's length itself (no --duration):

  N/DURATION                  inside a schedule, a hold: 50000/5m holds 50,000/s for 5m
  hold:N/DURATION             a hold anywhere (hold:50000/5m alone is a 5m run)
  ramp:A..B/DURATION          linear from A/s to B/s
  steps:A..B+S/DURATION       levels A, A+S, ... B, each held DURATION
  steps:A,B,C/DURATION        the levels listed, each held DURATION
  sine:MEAN,AMP,PERIOD[,PHASE]/DURATION
                              MEAN + AMP sin(2 pi t/PERIOD + PHASE degrees)
  @FILE                       a CSV of time,rate rows (seconds or 90s), piecewise linear

Hit n of a schedule is due when the integral of the rate reaches n, to the
nanosecond (no per-second quantisation), so shards split it exactly and a
late request is sent late, never in a burst. Each segment (each level of
steps) gets its own summary, SLO verdicts and histograms in run.json and
its section in report.html; an SLO failed in any segment fails the run.

Targets: --url, where each {key} is replaced per request by a key from --keys
(uniform:N or zipf:N[:S]), or --targets FILE in vegeta's http or json target
format ('-' reads stdin), so existing vegeta target files work unchanged.
A {key} in a header's value (-H 'X-User-Id: {key}') is replaced by the same
key as the URL's, so the key distribution drives the users too; it needs
--url and --keys.

Variants: --split-by HEADER splits the responses by the value of a response
header (--split-by X-Variant), or by one member of a comma-separated list of
NAME=VALUE members (--split-by X-Variant:doc-view takes "compact" from
"X-Variant: doc-view=compact, etag=off"). Each variant gets corrected and
service histograms, its summary in run.json (variants), its tags in
latency.hlog (corrected@NAME, service@NAME, NAME %-escaped) and its rows in
the reports. A response without the header counts under "(none)"; beyond
64 distinct values, responses count under "(other)" and run.json warns. A
request that got no response has no variant: it counts in the run's errors
only. An SLO bounds one variant with its name in brackets after the metric:
--slo 'p99[compact]<=10ms' (a variant that got no response fails it).

Every run writes a directory under --out-dir (default ./perf-results):
run.json (the summary), latency.hlog (HdrHistogram interval log),
timeline.csv (per second). The summary goes to stdout (--output text|json).

Each request belongs to the interval of its intended send time, so the
measured window holds exactly the plan's requests. --duration bounds the run:
when the window ends, sending stops, requests not yet sent are counted as
unsent, and answers in flight are awaited at most --timeout. A request that
got no response is an error counted by kind (its first message is printed),
with no latency. A request is sent again only when a kept-alive connection
closed before any answer and sending it twice is safe (GET, HEAD, OPTIONS,
TRACE, or an Idempotency-Key header); retries are counted.

A run is invalid (exit 5, whatever the SLOs say) when the generator could not
keep the plan: achieved rate under --min-achieved (98%) of the plan, requests
never sent, send-lag p99 above --max-lag (5ms, with its cause named), or the
generator's CPU saturated (mean at or above 95% of the cores it may use). A
saturated generator measures itself, never the target.

Exit codes: 0 ok, 2 bad flags or expressions, 3 an SLO failed or most
requests failed, 5 run invalid (or interrupted). For the highest rate that
meets the SLOs, see perf attack search.`,
		Example: `  # non-cached random reads from a seeded perf serve
  perf attack --url 'http://127.0.0.1:8080/v1/items/{key}' --keys uniform:100000 \
    --rate 1000 --duration 30s --warmup 5s --slo 'p99<=25ms' --slo 'errors<=0'

  # an existing vegeta targets file, 500 requests every 100ms
  perf attack --targets targets.txt --rate 500/100ms --duration 1m

  # ramp to 50,000/s in a minute, then hold it for five
  perf attack --url http://127.0.0.1:8080/ --rate 'ramp:0..50000/60s;50000/5m' --slo 'p99<=25ms'

  # how latency grows with load: ten steps of 30s, one verdict per step
  perf attack --url http://127.0.0.1:8080/ --rate 'steps:1000..10000+1000/30s' --slo 'p99<=25ms'

  # an A/B experiment: users drawn from the key space, latency per variant
  perf attack --url 'http://127.0.0.1:8080/v1/items/{key}' --keys zipf:100000 \
    -H 'X-User-Id: {key}' --split-by X-Variant:doc-view --rate 1000 --duration 1m \
    --slo 'p99<=25ms' --slo 'p99[compact]<=10ms'

  # machine-readable summary (exactly run.json)
  perf attack --url http://127.0.0.1:8080/ --rate 200 --duration 5s --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.durationSet = cmd.Flags().Changed("duration")
			o.setCommon(cmd)
			return runAttack(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	o.addCommonFlags(f)
	f.StringVar(&o.rate, "rate", "50/s", "request rate N, N/s or N/DURATION (500/100ms), or a rate schedule: segments joined by ';' (see above)")
	f.DurationVar(&o.duration, "duration", 10*time.Second, "measured window (a rate schedule sets its own)")
	f.DurationVar(&o.warmup, "warmup", 0, "warm-up before the measured window, at the plan's starting rate: attacked and logged, excluded from the summary and verdicts")
	f.StringVar(&o.shard, "shard", "", "run share i of n of the rate plan (i/n), for n generators attacking together")
	f.StringVar(&o.pprof, "pprof", "", "target's net/http/pprof address (perf serve's admin listener, http://HOST:6060): CPU profile of the measured window, heap/allocs/goroutine/mutex/block at the end, into pprof/")
	f.BoolVar(&o.selfProfile, "self-profile", false, "profile the generator itself into pprof/self/")
	f.StringVar(&o.targetHost, "target-host-metrics", "", "perf serve admin address (http://HOST:6060) to poll for the target host's metrics into host.json")
	f.StringVar(&o.splitBy, "split-by", "", "split latency by a response header's value: HEADER (X-Variant) or HEADER:MEMBER (X-Variant:doc-view) for one NAME=VALUE member")
	o.statsd.addFlags(f)
	cmd.AddCommand(newSearchCmd())
	return cmd
}

// setCommon records what the flags of every attack command say beyond
// their values: the command line, whether --name was given, stdin, and the
// progress display's default (on when stderr is a terminal).
func (o *attackOptions) setCommon(cmd *cobra.Command) {
	o.command = append([]string{"perf"}, os.Args[1:]...)
	o.nameSet = cmd.Flags().Changed("name")
	o.stdin = cmd.InOrStdin()
	if !cmd.Flags().Changed("progress") {
		o.progress = isTerminal(os.Stderr)
	}
}

// addCommonFlags adds the flags perf attack and perf attack search share:
// the targets, the requests, the connections, the SLOs, the generator's
// health bounds and where results go.
func (o *attackOptions) addCommonFlags(f *pflag.FlagSet) {
	f.StringVar(&o.url, "url", "", "target URL; each {key} is replaced by a key from --keys")
	f.StringVar(&o.keys, "keys", "", "key space for {key}: uniform:N or zipf:N[:S] (S default 1.1)")
	f.Uint64Var(&o.randSeed, "rand-seed", 1, "seed of the key draws (same seed, same key sequence)")
	f.StringVar(&o.targets, "targets", "", "vegeta targets file ('-' for stdin)")
	f.StringVar(&o.format, "format", "http", "targets file format: http or json (vegeta's)")
	f.StringVar(&o.method, "method", http.MethodGet, "request method with --url")
	f.StringArrayVarP(&o.headers, "header", "H", nil, "request header 'Name: value' (repeatable); a {key} in the value is the URL's key of the request (needs --keys)")
	f.StringVar(&o.body, "body", "", "file whose content is the request body")
	f.BoolVar(&o.insecure, "insecure", false, "skip TLS certificate verification")
	f.DurationVar(&o.timeout, "timeout", harness.DefaultTimeout, "request timeout")
	f.IntVar(&o.connections, "connections", harness.DefaultConnections, "maximum connections open at once")
	f.IntVar(&o.workers, "workers", 0, "initial workers, each with its own keep-alive connection (default: 32, or the rate x 3ms when more)")
	f.IntVar(&o.maxWorkers, "max-workers", 0, "maximum workers (default: rate x --timeout, within --connections and the open-file limit)")
	f.BoolVar(&o.keepalive, "keepalive", true, "reuse connections (false: a new connection per request)")
	f.StringVar(&o.name, "name", "attack", "label of the run (in its directory name and run.json); with --shard i/n, shard-i unless given")
	f.StringVar(&o.outDir, "out-dir", "perf-results", "parent directory of run directories")
	f.StringArrayVar(&o.slos, "slo", nil, "SLO gate, e.g. 'p99<=25ms', 'errors<=0', 'errors<=0.1%', 'rate>=49000'; 'p99[compact]<=10ms' bounds one variant of --split-by (repeatable)")
	f.StringVarP(&o.output, "output", "o", "text", "summary format on stdout: text or json")
	f.DurationVar(&o.maxLag, "max-lag", harness.DefaultMaxLag, "send-lag p99 above which the run is invalid")
	f.Float64Var(&o.minAchieved, "min-achieved", harness.DefaultMinAchieved*100, "percent of the planned rate a valid run must achieve")
	f.BoolVar(&o.progress, "progress", false, "live progress on stderr (default: when stderr is a terminal)")
	f.StringVar(&o.tuneProfile, "tune-profile", "load-generator", "tuning profile whose keys' values this host's run.json records (host.tuning)")
}

// plan validates the options and returns the run they describe; every
// error is a usage error naming the input.
func (o *attackOptions) plan() (*harness.RunOptions, error) {
	p := &harness.RunOptions{}
	if o.output != "text" && o.output != "json" {
		return nil, fmt.Errorf("--output %q: want text or json", o.output)
	}
	var (
		rate     harness.Rate
		schedule *harness.Plan
		err      error
	)
	if harness.IsSchedule(o.rate) {
		if schedule, err = harness.ParsePlan(o.rate); err != nil {
			return nil, err
		}
		if o.durationSet {
			return nil, fmt.Errorf("--duration %s: the rate schedule %q sets its own length (%s); drop --duration", o.duration, o.rate, schedule.Duration())
		}
		o.duration = schedule.Duration()
	} else if rate, err = harness.ParseRate(o.rate); err != nil {
		return nil, err
	}
	if o.duration <= 0 {
		return nil, fmt.Errorf("--duration %s: must be above 0", o.duration)
	}
	if o.warmup < 0 {
		return nil, fmt.Errorf("--warmup %s: must not be negative", o.warmup)
	}
	if o.timeout <= 0 {
		return nil, fmt.Errorf("--timeout %s: must be above 0", o.timeout)
	}
	if o.maxLag <= 0 {
		return nil, fmt.Errorf("--max-lag %s: must be above 0", o.maxLag)
	}
	if !(o.minAchieved > 0 && o.minAchieved <= 100) {
		return nil, fmt.Errorf("--min-achieved %v: want a percentage above 0, at most 100", o.minAchieved)
	}
	if o.connections < 1 {
		return nil, fmt.Errorf("--connections %d: must be at least 1", o.connections)
	}
	if o.workers < 0 {
		return nil, fmt.Errorf("--workers %d: must be at least 1 (or 0: derived from the rate)", o.workers)
	}
	if o.maxWorkers < 0 {
		return nil, fmt.Errorf("--max-workers %d: must be at least 1 (or 0: derived from the rate and --timeout)", o.maxWorkers)
	}
	if o.maxWorkers > 0 && o.workers > o.maxWorkers {
		return nil, fmt.Errorf("--workers %d is above --max-workers %d", o.workers, o.maxWorkers)
	}
	if o.pprof != "" {
		if p.PprofURL, err = capture.PprofURL(o.pprof); err != nil {
			return nil, fmt.Errorf("--pprof: %w", err)
		}
	}
	if o.targetHost != "" {
		if p.TargetHostURL, err = hostmetrics.URL(o.targetHost); err != nil {
			return nil, fmt.Errorf("--target-host-metrics: %w", err)
		}
	}
	shard := harness.Shard{Count: 1}
	if o.shard != "" {
		if shard, err = harness.ParseShard(o.shard); err != nil {
			return nil, err
		}
		if !o.nameSet {
			// Shards name themselves, so that their run directories
			// (<UTC>-shard-i) are found by one pattern for report merge.
			o.name = fmt.Sprintf("shard-%d", shard.Index+1)
		}
	}
	if p.SLOs, err = results.ParseSLOs(o.slos); err != nil {
		return nil, err
	}
	if o.splitBy != "" {
		if p.Split, err = harness.ParseSplit(o.splitBy); err != nil {
			return nil, fmt.Errorf("--split-by: %w", err)
		}
	}
	for _, b := range p.SLOs {
		if b.Variant != "" && p.Split == nil {
			return nil, fmt.Errorf("--slo %q bounds variant %q: the run must split its responses by a header (perf attack --split-by HEADER)", b.Expr, b.Variant)
		}
	}
	targets, err := o.newTargets()
	if err != nil {
		return nil, err
	}
	p.Options = harness.Options{
		Targets:     targets,
		Rate:        rate,
		Plan:        schedule,
		Shard:       shard,
		Duration:    o.duration,
		Warmup:      o.warmup,
		Timeout:     o.timeout,
		Workers:     o.workers,
		MaxWorkers:  o.maxWorkers,
		Connections: o.connections,
		Split:       p.Split,
	}
	p.Name, p.OutDir, p.Command = o.name, o.outDir, o.command
	p.ToolVersion, _ = buildVersion()
	p.Health = harness.DefaultHealth()
	p.Health.MaxLag = o.maxLag
	p.Health.MinAchieved = o.minAchieved / 100
	p.SelfProfile = o.selfProfile
	p.Writer.Render = report.WriteRunHTML
	return p, nil
}

// newTargets builds the targets of --url (with --keys) or --targets, and
// the request options of --method, --header, --body, --insecure and
// --keepalive.
func (o *attackOptions) newTargets() (*harness.Targets, error) {
	hdr := http.Header{}
	for _, h := range o.headers {
		name, value, ok := strings.Cut(h, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") || strings.ContainsAny(value, "\r\n") {
			return nil, fmt.Errorf("--header %q: want 'Name: value'", h)
		}
		hdr[name] = append(hdr[name], value)
	}
	ro := harness.RequestOptions{Method: strings.ToUpper(o.method), Header: hdr, Insecure: o.insecure, KeepAlive: o.keepalive}
	if o.body != "" {
		var err error
		if ro.Body, err = os.ReadFile(o.body); err != nil {
			return nil, fmt.Errorf("--body: %w", err)
		}
	}
	switch {
	case o.url != "" && o.targets != "":
		return nil, errors.New("--url and --targets: give one, not both")
	case o.url != "":
		var keys *harness.KeySpace
		if o.keys != "" {
			var err error
			if keys, err = harness.ParseKeys(o.keys, o.randSeed); err != nil {
				return nil, err
			}
		}
		return harness.NewURLTargets(o.url, keys, ro)
	case o.targets != "":
		src, name := o.stdin, "stdin"
		if o.targets != "-" {
			f, err := os.Open(o.targets)
			if err != nil {
				return nil, fmt.Errorf("--targets: %w", err)
			}
			defer f.Close()
			src, name = f, o.targets
		}
		return harness.ReadTargets(src, name, o.format, ro)
	}
	return nil, errors.New("no target: give --url URL or --targets FILE")
}

func runAttack(ctx context.Context, o *attackOptions, stdout, stderr io.Writer) error {
	p, err := o.plan()
	if err != nil {
		return usageErr(err)
	}
	p.Tuning = hostTuning(o.tuneProfile)
	p.Log = stderr
	stopStatsd, err := o.statsd.start(p, stderr)
	if err != nil {
		return usageErr(err)
	}
	defer stopStatsd()
	if o.progress {
		p.OnProgress = func(pr harness.Progress) {
			fmt.Fprintf(stderr, "\r%6.1fs  %9.1f req/s  p99 %-10s  requests %-9d errors %-6d",
				pr.Elapsed.Seconds(), pr.Rate, pr.P99.Round(time.Microsecond), pr.Requests, pr.Errors)
		}
	}
	run, _, err := harness.Run(ctx, *p)
	if errors.Is(err, results.ErrRender) {
		fmt.Fprintf(stderr, "perf: warning: %v\n", err)
	} else if err != nil {
		return err
	}
	if err := report.Write(stdout, o.output, run); err != nil {
		return err
	}
	explainFailures(stderr, run)
	switch {
	case !run.Valid:
		return silent(exitInvalid, fmt.Errorf("run invalid: %s", strings.Join(run.InvalidReasons, "; ")))
	case failed(run.SLO):
		return silent(exitGate, errors.New("an SLO failed"))
	case failedSegment(run) != "":
		return silent(exitGate, fmt.Errorf("an SLO failed in %s", failedSegment(run)))
	case results.MostFailed(run):
		return silent(exitGate, errors.New("most requests failed"))
	}
	return nil
}

// failureHints say what to do about an error kind, where the fix is the
// user's.
var failureHints = map[string]string{
	harness.KindTLSCertificate: "the target's certificate is not trusted here; --insecure skips verification",
	harness.KindTLSPlainHTTP:   "the target answered in plain HTTP; use an http:// URL",
	harness.KindRefused:        "nothing accepts connections at the target's address",
	harness.KindNoPort:         "the generator ran out of local ports; keep connections alive (--keepalive, the default) or widen net.ipv4.ip_local_port_range (perf tune apply load-generator)",
	harness.KindNoFiles:        "the generator ran out of file descriptors; raise its open-file limit (LimitNOFILE=, ulimit -n)",
}

// explainFailures prints, for each kind of failure, how many requests it
// took, its first message, and a hint where one applies, so a failure is
// never only a count in a table.
func explainFailures(w io.Writer, run *results.Run) {
	kinds := make([]string, 0, len(run.ErrorKinds))
	for k := range run.ErrorKinds {
		kinds = append(kinds, k)
	}
	slices.SortFunc(kinds, func(a, b string) int {
		return cmp.Or(cmp.Compare(run.ErrorKinds[b], run.ErrorKinds[a]), cmp.Compare(a, b))
	})
	for _, k := range kinds {
		fmt.Fprintf(w, "perf: %d requests failed: %s", run.ErrorKinds[k], k)
		if m := run.ErrorMessages[k]; m != "" {
			fmt.Fprintf(w, " (first: %s)", m)
		}
		fmt.Fprintln(w)
		if h := failureHints[k]; h != "" {
			fmt.Fprintf(w, "perf: hint: %s\n", h)
		}
	}
	if run.Retries > 0 {
		fmt.Fprintf(w, "perf: %d requests were sent again: a kept-alive connection closed before answering (see README, When perf retries)\n", run.Retries)
	}
}

// failedSegment names the first segment of a rate schedule with a failed
// SLO, or returns "": a step that failed fails the run, whatever the whole
// run's percentiles say.
func failedSegment(run *results.Run) string {
	for _, s := range run.Segments {
		if failed(s.SLO) {
			return s.Label
		}
	}
	return ""
}

func failed(vs []results.Verdict) bool {
	for _, v := range vs {
		if !v.OK {
			return true
		}
	}
	return false
}

// hostTuning checks this host against a tuning profile for run.json. A
// profile that cannot be checked is recorded as such, never a lost run.
func hostTuning(profile string) *results.Tuning {
	if profile == "" {
		return nil
	}
	_, res, err := tuning.CheckProfile("/", profile)
	if err != nil {
		return &results.Tuning{Profile: profile, Error: err.Error()}
	}
	s := tuning.Summarize(profile, res)
	return &results.Tuning{Profile: s.Profile, Settings: s.Settings, Drift: s.Drift, Missing: s.Missing}
}

// isTerminal reports whether f is a terminal, for live progress.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
