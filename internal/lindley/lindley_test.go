package lindley

import (
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock a test sets.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func ms(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }

// admit admits one request at each arrival (offsets from t0) and returns
// the departures as offsets from t0.
func admit(t *testing.T, srv *Server, clk *fakeClock, arrivals []time.Duration) []time.Duration {
	t.Helper()
	var out []time.Duration
	for _, a := range arrivals {
		clk.t = t0.Add(a)
		gotA, d := srv.Admit()
		if !gotA.Equal(clk.t) {
			t.Fatalf("arrival %v, want %v", gotA.Sub(t0), a)
		}
		out = append(out, d.Sub(t0))
	}
	return out
}

func TestFixedRecursion(t *testing.T) {
	clk := &fakeClock{}
	srv := New(Fixed(ms(10)), WithClock(clk.now))
	// Three arrive together, one while they queue, one after an idle gap,
	// one behind it, one after another gap. Worked out by hand.
	arrivals := []time.Duration{0, 0, 0, ms(5), ms(40), ms(45), ms(100)}
	want := []time.Duration{ms(10), ms(20), ms(30), ms(40), ms(50), ms(60), ms(110)}
	if got := admit(t, srv, clk, arrivals); !slices.Equal(got, want) {
		t.Errorf("departures %v, want %v", got, want)
	}
	if srv.Arrived() != 7 || srv.Served() != 0 {
		t.Errorf("arrived %d, served %d", srv.Arrived(), srv.Served())
	}
}

func TestExponentialRecursion(t *testing.T) {
	const mean, seed = 10 * time.Millisecond, 42
	clk := &fakeClock{}
	srv := New(Exponential(mean, seed), WithClock(clk.now))
	// Bursts of five together every 30ms, then an idle second, twice.
	var arrivals []time.Duration
	for burst := range 8 {
		at := time.Duration(burst) * ms(30)
		if burst >= 4 {
			at += time.Second
		}
		for range 5 {
			arrivals = append(arrivals, at)
		}
	}
	got := admit(t, srv, clk, arrivals)

	// The same draws, and the recursion written out in full.
	draw := Exponential(mean, seed)
	var prev time.Duration
	queued, idle := 0, 0
	for i, a := range arrivals {
		s := draw()
		var d time.Duration
		if i > 0 && prev > a {
			d = prev + s
			queued++
		} else {
			d = a + s
			idle++
		}
		if got[i] != d {
			t.Errorf("request %d arriving at %v departs at %v, want %v", i, a, got[i], d)
		}
		prev = d
	}
	// Both branches of max(A_i, D_{i-1}) must have been taken.
	if queued < 5 || idle < 2 {
		t.Errorf("queued %d, idle %d: the arrivals do not test the recursion", queued, idle)
	}
}

func TestParallelRecursion(t *testing.T) {
	clk := &fakeClock{}
	srv := Parallel(ms(10), WithClock(clk.now))
	arrivals := []time.Duration{0, 0, 0, ms(5), ms(40)}
	want := []time.Duration{ms(10), ms(10), ms(10), ms(15), ms(50)}
	if got := admit(t, srv, clk, arrivals); !slices.Equal(got, want) {
		t.Errorf("departures %v, want %v", got, want)
	}
}

func TestExponential(t *testing.T) {
	const mean, n = time.Millisecond, 200_000
	s := Exponential(mean, 1)
	var sum float64
	above := 0
	for range n {
		d := s()
		if d < 0 {
			t.Fatalf("negative service time %v", d)
		}
		sum += float64(d)
		if d > mean {
			above++
		}
	}
	// The mean's standard error is mean/sqrt(n), 0.22%.
	if got := sum / n / float64(mean); math.Abs(got-1) > 0.01 {
		t.Errorf("mean %.4f of the asked mean", got)
	}
	// P(S > mean) = 1/e for an exponential; standard error 0.1%.
	if got := float64(above) / n; math.Abs(got-math.Exp(-1)) > 0.005 {
		t.Errorf("P(S > mean) = %.4f, want 1/e = %.4f", got, math.Exp(-1))
	}

	a, b, c := Exponential(mean, 7), Exponential(mean, 7), Exponential(mean, 8)
	same, differ := true, false
	for range 10 {
		x, y, z := a(), b(), c()
		same = same && x == y
		differ = differ || x != z
	}
	if !same || !differ {
		t.Errorf("a seed must fix the sequence (same %v) and seeds must differ (%v)", same, differ)
	}
}

// sojournP99 runs n arrivals through the recursion, spaced by gap, and
// returns the p99 of D_i - A_i.
func sojournP99(t *testing.T, srv *Server, clk *fakeClock, n int, gap func() time.Duration) time.Duration {
	t.Helper()
	clk.t = t0
	sojourn := make([]time.Duration, 0, n)
	for range n {
		clk.t = clk.t.Add(gap())
		a, d := srv.Admit()
		sojourn = append(sojourn, d.Sub(a))
	}
	slices.Sort(sojourn)
	return sojourn[int(math.Ceil(0.99*float64(n)))-1]
}

// TestQueueTheory checks the package doc's formulas, which come from
// queueing theory, not from this code, against the recursion.
func TestQueueTheory(t *testing.T) {
	const n = 200_000
	mu, lambda := 1000.0, 500.0 // per second
	mean := time.Duration(float64(time.Second) / mu)
	interval := time.Duration(float64(time.Second) / lambda)

	// M/M/1: Poisson arrivals; the sojourn is exponential with rate
	// mu - lambda.
	clk := &fakeClock{}
	arrivals := rand.New(rand.NewPCG(3, 4))
	got := sojournP99(t, New(Exponential(mean, 1), WithClock(clk.now)), clk, n, func() time.Duration {
		return time.Duration(arrivals.ExpFloat64() * float64(interval))
	})
	want := time.Duration(math.Log(100) / (mu - lambda) * float64(time.Second))
	t.Logf("p99 sojourn %v, theory %v", got, want)
	if r := float64(got) / float64(want); math.Abs(r-1) > 0.03 {
		t.Errorf("M/M/1 p99 sojourn %v, want ln(100)/(mu-lambda) = %v", got, want)
	}

	// D/M/1: constant-rate arrivals, as perf sends; the sojourn is
	// exponential with rate mu(1-sigma), sigma = exp(-mu(1-sigma)/lambda).
	sigma := 0.5
	for range 200 {
		sigma = math.Exp(-mu * (1 - sigma) / lambda)
	}
	got = sojournP99(t, New(Exponential(mean, 2), WithClock(clk.now)), clk, n, func() time.Duration { return interval })
	want = time.Duration(math.Log(100) / (mu * (1 - sigma)) * float64(time.Second))
	t.Logf("p99 sojourn %v, theory %v", got, want)
	if r := float64(got) / float64(want); math.Abs(r-1) > 0.03 {
		t.Errorf("D/M/1 p99 sojourn %v, want ln(100)/(mu(1-sigma)) = %v (sigma %.4f)", got, want, sigma)
	}
}

// TestFixedCapacity: at exactly 1/S every request takes S; 1% above it,
// each waits S - 1/rate longer than the one before.
func TestFixedCapacity(t *testing.T) {
	const S = time.Millisecond
	clk := &fakeClock{}
	got := sojournP99(t, New(Fixed(S), WithClock(clk.now)), clk, 1000, func() time.Duration { return S })
	if got != S {
		t.Errorf("at capacity the sojourn is %v, want %v", got, S)
	}
	srv := New(Fixed(S), WithClock(clk.now))
	clk.t = t0
	gap := 990 * time.Microsecond // 1,010/s against a capacity of 1,000/s
	var last time.Duration
	for range 1000 {
		clk.t = clk.t.Add(gap)
		a, d := srv.Admit()
		last = d.Sub(a)
	}
	if want := S + 999*(S-gap); last != want {
		t.Errorf("above capacity the 1,000th sojourn is %v, want %v", last, want)
	}
}

func TestServeHTTP(t *testing.T) {
	srv := New(Fixed(time.Millisecond))
	rec := httptest.NewRecorder()
	start := time.Now()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/anything", nil))
	if el := time.Since(start); el < time.Millisecond {
		t.Errorf("answered after %v, before its service time", el)
	}
	if rec.Code != http.StatusOK || rec.Body.String() != "ok\n" || rec.Header().Get("Content-Length") != "3" {
		t.Errorf("answer %d %q %v", rec.Code, rec.Body, rec.Header())
	}
	if srv.Arrived() != 1 || srv.Served() != 1 {
		t.Errorf("arrived %d, served %d", srv.Arrived(), srv.Served())
	}
}

// together sends n requests at once, each on its own warmed-up keep-alive
// connection, and returns when each finished, relative to the release.
func together(t *testing.T, url string, n int) []time.Duration {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	get := func() error {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}

	var warm sync.WaitGroup
	for range n {
		warm.Go(func() {
			if err := get(); err != nil {
				t.Error(err)
			}
		})
	}
	warm.Wait()

	release := make(chan struct{})
	var ready, wg sync.WaitGroup
	var start time.Time
	done := make([]time.Duration, n)
	for i := range n {
		ready.Add(1)
		wg.Go(func() {
			ready.Done()
			<-release
			if err := get(); err != nil {
				t.Error(err)
			}
			done[i] = time.Since(start)
		})
	}
	ready.Wait()
	start = time.Now()
	close(release)
	wg.Wait()
	slices.Sort(done)
	return done
}

// TestHTTPQueue: requests that arrive together over loopback are answered
// one S apart.
func TestHTTPQueue(t *testing.T) {
	const n, S = 40, 4 * time.Millisecond
	srv := New(Fixed(S))
	url, stop, err := Listen(srv)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	done := together(t, url, n)

	gaps := make([]time.Duration, 0, n-1)
	for i := 1; i < n; i++ {
		gaps = append(gaps, done[i]-done[i-1])
	}
	span := done[n-1] - done[0]
	slices.Sort(gaps)
	median := gaps[len(gaps)/2]
	t.Logf("first answer after %v, span %v, gaps from %v to %v, median %v", done[0], span, gaps[0], gaps[len(gaps)-1], median)
	if want := (n - 1) * S; math.Abs(float64(span-want)) > 0.15*float64(want) {
		t.Errorf("answers spread over %v, want (n-1)S = %v", span, want)
	}
	if median < S*7/10 || median > S*13/10 {
		t.Errorf("median gap between answers %v, want about %v", median, S)
	}
	if done[0] < S {
		t.Errorf("first answer after %v, before one service time", done[0])
	}
	stop()
	stop() // a second stop is harmless
	if srv.Served() != 2*n || srv.Arrived() != 2*n {
		t.Errorf("served %d, arrived %d, want %d", srv.Served(), srv.Arrived(), 2*n)
	}
}

// TestHTTPParallel: without a queue, requests that arrive together are
// all answered about d later.
func TestHTTPParallel(t *testing.T) {
	const n, d = 40, 20 * time.Millisecond
	url, stop, err := Listen(Parallel(d))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	done := together(t, url, n)
	t.Logf("answers from %v to %v", done[0], done[n-1])
	if done[0] < d {
		t.Errorf("first answer after %v, before %v", done[0], d)
	}
	// A queue would take (n-1)d = 780ms.
	if done[n-1] > 5*d {
		t.Errorf("last answer after %v: requests waited for each other", done[n-1])
	}
}
