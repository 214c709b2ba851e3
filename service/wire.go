package service

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/perf-tools/perf/internal/http1"
)

// MaxRequestBody is the largest request body the public listener accepts.
// It serves no request bodies: one announced with Content-Length is read
// and discarded, and a larger one is answered 413 and the connection
// closed.
const MaxRequestBody = 64 << 10

const (
	// wireReadBuf is the size of a connection's read buffer: a load
	// generator's request fits many times over, so one read takes in a
	// whole request, or several pipelined ones.
	wireReadBuf = 4096
	// wireOutStart is the initial capacity of a connection's output
	// buffer: a 1 KiB document and its headers fit without growing it.
	wireOutStart = 4096
	// wireOutKeep is the largest output buffer a connection keeps between
	// responses; a larger one (a large document) is dropped once written,
	// so idle connections do not pin megabytes.
	wireOutKeep = 256 << 10
	// wireFlushAt is the size at which pipelined responses are written
	// even though more requests are waiting.
	wireFlushAt = 64 << 10
	// wireLinger and wireLingerBytes bound the reading after an error
	// answer (see linger).
	wireLinger      = 500 * time.Millisecond
	wireLingerBytes = 256 << 10
	// wireDrainSettle is how long a shutdown lets idle connections take a
	// request already on its way (answered with Connection: close) before
	// it closes them: far more than a request takes to arrive on a LAN.
	wireDrainSettle = 100 * time.Millisecond
	// wireNewIdle is how long a shutdown lets a new connection take to
	// send its first request before it closes it, as net/http does.
	wireNewIdle = 5 * time.Second
	// wireDrainPoll is how often a shutdown looks for connections to
	// close.
	wireDrainPoll = 50 * time.Millisecond
)

// The JSON body of the answer to a refused request is errorOpen, the
// http1.RequestError's message, and errorClose.
const (
	errorOpen  = `{"error":"`
	errorClose = "\"}\n"
)

// wire is the public listener's HTTP/1.1 server: one goroutine per
// connection, a 4 KiB read buffer and a reused output buffer each, and no
// allocation per request. Pipelined requests are answered in order, and
// their responses written with one system call once the read buffer is
// empty.
type wire struct {
	s  *Server
	o  Options
	ln net.Listener

	shutting atomic.Bool
	accepted chan struct{} // closed when serve's accept loop has returned
	mu       sync.Mutex
	conns    map[*wireConn]struct{}
	wg       sync.WaitGroup // one per connection goroutine
}

func newWire(s *Server, ln net.Listener) *wire {
	return &wire{s: s, o: s.opts, ln: ln, conns: make(map[*wireConn]struct{}), accepted: make(chan struct{})}
}

