package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/perf-tools/perf/results"
	"github.com/perf-tools/perf/results/resultstest"
)

// perf runs the CLI in-process and returns its exit code, stdout and stderr.
func perf(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// onlyRunDir returns the one run directory under parent.
func onlyRunDir(t *testing.T, parent string) string {
	t.Helper()
	entries, err := os.ReadDir(parent)
	if err != nil || len(entries) != 1 {
		t.Fatalf("want one run directory in %s, got %v (%v)", parent, entries, err)
	}
	return filepath.Join(parent, entries[0].Name())
}

func readRunJSON(t *testing.T, dir string) *results.Run {
	t.Helper()
	r, err := results.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// metricSum sums the samples of a Prometheus counter in the text exposition
// served at url.
func metricSum(t *testing.T, url, name string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

// TestAttackServeEndToEnd attacks a real perf serve process, seeded and
// listening on port 0, with random keys, and checks the run directory
// against what the server counted and against the reference HdrHistogram
// reader.
func TestAttackServeEndToEnd(t *testing.T) {
	pub, admin := startServe(t, 1000)
	out := t.TempDir()
	code, stdout, stderr := perf(t, "attack",
		"--url", pub+"/v1/items/{key}", "--keys", "uniform:1000",
		"--rate", "300", "--duration", "2s", "--warmup", "1s",
		"--name", "e2e", "--out-dir", out, "--output", "json",
		"--slo", "p99<=2s", "--slo", "errors<=0",
		// The test machine is shared: a generous lag bound keeps a noisy
		// neighbour from invalidating the run; TestAttackExitCodes covers
		// invalid runs.
		"--max-lag", "1s", "--min-achieved", "50")
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	dir := onlyRunDir(t, out)
	for _, f := range []string{results.RunFile, results.HlogFile, results.TimelineFile} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: missing or empty (%v)", f, err)
		}
	}
	run := readRunJSON(t, dir)

	// --output json prints exactly run.json.
	onDisk, _ := os.ReadFile(filepath.Join(dir, results.RunFile))
	if strings.TrimSpace(stdout) != strings.TrimSpace(string(onDisk)) {
		t.Errorf("stdout is not run.json:\n%s\n---\n%s", stdout, onDisk)
	}
	if !run.Valid || run.Interrupted || run.Errors != 0 || run.StatusCodes["200"] != run.Requests {
		t.Errorf("valid %v (%v) interrupted %v errors %d codes %v", run.Valid, run.InvalidReasons, run.Interrupted, run.Errors, run.StatusCodes)
	}
	if len(run.SLO) != 2 || !run.SLO[0].OK || !run.SLO[1].OK {
		t.Errorf("slo verdicts %+v", run.SLO)
	}

	// Everything sent, warm-up included, is in the log; the server counted
	// the same requests.
	lg, err := results.ReadHlogFile(filepath.Join(dir, results.HlogFile))
	if err != nil {
		t.Fatal(err)
	}
	all := lg.Total(results.TagCorrected, true).TotalCount()
	measured := lg.Total(results.TagCorrected, false)
	served := metricSum(t, admin+"/metrics", "perf_serve_requests_total")
	if float64(all) != served || all != 900 {
		t.Errorf("hlog holds %d requests, server counted %v; want 900 each (3s at 300/s)", all, served)
	}
	if measured.TotalCount() != run.Requests {
		t.Errorf("hlog measured window holds %d, run.json requests %d", measured.TotalCount(), run.Requests)
	}
	if got := results.Summarize(measured); got != run.Latency.Corrected {
		t.Errorf("hlog corrected percentiles %+v != run.json %+v", got, run.Latency.Corrected)
	}

	// The reference Java reader reads the log, and agrees with run.json.
	java := resultstest.JavaTotals(t, filepath.Join(dir, results.HlogFile), results.TagCorrected, run.WarmupS)
	if java.Count != run.Requests {
		t.Errorf("java counts %d requests after the warm-up, run.json %d", java.Count, run.Requests)
	}
	// run.json's percentiles follow the reference rule (nearest rank, the
	// highest value equivalent to it), so Java's must match them to its
	// printed precision.
	c := run.Latency.Corrected
	for name, pair := range map[string][2]float64{
		"p50": {java.P50, c.P50}, "p90": {java.P90, c.P90}, "p99": {java.P99, c.P99}, "max": {java.Max, c.Max},
	} {
		if math.Abs(pair[0]-pair[1]) > 0.0011 {
			t.Errorf("%s: java %.4fms, ours %.4fms", name, pair[0], pair[1])
		}
	}
}

// stallServer answers at once, except that requests arriving in the second
// second after its first request are held until that second ends: a one
// second stall, as a stop-the-world pause or a failover makes.
func stallServer(t *testing.T) *httptest.Server {
	var (
		once  sync.Once
		first time.Time
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		once.Do(func() { first = now })
		stallStart, stallEnd := first.Add(time.Second), first.Add(2*time.Second)
		if now.After(stallStart) && now.Before(stallEnd) {
			time.Sleep(time.Until(stallEnd))
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestAttackCoordinatedOmission checks that a one second stall in the middle
// of a constant-rate run shows in corrected latency whatever the workers.
//
// Corrected latency is measured from each request's intended send time: the
// hundred requests due during the stall wait up to a second, so the corrected
// p99 is close to the stall. What service time shows depends on the workers:
// with one worker, only the request in flight when the stall began waited,
// and the ones due meanwhile were sent late but answered fast, so the service
// p99 stays small: this is the coordinated omission that hides stalls in
// tools that time from the actual send. With enough workers every request
// goes out on time, waits for the stall, and service time shows it too.
func TestAttackCoordinatedOmission(t *testing.T) {
	for _, tc := range []struct {
		name          string
		workers       []string
		serviceStalls bool
	}{
		{"one worker", []string{"--workers", "1", "--max-workers", "1"}, false},
		{"many workers", []string{"--workers", "4", "--max-workers", "200"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := stallServer(t)
			out := t.TempDir()
			args := append([]string{"attack", "--url", srv.URL + "/", "--rate", "100", "--duration", "3s",
				"--out-dir", out, "--output", "json", "--max-lag", "1s", "--min-achieved", "50"}, tc.workers...)
			code, stdout, stderr := perf(t, args...)
			if code != exitOK && code != exitInvalid {
				t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
			}
			run := readRunJSON(t, onlyRunDir(t, out))
			if p99 := run.Latency.Corrected.P99; p99 < 850 || p99 > 1100 {
				t.Errorf("corrected p99 = %.1fms, want close to the 1000ms stall", p99)
			}
			svc := run.Latency.Service.P99
			if tc.serviceStalls && svc < 850 {
				t.Errorf("service p99 = %.1fms: with enough workers every stalled request waited", svc)
			}
			if !tc.serviceStalls && svc > 100 {
				t.Errorf("service p99 = %.1fms: with one worker only one request was in flight during the stall", svc)
			}
			if run.Requests != 300 {
				t.Errorf("requests = %d, want 300", run.Requests)
			}
		})
	}
}

func TestAttackExitCodes(t *testing.T) {
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer fast.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
		io.WriteString(w, "ok")
	}))
	defer slow.Close()

	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"slo passes", []string{"--url", fast.URL, "--slo", "p99<=5s", "--slo", "errors<=0"}, exitOK, ""},
		{"slo fails", []string{"--url", fast.URL, "--slo", "max<=1us"}, exitGate, ""},
		// One worker against a 50ms server holds 20/s of the planned 100/s:
		// the generator could not keep the plan, so the run is invalid even
		// though the SLO passes.
		{"invalid run", []string{"--url", slow.URL, "--rate", "100", "--workers", "1", "--max-workers", "1", "--slo", "p99<=1h"}, exitInvalid, ""},
		{"bad rate", []string{"--url", fast.URL, "--rate", "fast"}, exitUsage, `rate "fast"`},
		{"bad slo", []string{"--url", fast.URL, "--slo", "p99 < soon"}, exitUsage, "p99 < soon"},
		{"bad keys", []string{"--url", fast.URL + "/{key}", "--keys", "normal:10"}, exitUsage, `keys "normal:10"`},
		{"key without keys", []string{"--url", fast.URL + "/{key}"}, exitUsage, "--keys"},
		{"no target", []string{}, exitUsage, "no target"},
		{"bad url", []string{"--url", "ftp://x/"}, exitUsage, `scheme "ftp"`},
		{"missing targets file", []string{"--targets", "/nonexistent/targets.txt"}, exitUsage, "/nonexistent/targets.txt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			args := append([]string{"attack", "--rate", "50", "--duration", "1s", "--out-dir", out, "--max-lag", "1s", "--min-achieved", "50"}, tc.args...)
			code, stdout, stderr := perf(t, args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
			if tc.msg != "" && !strings.Contains(stderr, tc.msg) {
				t.Errorf("stderr does not name %q:\n%s", tc.msg, stderr)
			}
			if tc.code == exitUsage {
				if entries, _ := os.ReadDir(out); len(entries) != 0 {
					t.Errorf("a usage error left a run directory: %v", entries)
				}
			}
			if tc.code == exitInvalid {
				run := readRunJSON(t, onlyRunDir(t, out))
				if run.Valid || len(run.InvalidReasons) == 0 || !strings.Contains(run.InvalidReasons[0], "achieved rate") {
					t.Errorf("valid %v reasons %v", run.Valid, run.InvalidReasons)
				}
				if !strings.Contains(stdout, "INVALID") {
					t.Errorf("the summary does not say INVALID:\n%s", stdout)
				}
			}
		})
	}
}

