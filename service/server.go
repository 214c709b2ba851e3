package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/perf-tools/perf/internal/statsd"
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

// VariantHeader is the response header that names the variants a request
// was served with, when the server has flags: "flag=variant" for every flag,
// in key order, joined by ", ", e.g. "X-Variant: doc-view=compact, etag=off".
const VariantHeader = "X-Variant"

// GenerationHeader is the response header that names the generation of the
// process that answered (Options.Generation), so a client can see both
// generations serve during a live upgrade.
const GenerationHeader = "X-Serve-Generation"

// ItemsPath is the path prefix of item reads: GET ItemsPath + "{id}".
const ItemsPath = "/v1/items/"

var itemsPath = []byte(ItemsPath)

// Options configures the HTTP servers; zero fields take the Default values.
//
// The timeouts mean what the http.Server fields of the same names mean, on
// both listeners. On the public listener, which is not a net/http server
// (see Server.Run), each deadline is moved only when it has drifted by more
// than a tenth of its length, so a connection pays a timer update a few
// times a second rather than several times a request: a timeout fires within
// a tenth of its length of the exact time.
type Options struct {
	// ReadHeaderTimeout bounds reading a request's headers: on a new
	// connection from its start (the wait for the first byte included), on
	// a kept one from the request's first byte, as with net/http.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, headers and body, from
	// its first byte.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response. The public listener counts
	// it from the request's first byte, net/http from the end of its
	// headers: for a request without a body, within ReadHeaderTimeout of
	// each other.
	WriteTimeout time.Duration
	// IdleTimeout bounds the wait for the first byte of the next request on
	// a keep-alive connection.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers of a request;
	// the public listener answers 431 and closes beyond it.
	MaxHeaderBytes int
	// ShutdownGrace bounds how long Run waits for in-flight requests once
	// its context is done.
	ShutdownGrace time.Duration
	// ErrorLog receives the servers' own errors (accept failures, and the
	// admin http.Server's bad requests); nil means the log package's
	// standard logger.
	ErrorLog *log.Logger
	// Generation is the serving process's generation, counted from 1 at
	// the first start and up by one at each live upgrade. Every response
	// carries it (GenerationHeader), and the admin listener and Prometheus
	// report it; 0 means 1.
	Generation uint64
	// ControlToken guards the admin endpoints that change traffic (POST
	// /upgrade): a request must carry "Authorization: Bearer TOKEN", which
	// is compared in constant time. Empty refuses them all (403); read-only
	// ones never need it.
	ControlToken string
	// Upgrade, when set, is what POST /upgrade calls: it hands the
	// listeners to a new process and returns once that process is ready, or
	// says why it is not (the caller keeps serving).
	Upgrade func() error
	// StatsD, when set, receives the public listener's counters, timers
	// and gauges (see serveStatsd); the caller creates and closes it.
	StatsD *statsd.Client
	// UserHeader and UserCookie name where a request's user id is, for
	// the flags' sticky buckets (see SetFlags): the header, else the
	// cookie. Either may be empty.
	UserHeader, UserCookie string
	// AdminHandlers are extra handlers for the admin listener, by path
	// (an http.ServeMux pattern such as "/debug/host"). A path must not
	// collide with the built-in ones; New panics, as http.ServeMux.Handle
	// does, when it does.
	AdminHandlers map[string]http.Handler

	// Candidate is the base URL (http://host:port) of the new version
	// that a live rollout sends traffic to: ghost mode mirrors reads to it
	// (see ghost.go).
	Candidate string
	// Ghost mode (ghost.go): GhostShare is the percentage (0 to 100) of
	// item reads also sent to Candidate and compared; 0 is off.
	// GhostBaseline is the percentage of those also read again from this
	// server's store, for the noise baseline (negative: none; 0 means
	// DefaultGhostBaseline). GhostWorkers, GhostQueue and GhostTimeout
	// bound the mirroring; 0 means their Default values.
	GhostShare, GhostBaseline float64
	GhostWorkers, GhostQueue  int
	GhostTimeout              time.Duration
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
	o.Generation = max(o.Generation, 1)
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	// Ghost mode.
	def(&o.GhostTimeout, DefaultGhostTimeout)
	if o.GhostWorkers <= 0 {
		o.GhostWorkers = DefaultGhostWorkers
	}
	if o.GhostQueue <= 0 {
		o.GhostQueue = DefaultGhostQueue
	}
	switch {
	case o.GhostBaseline == 0:
		o.GhostBaseline = DefaultGhostBaseline
	case o.GhostBaseline < 0:
		o.GhostBaseline = 0
	}
	return o
}