// serve accepts connections until the listener is closed. It returns nil
// when shutdown closed it.
func (w *wire) serve() error {
	defer close(w.accepted)
	var delay time.Duration
	for {
		nc, err := w.ln.Accept()
		if err != nil {
			if w.shutting.Load() {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of file descriptors and the like: back off and retry,
			// as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			w.logf("http: Accept error: %v; retrying in %v", err, delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		// A connection accepted as the shutdown begins is served all the
		// same: its client sent its request already, and closing it
		// unanswered would reset it. Its answer says Connection: close.
		c := &wireConn{w: w, nc: nc, since: time.Now()}
		c.state.Store(connNew)
		w.mu.Lock()
		w.conns[c] = struct{}{}
		w.wg.Add(1)
		w.mu.Unlock()
		go c.serve()
	}
}

func (w *wire) logf(format string, args ...any) {
	if w.o.ErrorLog != nil {
		w.o.ErrorLog.Printf(format, args...)
		return
	}
	log.Printf(format, args...)
}

// shutdown stops accepting, wakes idle connections to close once
// wireDrainSettle has passed, and
// waits for the others to finish the request they are answering (which says
// Connection: close) until ctx is done; then it closes them all and returns
// ctx's error. Every connection closes the way linger does, so a client
// never loses an answer to a reset.
func (w *wire) shutdown(ctx context.Context) error {
	w.mu.Lock()
	w.shutting.Store(true)
	w.ln.Close()
	w.mu.Unlock()
	// A request may be on its way on an idle connection: closing the
	// connection now would lose it, and answering it says Connection:
	// close from now on. So idle connections get the time a request takes
	// to arrive before they are closed.
	select {
	case <-time.After(wireDrainSettle):
	case <-ctx.Done():
	}
	// Every connection is tracked once the accept loop has returned.
	select {
	case <-w.accepted:
	case <-ctx.Done():
	}
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	// Close idle connections now, and new ones as they age past
	// wireNewIdle, as net/http's Shutdown does.
	tick := time.NewTicker(wireDrainPoll)
	defer tick.Stop()
	for {
		now := time.Now()
		w.mu.Lock()
		for c := range w.conns {
			c.closeIfIdle(now)
		}
		w.mu.Unlock()
		select {
		case <-done:
			return nil
		case <-tick.C:
			continue
		case <-ctx.Done():
		}
		break
	}
	w.mu.Lock()
	for c := range w.conns {
		c.nc.Close()
	}
	w.mu.Unlock()
	<-done
	return ctx.Err()
}

// Connection states: new until its first request's first byte, idle
// between requests, active from a request's first byte to its response's
// last, closed once shutdown has told it to close.
const (
	connNew int32 = iota
	connIdle
	connActive
	connClosed
)

// wireConn is one connection of the public listener.
type wireConn struct {
	w     *wire
	nc    net.Conn
	since time.Time // accepted
	state atomic.Int32
	br    *bufio.Reader
	rr    http1.RequestReader
	extra []byte // the Date and Connection lines of the current response

	// out holds the responses made and not yet written, to pending
	// requests, the last of which started at reqStart.
	out      []byte
	pending  int64
	reqStart time.Time

	// sel holds the variants the current request is served with.
	sel []*servedVariant

	// rd and wd are nc's read and write deadlines.
	rd, wd http1.Deadline
}

// closeIfIdle tells an idle connection, or a new one accepted more than
// wireNewIdle before now, to close: it wakes its wait for the next request,
// and the connection's goroutine closes it, lingering. A request whose first
// bytes arrived meanwhile is still answered. A newer connection is left
// alone: its client connected to send a request, which is on its way.
func (c *wireConn) closeIfIdle(now time.Time) {
	if c.state.CompareAndSwap(connIdle, connClosed) ||
		(now.Sub(c.since) > wireNewIdle && c.state.CompareAndSwap(connNew, connClosed)) {
		_ = c.nc.SetReadDeadline(now)
	}
}

// serve answers the requests of one connection until it closes, fails,
// times out or the server shuts down.
func (c *wireConn) serve() {
	w := c.w
	defer func() {
		c.nc.Close()
		w.mu.Lock()
		delete(w.conns, c)
		w.mu.Unlock()
		w.wg.Done()
	}()
	s, o, m := w.s, w.o, w.s.metrics
	br := bufio.NewReaderSize(connReader{c}, wireReadBuf)
	c.br = br
	c.rr = http1.NewRequestReader(br, o.MaxHeaderBytes, MaxRequestBody)
	c.rr.Capture(o.UserHeader, o.UserCookie)
	c.rd, c.wd = http1.NewDeadline(c.nc.SetReadDeadline), http1.NewDeadline(c.nc.SetWriteDeadline)
	headTimeout := min(o.ReadHeaderTimeout, o.ReadTimeout)
	// A new connection's first request must be read whole within the
	// header timeout of the connection's start, as with net/http; a later
	// one must start within IdleTimeout, and its headers take at most the
	// header timeout from its first byte.
	connStart := time.Now()
	last, idle := connStart, headTimeout
	first := true
	var r http1.Request
	for {
		if br.Buffered() == 0 {
			if !c.flush() {
				return
			}
			// Idle: hold no more than a connection needs.
			c.release()
			if !c.waitIdle(last, idle) {
				c.linger()
				return
			}
		}
		idle = o.IdleTimeout
		start := time.Now()
		headFrom := start
		if first {
			headFrom, first = connStart, false
		}
		if c.rd.Near(headFrom.Add(headTimeout), headTimeout) != nil {
			return
		}
		err := c.rr.ReadHead(&r)
		if err != nil {
			var re *http1.RequestError
			if errors.As(err, &re) {
				c.begin(start)
				c.out = appendHeader(c.out, re.Code, len(errorOpen)+len(re.Msg)+len(errorClose), c.headers(start, true, false, nil))
				c.out = append(append(append(c.out, errorOpen...), re.Msg...), errorClose...)
				m.observe(re.Code, time.Since(start))
				if c.flush() {
					c.linger()
				}
			}
			return
		}
		closing := r.Close || w.shutting.Load()
		switch {
		case r.ContentLength > 0 && r.Expect:
			// The client waits for a 100 Continue that never comes: answer
			// without its body and close, as net/http does.
			closing = true
		case r.ContentLength > 0:
			if c.rd.Near(start.Add(o.ReadTimeout), o.ReadTimeout) != nil {
				return
			}
			if _, err := br.Discard(int(r.ContentLength)); err != nil {
				return
			}
		}
		// The flags in force when the request was read serve it whole, unless
		// the rollout gives the read to the candidate (rolloutproxy.go).
		fs := s.flags.Load()
		ro, id := s.toCandidate(&r)
		if ro != nil {
			fs, c.sel = nil, c.sel[:0]
			if !c.flush() {
				return
			}
		}
		var e effect
		if fs != nil {
			c.sel, e = fs.pick(r.Captured, c.sel[:0])
			if fs.splits && len(r.Captured) == 0 {
				m.noUser.Inc()
			}
			if e.delay > 0 && !c.flush() {
				return
			}
		}
		c.begin(start)
		if e.delay > 0 {
			time.Sleep(e.delay)
		}
		var code int
		if ro != nil {
			c.out, code = ro.proxy(c.out, r.Method, id, r.Captured, c.headers(start, closing, r.KeepAlive, nil))
		} else {
			mark := len(c.out)
			c.out, code = s.respond(c.out, r.Method, r.Path, c.headers(start, closing, r.KeepAlive, c.sel), e)
			if s.ghost != nil {
				// Ghost mode: maybe mirror this read (ghost.go); never
				// waits. A read the candidate served is not mirrored.
				s.ghost.offer(r.Method, r.Path, r.Captured, code, c.out[mark:])
			}
		}
		last = time.Now()
		d := last.Sub(start)
		m.observe(code, d)
		for _, v := range c.sel {
			v.observe(m, code, d)
		}
		if closing {
			// Unread bytes may follow (a pipeline, an unsent body): close
			// without a reset that could cost the client this answer.
			if c.flush() {
				c.linger()
			}
			return
		}
		if len(c.out) >= wireFlushAt && !c.flush() {
			return
		}
	}
}

// begin counts a request that started at start as in flight until flush
// writes its answer, and gets the connection an output buffer if it has
// none.
func (c *wireConn) begin(start time.Time) {
	if c.out == nil {
		c.out = getOut()
	}
	c.w.s.metrics.inFlight.Add(1)
	c.pending++
	c.reqStart = start
}

// connReader is the connection as its bufio.Reader reads it: before
// waiting for more bytes, it writes the responses already made, so a
// pipelined request that arrives in pieces does not hold back the answers
// to the ones before it.
type connReader struct{ c *wireConn }

func (r connReader) Read(p []byte) (int, error) {
	if !r.c.flush() {
		return 0, errWriteFailed
	}
	return r.c.nc.Read(p)
}

// errWriteFailed ends reading from a connection whose writes failed.
var errWriteFailed = errors.New("write failed")

// headers returns the header lines every response carries: Date,
// Connection when it says something, and X-Variant with the variants sel
// when there are flags.
func (c *wireConn) headers(now time.Time, closing, keepAlive bool, sel []*servedVariant) []byte {
	c.extra = append(append(c.extra[:0], c.w.s.dateHeader(now)...), c.w.s.genLine...)
	if len(sel) > 0 {
		c.extra = append(c.extra, hdrVariant...)
		for i, v := range sel {
			if i > 0 {
				c.extra = append(c.extra, ", "...)
			}
			c.extra = append(c.extra, v.member...)
		}
		c.extra = append(c.extra, crlf...)
	}
	switch {
	case closing:
		c.extra = append(c.extra, hdrClose...)
	case keepAlive:
		c.extra = append(c.extra, hdrKeepAlive...)
	}
	return c.extra
}

// flush writes the responses made so far in one system call, within
// WriteTimeout of the start of the last request they answer, and reports
// whether it could. Its requests stop counting as in flight before the
// write when the output is small, as they did when net/http's 4 KiB
// response buffer took them, so a client that has its answer never sees
// them counted; a large output (a slow client's, or a large document)
// counts until it is written.
func (c *wireConn) flush() bool {
	if len(c.out) == 0 {
		return true
	}
	inFlight := &c.w.s.metrics.inFlight
	small := len(c.out) <= wireOutStart
	if small {
		inFlight.Add(-c.pending)
	}
	wt := c.w.o.WriteTimeout
	ok := c.wd.Near(c.reqStart.Add(wt), wt) == nil
	if ok {
		_, err := c.nc.Write(c.out)
		ok = err == nil
	}
	if !small {
		inFlight.Add(-c.pending)
	}
	c.pending = 0
	if cap(c.out) > wireOutKeep {
		c.out = nil
	} else {
		c.out = c.out[:0]
	}
	return ok
}

// outPool holds the output buffers of connections that are not answering,
// so an idle connection holds none: 500 idle connections that once answered
// a long pipeline hold no more than 500 that never did, and the garbage
// collector frees what the pool holds beyond what busy connections use.
var outPool sync.Pool

func getOut() []byte {
	if b, ok := outPool.Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return make([]byte, 0, wireOutStart)
}

// release gives an idle connection's output buffer back to the pool and
// drops the request reader's buffers that grew past their usual size. An
// idle connection then holds its 4 KiB read buffer and little else.
func (c *wireConn) release() {
	if c.out != nil && len(c.out) == 0 {
		b := c.out
		c.out = nil
		outPool.Put(&b)
	}
	c.rr.Release()
	if cap(c.extra) > 1024 {
		c.extra = nil
	}
	if cap(c.sel) > 64 {
		c.sel = nil
	}
}

// linger closes the write side and reads what the client still sends, for
// a bounded time, before the connection closes: closing with unread data
// would send a reset, and the client could lose the error answer it is
// about to read. net/http does the same.
func (c *wireConn) linger() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	if c.rd.Set(time.Now().Add(wireLinger)) == nil {
		_, _ = io.CopyN(io.Discard, c.br, wireLingerBytes)
	}
}

// waitIdle waits, idle, for the first byte of the next request, up to it
// after since. It reports false when the connection is to be closed: the
// wait timed out or failed, or the server is shutting down.
func (c *wireConn) waitIdle(since time.Time, it time.Duration) bool {
	// A new connection waits for its first request even when the server
	// is shutting down (see closeIfIdle); a kept one closes.
	if c.state.Load() != connNew {
		if !c.state.CompareAndSwap(connActive, connIdle) || c.w.shutting.Load() {
			return false
		}
	}
	want := since.Add(it)
	// An earlier deadline, a request's still set, is fine: it ends the
	// wait early, and the wait goes on to the idle deadline. Most requests
	// on a busy connection arrive before it, and cost no timer update.
	if c.rd.By(want, it) != nil {
		return false
	}
	for {
		_, err := c.br.Peek(1)
		if err == nil {
			break
		}
		if c.state.Load() == connClosed || !errors.Is(err, os.ErrDeadlineExceeded) || !time.Now().Before(want.Add(-it/10)) {
			return false
		}
		if c.rd.Set(want) != nil {
			return false
		}
	}
	// A request arrived. If shutdown told the connection to close
	// meanwhile, it is answered (with Connection: close) all the same, under
	// a real deadline again: shutdown moved it to now to end the wait.
	if c.state.Swap(connActive) == connClosed {
		if c.rd.Set(time.Now().Add(min(c.w.o.ReadHeaderTimeout, c.w.o.ReadTimeout))) != nil {
			return false
		}
	}
	return true
}
