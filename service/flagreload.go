package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/perf-tools/perf/service/flags"
)

// Defaults for watching a flags file.
const (
	// DefaultFlagsPoll is how often WatchFlags reads the file when it
	// cannot watch the directory (no inotify, say).
	DefaultFlagsPoll = 2 * time.Second
	// flagsSettle is how long WatchFlags waits after the last change in
	// the directory before it reads the file, so an editor's write in
	// several pieces is read once it is whole.
	flagsSettle = 100 * time.Millisecond
)

// reloadState is what the admin listener says about the flags file beyond
// the configuration in force: the last attempt to load it, when it failed.
type reloadState struct {
	mu sync.Mutex
	// failed is the error of the last attempt, nil when the file on disk
	// is the configuration in force; failedAt is when it was first seen.
	failed   error
	failedAt time.Time
}

// LoadFlags reads the flagd flag-definition file at path and puts it in
// force, as generation 1. It fails, leaving the server without flags, when
// the file does not parse or asks for what perf serve cannot do; the error
// names the file, the flag and the reason.
func (s *Server) LoadFlags(path string) error {
	cfg, err := flags.Load(path)
	if err != nil {
		return err
	}
	return s.SetFlags(cfg, path)
}

// SetFlags puts cfg in force for the requests read from now on, read from
// source (a file name, for the admin listener). A variant's value changes
// what a read does when it is a JSON object with "view" ("full" or
// "compact"), "delay" (a duration) or "etag" (true or false); SetFlags fails,
// and the configuration in force stays, when such a field is malformed, when
// two flags set the same field, or when a flag key or variant name cannot go
// into the X-Variant header.
func (s *Server) SetFlags(cfg *flags.Config, source string) error {
	fs, err := compileFlags(cfg, source, s.metrics)
	if err != nil {
		return err
	}
	fs.loadedAt = time.Now()
	fs.gen = 1
	old := s.flags.Load()
	if old != nil {
		fs.gen = old.gen + 1
	}
	s.flags.Store(fs)
	if old != nil {
		s.metrics.dropVariants(old, fs)
	}
	s.metrics.generation.Set(float64(fs.gen))
	s.metrics.loadedAt.Set(float64(fs.loadedAt.UnixNano()) / 1e9)
	s.metrics.lastReloadOK.Set(1)
	s.reload.mu.Lock()
	s.reload.failed = nil
	s.reload.mu.Unlock()
	return nil
}

// WatchFlags keeps the configuration in force equal to the file at path
// until ctx is done: it watches the file's directory, where editors and
// Kubernetes ConfigMaps replace a file by renaming another over it, and
// reads the file once changes settle. With poll > 0, or when the directory
// cannot be watched, it reads the file every poll (DefaultFlagsPoll)
// instead. A file whose bytes differ from the configuration in force is
// parsed and checked whole, then swapped in; a file that cannot be read,
// parsed or served leaves the last good configuration in force, and is
// logged and counted once until it changes. The file is read once when the
// watch begins, so a change since LoadFlags is not missed. logf receives a line for each
// reload and each failure.
func (s *Server) WatchFlags(ctx context.Context, path string, poll time.Duration, logf func(format string, args ...any)) {
	var events <-chan fsnotify.Event
	var errs <-chan error
	if poll <= 0 {
		w, err := fsnotify.NewWatcher()
		if err == nil {
			if err = w.Add(filepath.Dir(path)); err != nil {
				w.Close()
			}
		}
		if err != nil {
			poll = DefaultFlagsPoll
			logf("flags: cannot watch %s (%v): reading it every %v instead", filepath.Dir(path), err, poll)
		} else {
			defer w.Close()
			events, errs = w.Events, w.Errors
		}
	}
	var tick <-chan time.Time
	if poll > 0 {
		t := time.NewTicker(poll)
		defer t.Stop()
		tick = t.C
	}
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	defer settle.Stop()
	// A change made before the watch began has no event: read the file
	// once now.
	s.reloadFlags(path, logf)
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-events:
			if !ok {
				return
			}
			// Any change in the directory may be the file's: a rename over
			// it, a write to it, a symlink swapped beside it.
			settle.Reset(flagsSettle)
		case err, ok := <-errs:
			if !ok {
				return
			}
			// An overflow loses events: read the file to be sure.
			logf("flags: watching %s: %v", filepath.Dir(path), err)
			settle.Reset(flagsSettle)
		case <-settle.C:
			s.reloadFlags(path, logf)
		case <-tick:
			s.reloadFlags(path, logf)
		}
	}
}

