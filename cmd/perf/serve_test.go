package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/perf-tools/perf/hostmetrics"
	"github.com/perf-tools/perf/service"
)

// serveProc is a perf serve process started by a test.
type serveProc struct {
	t         *testing.T
	cmd       *exec.Cmd
	publicURL string
	adminURL  string

	mu     sync.Mutex
	stderr []string
	lines  chan string
	exited chan struct{}
	err    error // from Wait, valid once exited is closed
}

var (
	serveListenRE      = regexp.MustCompile(`^listening on (http://\S+)$`)
	serveAdminListenRE = regexp.MustCompile(`^admin listening on (http://\S+)$`)
)

// startServe starts the perf binary as "perf serve" on 127.0.0.1 port 0
// with extra args and env, and reads the bound addresses from its stderr.
// The process is killed at the end of the test if it is still running.
func startServeProc(t *testing.T, env []string, args ...string) *serveProc {
	t.Helper()
	return startServeProcBin(t, perfBinary(t), env, args...)
}

// startServeProcBin is startServeProc with the binary at bin.
func startServeProcBin(t *testing.T, bin string, env []string, args ...string) *serveProc {
	t.Helper()
	all := append([]string{"serve", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"}, args...)
	p := &serveProc{t: t, lines: make(chan string, 1000), exited: make(chan struct{})}
	p.cmd = exec.Command(bin, all...)
	p.cmd.Env = append(os.Environ(), env...)
	pipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			p.mu.Lock()
			p.stderr = append(p.stderr, sc.Text())
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		close(p.lines)
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// log returns everything the process wrote on stderr so far.
func (p *serveProc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.stderr, "\n")
}

// waitLine waits for a stderr line matching re and returns its submatches.
func (p *serveProc) waitLine(re *regexp.Regexp) []string {
	p.t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("perf serve exited before printing %q; stderr:\n%s", re, p.log())
			}
			if m := re.FindStringSubmatch(line); m != nil {
				return m
			}
		case <-timeout:
			p.t.Fatalf("perf serve did not print %q in 30s; stderr:\n%s", re, p.log())
		}
	}
}

// waitReady waits for the listening lines and the ready line.
func (p *serveProc) waitReady() {
	p.t.Helper()
	p.publicURL = p.waitLine(serveListenRE)[1]
	p.adminURL = p.waitLine(serveAdminListenRE)[1]
	p.waitLine(regexp.MustCompile(`^ready: `))
}

// wait waits for the process to exit and returns its exit code.
func (p *serveProc) wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(timeout):
		p.t.Fatalf("perf serve still running after %v; stderr:\n%s", timeout, p.log())
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		p.t.Fatalf("wait: %v", p.err)
	}
	return 0
}

func (p *serveProc) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
}

func httpGetBody(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, body
}

