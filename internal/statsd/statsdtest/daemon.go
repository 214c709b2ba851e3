package statsdtest

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/perf-tools/perf/internal/testenv"
)

// EnvJS names the environment variable that gives the path of the
// daemon's stats.js, before Paths.
const EnvJS = "PERF_STATSD_JS"

// Paths are where stats.js is looked for after $PERF_STATSD_JS; .ci/run
// installs the daemon at the first.
var Paths = []string{"/opt/perf-test/statsd/node_modules/statsd/stats.js"}

// FlushInterval is the daemon's flushInterval: how often it hands what it
// aggregated to the backend this package reads.
const FlushInterval = 100 * time.Millisecond

// waitFor bounds Start and Wait: far beyond what they take (a few flushes),
// for a machine busy with other tests.
const waitFor = 60 * time.Second

// probe is the counter Start sends until the daemon shows it: it is left
// out of every Aggregate.
const probe = "statsdtest.probe"

var (
	//go:embed backend.js
	backendJS []byte
	//go:embed udp.js
	udpJS []byte
)

// Aggregate is what the daemon aggregated since it started, summed over its
// flushes.
type Aggregate struct {
	// Counters sums each counter's flushed values (the daemon's own
	// statsd.* counters are in the fields below instead).
	Counters map[string]float64
	// TimerCounts sums each timer's count as the daemon reports it: each
	// sample counts 1/rate. TimerSamples counts the samples received.
	TimerCounts  map[string]float64
	TimerSamples map[string]int
	// Gauges holds each gauge's last value.
	Gauges map[string]float64
	// Lines counts the metric lines received (statsd.metrics_received,
	// less the probes), BadLines those it could not parse, Packets the
	// datagrams.
	Lines, BadLines, Packets float64
	// Flushes counts the flushes read.
	Flushes int
}

// Daemon is a running StatsD daemon.
type Daemon struct {
	// Addr is the UDP address metrics go to; MgmtAddr the management
	// interface's TCP address.
	Addr, MgmtAddr string

	cmd   *exec.Cmd
	probe net.Conn

	mu      sync.Mutex
	agg     Aggregate
	probes  float64
	flushed chan struct{} // closed and replaced at each flush
	ended   bool          // stdout closed: the daemon is gone
	log     []string      // the daemon's other output, last lines
}

// Find returns the path of stats.js and of node, or why they are absent.
func Find() (js, node string, err error) {
	node, err = exec.LookPath("node")
	if err != nil {
		return "", "", fmt.Errorf("node is not on the PATH (.ci/run uses the machine's node; apt-get install nodejs): %w", err)
	}
	paths := Paths
	if p := os.Getenv(EnvJS); p != "" {
		paths = []string{p}
	}
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, node, nil
		}
	}
	return "", "", fmt.Errorf("the StatsD daemon (Etsy's, npm package statsd) is not installed: no stats.js at %s (npm install --prefix /opt/perf-test/statsd statsd@0.9.0, as .ci/run does, or set %s)",
		strings.Join(paths, ", "), EnvJS)
}

// Start runs a daemon for the test and waits until it is ready. It skips
// the test when node or the daemon is absent (fails it under
// PERF_TEST_REQUIRE=statsd), and kills the daemon at the test's cleanup.
func Start(t testing.TB) *Daemon {
	t.Helper()
	js, node, err := Find()
	if err != nil {
		testenv.SkipOrFail(t, testenv.Statsd, err.Error())
		return nil
	}
	// The ports are free when picked and could be taken before the daemon
	// binds them; it then exits, and another pair is tried.
	var last error
	for range 3 {
		d, err := start(t, node, js)
		if err == nil {
			return d
		}
		last = err
	}
	t.Fatal(last)
	return nil
}

func start(t testing.TB, node, js string) (*Daemon, error) {
	dir := t.TempDir()
	backend, server := filepath.Join(dir, "backend.js"), filepath.Join(dir, "udp.js")
	if err := os.WriteFile(backend, backendJS, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(server, udpJS, 0o644); err != nil {
		return nil, err
	}
	udp, tcp, err := freePorts()
	if err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`{
  servers: [{server: %q, address: "127.0.0.1", port: %d}],
  mgmt_address: "127.0.0.1", mgmt_port: %d,
  flushInterval: %d,
  backends: [%q],
  automaticConfigReload: false
}
`, server, udp, tcp, FlushInterval.Milliseconds(), backend)
	config := filepath.Join(dir, "config.js")
	if err := os.WriteFile(config, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	d := &Daemon{
		Addr:     net.JoinHostPort("127.0.0.1", strconv.Itoa(udp)),
		MgmtAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp)),
		flushed:  make(chan struct{}),
		agg:      newAggregate(),
	}
	d.cmd = exec.Command(node, js, config)
	d.cmd.Dir = dir
	out, err := d.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	d.cmd.Stderr = d.cmd.Stdout
	if d.probe, err = net.Dial("udp", d.Addr); err != nil {
		return nil, err
	}
	if err := d.cmd.Start(); err != nil {
		d.probe.Close()
		return nil, fmt.Errorf("start %s %s: %w", node, js, err)
	}
	read := make(chan struct{})
	go func() {
		defer close(read)
		d.read(out)
	}()
	stop := func() {
		_ = d.cmd.Process.Kill()
		<-read
		_ = d.cmd.Wait()
		d.probe.Close()
	}
	// The probe goes out after each flush until the daemon shows it.
	deadline := time.After(waitFor)
	for {
		d.mu.Lock()
		ready, ended, flushed := d.probes > 0, d.ended, d.flushed
		d.mu.Unlock()
		switch {
		case ready:
			t.Cleanup(stop)
			return d, nil
		case ended:
			stop()
			return nil, fmt.Errorf("the StatsD daemon exited before it was ready:\n%s", d.output())
		}
		_, _ = d.probe.Write([]byte(probe + ":1|c"))
		select {
		case <-flushed:
		case <-deadline:
			stop()
			return nil, fmt.Errorf("the StatsD daemon was not ready after %s:\n%s", waitFor, d.output())
		}
	}
}

