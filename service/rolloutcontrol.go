package service

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/perf-tools/perf/results"
)

// Rollout control actions: POST /rollout/{action}.
const (
	RolloutPause   = "pause"
	RolloutResume  = "resume"
	RolloutPromote = "promote"
	RolloutAbort   = "abort"
)

// RolloutActions lists the control actions.
var RolloutActions = []string{RolloutPause, RolloutResume, RolloutPromote, RolloutAbort}

// rolloutRoutes adds the rollout's admin endpoints to mux.
func (s *Server) rolloutRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /rollout", func(w http.ResponseWriter, _ *http.Request) {
		ro := s.rollout.Load()
		if ro == nil {
			writeJSONError(w, http.StatusNotFound, ErrNoRollout)
			return
		}
		writeJSON(w, http.StatusOK, ro.status())
	})
	mux.HandleFunc("POST /rollout/{action}", func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(w, r) {
			return
		}
		action := r.PathValue("action")
		if !slices.Contains(RolloutActions, action) {
			writeJSONError(w, http.StatusNotFound, fmt.Errorf("no rollout action %q: want one of %v", action, RolloutActions))
			return
		}
		ro := s.rollout.Load()
		if ro == nil {
			writeJSONError(w, http.StatusNotFound, ErrNoRollout)
			return
		}
		err := ro.control(action)
		st := ro.status()
		switch {
		case err == nil:
			writeJSON(w, http.StatusOK, st)
		case errors.Is(err, ErrRolloutState):
			writeJSON(w, http.StatusConflict, map[string]any{"error": err.Error(), "state": st.State, "reason": st.Reason})
		default: // the promote's upgrade failed
			writeJSON(w, http.StatusBadGateway, map[string]any{"error": err.Error(), "state": st.State, "reason": st.Reason,
				"message": "the new generation did not become ready; this generation keeps serving, the rollout is paused"})
		}
	})
}

// control applies an action, or says why it does not apply.
func (ro *rollout) control(action string) error {
	ro.mu.Lock()
	from := ro.state
	refuse := func() error {
		ro.mu.Unlock()
		return fmt.Errorf("%s: the rollout is %s (%s): %w", action, from, ro.reason, ErrRolloutState)
	}
	switch action {
	case RolloutPause:
		if from != RolloutRunning && from != RolloutPaused {
			return refuse()
		}
		ro.state, ro.reason = RolloutPaused, "paused by an operator: the weight stays, gates still roll back"
	case RolloutResume:
		if from != RolloutRunning && from != RolloutPaused {
			return refuse()
		}
		ro.state, ro.reason = RolloutRunning, ""
	case RolloutAbort:
		if from != RolloutRunning && from != RolloutPaused && from != RolloutPassed {
			return refuse()
		}
		ro.state, ro.reason = RolloutAborted, fmt.Sprintf("aborted by an operator at step %d (%d%%): every user on the primary", ro.step+1, ro.weight)
		ro.setWeightLocked(0)
	case RolloutPromote:
		if from != RolloutRunning && from != RolloutPaused && from != RolloutPassed {
			return refuse()
		}
		ro.state, ro.reason = RolloutPromoting, fmt.Sprintf("promote: live upgrade to the candidate's binary under way at %d%%", ro.weight)
		// The new generation learns from this that it is the promoted one.
		ro.notifyLocked()
		ro.mu.Unlock()
		ro.logf("rollout: promote: live upgrade to the binary at this binary's path, from %s at step %d", from, ro.step+1)
		err := ro.promoteFunc()
		ro.mu.Lock()
		if err != nil {
			ro.promoteErr = err.Error()
			ro.state, ro.reason = RolloutPaused, fmt.Sprintf("promote failed: %v; this generation keeps serving, paused at %d%%", err, ro.weight)
			ro.logf("rollout: %s", ro.reason)
		} else {
			ro.promoteErr = ""
			ro.state, ro.reason = RolloutPromoted, "promoted: the new generation serves every user; this one drains"
			ro.logf("rollout: %s", ro.reason)
		}
		ro.notifyLocked()
		ro.mu.Unlock()
		ro.wakeLoop()
		return err
	}
	if from != ro.state {
		ro.logf("rollout: %s: %s -> %s", action, from, ro.state)
	}
	ro.notifyLocked()
	ro.mu.Unlock()
	ro.wakeLoop()
	return nil
}

