package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/perf-tools/perf/internal/statsd/statsdtest"
)

// statsdSent reads how many metric lines perf attack says it sent.
var statsdSent = regexp.MustCompile(`perf: statsd: (\d+) metrics in (\d+) datagrams written to `)

// TestAttackStatsd attacks a server that answers one request in ten with
// 503 and publishes the run to Etsy's own daemon: the counters it
// aggregates equal run.json's counts.
func TestAttackStatsd(t *testing.T) {
	d := statsdtest.Start(t)
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%10 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	out := t.TempDir()
	code, stdout, stderr := perf(t, "attack", "--url", srv.URL, "--rate", "100", "--duration", "2s", "--out-dir", out,
		"--max-lag", "1s", "--min-achieved", "50", "--statsd", d.Addr, "--statsd-prefix", "perf.e2e")
	if code != exitOK && code != exitGate { // most requests did not fail; a gate cannot fail without SLOs
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	m := statsdSent.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("stderr does not say what went to StatsD:\n%s", stderr)
	}
	lines, _ := strconv.ParseUint(m[1], 10, 64)
	a := d.Wait(t, lines)
	run := readRunJSON(t, onlyRunDir(t, out))
	if run.Requests != 200 || run.StatusCodes["503"] != 20 {
		t.Fatalf("run.json: %d requests, status codes %v; want 200, 20 of them 503", run.Requests, run.StatusCodes)
	}
	if a.BadLines != 0 || a.Lines != float64(lines) {
		t.Errorf("the daemon read %v lines, %v bad; perf sent %d", a.Lines, a.BadLines, lines)
	}
	for name, want := range map[string]int64{
		"perf.e2e.requests":      run.Requests,
		"perf.e2e.responses.200": run.StatusCodes["200"],
		"perf.e2e.responses.503": run.StatusCodes["503"],
		"perf.e2e.errors":        run.Errors,
		"perf.e2e.intended":      run.Requests + run.Unsent,
	} {
		if got := a.Counters[name]; got != float64(want) {
			t.Errorf("counter %s: the daemon has %v, run.json says %d", name, got, want)
		}
	}
	// One sample per second of the run for each percentile.
	for _, p := range []string{"p50", "p90", "p99", "p99_9", "max"} {
		if got := a.TimerSamples["perf.e2e.latency."+p]; got != 2 {
			t.Errorf("timer latency.%s: %d samples, want one per interval, 2", p, got)
		}
	}
	if g := a.Gauges["perf.e2e.rate.intended"]; g != 100 {
		t.Errorf("gauge rate.intended %v, want 100", g)
	}
	if g, ok := a.Gauges["perf.e2e.warmup"]; !ok || g != 0 {
		t.Errorf("gauge warmup %v (sent: %v), want 0", g, ok)
	}
}

func TestAttackStatsdFlags(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	// Nothing listens at dead: the daemon is down.
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	dead := pc.LocalAddr().String()
	pc.Close()
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"daemon down", []string{"--statsd", dead}, exitOK, "perf: statsd: "},
		{"no port", []string{"--statsd", "localhost"}, exitUsage, `--statsd: statsd address "localhost": want HOST:PORT`},
		{"bad prefix", []string{"--statsd", "127.0.0.1:8125", "--statsd-prefix", "perf attack"}, exitUsage, `statsd prefix "perf attack"`},
		{"prefix alone", []string{"--statsd-prefix", "perf.x"}, exitUsage, "--statsd-prefix: give --statsd HOST:PORT too"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"attack", "--url", srv.URL, "--rate", "20", "--duration", "1s", "--out-dir", t.TempDir(), "--max-lag", "1s", "--min-achieved", "50"}, tc.args...)
			code, stdout, stderr := perf(t, args...)
			if code != tc.code || !strings.Contains(stderr, tc.msg) {
				t.Errorf("exit %d, want %d with %q on stderr\nstdout:\n%s\nstderr:\n%s", code, tc.code, tc.msg, stdout, stderr)
			}
		})
	}
}
