package service

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Defaults for Options, chosen for a read service whose requests take well
// under a millisecond.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 10 * time.Second
	DefaultWriteTimeout      = 10 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultShutdownGrace     = 10 * time.Second
)

// inTxWriteMax is the largest document written to the response from inside
// the read transaction: net/http buffers the first 2048 bytes of a body, so
// a write of at most that many bytes is a memory copy and cannot block.
const inTxWriteMax = 2048

// ItemsPath is the path prefix of item reads: GET ItemsPath + "{id}".
const ItemsPath = "/v1/items/"

// Options configures the HTTP servers; zero fields take the Default values.
type Options struct {
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	// ShutdownGrace bounds how long Run waits for in-flight requests once
	// its context is done.
	ShutdownGrace time.Duration
	// ErrorLog receives the http.Server's own errors (bad requests, accept
	// failures); nil means the log package's standard logger.
	ErrorLog *log.Logger
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&o.ReadTimeout, DefaultReadTimeout)
	def(&o.WriteTimeout, DefaultWriteTimeout)
	def(&o.IdleTimeout, DefaultIdleTimeout)
	def(&o.ShutdownGrace, DefaultShutdownGrace)
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return o
}

// Server serves item reads from a Store on the public handler, and health,
// readiness, metrics and pprof on the admin handler.
type Server struct {
	store   *Store
	opts    Options
	metrics *metrics
	ready   atomic.Bool
	public  http.Handler
	admin   http.Handler
	bufs    sync.Pool // *[]byte holding one document

	// cl caches the Content-Length header value of the last document
	// size: every document in a store has one size, so it is built once.
	cl atomic.Pointer[contentLength]
}

type contentLength struct {
	n     int
	value []string
}

// Header values shared by every response. net/http copies the header map
// before writing, so sharing these slices is safe and saves the allocations
// of Header().Set.
var (
	hdrJSON  = []string{"application/json"}
	hdrAllow = []string{"GET, HEAD"}
)

// Canned error bodies, so the error paths do not allocate either.
type cannedBody struct {
	body []byte
	cl   []string
}

func canned(s string) cannedBody {
	b := []byte(s + "\n")
	return cannedBody{body: b, cl: []string{strconv.Itoa(len(b))}}
}

var (
	bodyBadID       = canned(`{"error":"malformed item id: want a decimal number from 0 to 18446744073709551615, without sign or leading zeros"}`)
	bodyNotFound    = canned(`{"error":"item not found"}`)
	bodyNoRoute     = canned(`{"error":"not found: items are at /v1/items/{id}"}`)
	bodyMethod      = canned(`{"error":"method not allowed: use GET or HEAD"}`)
	bodyStoreFailed = canned(`{"error":"store read failed"}`)
)

// New returns a Server reading st. It is not ready (/readyz answers 503)
// until SetReady(true).
func New(st *Store, opts Options) *Server {
	s := &Server{store: st, opts: opts.withDefaults(), metrics: newMetrics(st)}
	size := st.ValueSize()
	if size <= 0 {
		size = DefaultValueSize
	}
	s.bufs.New = func() any { b := make([]byte, 0, size); return &b }
	s.public = http.HandlerFunc(s.serveItems)
	s.admin = s.adminMux()
	return s
}

// SetReady sets what /readyz reports: ready once the store is open and
// seeded, not ready again while shutting down.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// Ready reports what /readyz reports.
func (s *Server) Ready() bool { return s.ready.Load() }

// Registry returns the Prometheus registry /metrics exposes.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }

// Handler returns the public handler: item reads, and nothing else.
func (s *Server) Handler() http.Handler { return s.public }

// AdminHandler returns the admin handler: /healthz, /readyz, /metrics and
// /debug/pprof/. Serve it on a listener only operators reach.
func (s *Server) AdminHandler() http.Handler { return s.admin }

func (s *Server) adminMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !s.ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready: the store is being opened or seeded, or the server is shutting down\n"))
			return
		}
		_, _ = fmt.Fprintf(w, "ready: %d items of %d bytes\n", s.store.Count(), s.store.ValueSize())
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{
		Registry:          s.metrics.reg,
		EnableOpenMetrics: true,
	}))
	// The pprof handlers go on this mux explicitly; http.DefaultServeMux,
	// where the package also registers them, is never served.
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// serveItems is the public handler, the hot path. It routes by hand, parses
// the id by hand, reads the store, and records the answer in the metrics.
func (s *Server) serveItems(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	m := s.metrics
	m.inFlight.Inc()
	code := s.item(w, r)
	m.inFlight.Dec()
	m.observe(code, time.Since(start))
}

