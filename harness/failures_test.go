package harness

import (
	"bufio"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perf-tools/perf/internal/testenv"
	"github.com/perf-tools/perf/results"
)

// rawServer is a real HTTP/1.1 server on 127.0.0.1 that misbehaves on
// purpose. It reads each request whole (so it counts every request that
// reached it, as a server's access log would) and hands it to answer with
// the request's global number (from 1) and its number on its connection
// (from 1). answer writes the response, or returns false to close the
// connection.
type rawServer struct {
	addr     string
	received atomic.Int64
}

func startRawServer(t *testing.T, answer func(w *bufio.Writer, r *http.Request, n, onConn int64) bool) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				br, bw := bufio.NewReader(c), bufio.NewWriter(c)
				for onConn := int64(1); ; onConn++ {
					r, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					if _, err := io.Copy(io.Discard, r.Body); err != nil {
						return
					}
					if !answer(bw, r, s.received.Add(1), onConn) || bw.Flush() != nil {
						return
					}
				}
			}()
		}
	}()
	return s
}

// attackFor runs a short attack at 500/s for 1s (500 hits) at targets.
func attackFor(t *testing.T, targets *Targets, tweak func(*Options)) *Outcome {
	t.Helper()
	o := Options{Targets: targets, Rate: Rate{Freq: 500, Per: time.Second}, Duration: time.Second, Timeout: 2 * time.Second, Workers: 8}
	if tweak != nil {
		tweak(&o)
	}
	out, err := Attack(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func urlTargets(t *testing.T, url string, ro RequestOptions) *Targets {
	t.Helper()
	if ro.Method == "" {
		ro.Method = http.MethodGet
	}
	ro.KeepAlive = true
	tg, err := NewURLTargets(url, nil, ro)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// A response cut short after its headers is a failure of its own kind,
// never retried: the server saw every request exactly once, and perf
// counts every answer it cut short.
func TestTruncatedBodyIsAnError(t *testing.T) {
	var cut atomic.Int64
	srv := startRawServer(t, func(w *bufio.Writer, _ *http.Request, n, _ int64) bool {
		if n%10 == 0 {
			cut.Add(1)
			w.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + strings.Repeat("x", 50))
			w.Flush()
			return false
		}
		w.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
		return true
	})
	out := attackFor(t, urlTargets(t, "http://"+srv.addr+"/", RequestOptions{}), nil)
	if got := srv.received.Load(); got != 500 || out.Requests != 500 {
		t.Errorf("server received %d requests, perf sent %d; want the plan's 500 each, nothing sent twice", got, out.Requests)
	}
	if out.Errors != cut.Load() || out.ErrorKinds[KindTruncatedBody] != cut.Load() || out.StatusCodes["200"] != 500-cut.Load() {
		t.Errorf("errors %d kinds %v codes %v; the server cut %d answers short", out.Errors, out.ErrorKinds, out.StatusCodes, cut.Load())
	}
	if out.Retries != 0 {
		t.Errorf("retries %d, want 0", out.Retries)
	}
	if out.Corrected.TotalCount() != 500-cut.Load() {
		t.Errorf("%d latencies recorded, want one per response (%d)", out.Corrected.TotalCount(), 500-cut.Load())
	}
	if m := out.ErrorMessages[KindTruncatedBody]; !strings.Contains(m, "cut short") {
		t.Errorf("first message %q", m)
	}
}

// closeServer closes, without answering, every 20th request that is not
// the first on its connection: as a server closing an idle kept-alive
// connection at the moment a request arrives.
func closeServer(t *testing.T) (*rawServer, *atomic.Int64) {
	var closed atomic.Int64
	srv := startRawServer(t, func(w *bufio.Writer, _ *http.Request, n, onConn int64) bool {
		if n%20 == 0 && onConn > 1 {
			closed.Add(1)
			return false
		}
		w.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		return true
	})
	return srv, &closed
}

// Only what net/http would resend is resent: a GET, or a request with an
// idempotency key; a POST that got no answer is a failure, counted, and the
// server processes it once. Every resend is counted.
func TestRetryOnlyWhatIsReplayable(t *testing.T) {
	t.Run("POST", func(t *testing.T) {
		srv, closed := closeServer(t)
		out := attackFor(t, urlTargets(t, "http://"+srv.addr+"/", RequestOptions{Method: http.MethodPost, Body: []byte("{}")}), nil)
		// On a loaded machine the window may end before every hit is sent:
		// the server must have received exactly the POSTs sent.
		if got := srv.received.Load(); got != out.Requests || out.Requests+out.Unsent != 500 {
			t.Errorf("server received %d POSTs, perf sent %d and left %d unsent of the plan's 500; want none sent twice", got, out.Requests, out.Unsent)
		}
		if closed.Load() == 0 || out.Errors != closed.Load() || out.ErrorKinds[KindClosed] != closed.Load() || out.Retries != 0 {
			t.Errorf("errors %d kinds %v retries %d; the server closed %d connections on a request", out.Errors, out.ErrorKinds, out.Retries, closed.Load())
		}
	})
	for _, tc := range []struct {
		name string
		ro   RequestOptions
	}{
		{"GET", RequestOptions{}},
		{"POST with an idempotency key", RequestOptions{Method: http.MethodPost, Body: []byte("{}"), Header: http.Header{"Idempotency-Key": {"k1"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, closed := closeServer(t)
			out := attackFor(t, urlTargets(t, "http://"+srv.addr+"/", tc.ro), nil)
			if closed.Load() == 0 || out.Errors != 0 || out.Retries != closed.Load() {
				t.Errorf("errors %d retries %d; want 0 errors and one retry for each of the %d closes", out.Errors, out.Retries, closed.Load())
			}
			if got := srv.received.Load(); got != out.Requests+out.Retries || out.Requests+out.Unsent != 500 {
				t.Errorf("server received %d requests, perf sent %d and left %d unsent of the plan's 500; want those sent plus the %d retries", got, out.Requests, out.Unsent, out.Retries)
			}
		})
	}
}

// TLS failures have kinds of their own and keep their message.
func TestTLSFailures(t *testing.T) {
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes fail on purpose
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	plain := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	short := func(o *Options) { o.Rate = Rate{Freq: 50, Per: time.Second}; o.Duration = 200 * time.Millisecond }
	for _, tc := range []struct {
		name, url string
		insecure  bool
		kind, msg string
	}{
		{"self-signed", tlsSrv.URL, false, KindTLSCertificate, "x509: certificate signed by unknown authority"},
		{"self-signed, insecure", tlsSrv.URL, true, "", ""},
		{"https to plain HTTP", strings.Replace(plain.URL, "http://", "https://", 1), true, KindTLSPlainHTTP, "tls: first record does not look like a TLS handshake"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := attackFor(t, urlTargets(t, tc.url, RequestOptions{Insecure: tc.insecure}), short)
			if tc.kind == "" {
				if out.Errors != 0 || out.StatusCodes["200"] != 10 {
					t.Errorf("errors %d %v codes %v, want 10 answers", out.Errors, out.ErrorMessages, out.StatusCodes)
				}
				return
			}
			if out.Errors != 10 || out.ErrorKinds[tc.kind] != 10 || !strings.Contains(out.ErrorMessages[tc.kind], tc.msg) {
				t.Errorf("errors %d kinds %v messages %v; want 10 of kind %q saying %q", out.Errors, out.ErrorKinds, out.ErrorMessages, tc.kind, tc.msg)
			}
		})
	}
}

// A request that got no response has no latency: against a closed port
// every request fails, and the latency histograms stay empty while the
// send lag of every request is kept.
func TestFailuresHaveNoLatency(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	short := func(o *Options) { o.Rate = Rate{Freq: 100, Per: time.Second}; o.Duration = 500 * time.Millisecond }
	out := attackFor(t, urlTargets(t, "http://"+addr+"/", RequestOptions{}), short)
	if out.Requests != 50 || out.Errors != 50 || out.ErrorKinds[KindRefused] != 50 || !strings.Contains(out.ErrorMessages[KindRefused], "connection refused") {
		t.Errorf("requests %d errors %d kinds %v messages %v", out.Requests, out.Errors, out.ErrorKinds, out.ErrorMessages)
	}
	if out.Corrected.TotalCount() != 0 || out.Service.TotalCount() != 0 || out.Lag.TotalCount() != 50 {
		t.Errorf("histogram counts corrected %d service %d lag %d; want 0, 0, 50", out.Corrected.TotalCount(), out.Service.TotalCount(), out.Lag.TotalCount())
	}
}

// A slow answer to a request due in the warm-up belongs to the warm-up,
// whenever it arrives: the measured window holds exactly the plan's hits.
func TestWarmupDoesNotLeak(t *testing.T) {
	var n atomic.Int64
	srv := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1)%5 == 0 {
			time.Sleep(150 * time.Millisecond)
		}
		w.Write([]byte("ok"))
	}))
	// Interval histograms are reused once the callback returns: keep counts.
	var sent, latencies, slowest []int64
	out := attackFor(t, urlTargets(t, srv.URL+"/", RequestOptions{}), func(o *Options) {
		o.Rate = Rate{Freq: 100, Per: time.Second}
		o.Warmup, o.Duration = time.Second, time.Second
		o.Workers = 32
		o.OnInterval = func(iv results.Interval) error {
			sent = append(sent, iv.Sent())
			latencies = append(latencies, iv.Corrected.TotalCount())
			slowest = append(slowest, iv.Corrected.Max())
			return nil
		}
	})
	if out.Requests != 100 || out.Unsent != 0 || out.Corrected.TotalCount() != 100 {
		t.Errorf("measured %d requests (%d unsent, %d latencies); want exactly the plan's 100", out.Requests, out.Unsent, out.Corrected.TotalCount())
	}
	if len(sent) != 2 || sent[0] != 100 || latencies[0] != 100 {
		t.Fatalf("intervals sent %v with %v latencies; want 2 of 100 each", sent, latencies)
	}
	// The warm-up interval holds its slow answers, even those that ended
	// after the window began.
	if slowest[0] < int64(150*time.Millisecond) {
		t.Errorf("warm-up interval max %v, want its slow answers", time.Duration(slowest[0]))
	}
}

