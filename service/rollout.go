package service

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/perf-tools/perf/results"
	"github.com/perf-tools/perf/service/flags"
)

// Rollout defaults.
const (
	// DefaultRolloutFailures is how many gate failures in a row roll a
	// rollout back: one, because every hold at a failing weight costs real
	// users, and a flaky gate is better fixed with a longer hold.
	DefaultRolloutFailures = 1
	// DefaultCandidateTimeout bounds one request to the candidate, from
	// sending it to the last byte of its answer.
	DefaultCandidateTimeout = time.Second
	// DefaultCandidateConns bounds the connections to the candidate; a
	// request that finds them all busy waits for one, within its timeout.
	DefaultCandidateConns = 256
)

// RolloutFlagKey is the flag key the rollout's sticky buckets hash with the
// user id (flagd's MurmurHash3 of key + user id, package flags): a user's
// place in the rollout is independent of the experiments' buckets.
const RolloutFlagKey = "perf-serve-rollout"

// VersionHeader is the response header that says the candidate answered:
// "X-Serve-Version: candidate". The primary's own answers do not carry it.
const VersionHeader = "X-Serve-Version"

// maxCandidateBody bounds the body of a candidate's answer.
const maxCandidateBody = MaxValueSize + 64<<10

// Rollout states, as GET /rollout and perf_serve_rollout_state name them.
const (
	// RolloutRunning: the current step holds; a passed gate advances.
	RolloutRunning = "running"
	// RolloutPaused: the weight stays; gates are still judged and a
	// failure still rolls back, but a pass does not advance.
	RolloutPaused = "paused"
	// RolloutPassed: the last step's gate passed; the weight stays at the
	// last step's until promote or abort.
	RolloutPassed = "passed"
	// RolloutPromoting: a live upgrade to the candidate's binary is under
	// way; gates are not judged.
	RolloutPromoting = "promoting"
	// RolloutPromoted: the live upgrade succeeded; the new generation
	// serves every user itself and this one drains.
	RolloutPromoted = "promoted"
	// RolloutRolledBack: a gate failed Rollout.Failures times in a row;
	// the weight is 0 and the rollout is over.
	RolloutRolledBack = "rolled back"
	// RolloutAborted: an operator aborted; the weight is 0 and the
	// rollout is over.
	RolloutAborted = "aborted"
)

var rolloutStates = []string{RolloutRunning, RolloutPaused, RolloutPassed, RolloutPromoting, RolloutPromoted, RolloutRolledBack, RolloutAborted}

// Verdicts of a hold.
const (
	VerdictPass      = "pass"
	VerdictFail      = "fail"
	VerdictNoTraffic = "no traffic"
)

// Rollout configures a ramp-up (Server.StartRollout, Server.RunRollout).
type Rollout struct {
	// Candidate is the base URL (http://host:port) of the candidate
	// version, another perf serve.
	Candidate string
	// Steps are the weights and holds (ParseRolloutSteps).
	Steps []RolloutStep
	// SLOs are the gate of every step (results.ParseSLOs, checked by
	// CheckRolloutSLOs), judged on the candidate's latency and errors over
	// each hold.
	SLOs []results.Bound
	// Failures is how many gate failures in a row roll back; 0 means
	// DefaultRolloutFailures.
	Failures int
	// Timeout bounds a request to the candidate; 0 means
	// DefaultCandidateTimeout.
	Timeout time.Duration
	// MaxConns bounds the connections to the candidate; 0 means
	// DefaultCandidateConns.
	MaxConns int
	// Handover, when set, continues the rollout of the generation this one
	// replaced by a live upgrade (see Notify): at its step, or ended as it
	// ended. A generation started by a promote finds the state promoting:
	// it runs the candidate's binary, and is promoted.
	Handover *RolloutHandover
	// Notify, when set, is told the rollout's status at every change,
	// before anyone can see the change (it is called with the rollout's
	// lock held, so it must not call the Server back); perf serve keeps it
	// where the generation a live upgrade starts finds it (Handover).
	Notify func(RolloutStatus)
	// Promote is what POST /rollout/promote calls once the gates are done
	// with: nil means Server.Upgrade, a live upgrade to the binary now at
	// this binary's path. It returns once the new generation is ready, or
	// why it is not (this process keeps serving).
	Promote func() error
}