// item answers one request and returns its status code.
func (s *Server) item(w http.ResponseWriter, r *http.Request) int {
	path := r.URL.Path
	if !strings.HasPrefix(path, ItemsPath) {
		return writeCanned(w, http.StatusNotFound, bodyNoRoute)
	}
	head := r.Method == http.MethodHead
	if !head && r.Method != http.MethodGet {
		w.Header()["Allow"] = hdrAllow
		return writeCanned(w, http.StatusMethodNotAllowed, bodyMethod)
	}
	id, ok := parseID(path[len(ItemsPath):])
	if !ok {
		return writeCanned(w, http.StatusBadRequest, bodyBadID)
	}
	var large *[]byte
	err := s.store.Read(id, func(doc []byte) error {
		h := w.Header()
		h["Content-Type"] = hdrJSON
		h["Content-Length"] = s.contentLength(len(doc))
		w.WriteHeader(http.StatusOK)
		if head {
			return nil
		}
		if len(doc) <= inTxWriteMax {
			// The response buffer takes it whole: a copy, no system call.
			_, _ = w.Write(doc)
			return nil
		}
		// A larger document could block on a slow client inside the
		// read transaction; copy it out and write it after.
		large = s.bufs.Get().(*[]byte)
		*large = append((*large)[:0], doc...)
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return writeCanned(w, http.StatusNotFound, bodyNotFound)
		}
		return writeCanned(w, http.StatusInternalServerError, bodyStoreFailed)
	}
	if large != nil {
		_, _ = w.Write(*large)
		*large = (*large)[:0]
		s.bufs.Put(large)
	}
	return http.StatusOK
}

// contentLength returns the Content-Length header value for n bytes.
func (s *Server) contentLength(n int) []string {
	if c := s.cl.Load(); c != nil && c.n == n {
		return c.value
	}
	c := &contentLength{n: n, value: []string{strconv.Itoa(n)}}
	s.cl.Store(c)
	return c.value
}

func writeCanned(w http.ResponseWriter, code int, b cannedBody) int {
	h := w.Header()
	h["Content-Type"] = hdrJSON
	h["Content-Length"] = b.cl
	w.WriteHeader(code)
	_, _ = w.Write(b.body)
	return code
}

// Run serves the public handler on publicLn and the admin handler on
// adminLn until ctx is done, then stops accepting, marks the server not
// ready, and waits up to Options.ShutdownGrace for in-flight requests. It
// returns nil after a clean shutdown. Run closes both listeners.
func (s *Server) Run(ctx context.Context, publicLn, adminLn net.Listener) error {
	o := s.opts
	public := &http.Server{
		Handler:           s.public,
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		ReadTimeout:       o.ReadTimeout,
		WriteTimeout:      o.WriteTimeout,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    o.MaxHeaderBytes,
		ErrorLog:          o.ErrorLog,
	}
	admin := &http.Server{
		Handler:           s.admin,
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		ReadTimeout:       o.ReadTimeout,
		// A CPU profile or trace streams for as long as asked (30s by
		// default), so the admin listener allows long writes.
		WriteTimeout:   5 * time.Minute,
		IdleTimeout:    o.IdleTimeout,
		MaxHeaderBytes: o.MaxHeaderBytes,
		ErrorLog:       o.ErrorLog,
	}
	errc := make(chan error, 2)
	serve := func(name string, hs *http.Server, ln net.Listener) {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("serve %s on %s: %w", name, ln.Addr(), err)
			return
		}
		errc <- nil
	}
	go serve("public", public, publicLn)
	go serve("admin", admin, adminLn)

	var first error
	pending := 2
	select {
	case <-ctx.Done():
	case first = <-errc:
		pending--
	}
	s.SetReady(false)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.ShutdownGrace)
	defer cancel()
	// Shut the public side first: the admin side keeps answering /readyz
	// (503) and /metrics while reads drain.
	if err := public.Shutdown(sctx); err != nil && first == nil {
		first = fmt.Errorf("shut down public listener: in-flight requests outlived the %v grace: %w", o.ShutdownGrace, err)
		public.Close()
	}
	if err := admin.Shutdown(sctx); err != nil {
		admin.Close()
	}
	for ; pending > 0; pending-- {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}
