package capture

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/perf-tools/perf/results"
)

// Defaults for ProfileOptions.
const (
	// DefaultFetchTimeout bounds each end-of-window profile fetch, and is
	// the slack allowed beyond the window for the CPU profile.
	DefaultFetchTimeout = 10 * time.Second
	// DefaultMaxProfileBytes bounds a profile body; a bigger one is refused.
	DefaultMaxProfileBytes = 256 << 20
)

// DefaultEndProfiles are the profiles fetched at the end of the window.
var DefaultEndProfiles = []string{"heap", "allocs", "goroutine", "mutex", "block"}

// ProfileOptions configures Profiles. The zero value uses the defaults.
type ProfileOptions struct {
	// Client fetches the profiles; nil uses a fresh client with no
	// timeout of its own (each request is bounded by a context).
	Client *http.Client
	// EndProfiles are the profiles fetched at the end of the window; nil
	// means DefaultEndProfiles.
	EndProfiles []string
	// FetchTimeout is DefaultFetchTimeout when zero.
	FetchTimeout time.Duration
	// MaxBytes is DefaultMaxProfileBytes when zero.
	MaxBytes int64
}

// ProfileFile returns the file name Profiles and SelfProfile use for the
// profile name ("cpu" -> "cpu.pb.gz").
func ProfileFile(name string) string { return name + ".pb.gz" }

// PprofURL checks base, the address of a net/http/pprof server
// ("http://HOST:6060", or its "/debug/pprof/" page), and returns the URL
// that profile names are appended to. Commands call it when they parse
// flags, so a malformed address is a usage error before any load is sent.
func PprofURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("pprof address %q: %w", base, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("pprof address %q: want http://HOST:PORT (a net/http/pprof server)", base)
	}
	p := strings.TrimSuffix(u.Path, "/")
	if !strings.HasSuffix(p, "/debug/pprof") {
		p += "/debug/pprof"
	}
	u.Path = p + "/"
	u.RawQuery, u.Fragment = "", ""
	return u.String(), nil
}

// Profiles captures the target's profiles into dir: a CPU profile covering
// window, asked for at once (call it right after warm-up), then, when the
// CPU profile has returned, DefaultEndProfiles (or opts.EndProfiles), each
// saved as dir/NAME.pb.gz. It blocks for about window plus the end fetches.
//
// A profile that cannot be fetched, is not a gzip'd profile or cannot be
// written is a warning (one string naming the profile and the cause), never
// an error: the run goes on without it. dir is created only when a profile
// is written. If ctx ends during the CPU profile, that profile is lost (a
// warning) and the end profiles are still fetched, each bounded by
// FetchTimeout. The error is only for bad arguments.
func Profiles(ctx context.Context, baseURL, dir string, window time.Duration, opts ProfileOptions) (warnings []string, err error) {
	prefix, err := PprofURL(baseURL)
	if err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, errors.New("pprof: no output directory")
	}
	if window <= 0 {
		return nil, fmt.Errorf("pprof: window %v, want > 0", window)
	}
	f := newFetcher(opts)
	secs := int64(math.Ceil(window.Seconds()))
	cpuCtx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+f.timeout)
	if w := f.save(cpuCtx, prefix+"profile?seconds="+strconv.FormatInt(secs, 10), dir, "cpu"); w != "" {
		warnings = append(warnings, w)
	}
	cancel()
	names := opts.EndProfiles
	if names == nil {
		names = DefaultEndProfiles
	}
	// The end profiles describe the target after the load: fetch them even
	// when the run was interrupted, each within its own bound.
	endCtx := context.WithoutCancel(ctx)
	for _, name := range names {
		c, cancel := context.WithTimeout(endCtx, f.timeout)
		if w := f.save(c, prefix+name+"?debug=0", dir, name); w != "" {
			warnings = append(warnings, w)
		}
		cancel()
	}
	return warnings, nil
}

type fetcher struct {
	client  *http.Client
	timeout time.Duration
	max     int64
}

func newFetcher(opts ProfileOptions) *fetcher {
	f := &fetcher{client: opts.Client, timeout: opts.FetchTimeout, max: opts.MaxBytes}
	if f.client == nil {
		f.client = &http.Client{}
	}
	if f.timeout <= 0 {
		f.timeout = DefaultFetchTimeout
	}
	if f.max <= 0 {
		f.max = DefaultMaxProfileBytes
	}
	return f
}

// save fetches one profile and writes it; it returns a warning, or "".
func (f *fetcher) save(ctx context.Context, u, dir, name string) string {
	body, err := f.fetch(ctx, u)
	if err != nil {
		return fmt.Sprintf("pprof %s: %v", name, err)
	}
	if err := writeFileAtomic(dir, ProfileFile(name), body); err != nil {
		return fmt.Sprintf("pprof %s: %v", name, err)
	}
	return ""
}

func (f *fetcher) fetch(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", u, err)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.max+1))
	if err != nil {
		return nil, fmt.Errorf("get %s: read body: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get %s: %s: %s", u, resp.Status, snippet(body))
	}
	if int64(len(body)) > f.max {
		return nil, fmt.Errorf("get %s: profile larger than %d bytes", u, f.max)
	}
	if err := checkProfile(body); err != nil {
		return nil, fmt.Errorf("get %s: %w", u, err)
	}
	return body, nil
}

