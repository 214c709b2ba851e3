package hostmetrics

import (
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/perf-tools/perf/results"
)

// waitLimit bounds every wait for a sample: far more than the few
// intervals a test waits for, so that reaching it means the event did not
// come.
const waitLimit = 10 * time.Second

// burnCPU keeps a core busy for a moment; sink keeps the work from being
// optimised away.
func burnCPU() {
	sum := sha256.Sum256(nil)
	for range 2000 {
		sum = sha256.Sum256(sum[:])
	}
	sink += sum[0]
}

var sink byte

// loopbackServer starts a server on 127.0.0.1:0 that answers 4 KiB, so
// that the loopback counters and the TCP states have something to show.
func loopbackServer(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write(make([]byte, 4096))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func get(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// startWatched starts a recorder that signals on the returned channel
// after each sample or poll it records; signals not yet received merge
// into one.
func startWatched(t *testing.T, opts Options) (*Recorder, <-chan struct{}) {
	t.Helper()
	taken := make(chan struct{}, 1)
	r, err := start(t.Context(), opts, func() {
		select {
		case taken <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop() })
	return r, taken
}

// waitFor waits, after each sample or poll r takes, until done holds for
// r's samples, and fails the test if that takes waitLimit.
func waitFor(t *testing.T, r *Recorder, taken <-chan struct{}, what string, done func(*results.HostSamples) bool) {
	t.Helper()
	limit := time.After(waitLimit)
	for !done(r.Samples()) {
		select {
		case <-taken:
		case <-limit:
			h := r.Samples()
			t.Fatalf("after %v: want %s; have %d samples, %d target samples, warnings %q",
				waitLimit, what, len(h.Generator), len(h.Target), h.Warnings)
		}
	}
}

func TestStart(t *testing.T) {
	r, _ := startWatched(t, Options{Interval: 100 * time.Millisecond})
	// Burn CPU and send loopback traffic until it has taken 3 samples.
	url := loopbackServer(t)
	limit := time.Now().Add(waitLimit)
	for len(r.Samples().Generator) < 3 {
		if time.Now().After(limit) {
			t.Fatalf("%d samples after %v at 100ms, want 3", len(r.Samples().Generator), waitLimit)
		}
		burnCPU()
		for range 5 {
			get(t, url)
		}
	}
	h := r.Stop()
	if len(h.Warnings) != 0 {
		t.Errorf("warnings: %q", h.Warnings)
	}
	var rx, cpuMax float64
	for i, s := range h.Generator {
		if i > 0 && s.T <= h.Generator[i-1].T {
			t.Errorf("sample %d: t %v not after %v", i, s.T, h.Generator[i-1].T)
		}
		if len(s.PerCore) == 0 || s.MemTotalBytes == 0 || s.Cores == 0 || s.ProcRSSBytes == 0 {
			t.Errorf("sample %d lacks data: %+v", i, s)
		}
		if s.ProcCPUPercent < 0 || s.HostCPUPercent < 0 || s.HostCPUPercent > 100 {
			t.Errorf("sample %d: cpu out of range: %+v", i, s)
		}
		rx += s.Net.RxBytes
		cpuMax = max(cpuMax, s.ProcCPUPercent)
	}
	if h.Generator[0].TCP.States["LISTEN"] == 0 {
		t.Errorf("first sample counts no LISTEN socket: %v", h.Generator[0].TCP.States)
	}
	if rx == 0 {
		t.Error("no loopback bytes seen")
	}
	if cpuMax == 0 {
		t.Error("process CPU always 0 while burning CPU")
	}
	st := results.ProcessCPU(h.Generator)
	if st.Samples != len(h.Generator) || st.MaxPercent != cpuMax || st.MeanPercent <= 0 || st.MeanPercent > st.MaxPercent {
		t.Errorf("ProcessCPU = %+v (max seen %v)", st, cpuMax)
	}

	// The samples round-trip through host.json.
	path := filepath.Join(t.TempDir(), results.HostFile)
	if err := results.WriteHostSamples(path, h); err != nil {
		t.Fatal(err)
	}
	back, err := results.ReadHostSamples(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Generator) != len(h.Generator) || !back.Start.Equal(h.Start) || back.Generator[1].Net != h.Generator[1].Net {
		t.Errorf("host.json round trip changed the samples")
	}
}

func TestStartBadInput(t *testing.T) {
	if _, err := Start(t.Context(), Options{Interval: -time.Second}); err == nil {
		t.Error("negative interval accepted")
	}
	if _, err := Start(t.Context(), Options{TargetURL: "localhost:1"}); err == nil ||
		!strings.Contains(err.Error(), "target host metrics address") {
		t.Errorf("bad target address: error = %v", err)
	}
	if _, err := Start(t.Context(), Options{PID: 1 << 30}); err == nil ||
		!strings.Contains(err.Error(), "process") {
		t.Errorf("a process that does not exist: error = %v", err)
	}
}

func TestHandlerAndPoll(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle(Path, Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	// One GET: a sample as JSON.
	resp, err := http.Get(srv.URL + Path)
	if err != nil {
		t.Fatal(err)
	}
	var one results.HostSample
	err = json.NewDecoder(resp.Body).Decode(&one)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s: %v %v %q", Path, resp.Status, err, resp.Header.Get("Content-Type"))
	}
	if one.MemTotalBytes == 0 || len(one.PerCore) == 0 || one.Cores == 0 {
		t.Errorf("sample lacks data: %+v", one)
	}
	resp, err = http.Post(srv.URL+Path, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %s, want 405", resp.Status)
	}

	// The recorder polls it.
	u, err := URL(srv.URL)
	if err != nil || u != srv.URL+Path {
		t.Fatalf("URL(%q) = %q, %v", srv.URL, u, err)
	}
	r, taken := startWatched(t, Options{Interval: 50 * time.Millisecond, TargetURL: u})
	waitFor(t, r, taken, "2 target samples", func(h *results.HostSamples) bool { return len(h.Target) >= 2 })
	h := r.Stop()
	if len(h.Warnings) != 0 {
		t.Fatalf("warnings %q", h.Warnings)
	}
	for i, s := range h.Target {
		if s.MemTotalBytes == 0 || (i > 0 && s.T <= h.Target[i-1].T) {
			t.Errorf("target sample %d: %+v", i, s)
		}
	}
}

func TestPollNotAHandler(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "<html>hello</html>")
	}))
	t.Cleanup(srv.Close)
	r, taken := startWatched(t, Options{Interval: 20 * time.Millisecond, TargetURL: srv.URL})
	waitFor(t, r, taken, "a warning", func(h *results.HostSamples) bool { return len(h.Warnings) > 0 })
	h := r.Stop()
	if len(h.Target) != 0 || len(h.Warnings) != 1 || !strings.Contains(h.Warnings[0], "not a host sample") {
		t.Errorf("target %d samples, warnings %q", len(h.Target), h.Warnings)
	}
}
