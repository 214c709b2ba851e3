package results

import "time"

// Schema is the version of the run.json layout this package writes. Readers
// refuse other schemas with a clear error instead of misreading them.
const Schema = "perf.run/v1"

// Run is the summary of one attack: the content of run.json. Field names and
// JSON keys are a stable, documented interface (README: "run.json"); tests
// and CI scripts read them. Latencies are in milliseconds (float) in JSON.
type Run struct {
	Schema      string    `json:"schema"`
	ToolVersion string    `json:"tool_version"`
	Command     []string  `json:"command"`
	Name        string    `json:"name"`
	StartedAt   time.Time `json:"started_at"`
	// DurationS is the measured window in seconds (warm-up excluded).
	DurationS float64 `json:"duration_s"`
	// WarmupS is the warm-up in seconds, attacked and logged but excluded
	// from the summary and the verdicts.
	WarmupS float64 `json:"warmup_s"`
	Target  string  `json:"target"`
	Rate    Rate    `json:"rate"`
	// Requests counts the requests sent in the measured window: the hits
	// of the plan whose intended send time lies in the window, less Unsent.
	// Each has a response (counted in StatusCodes) or a transport failure
	// (counted in ErrorKinds), whenever it completed.
	Requests int64 `json:"requests"`
	// Unsent counts the window's hits that were never sent: the window
	// ended (or the run was interrupted) before the generator got to them.
	// A run with unsent hits is invalid.
	Unsent int64 `json:"unsent"`
	// Errors counts the failed requests among Requests: transport failures
	// (no response) and responses with a status outside 2xx/3xx.
	Errors      int64            `json:"errors"`
	StatusCodes map[string]int64 `json:"status_codes"`
	// ErrorKinds counts transport failures, requests that got no response,
	// by kind ("timeout", "connection refused", "tls certificate", ...);
	// HTTP statuses are in StatusCodes.
	ErrorKinds map[string]int64 `json:"error_kinds"`
	// ErrorMessages holds the first message of each error kind, as the
	// operating system or TLS stack gave it.
	ErrorMessages map[string]string `json:"error_messages,omitempty"`
	// Retries counts requests sent a second time because a kept-alive
	// connection turned out closed before a byte of the response arrived
	// (see README: "When perf retries"). Each retry is a request the plan
	// did not schedule; it is not in Requests.
	Retries        int64      `json:"retries"`
	Latency        Latency    `json:"latency"`
	Lag            LagSummary `json:"lag"`
	Valid          bool       `json:"valid"`
	InvalidReasons []string   `json:"invalid_reasons"`
	SLO            []Verdict  `json:"slo"`
	Interrupted    bool       `json:"interrupted"`
	Generator      Generator  `json:"generator"`
	Host           Host       `json:"host"`
	// Warnings are problems that did not invalidate the run (a pprof fetch
	// that failed, say).
	Warnings []string `json:"warnings,omitempty"`
	// EndedEarly, when set, says why the attack stopped before its planned
	// end: a step of perf attack search whose SLO had already failed beyond
	// doubt (its verdict says so).
	EndedEarly string `json:"ended_early,omitempty"`
	// Segments summarise each segment of a rate schedule, in order, when
	// the rate was one (see Segment).
	Segments []Segment `json:"segments,omitempty"`
	// SplitBy is the response header (HEADER, or HEADER:MEMBER for one
	// member of a comma-separated list) that named each response's
	// variant, when the run was split (perf attack --split-by).
	SplitBy string `json:"split_by,omitempty"`
	// Variants summarise the responses of each variant, when the run was
	// split (see Variant).
	Variants []Variant `json:"variants,omitempty"`
}

// Rate is the planned and the achieved request rate, per second.
type Rate struct {
	// Target is the planned rate of this generator (its shard's share),
	// per second.
	Target float64 `json:"target"`
	// Achieved is the requests sent per second of the measured window
	// (Requests over DurationS; see Tally).
	Achieved float64 `json:"achieved"`
	// Plan describes the rate plan as given ("50000/s", "500/100ms"), with
	// the shard ("50000/s shard 1/4") when there is one.
	Plan string `json:"plan,omitempty"`
}

