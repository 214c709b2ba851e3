package statsd

import (
	"testing"
	"time"
)

// benchClient's flusher never runs during a benchmark (it would take one
// of the cores the hot path is measured on): the benchmarks empty the queue
// themselves, outside the timed part or on a goroutine of their own.
func benchClient(b *testing.B, rate float64) *Client {
	c, err := New(Options{Addr: listen(b).LocalAddr().String(), Prefix: "bench", SampleRate: rate, FlushInterval: time.Hour, QueueSize: 1 << 16})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// empty discards the queued samples.
func (c *Client) empty() {
	for range len(c.queue) {
		<-c.queue
	}
}

func BenchmarkCounterAdd(b *testing.B) {
	k := benchClient(b, 1).Counter("requests")
	b.ReportAllocs()
	for b.Loop() {
		k.Add(1)
	}
}

func BenchmarkCounterAddParallel(b *testing.B) {
	k := benchClient(b, 1).Counter("requests")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k.Add(1)
		}
	})
}

// BenchmarkTimerObserve measures a sample that is enqueued (or, at 0.1,
// mostly not drawn): the queue is emptied, untimed, before it fills.
func BenchmarkTimerObserve(b *testing.B) {
	for _, rate := range []float64{1, 0.1} {
		b.Run(rateName(rate), func(b *testing.B) {
			c := benchClient(b, rate)
			tm := c.Timer("latency")
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				tm.Observe(12345 * time.Microsecond)
				if n++; n == 1<<15 {
					b.StopTimer()
					c.empty()
					n = 0
					b.StartTimer()
				}
			}
			if c.Dropped() != 0 {
				b.Fatalf("%d samples dropped: the benchmark measured the full queue", c.Dropped())
			}
		})
	}
}

// BenchmarkTimerObserveParallel measures Observe from GOMAXPROCS
// goroutines while another empties the queue as fast as it can (enqueue:
// the samples contend for the queue's lock with each other and with the
// reader), and with the queue full (full: the drop path).
func BenchmarkTimerObserveParallel(b *testing.B) {
	for _, rate := range []float64{1, 0.1} {
		b.Run(rateName(rate)+"/enqueue", func(b *testing.B) {
			c := benchClient(b, rate)
			tm := c.Timer("latency")
			stop, done := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(done)
				for {
					select {
					case <-c.queue:
					case <-stop:
						return
					}
				}
			}()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					tm.Observe(12345 * time.Microsecond)
				}
			})
			b.StopTimer()
			close(stop)
			<-done
			b.ReportMetric(float64(c.Dropped())/float64(b.N), "dropped/op")
		})
		b.Run(rateName(rate)+"/full", func(b *testing.B) {
			c := benchClient(b, rate)
			tm := c.Timer("latency")
			for len(c.queue) < cap(c.queue) {
				c.queue <- sample{tm, 0}
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					tm.Observe(12345 * time.Microsecond)
				}
			})
		})
	}
}

func rateName(r float64) string {
	if r == 1 {
		return "rate=1"
	}
	return "rate=0.1"
}

// BenchmarkFlushLine measures the flusher's side, off the hot path: one
// queued timer sample through datadog-go's formatting and batching and the
// transport's rewriting onto a UDP socket, per line.
func BenchmarkFlushLine(b *testing.B) {
	pc := listen(b)
	c, err := New(Options{Addr: pc.LocalAddr().String(), Prefix: "bench", SampleRate: 0.1, FlushInterval: time.Hour, QueueSize: 1000})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	tm := c.Timer("latency")
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for len(c.queue) < cap(c.queue) {
			c.queue <- sample{tm, 12345 * time.Microsecond}
		}
		b.StartTimer()
		c.drain()
		_ = c.dd.Flush()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*cap(c.queue)), "ns/line")
}
