package capture

import (
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/pprof"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	rpprof "runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"
)

// busyHandler burns CPU so that the target's CPU profile has a function
// the test can look for by name.
func busyHandler(w http.ResponseWriter, _ *http.Request) {
	sum := sha256.Sum256(nil)
	for i := 0; i < 2000; i++ {
		sum = sha256.Sum256(sum[:])
	}
	w.Write(sum[:4])
}

// newPprofServer starts a real server on 127.0.0.1:0 with net/http/pprof
// handlers on a fresh mux and busyHandler on /busy.
func newPprofServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/busy", busyHandler)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// sendLoad sends requests to url from two goroutines until ctx is done, with at
// most max requests in all, and waits for them.
func sendLoad(ctx context.Context, t *testing.T, url string, max int) {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	sent := 0
	for range 2 {
		wg.Go(func() {
			for ctx.Err() == nil {
				mu.Lock()
				if sent >= max {
					mu.Unlock()
					return
				}
				sent++
				mu.Unlock()
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
}

// pprofTop runs `go tool pprof -top` on path and returns its output.
func pprofTop(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("go", "tool", "pprof", "-top", path).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool pprof -top %s: %v\n%s", path, err, out)
	}
	return string(out)
}

func TestProfiles(t *testing.T) {
	srv := newPprofServer(t)
	dir := filepath.Join(t.TempDir(), "pprof")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	loadCtx, stopLoad := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer stopLoad()
	done := make(chan struct{})
	go func() {
		defer close(done)
		sendLoad(loadCtx, t, srv.URL+"/busy", 20000)
	}()

	warnings, err := Profiles(ctx, srv.URL, dir, time.Second, ProfileOptions{})
	stopLoad()
	<-done
	if err != nil {
		t.Fatalf("Profiles: %v", err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings: %q", warnings)
	}
	for _, name := range append([]string{"cpu"}, DefaultEndProfiles...) {
		path := filepath.Join(dir, ProfileFile(name))
		top := pprofTop(t, path)
		if name == "cpu" && !strings.Contains(top, "busyHandler") {
			t.Errorf("cpu profile does not show busyHandler:\n%s", top)
		}
	}
}

func TestProfilesWithoutPprof(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(busyHandler))
	t.Cleanup(srv.Close)
	dir := filepath.Join(t.TempDir(), "pprof")

	warnings, err := Profiles(context.Background(), srv.URL, dir, time.Second, ProfileOptions{})
	if err != nil {
		t.Fatalf("Profiles: %v", err)
	}
	if got, want := len(warnings), 1+len(DefaultEndProfiles); got != want {
		t.Fatalf("got %d warnings, want %d: %q", got, want, warnings)
	}
	for _, w := range warnings {
		if !strings.Contains(w, "not a gzip'd pprof profile") {
			t.Errorf("warning %q does not say what was expected", w)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("dir %s exists (err %v); want no files written", dir, err)
	}
}

func TestProfilesUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more

	warnings, err := Profiles(context.Background(), url, t.TempDir(), time.Second,
		ProfileOptions{FetchTimeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("Profiles: %v", err)
	}
	if len(warnings) != 1+len(DefaultEndProfiles) || !strings.Contains(warnings[0], "pprof cpu") {
		t.Errorf("warnings: %q", warnings)
	}
}

func TestPprofURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:6060":              "http://127.0.0.1:6060/debug/pprof/",
		"http://127.0.0.1:6060/":             "http://127.0.0.1:6060/debug/pprof/",
		"http://h:1/debug/pprof":             "http://h:1/debug/pprof/",
		"https://h:1/admin/debug/pprof/?x=1": "https://h:1/admin/debug/pprof/",
	} {
		got, err := PprofURL(in)
		if err != nil || got != want {
			t.Errorf("PprofURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "127.0.0.1:6060", "ftp://h/", "http://", "::"} {
		if _, err := PprofURL(bad); err == nil || !strings.Contains(err.Error(), "pprof address") {
			t.Errorf("PprofURL(%q) error = %v, want a pprof address error", bad, err)
		}
	}
	if _, err := Profiles(context.Background(), "nope", t.TempDir(), time.Second, ProfileOptions{}); err == nil {
		t.Error("Profiles accepted a bad address")
	}
}

func TestSelfProfile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "self")
	s, err := StartSelfProfile(dir)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) {
		busyHandler(httptest.NewRecorder(), nil)
	}
	warnings := s.Stop()
	names := DefaultSelfEndProfiles
	if len(warnings) == 0 {
		names = append([]string{"cpu"}, names...)
	} else if len(warnings) != 1 || !strings.Contains(warnings[0], "cpu") {
		// Only a CPU profile already running (go test -cpuprofile) may warn.
		t.Errorf("warnings: %q", warnings)
	}
	for _, name := range names {
		pprofTop(t, filepath.Join(dir, ProfileFile(name)))
	}
}

// TestSelfProfileMutexAndBlock checks that --self-profile writes mutex and
// block profiles, as --pprof fetches them from a target, that blocking in
// the window is in them (the rates are on), and that Stop turns the rates
// back.
func TestSelfProfileMutexAndBlock(t *testing.T) {
	prevMutex := runtime.SetMutexProfileFraction(-1)
	dir := filepath.Join(t.TempDir(), "self")
	s, err := StartSelfProfile(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := runtime.SetMutexProfileFraction(-1); got != SelfMutexProfileFraction {
		t.Errorf("mutex profile fraction while profiling = %d, want %d", got, SelfMutexProfileFraction)
	}
	// A blocking receive longer than the block profile rate: always sampled.
	<-time.After(5 * time.Duration(SelfBlockProfileRate))
	s.Stop()

	for _, name := range []string{"mutex", "block"} {
		pprofTop(t, filepath.Join(dir, ProfileFile(name)))
	}
	out, err := exec.Command("go", "tool", "pprof", "-traces", filepath.Join(dir, ProfileFile("block"))).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool pprof -traces: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "TestSelfProfileMutexAndBlock") {
		t.Errorf("the block profile misses the test's 5ms blocking receive:\n%s", out)
	}

	if got := runtime.SetMutexProfileFraction(-1); got != prevMutex {
		t.Errorf("mutex profile fraction after Stop = %d, want %d as before", got, prevMutex)
	}
	// After Stop blocking is no longer recorded: a new blocking receive
	// (another stack) adds no record.
	before := rpprof.Lookup("block").Count()
	<-time.After(5 * time.Duration(SelfBlockProfileRate))
	if after := rpprof.Lookup("block").Count(); after != before {
		t.Errorf("block profile records %d -> %d after Stop: the rate is still on", before, after)
	}
}