// reloadFlags reads the file at path and puts it in force if its bytes
// differ from the configuration in force and it is good.
func (s *Server) reloadFlags(path string, logf func(string, ...any)) {
	cur := s.flags.Load()
	data, err := os.ReadFile(path)
	var cfg *flags.Config
	if err == nil {
		cfg, err = flags.Parse(path, data)
		if err == nil && cur != nil && cfg.Hash() == cur.cfg.Hash() {
			// Unchanged (or changed back): the file is what is in force.
			s.reload.mu.Lock()
			s.reload.failed = nil
			s.reload.mu.Unlock()
			s.metrics.lastReloadOK.Set(1)
			return
		}
		if err == nil {
			err = s.SetFlags(cfg, path)
		}
	} else {
		err = fmt.Errorf("read %s: %w", path, err)
	}
	if err == nil {
		fs := s.flags.Load()
		s.metrics.reloadOK.Inc()
		logf("flags: loaded %s: generation %d, %d flags, sha256 %.12s", path, fs.gen, len(fs.flags), fs.cfg.Hash())
		return
	}
	s.reload.mu.Lock()
	same := s.reload.failed != nil && s.reload.failed.Error() == err.Error()
	if !same {
		s.reload.failed, s.reload.failedAt = err, time.Now()
	}
	s.reload.mu.Unlock()
	if same {
		return
	}
	s.metrics.reloadFailed.Inc()
	s.metrics.lastReloadOK.Set(0)
	gen := uint64(0)
	if cur != nil {
		gen = cur.gen
	}
	logf("flags: keeping generation %d in force: %v", gen, err)
}

// flagsStatus is what GET /flags answers.
type flagsStatus struct {
	File       string       `json:"file"`
	SHA256     string       `json:"sha256"`
	Generation uint64       `json:"generation"`
	LoadedAt   time.Time    `json:"loaded_at"`
	UserHeader string       `json:"user_header,omitempty"`
	UserCookie string       `json:"user_cookie,omitempty"`
	LastError  *reloadError `json:"last_reload_error"`
	Flags      []flagStatus `json:"flags"`
}

type reloadError struct {
	Error string    `json:"error"`
	Since time.Time `json:"since"`
}

type flagStatus struct {
	Key            string         `json:"key"`
	State          string         `json:"state"`
	DefaultVariant string         `json:"default_variant"`
	Variants       map[string]any `json:"variants"`
	// Split is the fractional targeting: variant and weight in percent.
	Split []splitStatus `json:"split,omitempty"`
}

type splitStatus struct {
	Variant string `json:"variant"`
	Weight  int    `json:"weight"`
}

// evaluation is one flag's answer in GET /flags/evaluate.
type evaluation struct {
	Flag    string `json:"flag"`
	Variant string `json:"variant"`
	Reason  string `json:"reason"`
	Value   any    `json:"value"`
}

// errNoFlags answers the flags endpoints of a server without --flags.
var errNoFlags = errors.New("no flags configuration: start perf serve with --flags FILE")

// handleFlags answers GET /flags: the configuration in force, its hash and
// when it was loaded, and the last failed reload.
func (s *Server) handleFlags(w http.ResponseWriter, _ *http.Request) {
	fs := s.flags.Load()
	if fs == nil {
		writeJSONError(w, http.StatusNotFound, errNoFlags)
		return
	}
	st := flagsStatus{
		File: fs.source, SHA256: fs.cfg.Hash(), Generation: fs.gen, LoadedAt: fs.loadedAt.UTC(),
		UserHeader: s.opts.UserHeader, UserCookie: s.opts.UserCookie,
		Flags: []flagStatus{},
	}
	s.reload.mu.Lock()
	if s.reload.failed != nil {
		st.LastError = &reloadError{Error: s.reload.failed.Error(), Since: s.reload.failedAt.UTC()}
	}
	s.reload.mu.Unlock()
	for _, sf := range fs.flags {
		f := sf.f
		names := f.Variants()
		fst := flagStatus{Key: f.Key(), State: "DISABLED", DefaultVariant: names[f.Default()], Variants: map[string]any{}}
		if f.Enabled() {
			fst.State = "ENABLED"
		}
		for i, n := range names {
			fst.Variants[n] = f.Value(i)
		}
		vs, ws := f.Split()
		for i, v := range vs {
			fst.Split = append(fst.Split, splitStatus{Variant: names[v], Weight: ws[i]})
		}
		st.Flags = append(st.Flags, fst)
	}
	writeJSON(w, http.StatusOK, st)
}

// handleEvaluate answers GET /flags/evaluate?user=ID[&flag=KEY]: the
// variant of each flag (or of one) that the user gets, and why.
func (s *Server) handleEvaluate(w http.ResponseWriter, r *http.Request) {
	fs := s.flags.Load()
	if fs == nil {
		writeJSONError(w, http.StatusNotFound, errNoFlags)
		return
	}
	q := r.URL.Query()
	user, only := q.Get("user"), q.Get("flag")
	out := []evaluation{}
	for _, sf := range fs.flags {
		if only != "" && sf.f.Key() != only {
			continue
		}
		v, why := flags.Pick(sf.f, user)
		out = append(out, evaluation{Flag: sf.f.Key(), Variant: sf.f.Variants()[v], Reason: why, Value: sf.f.Value(v)})
	}
	if only != "" && len(out) == 0 {
		writeJSONError(w, http.StatusNotFound, fmt.Errorf("no flag %q in %s (generation %d)", only, fs.source, fs.gen))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": user, "generation": fs.gen, "sha256": fs.cfg.Hash(), "flags": out})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeJSONError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}