// status returns what GET /rollout answers.
func (ro *rollout) status() RolloutStatus {
	ro.mu.Lock()
	defer ro.mu.Unlock()
	return ro.statusLocked()
}

// statusLocked is status with ro.mu held.
func (ro *rollout) statusLocked() RolloutStatus {
	return RolloutStatus{
		State: ro.state, Reason: ro.reason, Candidate: ro.base,
		Step: ro.step + 1, Steps: stepStrings(ro.cfg.Steps), Weight: ro.weight,
		HoldStartedAt: ro.win.Load().start.UTC(), SLO: sloStrings(ro.cfg.SLOs),
		Failures: ro.failures, RollBackAfter: ro.cfg.Failures, PromoteError: ro.promoteErr,
		History: slices.Clone(ro.history),
	}
}

func stepStrings(steps []RolloutStep) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = s.String()
	}
	return out
}

func sloStrings(slos []results.Bound) []string {
	out := make([]string, len(slos))
	for i, b := range slos {
		out[i] = b.Expr
	}
	return out
}

// registerMetrics adds the rollout's instruments to reg.
func (ro *rollout) registerMetrics(reg *prometheus.Registry) {
	m := &ro.metrics
	read := func(f func() float64) func() float64 {
		return func() float64 {
			ro.mu.Lock()
			defer ro.mu.Unlock()
			return f()
		}
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "perf_serve_rollout_weight_percent",
			Help: "Percentage of users the rollout sends to the candidate (perf serve --rollout); 0 after a rollback or an abort.",
		}, read(func() float64 { return float64(ro.weight) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "perf_serve_rollout_step",
			Help: "Step of the rollout, from 1, at which it is (or ended).",
		}, read(func() float64 { return float64(ro.step + 1) })),
	)
	for _, state := range rolloutStates {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "perf_serve_rollout_state",
			Help:        "1 for the state the rollout is in, 0 for the others.",
			ConstLabels: prometheus.Labels{"state": state},
		}, read(func() float64 {
			if ro.state == state {
				return 1
			}
			return 0
		})))
	}
	m.gates = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "perf_serve_rollout_gates_total",
		Help: "Holds the rollout judged, by verdict: pass, fail, no_traffic (no candidate request in the hold: held again).",
	}, []string{"verdict"})
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "perf_serve_rollout_candidate_requests_total",
		Help: "Item reads proxied to the candidate that it answered, by its HTTP status code.",
	}, []string{"code"})
	m.failures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "perf_serve_rollout_candidate_failures_total",
		Help: "Item reads proxied to the candidate that got no answer (answered 502 to the user), by kind: timeout or transport.",
	}, []string{"kind"})
	m.timeouts, m.transport = m.failures.WithLabelValues("timeout"), m.failures.WithLabelValues("transport")
	m.retries = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "perf_serve_rollout_candidate_retries_total",
		Help: "Item reads Go's transport sent to the candidate a second time, because the kept-alive connection it first used was closed before an answer came.",
	})
	m.errors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "perf_serve_rollout_candidate_errors_total",
		Help: "Item reads proxied to the candidate that failed: no answer, or a status outside 2xx and 3xx.",
	})
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "perf_serve_rollout_candidate_request_duration_seconds",
		Help:    "Time from the primary's request to the candidate to the last byte of its answer.",
		Buckets: latencyBuckets,
	})
	for _, v := range []string{VerdictPass, VerdictFail, "no_traffic"} {
		m.gates.WithLabelValues(v)
	}
	reg.MustRegister(m.gates, m.requests, m.failures, m.retries, m.errors, m.latency)
}