func TestServeEndToEnd(t *testing.T) {
	data := t.TempDir()
	p := startServeProc(t, nil, "--data", data, "--seed", "2000", "--value-size", "512")
	p.waitReady()

	if code, body := httpGetBody(t, p.adminURL+"/healthz"); code != 200 {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	if code, body := httpGetBody(t, p.adminURL+"/readyz"); code != 200 || !strings.Contains(string(body), "2000 items of 512 bytes") {
		t.Fatalf("/readyz: %d %q", code, body)
	}
	for _, id := range []uint64{0, 1, 1999} {
		want, _ := service.AppendDocument(nil, id, 512)
		code, body := httpGetBody(t, fmt.Sprintf("%s/v1/items/%d", p.publicURL, id))
		if code != 200 || !bytes.Equal(body, want) {
			t.Fatalf("item %d: %d %q, want 200 %q", id, code, body, want)
		}
	}
	if code, _ := httpGetBody(t, p.publicURL+"/v1/items/2000"); code != 404 {
		t.Errorf("item 2000 of 2000: %d, want 404", code)
	}
	if code, _ := httpGetBody(t, p.publicURL+"/v1/items/2x"); code != 400 {
		t.Errorf("item 2x: %d, want 400", code)
	}
	// The public listener serves items and nothing else.
	for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/heap", "/healthz", "/readyz"} {
		if code, _ := httpGetBody(t, p.publicURL+path); code != 404 {
			t.Errorf("public %s: %d, want 404", path, code)
		}
	}
	code, body := httpGetBody(t, p.adminURL+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`perf_serve_requests_total{code="200"} 3`,
		`perf_serve_requests_total{code="404"} 6`,
		`perf_serve_requests_total{code="400"} 1`,
		`perf_serve_request_duration_seconds_bucket{le="0.0001"}`,
		`perf_serve_request_duration_seconds_count 10`,
		`perf_serve_requests_in_flight 0`,
		`perf_serve_store_items 2000`,
		`go_gc_duration_seconds`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=1", "/debug/pprof/mutex?debug=1", "/debug/pprof/block?debug=1"} {
		if code, body := httpGetBody(t, p.adminURL+path); code != 200 || len(body) == 0 {
			t.Errorf("admin %s: %d with %d bytes", path, code, len(body))
		}
	}
	// The admin listener serves this host's samples for perf attack
	// --target-host-metrics; the public one does not.
	code, body = httpGetBody(t, p.adminURL+hostmetrics.Path)
	var sample map[string]any
	if err := json.Unmarshal(body, &sample); code != 200 || err != nil || len(sample) == 0 {
		t.Errorf("admin %s: %d %q (%v), want a JSON host sample", hostmetrics.Path, code, body, err)
	}
	if code, _ := httpGetBody(t, p.publicURL+hostmetrics.Path); code != 404 {
		t.Errorf("public %s: %d, want 404", hostmetrics.Path, code)
	}
	// The host's tuning drift is one line on stderr.
	if !regexp.MustCompile(`(?m)^tuning: server-latency: (ok|\d+ of \d+ settings drift \(perf tune check server-latency\)|cannot check this host: .+)$`).MatchString(p.log()) {
		t.Errorf("stderr lacks the tuning line:\n%s", p.log())
	}

	p.signal(syscall.SIGTERM)
	if code := p.wait(15 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0; stderr:\n%s", code, p.log())
	}
	if !strings.Contains(p.log(), "stopped") {
		t.Errorf("stderr does not say it stopped:\n%s", p.log())
	}
}

// TestServeSIGTERMUnderLoad keeps many requests in flight, sends SIGTERM, and
// checks that every answer that started arrived whole and the process exits 0.
func TestServeSIGTERMUnderLoad(t *testing.T) {
	const items, size = 500, 64 << 10
	p := startServeProc(t, nil, "--data", t.TempDir(), "--seed", fmt.Sprint(items), "--value-size", fmt.Sprint(size))
	p.waitReady()

	var ok, refused atomic.Int64
	errs := make(chan error, 64)
	var wg sync.WaitGroup
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			for i := 0; ; i++ {
				id := (g*97 + i) % items
				resp, err := client.Get(fmt.Sprintf("%s/v1/items/%d", p.publicURL, id))
				if err != nil {
					// After the shutdown starts, new connections are refused
					// and idle ones closed; those requests never started.
					if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) {
						refused.Add(1)
						return
					}
					errs <- fmt.Errorf("item %d: %w", id, err)
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || len(body) != size {
					errs <- fmt.Errorf("item %d: status %d, %d of %d bytes, %v: an answer was cut short", id, resp.StatusCode, len(body), size, err)
					return
				}
				ok.Add(1)
			}
		}(g)
	}
	// Let the load build up, then stop the server under it.
	deadline := time.Now().Add(20 * time.Second)
	for ok.Load() < 300 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	p.signal(syscall.SIGTERM)
	code := p.wait(20 * time.Second)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if code != 0 {
		t.Fatalf("exit code %d after SIGTERM under load, want 0; stderr:\n%s", code, p.log())
	}
	if ok.Load() < 300 {
		t.Fatalf("only %d requests succeeded before the deadline", ok.Load())
	}
	t.Logf("%d complete answers, %d requests refused after the shutdown began", ok.Load(), refused.Load())
	for _, want := range []string{"shutting down: draining in-flight requests", "stopped"} {
		if !strings.Contains(p.log(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, p.log())
		}
	}
}