// When the window ends, sending stops: against a target that cannot keep
// up, the hits not sent by then are counted as never sent, not sent late.
func TestDurationBoundsTheRun(t *testing.T) {
	srv := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(100 * time.Millisecond)
		w.Write([]byte("ok"))
	}))
	out := attackFor(t, urlTargets(t, srv.URL+"/", RequestOptions{}), func(o *Options) {
		o.Rate = Rate{Freq: 200, Per: time.Second}
		o.Workers, o.MaxWorkers = 4, 4
	})
	// Four workers at 100ms a request send about 40 of the 200.
	if out.Requests+out.Unsent != 200 || out.Unsent < 100 || out.Requests > 100 {
		t.Errorf("sent %d, unsent %d; want about 40 sent and the rest of the plan's 200 unsent", out.Requests, out.Unsent)
	}
	if out.Exhausted == 0 {
		t.Errorf("the full pool was never seen exhausted")
	}
	if reasons := DefaultHealth().Check(out); !strings.Contains(strings.Join(reasons, "\n"), "never sent") {
		t.Errorf("reasons %q, want the unsent hits named", reasons)
	}
}

// An interrupt during the warm-up leaves an empty measured window.
func TestInterruptDuringWarmup(t *testing.T) {
	srv := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, err := Attack(ctx, Options{
		Targets: urlTargets(t, srv.URL+"/", RequestOptions{}), Rate: Rate{Freq: 100, Per: time.Second},
		Warmup: 5 * time.Second, Duration: 5 * time.Second, Interval: 100 * time.Millisecond,
		OnInterval: func(results.Interval) error { cancel(); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if !out.Interrupted || out.Window != 0 || out.Requests != 0 || out.Achieved() != 0 || out.Lag.TotalCount() != 0 {
		t.Errorf("interrupted %v window %v requests %d achieved %v; want an empty window", out.Interrupted, out.Window, out.Requests, out.Achieved())
	}
}

// A target whose latency steps from 1ms to 150ms mid-run, at a rate the
// generator carries, needs ten times the
// workers it starts with: the pool grows ahead of demand, so no hit waits
// for a free worker and hits are sent on time, and the step shows in
// corrected latency. A pool that grew only once hits were late kept every
// worker busy for 190-300ms and sent hits 12-35ms late (lag p99). Timing is
// judged only when the test process itself got the CPU it asked for: on a
// machine busy with other tests its goroutines wait to run, and hits are
// late whatever the pool; the pool's growth and the step are judged always.
// It runs in make e2e, alone and without the race detector: under it, with
// other packages' tests beside it, the test's own goroutines waited up to
// 0.8ms to run and hits were sent 7ms late (lag p99) with the pool ahead.
func TestE2EPoolKeepsUpWithALatencyStep(t *testing.T) {
	testenv.SkipUnderRace(t)
	var slow atomic.Bool
	srv := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if slow.Load() {
			time.Sleep(150 * time.Millisecond)
		} else {
			time.Sleep(time.Millisecond)
		}
		w.Write([]byte("ok"))
	}))
	var p50s []float64
	var waits schedGauge
	waits.p99() // from now on
	out := attackFor(t, urlTargets(t, srv.URL+"/", RequestOptions{}), func(o *Options) {
		o.Rate = Rate{Freq: 500, Per: time.Second}
		o.Duration, o.Interval = 2*time.Second, 500*time.Millisecond
		o.Workers = 8
		o.OnInterval = func(iv results.Interval) error {
			p50s = append(p50s, results.Summarize(iv.Corrected).P50)
			slow.Store(true)
			return nil
		}
	})
	lag := results.SummarizeLag(out.Lag)
	// Quiet, the test's goroutines wait under a millisecond to run (p99:
	// 0.3-0.5ms here, 0.5-0.8ms under the race detector); on a machine
	// busy with other tests, 2ms and more.
	wait := waits.p99()
	starved := wait >= schedLate
	t.Logf("lag p99 %.3fms, %d workers, every worker busy for %v, the test's goroutines waited %v to run (p99)", lag.P99, out.Workers, out.AllBusy, wait)
	if out.Errors != 0 {
		t.Errorf("%d errors", out.Errors)
	}
	if !starved && (out.Unsent != 0 || out.AllBusy > 50*time.Millisecond || lag.P99 > float64(DefaultMaxLag)/1e6) {
		t.Errorf("unsent %d, every one of %d workers busy with hits due for %v, lag p99 %.3fms; want a pool ahead of demand and every hit sent on time",
			out.Unsent, out.Workers, out.AllBusy, lag.P99)
	}
	if out.Workers <= 75 {
		t.Errorf("%d workers; 500/s at 150ms needs 75 busy", out.Workers)
	}
	if len(p50s) != 4 || p50s[0] > 20 || p50s[3] < 150 {
		t.Errorf("corrected p50 by interval %v ms; want the step from about 1ms to 150ms", p50s)
	}
}
