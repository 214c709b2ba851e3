package harness

import (
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/perf-tools/perf/internal/statsd"
	"github.com/perf-tools/perf/results"
)

// The publisher's lines for a warm-up interval and a measured one, as they
// reach a UDP socket at Close.
func TestStatsdPublishesIntervals(t *testing.T) {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	c, err := statsd.New(statsd.Options{Addr: pc.LocalAddr().String(), Prefix: "p", FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	pub := NewStatsd(c)
	start := time.Unix(1700000000, 0)
	hist := func(ds ...time.Duration) *results.Interval {
		h := results.NewHistogram()
		for _, d := range ds {
			results.Record(h, d)
		}
		return &results.Interval{Corrected: h}
	}
	warm := hist(time.Millisecond)
	warm.Start, warm.End, warm.Warmup, warm.Intended = start, start.Add(time.Second), true, 1
	pub.Interval(*warm, IntervalCounts{StatusCodes: map[string]int64{"200": 1}})
	iv := hist(2*time.Millisecond, 3*time.Millisecond, 4*time.Millisecond)
	iv.Start, iv.End = start.Add(time.Second), start.Add(1500*time.Millisecond)
	iv.Intended, iv.Unsent, iv.Failures, iv.Errors = 6, 1, 1, 2
	pub.Interval(*iv, IntervalCounts{
		StatusCodes: map[string]int64{"200": 2, "503": 1},
		ErrorKinds:  map[string]int64{KindRefused: 1},
		Retries:     1,
	})
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	var got []string
	buf := make([]byte, 65536)
	for range c.Stats().Datagrams {
		_ = pc.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, _, err := pc.ReadFromUDP(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, strings.Split(strings.TrimSuffix(string(buf[:n]), "\n"), "\n")...)
	}
	slices.Sort(got)
	// The histogram's values are its bucket's highest equivalents.
	want := []string{
		"p.errors:2|c", "p.failures.connection_refused:1|c", "p.intended:7|c",
		"p.latency.max:1.000447|ms", "p.latency.max:4.001791|ms",
		"p.latency.p50:1.000447|ms", "p.latency.p50:3.000319|ms",
		"p.latency.p90:1.000447|ms", "p.latency.p90:4.001791|ms",
		"p.latency.p99:1.000447|ms", "p.latency.p99:4.001791|ms",
		"p.latency.p99_9:1.000447|ms", "p.latency.p99_9:4.001791|ms",
		"p.rate.achieved:10|g", "p.rate.intended:12|g",
		"p.requests:6|c", "p.responses.200:3|c", "p.responses.503:1|c", "p.retries:1|c", "p.unsent:1|c",
		"p.warmup:0|g",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
