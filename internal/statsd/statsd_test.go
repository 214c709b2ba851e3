package statsd

import (
	"errors"
	"fmt"
	"math"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

// listen returns a UDP socket on 127.0.0.1 at a port the kernel chose.
func listen(t testing.TB) *net.UDPConn {
	t.Helper()
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

// receive reads n datagrams from pc.
func receive(t *testing.T, pc *net.UDPConn, n uint64) []string {
	t.Helper()
	var got []string
	buf := make([]byte, 65536)
	for range n {
		_ = pc.SetReadDeadline(time.Now().Add(10 * time.Second))
		m, _, err := pc.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("after %d of %d datagrams: %v", len(got), n, err)
		}
		got = append(got, string(buf[:m]))
	}
	return got
}

// quiet returns options whose flusher never ticks during a test: only
// flush calls and Close send.
func quiet(addr string) Options {
	return Options{Addr: addr, Prefix: "perf.test", FlushInterval: time.Hour}
}

// datadog-go turns these into tags or fields of its own; the datagrams must
// stay plain StatsD whatever the environment says.
func setDatadogEnv(t *testing.T) {
	for k, v := range map[string]string{
		"DD_ENV": "prod", "DD_SERVICE": "perf", "DD_VERSION": "1.2", "DD_ENTITY_ID": "pod-1",
		"DD_CARDINALITY": "high", "DD_EXTERNAL_ENV": "it-false,cn-perf,pu-x", "DD_ORIGIN_DETECTION_ENABLED": "true",
	} {
		t.Setenv(k, v)
	}
}

func TestDatagramBytes(t *testing.T) {
	setDatadogEnv(t)
	pc := listen(t)
	c, err := New(quiet(pc.LocalAddr().String()))
	if err != nil {
		t.Fatal(err)
	}
	requests := c.Counter("requests")
	status := c.Counter(Name("status", "200"))
	variant := c.Counter(Name("variant", "v1.2: fast|new"))
	latency := c.Timer("latency")
	inFlight := 7.0
	c.Gauge("in_flight", func() float64 { return inFlight })
	c.Gauge("broken", func() float64 { return math.NaN() })

	requests.Add(3)
	status.Add(2)
	variant.Add(1)
	latency.Observe(12345 * time.Microsecond)
	latency.Observe(1500 * time.Nanosecond)
	c.flush()
	requests.Add(2)
	inFlight = -1.5
	c.flush()
	c.flush() // nothing changed: only the gauge
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	s := c.Stats()
	got := receive(t, pc, s.Datagrams)
	want := []string{
		"perf.test.requests:3|c\nperf.test.status.200:2|c\nperf.test.variant.v1_2__fast_new:1|c\n" +
			"perf.test.in_flight:7|g\nperf.test.latency:12.345000|ms\nperf.test.latency:0.001500|ms\n",
		"perf.test.requests:2|c\nperf.test.in_flight:0|g\nperf.test.in_flight:-1.5|g\n",
		"perf.test.in_flight:0|g\nperf.test.in_flight:-1.5|g\n",
		"perf.test.in_flight:0|g\nperf.test.in_flight:-1.5|g\n", // Close's final flush
	}
	if strings.Join(got, "~") != strings.Join(want, "~") {
		t.Errorf("datagrams:\n%q\nwant:\n%q", got, want)
	}
	if s.Lines != 13 || s.SendErrors != 0 || s.Dropped != 0 {
		t.Errorf("stats %+v: want 13 lines, no errors, no drops", s)
	}
}

func TestSampledTimerBytes(t *testing.T) {
	setDatadogEnv(t)
	pc := listen(t)
	o := quiet(pc.LocalAddr().String())
	o.SampleRate = 0.1
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	tm := c.Timer("latency")
	for range 2000 {
		tm.Observe(12345 * time.Microsecond)
	}
	c.Counter("requests").Add(2000)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	s := c.Stats()
	var lines []string
	for _, d := range receive(t, pc, s.Datagrams) {
		if len(d) > MaxPayload {
			t.Errorf("datagram of %d bytes, above %d", len(d), MaxPayload)
		}
		lines = append(lines, strings.Split(strings.TrimSuffix(d, "\n"), "\n")...)
	}
	if lines[0] != "perf.test.requests:2000|c" {
		t.Errorf("first line %q: want the counter, unsampled", lines[0])
	}
	for _, l := range lines[1:] {
		if l != "perf.test.latency:12.345000|ms|@0.1" {
			t.Fatalf("line %q: want perf.test.latency:12.345000|ms|@0.1", l)
		}
	}
	// 2000 draws at 0.1: 200 expected, sd 13.4; 100 and 300 are 7.5 sd away.
	if n := len(lines) - 1; n < 100 || n > 300 {
		t.Errorf("%d of 2000 samples sent at rate 0.1", n)
	}
}

// Batches stay below the MTU with the rate appended, and hold many lines.
func TestDatagramsBelowMTU(t *testing.T) {
	pc := listen(t)
	o := quiet(pc.LocalAddr().String())
	o.SampleRate = 0.999999
	o.QueueSize = 5000
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	tm := c.Timer(Name("a-rather-long-timer-name", "with", "several", "levels"))
	// In rounds that the receiving socket's buffer holds.
	var got []string
	for i := range 5000 {
		tm.Observe(time.Duration(i) * time.Microsecond)
		if i%500 == 499 {
			c.flush()
			got = append(got, receive(t, pc, c.Stats().Datagrams-uint64(len(got)))...)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	s := c.Stats()
	lines, size := 0, 0
	line := regexp.MustCompile(`^perf\.test\.a-rather-long-timer-name\.with\.several\.levels:[0-9.]+\|ms\|@0\.999999$`)
	for _, d := range got {
		if len(d) > MaxPayload {
			t.Errorf("datagram of %d bytes, above %d", len(d), MaxPayload)
		}
		size += len(d)
		for _, l := range strings.Split(strings.TrimSuffix(d, "\n"), "\n") {
			if !line.MatchString(l) {
				t.Fatalf("line %q", l)
			}
			lines++
		}
	}
	if uint64(lines) != s.Lines || s.Dropped != 0 || s.SendErrors != 0 {
		t.Errorf("%d lines received; stats %+v", lines, s)
	}
	// Each round's datagrams but its last are full but for room left for
	// the rate on short lines: about 85% with these lines.
	if fill := float64(size) / float64(len(got)*MaxPayload); fill < 0.6 {
		t.Errorf("%d datagrams for %d bytes: %.0f%% full, want 60%% or more", len(got), size, 100*fill)
	}
}

func TestQueueFullDrops(t *testing.T) {
	pc := listen(t)
	o := quiet(pc.LocalAddr().String())
	o.QueueSize = 4
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	tm := c.Timer("latency")
	for range 10 {
		tm.Observe(time.Millisecond)
	}
	if got := c.Dropped(); got != 6 {
		t.Errorf("Dropped() = %d after 10 samples into a queue of 4; want 6", got)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.Lines != 4 || s.Dropped != 6 {
		t.Errorf("stats %+v: want 4 lines sent, 6 dropped", s)
	}
}

func TestCounterSameName(t *testing.T) {
	c, err := New(quiet(listen(t).LocalAddr().String()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	k1, k2, t1, t2 := c.Counter("a.b"), c.Counter("a.b"), c.Timer("t"), c.Timer("t")
	if k1 != k2 || t1 != t2 {
		t.Error("the same name gave two metrics")
	}
	if got := c.Counter("a:b..c|d").name; got != "perf.test.a_b._.c_d" {
		t.Errorf("counter name %q", got)
	}
}

// The sampler keeps each sample with probability SampleRate. Of n = 40,000
// draws at p = 0.25 the number kept K is binomial (mean 10,000, variance
// np(1-p) = 7,500); by Bernstein's inequality
// P(|K - np| >= t) <= 2 exp(-t^2 / (2(np(1-p) + t/3))), which for t = 800
// is below 1e-16.
func TestSampleRate(t *testing.T) {
	o := quiet(listen(t).LocalAddr().String())
	o.SampleRate, o.QueueSize = 0.25, 40000
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tm := c.Timer("t")
	for range 40000 {
		tm.Observe(time.Millisecond)
	}
	if k := len(c.queue); math.Abs(float64(k)-10000) >= 800 {
		t.Errorf("kept %d of 40000 at rate 0.25; want 10000 +- 800", k)
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{}, `statsd address "": want HOST:PORT`},
		{Options{Addr: "localhost"}, `statsd address "localhost": want HOST:PORT`},
		{Options{Addr: ":8125"}, `statsd address ":8125": want HOST:PORT with a host`},
		{Options{Addr: "localhost:http"}, `statsd address "localhost:http": port "http": want a number from 1 to 65535`},
		{Options{Addr: "localhost:0"}, `port "0"`},
		{Options{Addr: "localhost:70000"}, `port "70000"`},
		{Options{Addr: "127.0.0.1:8125", Prefix: "perf..serve"}, `statsd prefix "perf..serve": want dot-separated parts`},
		{Options{Addr: "127.0.0.1:8125", Prefix: "perf serve"}, `statsd prefix "perf serve"`},
		{Options{Addr: "127.0.0.1:8125", Prefix: "perf."}, `statsd prefix "perf."`},
		{Options{Addr: "127.0.0.1:8125", SampleRate: 1.5}, `statsd sample rate 1.5: want a share above 0, at most 1`},
		{Options{Addr: "127.0.0.1:8125", SampleRate: -0.1}, `statsd sample rate -0.1`},
		{Options{Addr: "127.0.0.1:8125", SampleRate: math.NaN()}, `statsd sample rate NaN`},
		{Options{Addr: "127.0.0.1:8125", FlushInterval: time.Millisecond}, `statsd flush interval 1ms: want at least 10ms`},
		{Options{Addr: "127.0.0.1:8125", QueueSize: -1}, `statsd queue size -1: want at least 1`},
	} {
		c, err := New(tc.o)
		if err == nil {
			c.Close()
			t.Errorf("New(%+v): no error, want %q", tc.o, tc.want)
		} else if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v): %v\nwant it to contain %q", tc.o, err, tc.want)
		}
	}
}

// A daemon that is down fails nothing: the hot path never waits on the
// network, and what could not be sent is counted.
func TestDeadAddress(t *testing.T) {
	pc := listen(t)
	addr := pc.LocalAddr().String()
	pc.Close() // nothing listens there now: the kernel refuses datagrams
	c, err := New(quiet(addr))
	if err != nil {
		t.Fatal(err)
	}
	k, tm := c.Counter("requests"), c.Timer("latency")
	for range 3 {
		k.Add(1)
		tm.Observe(time.Millisecond)
		c.flush()
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	// The first datagram draws the ICMP refusal, the next ones fail with it.
	if s := c.Stats(); s.SendErrors == 0 || s.Datagrams+s.SendErrors != 3 {
		t.Errorf("stats %+v: want some of the 3 datagrams refused, and counted", s)
	}
}

// A name that does not resolve fails nothing either. The resolver is
// replaced, so that the test sends no DNS query.
func TestUnresolvedAddress(t *testing.T) {
	c, err := New(quiet("statsd.example:8125"))
	if err != nil {
		t.Fatalf("New with a name that does not resolve: %v; want no error", err)
	}
	c.tr.dial = func(network, addr string, timeout time.Duration) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: "statsd.example", IsNotFound: true}}
	}
	c.Counter("requests").Add(1)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.SendErrors != 1 || s.Datagrams != 0 {
		t.Errorf("stats %+v: want the one datagram counted as not sent", s)
	}
}

func TestName(t *testing.T) {
	for _, tc := range []struct {
		parts []string
		want  string
	}{
		{[]string{"status", "200"}, "status.200"},
		{[]string{"variant", "compact v1.2"}, "variant.compact_v1_2"},
		{[]string{"a:b|c@d#e/f"}, "a_b_c_d_e_f"},
		{[]string{"x", ""}, "x._"},
		{[]string{"é-ok_9"}, "_-ok_9"},
		{nil, ""},
	} {
		if got := Name(tc.parts...); got != tc.want {
			t.Errorf("Name(%q) = %q, want %q", tc.parts, got, tc.want)
		}
	}
}

func TestPlain(t *testing.T) {
	in := "a:1|c|#env:prod,service:x|c:abc|card:high\nb:2.5|ms|#env:prod|e:it-false\nc:3|g|T1700000000\n\nd:4|ms\n"
	got := plain(nil, []byte(in), []byte("|@0.5"))
	want := "a:1|c\nb:2.5|ms|@0.5\nc:3|g\nd:4|ms|@0.5\n"
	if string(got) != want {
		t.Errorf("plain(%q) = %q; want %q", in, got, want)
	}
}

func ExampleName() {
	fmt.Println(Name("responses", "200"))
	fmt.Println(Name("variant", "compact v1.2"))
	// Output:
	// responses.200
	// variant.compact_v1_2
}

// Close returns after CloseTimeout even when the final flush cannot end (a
// resolver that hangs), and the flusher ends once its dial gives up.
func TestCloseBounded(t *testing.T) {
	c, err := New(quiet("statsd.example:8125"))
	if err != nil {
		t.Fatal(err)
	}
	hang := make(chan struct{})
	c.tr.dial = func(network, addr string, timeout time.Duration) (net.Conn, error) {
		<-hang
		return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("timed out")}
	}
	c.Counter("requests").Add(1)
	if err := c.Close(); !errors.Is(err, ErrCloseTimeout) {
		t.Fatalf("Close with a hung dial: %v; want ErrCloseTimeout", err)
	}
	close(hang)
	<-c.done
	if s := c.Stats(); s.SendErrors != 1 {
		t.Errorf("stats %+v: want the datagram counted as not sent", s)
	}
}

// A batch of lines shorter than minLine grows past MaxPayload once the rate
// is appended to each; the transport splits it at a line.
func TestShortLinesSplit(t *testing.T) {
	pc := listen(t)
	o := quiet(pc.LocalAddr().String())
	o.Prefix, o.SampleRate = "", 0.999999
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	tm := c.Timer("t")
	for range 500 {
		tm.Observe(time.Millisecond)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	s := c.Stats()
	lines := 0
	for _, d := range receive(t, pc, s.Datagrams) {
		if len(d) > MaxPayload || !strings.HasSuffix(d, "\n") {
			t.Errorf("datagram of %d bytes (at most %d), ending %q", len(d), MaxPayload, d[len(d)-10:])
		}
		for _, l := range strings.Split(strings.TrimSuffix(d, "\n"), "\n") {
			if l != "t:1.000000|ms|@0.999999" {
				t.Fatalf("line %q", l)
			}
			lines++
		}
	}
	if uint64(lines) != s.Lines || s.SendErrors != 0 || lines < 490 {
		t.Errorf("%d lines received; stats %+v", lines, s)
	}
}
