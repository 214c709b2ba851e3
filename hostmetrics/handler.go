package hostmetrics

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/perf-tools/perf/results"
)

// Path is where perf serve's admin listener mounts Handler.
const Path = "/debug/host"

// Handler returns an http.Handler that answers GET with one sample of
// this process and its host as JSON (a results.HostSample), the rates
// taken since the previous request (or since Handler was called).
// perf serve mounts it on its admin listener at Path, so perf attack
// --target-host-metrics samples the target as it samples itself. Several
// pollers at once split the intervals between them.
func Handler() http.Handler {
	h := &handler{}
	h.s, h.err = newSampler(context.Background(), Options{})
	return h
}

type handler struct {
	mu  sync.Mutex
	s   *sampler
	err error
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed: GET one host sample", http.StatusMethodNotAllowed)
		return
	}
	if h.err != nil {
		http.Error(w, h.err.Error(), http.StatusInternalServerError)
		return
	}
	h.mu.Lock()
	smp, _ := h.s.sample() // a counter that failed is left zero
	h.mu.Unlock()
	b, err := json.Marshal(smp)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(append(b, '\n'))
}

// URL returns the address of the host metrics of a perf serve admin
// listener given as "http://HOST:PORT" (or already ending in Path),
// checked: the value to pass as Options.TargetURL for a
// --target-host-metrics flag.
func URL(admin string) (string, error) {
	if err := checkURL(admin); err != nil {
		return "", err
	}
	u, _ := url.Parse(admin)
	if u.Path == "" || u.Path == "/" {
		u.Path = Path
	}
	return u.String(), nil
}

// checkURL checks the address of a Handler.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("target host metrics address %q: %w", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("target host metrics address %q: want http://HOST:PORT%s (perf serve's admin listener)", s, Path)
	}
	return nil
}

// poll fetches one sample from a Handler, within timeout.
func poll(ctx context.Context, client *http.Client, u string, timeout time.Duration) (results.HostSample, error) {
	var smp results.HostSample
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return smp, fmt.Errorf("get %s: %w", u, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return smp, fmt.Errorf("get %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return smp, fmt.Errorf("get %s: read body: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		// %.120q: the start of the body, quoted, for the warning.
		return smp, fmt.Errorf("get %s: %s: %.120q", u, resp.Status, body)
	}
	if err := json.Unmarshal(body, &smp); err != nil {
		return smp, fmt.Errorf("get %s: not a host sample (JSON of perf serve's %s): %w", u, Path, err)
	}
	return smp, nil
}