// RolloutHandover is where a rollout was when a live upgrade replaced its
// generation.
type RolloutHandover struct {
	State  string `json:"state"`
	Step   int    `json:"step"` // from 1
	Reason string `json:"reason,omitempty"`
	// Generation is the generation that ran it.
	Generation uint64 `json:"generation"`
}

// Errors of a rollout's configuration and control.
var (
	// ErrRolloutRunning: the server has a rollout already.
	ErrRolloutRunning = errors.New("this server has a rollout already")
	// ErrRolloutState: the control request does not apply to the
	// rollout's state (resume a rolled-back rollout, say).
	ErrRolloutState = errors.New("not in this rollout state")
	// ErrNoRollout: the server has no rollout (StartRollout).
	ErrNoRollout = errors.New("no rollout: start perf serve with --candidate URL --rollout STEPS --rollout-slo BOUND")
)

// CheckRolloutSLOs makes sure every bound can judge a candidate's hold:
// absolute bounds on its latency (p50 ... max, mean) and errors (a count or
// a percentage). A rate would judge the weight, not the candidate, and
// variants belong to perf attack --split-by.
func CheckRolloutSLOs(slos []results.Bound) error {
	for _, b := range slos {
		switch {
		case b.Relative:
			return fmt.Errorf("rollout SLO %q: a relative bound needs a base run: want an absolute one such as p99<=25ms or errors<=0.1%%", b.Expr)
		case b.Variant != "":
			return fmt.Errorf("rollout SLO %q bounds a variant: want a bound on the candidate's own latency or errors, such as p99<=25ms", b.Expr)
		case b.Metric == "rate":
			return fmt.Errorf("rollout SLO %q bounds the rate, which the weight sets, not the candidate: want a bound on latency or errors, such as p99<=25ms or errors<=0.1%%", b.Expr)
		}
	}
	return nil
}

// RolloutHold is one judged hold of a rollout step, as GET /rollout shows
// it. Latencies are the candidate's, from the primary's request to the last
// byte of the candidate's answer, in milliseconds; a request counts in the
// hold in which its answer (or failure) came.
type RolloutHold struct {
	Step      int       `json:"step"`
	Weight    int       `json:"weight_percent"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at"`
	// Holds counts the holds this entry stands for: consecutive holds
	// without candidate traffic at one step are one entry.
	Holds    int   `json:"holds"`
	Requests int64 `json:"candidate_requests"`
	// Errors counts failed candidate requests: no answer (timeout,
	// transport) or a status outside 2xx and 3xx.
	Errors   int64 `json:"candidate_errors"`
	Timeouts int64 `json:"candidate_timeouts"`
	// Retries counts requests Go's transport sent to the candidate a
	// second time, on a new connection, because the kept-alive one it
	// first used was closed before an answer came (see rollout.proxy).
	Retries int64   `json:"candidate_retries"`
	P50     float64 `json:"candidate_p50_ms"`
	P99     float64 `json:"candidate_p99_ms"`
	Max     float64 `json:"candidate_max_ms"`
	// PrimaryUsers counts item reads with a user id that stayed on the
	// primary; NoUser those without a user id, which always do.
	PrimaryUsers int64             `json:"primary_user_requests"`
	NoUser       int64             `json:"requests_without_user"`
	Verdict      string            `json:"verdict"`
	SLO          []results.Verdict `json:"slo,omitempty"`
	// Note says what the verdict did: advanced, rolled back, held again.
	Note string `json:"note,omitempty"`
}