// freePorts returns a UDP and a TCP port on 127.0.0.1 that were free.
func freePorts() (udp, tcp int, err error) {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return 0, 0, err
	}
	defer pc.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	defer l.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port, l.Addr().(*net.TCPAddr).Port, nil
}

// flush is one line of backend.js.
type flush struct {
	Counters     map[string]float64 `json:"counters"`
	TimerCounts  map[string]float64 `json:"timer_counts"`
	TimerSamples map[string]int     `json:"timer_values"`
	Gauges       map[string]float64 `json:"gauges"`
}

// read takes the daemon's output until it ends: flushes into the
// aggregate, anything else into the log.
func (d *Daemon) read(out interface{ Read([]byte) (int, error) }) {
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<16), 1<<26)
	for sc.Scan() {
		line := sc.Text()
		body, ok := strings.CutPrefix(line, "STATSDTEST ")
		var f flush
		if ok {
			if err := json.Unmarshal([]byte(body), &f); err != nil {
				ok = false
				line = fmt.Sprintf("statsdtest: unreadable flush (%v): %s", err, line)
			}
		}
		d.mu.Lock()
		if ok {
			d.add(f)
			close(d.flushed)
			d.flushed = make(chan struct{})
		} else {
			d.log = append(d.log, line)
			if len(d.log) > 50 {
				d.log = d.log[1:]
			}
		}
		d.mu.Unlock()
	}
	d.mu.Lock()
	d.ended = true
	close(d.flushed)
	d.flushed = make(chan struct{})
	d.mu.Unlock()
}

func newAggregate() Aggregate {
	return Aggregate{Counters: map[string]float64{}, TimerCounts: map[string]float64{}, TimerSamples: map[string]int{}, Gauges: map[string]float64{}}
}

// add adds a flush; d.mu is held.
func (d *Daemon) add(f flush) {
	a := &d.agg
	a.Flushes++
	for k, v := range f.Counters {
		switch k {
		case probe:
			d.probes += v
		case "statsd.metrics_received":
			a.Lines += v
		case "statsd.bad_lines_seen":
			a.BadLines += v
		case "statsd.packets_received":
			a.Packets += v
		default:
			a.Counters[k] += v
		}
	}
	for k, v := range f.TimerCounts {
		a.TimerCounts[k] += v
	}
	for k, v := range f.TimerSamples {
		a.TimerSamples[k] += v
	}
	for k, v := range f.Gauges {
		if k != "statsd.timestamp_lag" {
			a.Gauges[k] = v
		}
	}
}

// snapshot returns a copy of the aggregate; d.mu is held.
func (d *Daemon) snapshot() Aggregate {
	a := d.agg
	a.Lines -= d.probes
	a.Counters = maps.Clone(a.Counters)
	a.TimerCounts = maps.Clone(a.TimerCounts)
	a.TimerSamples = maps.Clone(a.TimerSamples)
	a.Gauges = maps.Clone(a.Gauges)
	return a
}

// Aggregate returns what the daemon has flushed so far.
func (d *Daemon) Aggregate() Aggregate {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.snapshot()
}

// Wait returns the aggregate once the daemon has received and flushed at
// least lines metric lines besides the probes: the number a sender says it
// wrote. It fails the test when that does not happen in a minute, saying
// how many datagrams the kernel dropped at the daemon's socket.
func (d *Daemon) Wait(t testing.TB, lines uint64) Aggregate {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		d.mu.Lock()
		a, ended, flushed := d.snapshot(), d.ended, d.flushed
		d.mu.Unlock()
		if a.Lines >= float64(lines) {
			return a
		}
		if ended {
			t.Fatalf("the StatsD daemon exited after %v of %d lines:\n%s", a.Lines, lines, d.output())
		}
		select {
		case <-flushed:
		case <-deadline:
			t.Fatalf("the StatsD daemon received %v of %d lines in %s (the kernel dropped %s datagrams at its socket)\n%s",
				a.Lines, lines, waitFor, d.drops(), d.output())
		}
	}
}

// output is the daemon's last lines of output other than flushes.
func (d *Daemon) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Join(d.log, "\n")
}

// drops reads how many datagrams the kernel dropped at the daemon's UDP
// socket (its receive buffer full), from /proc/net/udp.
func (d *Daemon) drops() string {
	_, port, _ := net.SplitHostPort(d.Addr)
	p, _ := strconv.Atoi(port)
	data, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return "an unknown number of"
	}
	want := fmt.Sprintf("0100007F:%04X", p)
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 12 && f[1] == want {
			return f[len(f)-1]
		}
	}
	return "an unknown number of"
}