// Server serves item reads from a Store on the public listener, and health,
// readiness, metrics and pprof on the admin handler.
type Server struct {
	// store is the store reads go to; nil while there is none yet (being
	// seeded), when reads answer 503.
	store   atomic.Pointer[Store]
	opts    Options
	metrics *metrics
	ready   atomic.Bool
	admin   http.Handler

	// date caches the Date header line of the current second.
	date atomic.Pointer[dateLine]

	// genLine is the GenerationHeader line every response carries.
	genLine []byte

	// flags is the flags configuration in force, nil without one; reload
	// holds what the admin listener says about reloading it.
	flags  atomic.Pointer[flagSet]
	reload reloadState

	upgrade upgradeState

	// ghost mirrors reads to Options.Candidate; nil when ghost mode is off.
	ghost *ghost
	// rollout is the ramp-up to a candidate, nil without one (rollout.go).
	rollout atomic.Pointer[rollout]
}

// dateLine is the Date header line, CRLF included, of one second.
type dateLine struct {
	sec  int64
	line []byte
}

// Pieces of responses, built once.
var (
	hdrJSON      = []byte("Content-Type: application/json\r\nContent-Length: ")
	hdrAllow     = []byte("Allow: GET, HEAD\r\n")
	hdrClose     = []byte("Connection: close\r\n")
	hdrKeepAlive = []byte("Connection: keep-alive\r\n")
	hdrVariant   = []byte(VariantHeader + ": ")
	crlf         = []byte("\r\n")
)

// statusLine returns the status line of code, CRLF included.
func statusLine(code int) string {
	switch code {
	case http.StatusOK:
		return "HTTP/1.1 200 OK\r\n"
	case http.StatusNotFound:
		return "HTTP/1.1 404 Not Found\r\n"
	case http.StatusBadRequest:
		return "HTTP/1.1 400 Bad Request\r\n"
	case http.StatusMethodNotAllowed:
		return "HTTP/1.1 405 Method Not Allowed\r\n"
	}
	return "HTTP/1.1 " + strconv.Itoa(code) + " " + http.StatusText(code) + "\r\n"
}

// Canned error bodies, so the error paths do not allocate either.
type cannedBody struct {
	body []byte
}

func canned(s string) cannedBody { return cannedBody{body: []byte(s + "\n")} }

var (
	bodyBadID       = canned(`{"error":"malformed item id: want a decimal number from 0 to 18446744073709551615, without sign or leading zeros"}`)
	bodyNotFound    = canned(`{"error":"item not found"}`)
	bodyNoRoute     = canned(`{"error":"not found: items are at /v1/items/{id}"}`)
	bodyMethod      = canned(`{"error":"method not allowed: use GET or HEAD"}`)
	bodyStoreFailed = canned(`{"error":"store read failed"}`)
	bodyNoStore     = canned(`{"error":"not ready: the store is being seeded"}`)
)

// New returns a Server reading st, or answering reads 503 until SetStore
// when st is nil. It is not ready (/readyz answers 503)
// until SetReady(true).
func New(st *Store, opts Options) *Server {
	s := &Server{opts: opts.withDefaults()}
	s.genLine = []byte(GenerationHeader + ": " + strconv.FormatUint(s.opts.Generation, 10) + "\r\n")
	s.metrics = newMetrics(s)
	if s.opts.StatsD != nil {
		s.metrics.sd = newServeStatsd(s.opts.StatsD, s)
		registerStatsdHealth(s.metrics.reg, s.opts.StatsD)
	}
	if st != nil {
		s.store.Store(st)
	}
	s.ghost = newGhost(s)
	s.admin = s.adminMux()
	return s
}