// RolloutStatus is what GET /rollout answers.
type RolloutStatus struct {
	State     string `json:"state"`
	Reason    string `json:"reason,omitempty"`
	Candidate string `json:"candidate"`
	// Step is the current step, from 1.
	Step          int           `json:"step"`
	Steps         []string      `json:"steps"`
	Weight        int           `json:"weight_percent"`
	HoldStartedAt time.Time     `json:"hold_started_at"`
	SLO           []string      `json:"slo"`
	Failures      int           `json:"consecutive_failures"`
	RollBackAfter int           `json:"failures_to_roll_back"`
	PromoteError  string        `json:"promote_error,omitempty"`
	History       []RolloutHold `json:"history"`
}

// rollout is a Server's ramp-up.
type rollout struct {
	s      *Server
	cfg    Rollout
	base   string
	client *http.Client
	logf   func(string, ...any)
	// userHeader is the header the user id goes to the candidate in, or
	// the cookie when it is empty.
	userHeader, userCookie string

	// assign is the sticky-bucket flag of the current weight, nil at 0;
	// candidate is its variant index for the candidate.
	assign    atomic.Pointer[flags.Flag]
	candidate int
	win       atomic.Pointer[rolloutWindow]
	wake      chan struct{}

	mu          sync.Mutex
	state       string
	reason      string
	step        int
	weight      int
	failures    int
	promoteErr  string
	history     []RolloutHold
	promoteFunc func() error
	metrics     rolloutMetrics
}

// rolloutWindow is what the candidate did during one hold.
type rolloutWindow struct {
	start time.Time

	mu        sync.Mutex
	hist      *hdrhistogram.Histogram
	requests  int64
	errors    int64
	timeouts  int64
	retries   int64
	transport int64

	primaryUsers, noUser atomic.Int64
}

func newWindow(now time.Time) *rolloutWindow {
	return &rolloutWindow{start: now, hist: results.NewHistogram()}
}

// rolloutMetrics are a rollout's Prometheus instruments.
type rolloutMetrics struct {
	gates     *prometheus.CounterVec
	requests  *prometheus.CounterVec
	failures  *prometheus.CounterVec
	errors    prometheus.Counter
	latency   prometheus.Histogram
	byCode    sync.Map // int -> prometheus.Counter
	timeouts  prometheus.Counter
	transport prometheus.Counter
	retries   prometheus.Counter
}

// StartRollout puts a rollout in force: from now on the users of its
// first step's weight (or of the step Rollout.Handover names) are the
// candidate's, and the admin listener serves GET /rollout and the control
// endpoints. It fails when cfg is not valid or the server has a rollout
// already. RunRollout then judges its holds. logf, if not nil, is told about
// every verdict and change of state.
//
// Users are assigned by sticky buckets (RolloutFlagKey, Options.UserHeader
// or UserCookie); an item read of an assigned user is proxied to the
// candidate, requests without a user id stay on the primary. The rollout's
// state outlives RunRollout: GET /rollout shows how it ended, and the
// weight stays where it was (0 after a rollback or an abort).
func (s *Server) StartRollout(cfg Rollout, logf func(string, ...any)) error {
	ro, err := s.newRollout(cfg, logf)
	if err != nil {
		return err
	}
	if !s.rollout.CompareAndSwap(nil, ro) {
		return ErrRolloutRunning
	}
	ro.registerMetrics(s.metrics.reg)
	if ro.resume(cfg.Handover) {
		return nil
	}
	ro.logf("rollout: to %s in %d steps (%s), gate %s, rolled back after %d failure(s) in a row",
		ro.base, len(cfg.Steps), strings.Join(stepStrings(cfg.Steps), ","), strings.Join(sloStrings(cfg.SLOs), ", "), ro.cfg.Failures)
	ro.mu.Lock()
	ro.setWeightLocked(cfg.Steps[ro.step].Weight)
	st := ro.cfg.Steps[ro.step]
	ro.win.Store(newWindow(time.Now()))
	ro.notifyLocked()
	ro.mu.Unlock()
	ro.logf("rollout: step %d of %d: %d%% of users to the candidate for %v", ro.step+1, len(cfg.Steps), st.Weight, st.Hold)
	return nil
}

