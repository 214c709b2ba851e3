package lindley

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Service returns the service time of the next request. A Server calls it
// once per request, under its mutex.
type Service func() time.Duration

// Fixed is a Service of constant time d: a server of capacity exactly 1/d.
func Fixed(d time.Duration) Service {
	return func() time.Duration { return d }
}

// Exponential is a Service of exponentially distributed times of the given
// mean, drawn from a PCG generator seeded with seed, so that a test sees
// the same sequence every run. It is safe for concurrent use (it has its
// own lock, uncontended inside one Server's).
func Exponential(mean time.Duration, seed uint64) Service {
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(seed, seed))
	return func() time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return time.Duration(rng.ExpFloat64() * float64(mean))
	}
}

// Server is a FIFO queue served by Lindley's recursion (see the package
// doc), or with Parallel no queue at all. It is an http.Handler.
type Server struct {
	service Service
	now     func() time.Time
	queue   bool

	mu   sync.Mutex
	last time.Time // D_{i-1}: when the work admitted so far is done

	arrived, served atomic.Int64
}

var _ http.Handler = (*Server)(nil)

// Option sets up a Server.
type Option func(*Server)

// WithClock makes the Server read arrival times from now instead of
// time.Now, so a test can drive the recursion with arrivals it chooses.
func WithClock(now func() time.Time) Option {
	return func(s *Server) { s.now = now }
}

// New returns a single-server FIFO queue whose requests take s each.
func New(s Service, opts ...Option) *Server {
	return newServer(s, true, opts)
}

// Parallel returns a server without a queue: every request departs d after
// it arrives, however many arrive together.
func Parallel(d time.Duration, opts ...Option) *Server {
	return newServer(Fixed(d), false, opts)
}

func newServer(s Service, queue bool, opts []Option) *Server {
	srv := &Server{service: s, now: time.Now, queue: queue}
	for _, o := range opts {
		o(srv)
	}
	return srv
}

// Admit admits a request arriving now, A_i, and returns it with its
// departure D_i. The clock is read under the mutex, so arrivals are in
// queue order.
func (s *Server) Admit() (arrival, departure time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.now()
	start := a
	if s.queue && s.last.After(a) {
		start = s.last
	}
	d := start.Add(s.service())
	if s.queue {
		s.last = d
	}
	s.arrived.Add(1)
	return a, d
}

// body is the answer to every request.
var body = []byte("ok\n")

// ServeHTTP admits the request, sleeps until its departure and answers 200
// with a three-byte body. When the client goes away first, it returns
// without an answer (the request's work stays in the queue).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, d := s.Admit()
	if wait := d.Sub(s.now()); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", "3")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	s.served.Add(1)
}

// Arrived is the number of requests admitted so far.
func (s *Server) Arrived() int64 { return s.arrived.Load() }

// Served is the number of requests answered so far.
func (s *Server) Served() int64 { return s.served.Load() }

// Listen serves h with net/http on a new listener on 127.0.0.1 (a port the
// kernel picks) and returns its base URL, such as http://127.0.0.1:40123,
// and a function that stops the server: it closes the listener and every
// connection and returns once the serving goroutine has ended. Stop may be
// called more than once. There is no limit on connections, nor a read or
// write timeout (a queued request may wait long); idle keep-alive
// connections are closed after IdleTimeout.
func Listen(h http.Handler) (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("lindley: listen: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		IdleTimeout:       IdleTimeout,
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln) // returns http.ErrServerClosed once stopped
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = srv.Close()
			<-done
		})
	}
	return "http://" + ln.Addr().String(), stop, nil
}

// Timeouts of Listen's server.
const (
	// ReadHeaderTimeout bounds a request's headers, so a stuck client
	// does not hold a connection forever.
	ReadHeaderTimeout = 10 * time.Second
	// IdleTimeout closes keep-alive connections idle that long.
	IdleTimeout = 2 * time.Minute
)