// Latency holds the two latency views perf keeps side by side.
type Latency struct {
	// Corrected is response end minus the intended send time by the rate
	// plan (coordinated-omission safe, as wrk2 measures).
	Corrected Percentiles `json:"corrected"`
	// Service is response end minus the actual send time.
	Service Percentiles `json:"service"`
}

// Percentiles summarises one latency histogram, in milliseconds.
type Percentiles struct {
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P95  float64 `json:"p95_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p999_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
}

// LagSummary summarises send lag (actual minus intended send), in ms.
type LagSummary struct {
	P50 float64 `json:"p50_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

// Verdict is the outcome of one SLO expression.
type Verdict struct {
	Expr     string `json:"expr"`
	OK       bool   `json:"ok"`
	Observed string `json:"observed"`
}

// DefaultMaxCPUPercent is the mean generator CPU, in percent of the cores it
// may use, at or above which a run is invalid as saturated, unless the run
// says otherwise (Generator.MaxCPUPercent).
const DefaultMaxCPUPercent = 95.0

// CPUBound returns the saturation bound the run was judged by: the one it
// recorded, or DefaultMaxCPUPercent for runs written before it was.
func (g Generator) CPUBound() float64 {
	if g.MaxCPUPercent > 0 {
		return g.MaxCPUPercent
	}
	return DefaultMaxCPUPercent
}

// Responses counts the run's requests that got a response (any status):
// those sent less the transport failures.
func (r *Run) Responses() int64 {
	n := r.Requests
	for _, c := range r.ErrorKinds {
		n -= c
	}
	return n
}

// Generator describes the health of the load generator during the run.
type Generator struct {
	// CPUMeanPercent and CPUMaxPercent are the generator process's CPU use,
	// in percent of the cores it may use (GOMAXPROCS), mean and max over
	// one-second samples of the measured window.
	CPUMeanPercent float64 `json:"cpu_mean_percent"`
	CPUMaxPercent  float64 `json:"cpu_max_percent"`
	// HostCPUMeanPercent and HostCPUMaxPercent are the CPU use of every
	// process on the cores the generator may run on (its affinity), in
	// percent: near 100 with the generator's own use well below, something
	// else took the generator's CPU.
	HostCPUMeanPercent float64 `json:"host_cpu_mean_percent"`
	HostCPUMaxPercent  float64 `json:"host_cpu_max_percent"`
	// Workers is how many workers the run ended with; MaxWorkers the
	// ceiling it could grow to.
	Workers    int `json:"workers"`
	MaxWorkers int `json:"max_workers,omitempty"`
	// MaxLagMS is the bound on send-lag p99 beyond which the run is invalid.
	MaxLagMS float64 `json:"max_lag_ms"`
	// MaxCPUPercent is the mean generator CPU at or above which the run is
	// invalid as saturated (0 in runs written before it was recorded).
	MaxCPUPercent float64 `json:"max_cpu_percent,omitempty"`
	// LimitedBy says, for a run that did not keep its plan or ended early,
	// what limited it: LimitedByGenerator (its CPU, its workers, its host:
	// the run measured the generator) or LimitedByTarget; LimitedWhy says
	// why in words.
	LimitedBy  string `json:"limited_by,omitempty"`
	LimitedWhy string `json:"limited_why,omitempty"`
}

// What limited a run (Generator.LimitedBy).
const (
	LimitedByGenerator = "generator"
	LimitedByTarget    = "target"
)

// Host describes the machine the generator ran on.
type Host struct {
	Hostname   string `json:"hostname,omitempty"`
	Kernel     string `json:"kernel"`
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"go_version"`
	// Tuning is the generator host's values of a tuning profile's keys, so
	// a run's numbers come with the settings they were measured under.
	Tuning *Tuning `json:"tuning,omitempty"`
}

// Tuning records a host's tuning against a profile (perf tune check).
type Tuning struct {
	Profile  string            `json:"profile"`
	Settings map[string]string `json:"settings"`
	// Drift lists the keys whose current value the profile does not accept.
	Drift   []string `json:"drift"`
	Missing []string `json:"missing,omitempty"`
	// Error says why the profile could not be checked, when it could not.
	Error string `json:"error,omitempty"`
}