// RunRollout judges the holds of the rollout StartRollout put in force,
// advancing and rolling back by its gate, until the rollout is over
// (promoted, rolled back or aborted) or ctx is done; it returns nil then, and
// ErrNoRollout at once without a rollout. The rollout stays in force after
// ctx is done, unjudged.
func (s *Server) RunRollout(ctx context.Context) error {
	ro := s.rollout.Load()
	if ro == nil {
		return ErrNoRollout
	}
	for {
		ro.mu.Lock()
		if ro.over() {
			ro.mu.Unlock()
			return nil
		}
		hold := ro.cfg.Steps[ro.step].Hold
		start := ro.win.Load().start
		ro.mu.Unlock()
		t := time.NewTimer(time.Until(start.Add(hold)))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-ro.wake:
			t.Stop()
		case now := <-t.C:
			ro.judge(now)
		}
	}
}

// Check reports what is wrong with a rollout's configuration: the
// candidate's URL, the steps, the SLOs.
func (cfg Rollout) Check() error {
	if _, err := ParseCandidate(cfg.Candidate); err != nil {
		return err
	}
	if len(cfg.Steps) == 0 {
		return errors.New("rollout: no steps")
	}
	for i, st := range cfg.Steps {
		if st.Weight < 1 || st.Weight > 100 || st.Hold < MinRolloutHold || (i > 0 && st.Weight <= cfg.Steps[i-1].Weight) {
			return fmt.Errorf("rollout step %d %s: want growing weights from 1%% to 100%% and holds of at least %v", i+1, st, MinRolloutHold)
		}
	}
	if len(cfg.SLOs) == 0 {
		return errors.New("rollout: no SLO: a step's gate needs at least one, such as p99<=25ms")
	}
	return CheckRolloutSLOs(cfg.SLOs)
}

// resume puts the rollout where r says the generation before left it, and
// reports whether it is over there. Without r it starts at step 1.
func (ro *rollout) resume(r *RolloutHandover) bool {
	if r == nil {
		return false
	}
	ro.mu.Lock()
	defer ro.mu.Unlock()
	defer ro.notifyLocked()
	ro.step = min(max(r.Step, 1), len(ro.cfg.Steps)) - 1
	by := fmt.Sprintf("generation %d", r.Generation)
	switch r.State {
	case RolloutPromoting, RolloutPromoted:
		ro.state, ro.reason = RolloutPromoted, "promoted by "+by+": this generation runs the candidate's binary and serves every user itself"
	case RolloutRolledBack, RolloutAborted:
		ro.state, ro.reason = r.State, fmt.Sprintf("%s in %s: %s; restart perf serve (not a live upgrade) to start a new rollout", r.State, by, r.Reason)
	case RolloutPaused, RolloutPassed:
		ro.state, ro.reason = r.State, fmt.Sprintf("%s in %s, continued here: %s", r.State, by, r.Reason)
		ro.logf("rollout: continuing %s at step %d, where %s left it; the hold starts anew", r.State, ro.step+1, by)
		return false
	default:
		ro.logf("rollout: continuing at step %d, where %s left it; the hold starts anew", ro.step+1, by)
		return false
	}
	ro.setWeightLocked(0)
	ro.logf("rollout: %s", ro.reason)
	return true
}

// notifyLocked tells Rollout.Notify the status. ro.mu is held.
func (ro *rollout) notifyLocked() {
	if ro.cfg.Notify != nil {
		ro.cfg.Notify(ro.statusLocked())
	}
}