// checkProfile reports whether b is a complete gzip stream, as every
// profile in the pprof (protobuf) format is.
func checkProfile(b []byte) error {
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		return fmt.Errorf("not a gzip'd pprof profile (starts %q)", snippet(b))
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("not a gzip'd pprof profile: %w", err)
	}
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return fmt.Errorf("truncated or corrupt gzip'd pprof profile: %w", err)
	}
	return nil
}

// snippet returns the start of a body, for a warning.
func snippet(b []byte) string {
	const n = 120
	s := string(b)
	if len(s) > n {
		s = s[:n] + "..."
	}
	return strings.TrimSpace(strings.ToValidUTF8(s, "?"))
}

// writeFileAtomic writes dir/name (creating dir) so that a reader never sees
// half a profile.
func writeFileAtomic(dir, name string, b []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return results.WriteFileAtomic(filepath.Join(dir, name), b)
}

// DefaultSelfEndProfiles are the generator's own profiles written by
// SelfProfile.Stop: the ones Profiles fetches from a target.
var DefaultSelfEndProfiles = []string{"heap", "allocs", "goroutine", "mutex", "block"}

// Sampling rates of the mutex and block profiles while a SelfProfile runs.
// The runtime records neither by default; a generator is latency-sensitive,
// so both are sampled sparsely. Its blocking is of two kinds: waits for a
// hit's due time of 10ms and more (a select on a timer, at low rates: a few
// events a second per worker, each recorded whole) and contention on the
// recorder's lock lasting microseconds (sampled about once per millisecond
// of total waiting, a stack walk of a microsecond or two each).
const (
	// SelfMutexProfileFraction records one contended mutex unlock in 100
	// (runtime.SetMutexProfileFraction).
	SelfMutexProfileFraction = 100
	// SelfBlockProfileRate samples blocking events at one per millisecond
	// blocked: an event of 1ms or more always, a shorter one with a chance
	// of its duration over 1ms (runtime.SetBlockProfileRate, in
	// nanoseconds).
	SelfBlockProfileRate = int(time.Millisecond)
)

// SelfProfile profiles the running process (the load generator itself)
// with runtime/pprof: CPU from StartSelfProfile to Stop, mutex contention
// and blocking sampled over the same window (see SelfMutexProfileFraction
// and SelfBlockProfileRate), then DefaultSelfEndProfiles written at Stop,
// all into one directory.
type SelfProfile struct {
	dir      string
	cpu      *os.File
	warnings []string
	// prevMutex is the mutex profile fraction before Start, restored by
	// Stop.
	prevMutex int
}

// StartSelfProfile creates dir, starts the CPU profile into dir/cpu.pb.gz
// and turns on mutex and block profiling. Only one CPU profile can run in a
// process: if another is running (go test -cpuprofile, say), the CPU profile
// is skipped with a warning and the end profiles are still written. The
// error is for a dir that cannot be created.
func StartSelfProfile(dir string) (*SelfProfile, error) {
	if dir == "" {
		return nil, errors.New("self profile: no output directory")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	s := &SelfProfile{dir: dir}
	s.prevMutex = runtime.SetMutexProfileFraction(SelfMutexProfileFraction)
	runtime.SetBlockProfileRate(SelfBlockProfileRate)
	path := filepath.Join(dir, ProfileFile("cpu"))
	f, err := os.Create(path)
	if err != nil {
		s.warnings = append(s.warnings, fmt.Sprintf("self pprof cpu: %v", err))
		return s, nil
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		os.Remove(path)
		s.warnings = append(s.warnings, fmt.Sprintf("self pprof cpu: %v", err))
		return s, nil
	}
	s.cpu = f
	return s, nil
}

// Stop ends the CPU profile, writes the end profiles and returns the
// warnings of the whole capture. Then it sets the mutex profile fraction
// back to what it was, and the block profile rate to 0, off, the runtime's
// default (the runtime cannot tell what the rate was). Call it once, at the
// end of the window.
func (s *SelfProfile) Stop() []string {
	defer func() {
		runtime.SetMutexProfileFraction(s.prevMutex)
		runtime.SetBlockProfileRate(0)
	}()
	if s.cpu != nil {
		pprof.StopCPUProfile()
		if err := s.cpu.Close(); err != nil {
			s.warnings = append(s.warnings, fmt.Sprintf("self pprof cpu: write %s: %v", s.cpu.Name(), err))
		}
		s.cpu = nil
	}
	for _, name := range DefaultSelfEndProfiles {
		var buf bytes.Buffer
		p := pprof.Lookup(name)
		if p == nil {
			s.warnings = append(s.warnings, fmt.Sprintf("self pprof %s: no such profile", name))
			continue
		}
		if err := p.WriteTo(&buf, 0); err != nil {
			s.warnings = append(s.warnings, fmt.Sprintf("self pprof %s: %v", name, err))
			continue
		}
		if err := writeFileAtomic(s.dir, ProfileFile(name), buf.Bytes()); err != nil {
			s.warnings = append(s.warnings, fmt.Sprintf("self pprof %s: %v", name, err))
		}
	}
	w := s.warnings
	s.warnings = nil
	return w
}