// TestServeSecondInstance: perf serve holds its store read-only, so a
// second instance on the same data (two generations during a live upgrade)
// serves it too; one that must seed more waits for the first to let go,
// and fails fast, naming the store.
func TestServeSecondInstanceFailsFast(t *testing.T) {
	data := t.TempDir()
	first := startServeProc(t, nil, "--data", data, "--seed", "100")
	first.waitReady()

	shared := startServeProc(t, nil, "--data", data, "--seed", "100")
	shared.waitReady()
	wantDoc, _ := service.AppendDocument(nil, 99, service.DefaultValueSize)
	if code, body := httpGetBody(t, shared.publicURL+"/v1/items/99"); code != 200 || !bytes.Equal(body, wantDoc) {
		t.Fatalf("second perf serve on the same store: %d %q", code, body)
	}

	start := time.Now()
	second := startServeProc(t, nil, "--data", data, "--seed", "200")
	code := second.wait(20 * time.Second)
	if code != 1 {
		t.Fatalf("perf serve that must seed a store others serve: exit %d, want 1; stderr:\n%s", code, second.log())
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("it took %v to give up", d)
	}
	want := filepath.Join(data, "items.db")
	for _, s := range []string{want, "store is locked", "another perf serve probably holds it"} {
		if !strings.Contains(second.log(), s) {
			t.Errorf("its error lacks %q:\n%s", s, second.log())
		}
	}
	// The first one is unharmed.
	code, body := httpGetBody(t, first.publicURL+"/v1/items/99")
	if code != 200 || !bytes.Equal(body, wantDoc) {
		t.Fatalf("first server after the failed second: %d %q", code, body)
	}

	// A port already taken fails fast too, naming the flag.
	third := startServeProc(t, nil, "--data", t.TempDir(), "--addr", strings.TrimPrefix(first.publicURL, "http://"))
	if code := third.wait(20 * time.Second); code != 1 {
		t.Fatalf("perf serve on a taken port: exit %d, want 1; stderr:\n%s", code, third.log())
	}
	if !strings.Contains(third.log(), "(--addr)") || !strings.Contains(third.log(), "address already in use") {
		t.Errorf("port-in-use error is not clear:\n%s", third.log())
	}
}

func TestServeReseedAndEnvironment(t *testing.T) {
	data := t.TempDir()
	run := func(env []string, args ...string) *serveProc {
		t.Helper()
		p := startServeProc(t, env, append([]string{"--data", data}, args...)...)
		p.waitReady()
		p.signal(syscall.SIGINT)
		if code := p.wait(15 * time.Second); code != 0 {
			t.Fatalf("exit %d after SIGINT; stderr:\n%s", code, p.log())
		}
		return p
	}
	// Settings from the environment.
	p := run([]string{"PERF_SEED=10", "PERF_VALUE_SIZE=128"})
	if !strings.Contains(p.log(), "holds 10 items of 128 bytes") {
		t.Fatalf("PERF_SEED/PERF_VALUE_SIZE not applied:\n%s", p.log())
	}
	// A flag wins over the environment; only the missing items are added.
	p = run([]string{"PERF_SEED=10", "PERF_VALUE_SIZE=128"}, "--seed", "25")
	if !strings.Contains(p.log(), "items 10..24 of 128 bytes") || !strings.Contains(p.log(), "holds 25 items of 128 bytes") {
		t.Fatalf("--seed 25 over PERF_SEED=10 did not add items 10..24:\n%s", p.log())
	}
	// No --seed serves what is there.
	p = run(nil)
	if !strings.Contains(p.log(), "holds 25 items of 128 bytes") {
		t.Fatalf("restart without --seed:\n%s", p.log())
	}
	// Another value size is refused, and the store keeps what it had.
	bad := startServeProc(t, nil, "--data", data, "--seed", "30", "--value-size", "256")
	if code := bad.wait(15 * time.Second); code != 1 {
		t.Fatalf("reseed with another value size: exit %d, want 1; stderr:\n%s", code, bad.log())
	}
	if !strings.Contains(bad.log(), "store was seeded with another value size: it holds 25 items of 128 bytes, 256 bytes asked") {
		t.Fatalf("unclear value size mismatch:\n%s", bad.log())
	}
	p = run(nil)
	if !strings.Contains(p.log(), "holds 25 items of 128 bytes") {
		t.Fatalf("after the refused reseed:\n%s", p.log())
	}
}