func (s *Server) newRollout(cfg Rollout, logf func(string, ...any)) (*rollout, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	base, _ := ParseCandidate(cfg.Candidate)
	if s.opts.UserHeader == "" && s.opts.UserCookie == "" {
		return nil, errors.New("rollout: users are assigned by their id, and the server reads none: set Options.UserHeader or UserCookie")
	}
	if cfg.Failures <= 0 {
		cfg.Failures = DefaultRolloutFailures
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultCandidateTimeout
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultCandidateConns
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	ro := &rollout{
		s: s, cfg: cfg, base: base, logf: logf, wake: make(chan struct{}, 1),
		userHeader: s.opts.UserHeader, userCookie: s.opts.UserCookie,
		state:       RolloutRunning,
		promoteFunc: cfg.Promote,
	}
	if ro.promoteFunc == nil {
		ro.promoteFunc = s.Upgrade
	}
	ro.client = newCandidateClient(cfg.Timeout, cfg.MaxConns)
	ro.win.Store(newWindow(time.Now()))
	return ro, nil
}

// over reports whether the rollout has ended. ro.mu is held.
func (ro *rollout) over() bool {
	switch ro.state {
	case RolloutPromoted, RolloutRolledBack, RolloutAborted:
		return true
	}
	return false
}

// setWeightLocked puts weight percent of users on the candidate, by the
// sticky buckets of RolloutFlagKey: the candidate's bucket comes first, so
// raising the weight moves no user out of it. ro.mu is held.
func (ro *rollout) setWeightLocked(weight int) {
	ro.weight = weight
	if weight == 0 {
		ro.assign.Store(nil)
		return
	}
	doc := fmt.Sprintf(`{"flags":{%q:{"state":"ENABLED","variants":{"candidate":true,"primary":false},"defaultVariant":"primary","targeting":{"fractional":[["candidate",%d],["primary",%d]]}}}}`,
		RolloutFlagKey, weight, 100-weight)
	cfg, err := flags.Parse("rollout", []byte(doc))
	if err != nil {
		// Unreachable: the weights are checked at start.
		panic(fmt.Sprintf("rollout buckets at %d%%: %v", weight, err))
	}
	f := cfg.Flag(RolloutFlagKey)
	for i, v := range f.Variants() {
		if v == "candidate" {
			ro.candidate = i
		}
	}
	ro.assign.Store(f)
}

// wakeLoop tells RunRollout's loop to look at the state again.
func (ro *rollout) wakeLoop() {
	select {
	case ro.wake <- struct{}{}:
	default:
	}
}

// judge ends the current hold at now: it starts the next window and judges
// the one that ended by the gate.
func (ro *rollout) judge(now time.Time) {
	ro.mu.Lock()
	defer ro.mu.Unlock()
	defer ro.notifyLocked()
	if ro.over() {
		return
	}
	w := ro.win.Swap(newWindow(now))
	step := ro.cfg.Steps[ro.step]
	h := w.hold(ro.step+1, ro.weight, now)
	if ro.state == RolloutPromoting {
		// The upgrade decides; the gate would race it.
		return
	}
	if h.Requests == 0 {
		h.Verdict = VerdictNoTraffic
		h.Note = "held again: a hold without candidate requests neither passes nor fails"
		ro.metrics.gates.WithLabelValues("no_traffic").Inc()
		if n := len(ro.history); n > 0 && ro.history[n-1].Verdict == VerdictNoTraffic && ro.history[n-1].Step == h.Step {
			last := &ro.history[n-1]
			last.Holds++
			last.EndedAt, last.PrimaryUsers, last.NoUser = now, last.PrimaryUsers+h.PrimaryUsers, last.NoUser+h.NoUser
			return
		}
		ro.addHold(h)
		ro.logf("rollout: step %d (%s): no candidate request in the hold (%d requests from users stayed on the primary, %d without a user id); holding again",
			h.Step, step, h.PrimaryUsers, h.NoUser)
		return
	}
	run := w.run(now)
	pass := true
	for _, b := range ro.cfg.SLOs {
		v := b.Evaluate(run)
		h.SLO = append(h.SLO, v)
		pass = pass && v.OK
	}
	desc := fmt.Sprintf("%d candidate requests, %d errors, p99 %sms", h.Requests, h.Errors, results.FormatFloat(h.P99, 3))
	switch {
	case pass:
		h.Verdict = VerdictPass
		ro.metrics.gates.WithLabelValues(VerdictPass).Inc()
		ro.failures = 0
		switch {
		case ro.state == RolloutPaused:
			h.Note = "paused: the weight stays"
		case ro.state == RolloutPassed:
			h.Note = "passed: the weight stays until promote"
		case ro.step == len(ro.cfg.Steps)-1:
			ro.state = RolloutPassed
			ro.reason = fmt.Sprintf("every step passed its gate; %d%% of users on the candidate until promote or abort", ro.weight)
			h.Note = "the last step passed: waiting for promote"
		default:
			ro.step++
			ro.setWeightLocked(ro.cfg.Steps[ro.step].Weight)
			h.Note = fmt.Sprintf("advanced to step %d (%s)", ro.step+1, ro.cfg.Steps[ro.step])
		}
		ro.logf("rollout: step %d (%s) passed: %s; %s", h.Step, step, desc, h.Note)
	default:
		h.Verdict = VerdictFail
		ro.metrics.gates.WithLabelValues(VerdictFail).Inc()
		ro.failures++
		failed := failedSLOs(h.SLO)
		if ro.failures >= ro.cfg.Failures {
			ro.state = RolloutRolledBack
			ro.reason = fmt.Sprintf("step %d (%s) failed its gate %d time(s) in a row: %s", h.Step, step, ro.failures, failed)
			ro.setWeightLocked(0)
			h.Note = "rolled back: every user on the primary"
			ro.logf("rollout: rolled back to 0%%: %s (%s)", ro.reason, desc)
		} else {
			h.Note = fmt.Sprintf("held again: failure %d of %d in a row", ro.failures, ro.cfg.Failures)
			ro.logf("rollout: step %d (%s) failed: %s (%s); %s", h.Step, step, failed, desc, h.Note)
		}
	}
	ro.addHold(h)
	if ro.over() {
		ro.wakeLoop()
	}
}

// maxRolloutHistory bounds the holds GET /rollout keeps: a rollout that
// stays passed or paused for long judges a hold every step's hold time.
const maxRolloutHistory = 1000

// addHold appends h to the history, dropping the oldest entry beyond
// maxRolloutHistory. ro.mu is held.
func (ro *rollout) addHold(h RolloutHold) {
	if len(ro.history) >= maxRolloutHistory {
		ro.history = append(ro.history[:0], ro.history[len(ro.history)-maxRolloutHistory+1:]...)
	}
	ro.history = append(ro.history, h)
}

// failedSLOs says which bounds failed, with what was observed.
func failedSLOs(vs []results.Verdict) string {
	var out []string
	for _, v := range vs {
		if !v.OK {
			out = append(out, v.Observed+" against "+v.Expr)
		}
	}
	return strings.Join(out, "; ")
}

// hold summarises a window as a history entry.
func (w *rolloutWindow) hold(step, weight int, end time.Time) RolloutHold {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := results.Summarize(w.hist)
	return RolloutHold{
		Step: step, Weight: weight, StartedAt: w.start.UTC(), EndedAt: end.UTC(), Holds: 1,
		Requests: w.requests, Errors: w.errors, Timeouts: w.timeouts, Retries: w.retries,
		P50: p.P50, P99: p.P99, Max: p.Max,
		PrimaryUsers: w.primaryUsers.Load(), NoUser: w.noUser.Load(),
	}
}

// run is the window as a results.Run, for the project's one SLO
// evaluation: the candidate's latency stands as the corrected latency (the
// primary waits for every request it sends, so none is late to begin with).
func (w *rolloutWindow) run(end time.Time) *results.Run {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := results.Summarize(w.hist)
	d := end.Sub(w.start).Seconds()
	r := &results.Run{
		Requests: w.requests, Errors: w.errors, DurationS: d,
		ErrorKinds: map[string]int64{"timeout": w.timeouts, "transport": w.transport},
		Latency:    results.Latency{Corrected: p, Service: p},
	}
	if d > 0 {
		r.Rate.Achieved = float64(w.requests) / d
	}
	return r
}