// SetStore makes reads go to st from now on. The store it replaces, if
// any, is the caller's to close: bbolt's Close waits for the reads still in
// it.
func (s *Server) SetStore(st *Store) { s.store.Store(st) }

// SetReady sets what /readyz reports: ready once the store is open and
// seeded, not ready again while shutting down.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// Ready reports what /readyz reports.
func (s *Server) Ready() bool { return s.ready.Load() }

// Answered returns how many requests the public listener has answered, by
// every status code.
func (s *Server) Answered() uint64 {
	ch := make(chan prometheus.Metric, 16)
	go func() { s.metrics.requests.Collect(ch); close(ch) }()
	var n uint64
	for m := range ch {
		var pb dto.Metric
		if m.Write(&pb) == nil {
			n += uint64(pb.GetCounter().GetValue())
		}
	}
	return n
}

// Registry returns the Prometheus registry /metrics exposes.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }

// AdminHandler returns the admin handler: /healthz, /readyz, /metrics,
// /debug/pprof/ and Options.AdminHandlers. Serve it on a listener only
// operators reach.
func (s *Server) AdminHandler() http.Handler { return s.admin }

func (s *Server) adminMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !s.ready.Load() || s.store.Load() == nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready: the store is being opened or seeded, or the server is shutting down\n"))
			return
		}
		st := s.store.Load()
		_, _ = fmt.Fprintf(w, "ready: %d items of %d bytes\n", st.Count(), st.ValueSize())
	})
	mux.HandleFunc("GET /upgrade", s.handleUpgradeStatus)
	mux.HandleFunc("POST /upgrade", s.handleUpgrade)
	s.rolloutRoutes(mux)
	mux.HandleFunc("GET /flags", s.handleFlags)
	mux.HandleFunc("GET /flags/evaluate", s.handleEvaluate)
	mux.HandleFunc("GET /ghost", s.handleGhost)
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
	for path, h := range s.opts.AdminHandlers {
		mux.Handle(path, h)
	}
	return mux
}

// dateHeader returns the Date header line for now, rebuilt at most once a
// second.
func (s *Server) dateHeader(now time.Time) []byte {
	sec := now.Unix()
	if d := s.date.Load(); d != nil && d.sec == sec {
		return d.line
	}
	b := now.UTC().AppendFormat([]byte("Date: "), http.TimeFormat)
	d := &dateLine{sec: sec, line: append(b, crlf...)}
	s.date.Store(d)
	return d.line
}

