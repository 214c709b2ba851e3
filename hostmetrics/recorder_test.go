package hostmetrics

import (
	"context"
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

// serveLoopback starts a server on 127.0.0.1:0 and sends n requests to it,
// so the loopback counters and the TCP states have something to show.
func serveLoopback(t *testing.T, n int) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write(make([]byte, 4096))
	}))
	t.Cleanup(srv.Close)
	for range n {
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func TestSampleHost(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := Start(ctx, Options{Interval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// Burn CPU and send loopback traffic while it samples.
	deadline := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(deadline) {
		burnCPU()
		serveLoopback(t, 5)
	}
	h := r.Stop()
	if len(h.Warnings) != 0 {
		t.Errorf("warnings: %q", h.Warnings)
	}
	if len(h.Generator) < 3 {
		t.Fatalf("%d samples in 500ms at 100ms, want >= 3", len(h.Generator))
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

func TestSampleHostBadInput(t *testing.T) {
	if _, err := Start(context.Background(), Options{Interval: -time.Second}); err == nil {
		t.Error("negative interval accepted")
	}
	if _, err := Start(context.Background(), Options{TargetURL: "localhost:1"}); err == nil ||
		!strings.Contains(err.Error(), "target host metrics address") {
		t.Errorf("bad target address: error = %v", err)
	}
	if _, err := Start(context.Background(), Options{PID: 1 << 30}); err == nil ||
		!strings.Contains(err.Error(), "process") {
		t.Errorf("a process that does not exist: error = %v", err)
	}
}

func TestHostHandlerAndPoll(t *testing.T) {
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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := Start(ctx, Options{Interval: 50 * time.Millisecond, TargetURL: u})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond) // let it take a few samples
	h := r.Stop()
	if len(h.Target) < 2 || len(h.Warnings) != 0 {
		t.Fatalf("%d target samples, warnings %q", len(h.Target), h.Warnings)
	}
	for i, s := range h.Target {
		if s.MemTotalBytes == 0 || (i > 0 && s.T <= h.Target[i-1].T) {
			t.Errorf("target sample %d: %+v", i, s)
		}
	}
}

func TestPollNotAHostHandler(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "<html>hello</html>")
	}))
	t.Cleanup(srv.Close)
	r, err := Start(context.Background(), Options{Interval: 20 * time.Millisecond, TargetURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	h := r.Stop()
	if len(h.Target) != 0 || len(h.Warnings) != 1 || !strings.Contains(h.Warnings[0], "not a host sample") {
		t.Errorf("target %d samples, warnings %q", len(h.Target), h.Warnings)
	}
}
