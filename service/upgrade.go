package service

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// upgradeState is what the admin listener says about live upgrades.
type upgradeState struct {
	mu       sync.Mutex
	running  bool
	attempts int
	lastAt   time.Time
	lastErr  error
	upgraded bool // a new generation is serving; this one drains
}

// ErrNoUpgrade means the server was built without Options.Upgrade.
var ErrNoUpgrade = errors.New("live upgrade is not available in this process")

// errUpgradeRunning refuses an upgrade while another is under way.
var errUpgradeRunning = errors.New("an upgrade is already under way")

// Upgrade hands the listeners to a new process (Options.Upgrade) and
// returns once it is ready, or the reason it is not: the process failed to
// start, exited during start-up, or did not become ready in time. On
// failure this process keeps serving; either way the attempt is logged by
// the caller, counted (perf_serve_upgrades_total) and shown by GET
// /upgrade.
func (s *Server) Upgrade() error {
	if s.opts.Upgrade == nil {
		return ErrNoUpgrade
	}
	u := &s.upgrade
	u.mu.Lock()
	if u.running {
		u.mu.Unlock()
		return errUpgradeRunning
	}
	u.running = true
	u.attempts++
	u.mu.Unlock()

	err := s.opts.Upgrade()

	u.mu.Lock()
	u.running, u.lastAt, u.lastErr = false, time.Now(), err
	u.upgraded = u.upgraded || err == nil
	u.mu.Unlock()
	if err != nil {
		s.metrics.upgradeFailed.Inc()
	} else {
		s.metrics.upgradeOK.Inc()
	}
	return err
}

// upgradeStatus is what GET /upgrade answers.
type upgradeStatus struct {
	Generation uint64 `json:"generation"`
	PID        int    `json:"pid"`
	Available  bool   `json:"available"`
	Running    bool   `json:"running"`
	Upgraded   bool   `json:"upgraded"`
	Attempts   int    `json:"attempts"`
	// LastError is why the last attempt failed, with when; empty after a
	// success or before any attempt.
	LastError string     `json:"last_error,omitempty"`
	LastAt    *time.Time `json:"last_at,omitempty"`
}

func (s *Server) handleUpgradeStatus(w http.ResponseWriter, _ *http.Request) {
	u := &s.upgrade
	u.mu.Lock()
	st := upgradeStatus{
		Generation: s.opts.Generation, PID: os.Getpid(), Available: s.opts.Upgrade != nil,
		Running: u.running, Upgraded: u.upgraded, Attempts: u.attempts,
	}
	if !u.lastAt.IsZero() {
		at := u.lastAt.UTC()
		st.LastAt = &at
	}
	if u.lastErr != nil {
		st.LastError = u.lastErr.Error()
	}
	u.mu.Unlock()
	writeJSON(w, http.StatusOK, st)
}

// handleUpgrade answers POST /upgrade: it upgrades, and says how it went.
func (s *Server) handleUpgrade(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	switch err := s.Upgrade(); {
	case err == nil:
		writeJSON(w, http.StatusOK, map[string]any{"upgraded": true, "from_generation": s.opts.Generation,
			"message": "the new generation is serving; this one drains and exits"})
	case errors.Is(err, ErrNoUpgrade):
		writeJSONError(w, http.StatusNotImplemented, err)
	case errors.Is(err, errUpgradeRunning):
		writeJSONError(w, http.StatusConflict, err)
	default:
		writeJSON(w, http.StatusBadGateway, map[string]any{"upgraded": false, "generation": s.opts.Generation,
			"error": err.Error(), "message": "the new process did not become ready; this generation keeps serving"})
	}
}

// authorized checks a control request's bearer token in constant time, and
// answers 401 or 403 when it does not pass.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	want := s.opts.ControlToken
	if want == "" {
		writeJSONError(w, http.StatusForbidden, errors.New("control endpoints are off: start perf serve with --control-token-file or PERF_CONTROL_TOKEN"))
		return false
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="perf serve control"`)
		writeJSONError(w, http.StatusUnauthorized, errors.New("a control request needs Authorization: Bearer TOKEN with the control token"))
		return false
	}
	return true
}