// respond appends to dst the whole response to a request for path with
// method, and returns it with the status code. extra holds header lines,
// CRLF included, that every response on the connection carries (Date,
// Connection). This is the one implementation of the item logic: it routes
// by hand, parses the id by hand, and reads the store inside one read
// transaction, copying the document from the memory map straight into dst.
func (s *Server) respond(dst, method, path, extra []byte, e effect) ([]byte, int) {
	head := string(method) == http.MethodHead
	if !bytes.HasPrefix(path, itemsPath) {
		return appendCanned(dst, http.StatusNotFound, bodyNoRoute, head, extra), http.StatusNotFound
	}
	if !head && string(method) != http.MethodGet {
		dst = append(dst, statusLine(http.StatusMethodNotAllowed)...)
		dst = append(dst, hdrAllow...)
		dst = appendFields(dst, len(bodyMethod.body), extra)
		return append(dst, bodyMethod.body...), http.StatusMethodNotAllowed
	}
	id, ok := parseID(path[len(itemsPath):])
	if !ok {
		return appendCanned(dst, http.StatusBadRequest, bodyBadID, head, extra), http.StatusBadRequest
	}
	st := s.store.Load()
	if st == nil {
		return appendCanned(dst, http.StatusServiceUnavailable, bodyNoStore, head, extra), http.StatusServiceUnavailable
	}
	err := st.Read(id, func(doc []byte) error {
		body, tail := doc, []byte(nil)
		if e.compact {
			body, tail = compactDocument(doc)
		}
		dst = append(dst, statusLine(http.StatusOK)...)
		if e.etag {
			dst = appendETag(dst, body, tail)
		}
		dst = appendFields(dst, len(body)+len(tail), extra)
		if !head {
			dst = append(append(dst, body...), tail...)
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return appendCanned(dst, http.StatusNotFound, bodyNotFound, head, extra), http.StatusNotFound
		}
		return appendCanned(dst, http.StatusInternalServerError, bodyStoreFailed, head, extra), http.StatusInternalServerError
	}
	return dst, http.StatusOK
}

// payloadField starts the last field of a stored document, the one a
// compact view leaves out.
var payloadField = []byte(`,"payload":"`)

// compactDocument returns the compact view of a stored document as two
// pieces to send one after the other: the document up to its payload, which
// the store's documents all end with, and the closing brace.
func compactDocument(doc []byte) (body, tail []byte) {
	if i := bytes.Index(doc, payloadField); i >= 0 {
		return doc[:i], closeBrace
	}
	return doc, nil
}

var closeBrace = []byte("}")

// appendETag appends an ETag header line for the body made of body and
// tail: their CRC-32C, which the CPU computes at several bytes a cycle.
func appendETag(dst, body, tail []byte) []byte {
	sum := crc32.Update(crc32.Update(0, castagnoli, body), castagnoli, tail)
	dst = append(dst, `ETag: "`...)
	dst = strconv.AppendUint(dst, uint64(sum), 16)
	dst = append(dst, '"')
	return append(dst, crlf...)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendHeader appends the status line and the headers of a JSON response
// of n bytes, up to and including the empty line.
func appendHeader(dst []byte, code, n int, extra []byte) []byte {
	return appendFields(append(dst, statusLine(code)...), n, extra)
}

// appendFields appends the header fields of a JSON response of n bytes,
// then extra, then the empty line.
func appendFields(dst []byte, n int, extra []byte) []byte {
	dst = append(dst, hdrJSON...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	dst = append(dst, crlf...)
	dst = append(dst, extra...)
	return append(dst, crlf...)
}

func appendCanned(dst []byte, code int, b cannedBody, head bool, extra []byte) []byte {
	dst = appendHeader(dst, code, len(b.body), extra)
	if !head {
		dst = append(dst, b.body...)
	}
	return dst
}

// Run serves item reads on publicLn and the admin handler on adminLn until
// ctx is done, then stops accepting, marks the server not ready, and waits
// up to Options.ShutdownGrace for in-flight requests. It returns nil after a
// clean shutdown. Run closes both listeners.
//
// The public listener is served by a lean HTTP/1.1 server of this package,
// not net/http: a read costs about what net/http's own per-request
// overhead does, so net/http would halve the throughput. It honours the
// same Options with the same meanings (see Options for the precision of its
// deadlines). The admin listener is a net/http server.
func (s *Server) Run(ctx context.Context, publicLn, adminLn net.Listener) error {
	o := s.opts
	if s.ghost != nil && s.ghost.err != nil {
		publicLn.Close()
		adminLn.Close()
		return s.ghost.err
	}
	public := newWire(s, publicLn)
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
	// Ghost workers: they stop when ctx is done or Run returns, and Run
	// waits for them.
	ghostCtx, stopGhost := context.WithCancel(ctx)
	ghostDone := make(chan struct{})
	if g := s.ghost; g != nil {
		go func() { defer close(ghostDone); g.run(ghostCtx) }()
	} else {
		close(ghostDone)
	}
	go func() {
		if err := public.serve(); err != nil {
			errc <- fmt.Errorf("serve public on %s: %w", publicLn.Addr(), err)
			return
		}
		errc <- nil
	}()
	go func() {
		if err := admin.Serve(adminLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("serve admin on %s: %w", adminLn.Addr(), err)
			return
		}
		errc <- nil
	}()

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
	if err := public.shutdown(sctx); err != nil && first == nil {
		first = fmt.Errorf("shut down public listener: in-flight requests outlived the %v grace: %w", o.ShutdownGrace, err)
	}
	if err := admin.Shutdown(sctx); err != nil {
		admin.Close()
	}
	for ; pending > 0; pending-- {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	stopGhost()
	<-ghostDone
	return first
}