// TestAttackTargetsFile reads a vegeta http-format targets file from stdin.
func TestAttackTargetsFile(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen[r.Method+" "+r.URL.Path+" "+r.Header.Get("X-Test")+" "+string(body)]++
		mu.Unlock()
	}))
	defer srv.Close()
	targets := "GET " + srv.URL + "/a\nX-Test: one\n\nPOST " + srv.URL + "/b\nX-Test: two\n@" +
		writeFile(t, "body.json", `{"k":1}`) + "\n"
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"attack", "--targets", "-", "--rate", "100", "--duration", "1s", "--out-dir", out, "--max-lag", "1s", "--min-achieved", "50"},
		strings.NewReader(targets), &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	if seen["GET /a one "] != 50 || seen[`POST /b two {"k":1}`] != 50 {
		t.Errorf("server saw %v; want 50 of each target", seen)
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAttackInterrupt sends SIGINT to a real perf attack process: the run
// ends early and still leaves a complete run directory, marked interrupted.
func TestAttackInterrupt(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	out := t.TempDir()
	cmd := exec.Command(perfBinary(t), "attack", "--url", srv.URL, "--rate", "200", "--duration", "60s",
		"--out-dir", out, "--output", "json", "--progress")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// Wait until the attack has started and closed its first interval
	// (--progress writes a line, beginning with a carriage return, as each
	// one closes), so the run has a measured second to keep.
	rd := bufio.NewReader(stderr)
	line, err := rd.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "attacking ") {
		t.Fatalf("first stderr line %q (%v)", line, err)
	}
	if _, err := rd.ReadString('\r'); err != nil {
		t.Fatalf("no progress line: %v", err)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { io.Copy(io.Discard, rd); done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("perf attack did not stop within 20s of SIGINT")
	}
	if code := cmd.ProcessState.ExitCode(); code != exitInvalid {
		t.Fatalf("exit %d (%v), want %d", code, err, exitInvalid)
	}
	dir := onlyRunDir(t, out)
	run := readRunJSON(t, dir)
	if !run.Interrupted || run.Valid || run.Requests < 100 || run.Requests > 600 {
		t.Errorf("interrupted %v valid %v requests %d", run.Interrupted, run.Valid, run.Requests)
	}
	var printed results.Run
	if err := json.Unmarshal(stdout.Bytes(), &printed); err != nil || !printed.Interrupted {
		t.Errorf("stdout is not the interrupted run.json: %v\n%s", err, stdout.String())
	}
	lg, err := results.ReadHlogFile(filepath.Join(dir, results.HlogFile))
	if err != nil {
		t.Fatalf("latency.hlog of an interrupted run: %v", err)
	}
	if n := lg.Total(results.TagCorrected, false).TotalCount(); n != run.Requests {
		t.Errorf("hlog holds %d requests, run.json %d", n, run.Requests)
	}
}

// cancelOnProgress cancels a context at the first progress line written to
// it: handed perf as its stderr (with --progress), it interrupts an attack
// once its first interval has closed.
type cancelOnProgress struct {
	bytes.Buffer
	cancel context.CancelFunc
}

func (w *cancelOnProgress) Write(p []byte) (int, error) {
	if bytes.HasPrefix(p, []byte("\r")) {
		w.cancel()
	}
	return w.Buffer.Write(p)
}

// TestAttackSaysWhatFailed checks that failures are explained where a user
// looks: the verdict first in the summary, each error kind's first message
// (and a hint) on stderr and in run.json, warnings in the text summary; that
// a run where most requests failed does not exit 0; and that an interrupt
// in the warm-up reports an empty window, never a negative one.
func TestAttackSaysWhatFailed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/"
	ln.Close()
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer plain.Close()
	notFound := httptest.NewServer(http.NotFoundHandler()) // a target without pprof
	defer notFound.Close()

	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{"closed port", []string{"--url", closed}, exitGate,
			[]string{"verdict       MOST REQUESTS FAILED: 25 of 25 (100%): connection refused=25", "p50                   -        -"},
			[]string{"perf: 25 requests failed: connection refused (first: dial tcp", "perf: hint: nothing accepts connections"}},
		{"self-signed certificate", []string{"--url", tlsSrv.URL}, exitGate,
			[]string{"error kinds   tls certificate=25"},
			[]string{"x509: certificate signed by unknown authority", "--insecure skips verification"}},
		{"pprof missing", []string{"--url", plain.URL, "--pprof", notFound.URL}, exitOK,
			[]string{"verdict       VALID", "warnings", "404 Not Found"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			args := append([]string{"attack", "--rate", "50", "--duration", "500ms", "--out-dir", out, "--max-lag", "1s"}, tc.args...)
			code, stdout, stderr := perf(t, args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
			if !strings.HasPrefix(stdout, "Run ") || !strings.Contains(strings.SplitN(stdout, "\n", 3)[1], "verdict") {
				t.Errorf("the summary does not open with the verdict:\n%s", stdout)
			}
			for _, want := range tc.stdout {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
			for _, want := range tc.stderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			run := readRunJSON(t, onlyRunDir(t, out))
			for kind := range run.ErrorKinds {
				if run.ErrorMessages[kind] == "" {
					t.Errorf("run.json has no message for %q: %v", kind, run.ErrorMessages)
				}
			}
		})
	}

	t.Run("interrupt in the warm-up", func(t *testing.T) {
		out := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		stderr := &cancelOnProgress{cancel: cancel}
		var stdout bytes.Buffer
		code := run(ctx, []string{"attack", "--url", plain.URL, "--rate", "50", "--warmup", "5s", "--duration", "5s", "--out-dir", out, "--progress"},
			strings.NewReader(""), &stdout, stderr)
		if code != exitInvalid {
			t.Fatalf("exit %d, want %d\n%s\n%s", code, exitInvalid, stdout.String(), stderr.String())
		}
		dir := onlyRunDir(t, out)
		r := readRunJSON(t, dir)
		if !r.Interrupted || r.DurationS != 0 || r.Requests != 0 || !strings.Contains(strings.Join(r.InvalidReasons, ";"), "interrupted during the warm-up") {
			t.Errorf("interrupted %v duration_s %v requests %d reasons %v", r.Interrupted, r.DurationS, r.Requests, r.InvalidReasons)
		}
		// Whatever was logged is warm-up, marked once.
		raw, err := os.ReadFile(filepath.Join(dir, results.HlogFile))
		if err != nil {
			t.Fatal(err)
		}
		lg, err := results.ReadHlogFile(filepath.Join(dir, results.HlogFile))
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(raw), "warmup_end"); len(lg.Intervals[results.TagLag]) == 0 || n != 1 || lg.Total(results.TagLag, false).TotalCount() != 0 {
			t.Errorf("%d warm-up markers, %d measured requests in latency.hlog; want 1 and 0:\n%s", n, lg.Total(results.TagLag, false).TotalCount(), raw)
		}
		if !strings.Contains(stdout.String(), "duration      0s (+5s warm-up)") {
			t.Errorf("summary:\n%s", stdout.String())
		}
	})

	t.Run("a shard names itself", func(t *testing.T) {
		out := t.TempDir()
		if code, stdout, stderr := perf(t, "attack", "--url", plain.URL, "--rate", "50", "--duration", "200ms", "--shard", "2/3", "--out-dir", out, "--max-lag", "1s"); code != exitOK {
			t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
		}
		if dir := onlyRunDir(t, out); !strings.HasSuffix(dir, "-shard-2") || readRunJSON(t, dir).Name != "shard-2" {
			t.Errorf("run directory %s, want one named shard-2", dir)
		}
	})
}