// TestServeSIGTERMWhileSeeding stops a long seed: the process exits 0, the
// store keeps the batches it committed, and the next start serves them.
func TestServeSIGTERMWhileSeeding(t *testing.T) {
	data := t.TempDir()
	p := startServeProc(t, nil, "--data", data, "--seed", "50000000", "--value-size", "128")
	p.waitLine(regexp.MustCompile(`^seeding .*items 0\.\.49999999 of 128 bytes`))
	p.signal(syscall.SIGTERM)
	if code := p.wait(30 * time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM while seeding, want 0; stderr:\n%s", code, p.log())
	}
	if !strings.Contains(p.log(), "stopped while seeding") {
		t.Fatalf("stderr does not say the seed stopped:\n%s", p.log())
	}
	if strings.Contains(p.log(), "ready:") {
		t.Fatalf("reported ready although the seed did not finish:\n%s", p.log())
	}
	again := startServeProc(t, nil, "--data", data)
	again.waitReady()
	m := regexp.MustCompile(`holds (\d+) items of (\d+) bytes`).FindStringSubmatch(again.log())
	// A SIGTERM before the first batch committed leaves an empty store, of
	// no value size yet.
	if m == nil || (m[1] != "0" && m[2] != "128") {
		t.Fatalf("restart after an interrupted seed:\n%s", again.log())
	}
	if m[1] != "0" {
		code, body := httpGetBody(t, again.publicURL+"/v1/items/0")
		want, _ := service.AppendDocument(nil, 0, 128)
		if code != 200 || !bytes.Equal(body, want) {
			t.Fatalf("item 0 after an interrupted seed: %d %q", code, body)
		}
	}
	again.signal(syscall.SIGTERM)
	if code := again.wait(15 * time.Second); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, again.log())
	}
}

func TestServeDataDirNotWritable(t *testing.T) {
	if os.Geteuid() == 0 {
		// Root writes anywhere; /proc refuses new directories even to root.
		p := startServeProc(t, nil, "--data", "/proc/perf-serve-test")
		if code := p.wait(15 * time.Second); code != 1 {
			t.Fatalf("exit %d, want 1; stderr:\n%s", code, p.log())
		}
		if !strings.Contains(p.log(), "create data directory /proc/perf-serve-test (--data)") {
			t.Fatalf("unclear error:\n%s", p.log())
		}
		return
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	p := startServeProc(t, nil, "--data", dir)
	if code := p.wait(15 * time.Second); code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, p.log())
	}
	if !strings.Contains(p.log(), "data directory "+dir+" (--data) is not writable") {
		t.Fatalf("unclear error:\n%s", p.log())
	}
}

func TestServeLogTuning(t *testing.T) {
	for _, root := range []string{"", "/", filepath.Join(t.TempDir(), "no-such-root")} {
		var lines []string
		logTuning(root, func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) })
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "tuning: server-latency: ") {
			t.Errorf("root %q: logged %q, want one tuning line", root, lines)
		}
	}
}

// TestServeRawHTTP checks the public listener of a real perf serve with
// raw HTTP/1.1: pipelined requests answered in order, and the timeouts
// flags applied.
func TestServeRawHTTP(t *testing.T) {
	p := startServeProc(t, nil, "--data", t.TempDir(), "--seed", "100", "--value-size", "128", "--idle-timeout", "200ms")
	p.waitReady()
	c, err := net.Dial("tcp", strings.TrimPrefix(p.publicURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(c, "GET /v1/items/1 HTTP/1.1\r\nHost: x\r\n\r\nHEAD /v1/items/2 HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/items/100 HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	for i, want := range []struct {
		method string
		code   int
	}{{"GET", 200}, {"HEAD", 200}, {"GET", 404}} {
		resp, err := http.ReadResponse(br, &http.Request{Method: want.method})
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != want.code || resp.ContentLength <= 0 {
			t.Fatalf("response %d: %d, Content-Length %d; want %d", i, resp.StatusCode, resp.ContentLength, want.code)
		}
	}
	// --idle-timeout 200ms: the kept connection is closed soon after.
	if b, err := br.ReadByte(); err == nil {
		t.Fatalf("read %q from an idle connection, want it closed", b)
	} else if !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection: %v, want EOF", err)
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(15 * time.Second); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, p.log())
	}
}
