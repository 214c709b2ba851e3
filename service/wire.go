package service

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
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
)

// protoError is a request the public listener refuses: it answers code with
// a short JSON body and closes the connection.
type protoError struct {
	code int
	msg  string
	body []byte
}

func newProtoError(code int, msg string) *protoError {
	return &protoError{code: code, msg: msg, body: []byte(`{"error":"` + msg + `"}` + "\n")}
}

func (e *protoError) Error() string { return e.msg }

// The requests the public listener refuses.
var (
	errRequestLine      = newProtoError(400, "bad request: malformed request line")
	errTarget           = newProtoError(400, "bad request: malformed request target")
	errHeaderLine       = newProtoError(400, "bad request: malformed header line")
	errHost             = newProtoError(400, "bad request: an HTTP/1.1 request needs exactly one Host header")
	errContentLength    = newProtoError(400, "bad request: malformed Content-Length")
	errBodyTooLarge     = newProtoError(413, "request body too large")
	errHeaderTooLarge   = newProtoError(431, "request header fields too large")
	errTransferEncoding = newProtoError(501, "Transfer-Encoding is not supported: this service reads no request bodies")
	errVersion          = newProtoError(505, "HTTP version not supported: use HTTP/1.0 or HTTP/1.1")
)

// request is one parsed request. Its slices point into the reader's
// buffers and are valid until the next request is read.
type request struct {
	method []byte
	// path is the request target's path, percent-decoded, without the
	// query string; for an absolute-form target, the path after the
	// authority.
	path []byte
	// minor is the HTTP/1 minor version: 0 or 1.
	minor int
	// close means the connection closes after this response: the client
	// asked for it, or HTTP/1.0 without keep-alive.
	close bool
	// keepAlive means an HTTP/1.0 client asked for keep-alive, which the
	// response confirms with Connection: keep-alive.
	keepAlive     bool
	contentLength int64
	// expect means the client sent Expect: 100-continue and waits for a
	// 100 Continue before sending its body.
	expect bool
}

// reqReader parses HTTP/1.x requests from a buffered reader without
// allocating, except to copy lines longer than the buffer.
type reqReader struct {
	br  *bufio.Reader
	max int // MaxHeaderBytes: request line and headers
	// line holds a line longer than br's buffer.
	line []byte
	// reqLine holds the method and target of the current request, copied
	// out of br's buffer, which the header lines overwrite.
	reqLine []byte
	// pathBuf holds a percent-decoded path.
	pathBuf []byte
}

// readHead reads a request line and its headers into r. It returns a
// *protoError for a request to refuse, io.EOF when the connection ended
// cleanly before a request, and another error when reading failed.
func (rr *reqReader) readHead(r *request) error {
	*r = request{}
	n := 0
	var line []byte
	var err error
	for {
		if line, err = rr.readLine(&n); err != nil {
			if err == io.ErrUnexpectedEOF && n == 0 {
				return io.EOF
			}
			return err
		}
		if len(line) > 0 {
			break
		}
		// RFC 9112 section 2.2: empty lines before the request line are
		// ignored; they count towards MaxHeaderBytes.
	}
	if err := rr.requestLine(line, r); err != nil {
		return err
	}
	hosts := 0
	conClose, conKeepAlive, te := false, false, false
	r.contentLength = -1
	for {
		if line, err = rr.readLine(&n); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return errHeaderLine
		}
		name := line[:colon]
		for _, c := range name {
			if !isTokenChar(c) {
				return errHeaderLine
			}
		}
		value := trimOWS(line[colon+1:])
		for _, c := range value {
			if (c < ' ' && c != '\t') || c == 0x7f {
				return errHeaderLine
			}
		}
		switch len(name) {
		case 6:
			if equalFold(name, "expect") && equalFold(value, "100-continue") {
				r.expect = true
			}
		case 4:
			if equalFold(name, "host") {
				hosts++
			}
		case 10:
			if equalFold(name, "connection") {
				for len(value) > 0 {
					var tok []byte
					if i := bytes.IndexByte(value, ','); i >= 0 {
						tok, value = trimOWS(value[:i]), value[i+1:]
					} else {
						tok, value = trimOWS(value), nil
					}
					switch {
					case equalFold(tok, "close"):
						conClose = true
					case equalFold(tok, "keep-alive"):
						conKeepAlive = true
					}
				}
			}
		case 14:
			if equalFold(name, "content-length") {
				cl, ok := parseLength(value)
				if !ok || (r.contentLength >= 0 && cl != r.contentLength) {
					return errContentLength
				}
				r.contentLength = cl
			}
		case 17:
			if equalFold(name, "transfer-encoding") {
				te = true
			}
		}
	}
	if r.minor == 0 {
		r.close = !conKeepAlive || conClose
		r.keepAlive = !r.close
	} else {
		r.close = conClose
	}
	switch {
	case te:
		return errTransferEncoding
	case r.minor > 0 && hosts != 1, hosts > 1:
		return errHost
	case r.contentLength > MaxRequestBody:
		return errBodyTooLarge
	}
	r.contentLength = max(r.contentLength, 0)
	return nil
}

// requestLine parses "METHOD SP request-target SP HTTP/1.x" into r.
func (rr *reqReader) requestLine(line []byte, r *request) error {
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return errRequestLine
	}
	method, rest := line[:sp], line[sp+1:]
	if sp = bytes.IndexByte(rest, ' '); sp <= 0 {
		return errRequestLine
	}
	target, proto := rest[:sp], rest[sp+1:]
	for _, c := range method {
		if !isTokenChar(c) {
			return errRequestLine
		}
	}
	switch {
	case len(proto) == 8 && string(proto[:7]) == "HTTP/1." && isDigit(proto[7]):
		r.minor = min(int(proto[7]-'0'), 1)
	case len(proto) == 8 && string(proto[:5]) == "HTTP/" && isDigit(proto[5]) && proto[6] == '.' && isDigit(proto[7]):
		return errVersion
	default:
		return errRequestLine
	}
	rr.reqLine = append(append(rr.reqLine[:0], method...), target...)
	r.method = rr.reqLine[:len(method)]
	path, err := rr.targetPath(rr.reqLine[len(method):])
	if err != nil {
		return err
	}
	r.path = path
	return nil
}

// targetPath returns the path of a request target: origin-form as it is,
// absolute-form after its authority, "*" as it is; without the query, and
// percent-decoded.
func (rr *reqReader) targetPath(t []byte) ([]byte, error) {
	for _, c := range t {
		if c <= ' ' || c == 0x7f {
			return nil, errTarget
		}
	}
	switch {
	case len(t) == 0:
		return nil, errTarget
	case t[0] == '/':
	case len(t) == 1 && t[0] == '*':
		return t, nil
	default:
		switch {
		case hasPrefixFold(t, "http://"):
			t = t[len("http://"):]
		case hasPrefixFold(t, "https://"):
			t = t[len("https://"):]
		default:
			return nil, errTarget
		}
		i := bytes.IndexAny(t, "/?#")
		if i < 0 || t[i] != '/' {
			return []byte("/"), nil
		}
		t = t[i:]
	}
	if i := bytes.IndexByte(t, '?'); i >= 0 {
		t = t[:i]
	}
	if bytes.IndexByte(t, '%') < 0 {
		return t, nil
	}
	p := rr.pathBuf[:0]
	for i := 0; i < len(t); i++ {
		if t[i] != '%' {
			p = append(p, t[i])
			continue
		}
		if i+2 >= len(t) || !isHex(t[i+1]) || !isHex(t[i+2]) {
			return nil, errTarget
		}
		p = append(p, unhex(t[i+1])<<4|unhex(t[i+2]))
		i += 2
	}
	rr.pathBuf = p
	return p, nil
}

// readLine reads one line, without its LF or CRLF, adding its length to n
// and failing with errHeaderTooLarge once n exceeds rr.max. The line is
// valid until the next read.
func (rr *reqReader) readLine(n *int) ([]byte, error) {
	line, err := rr.br.ReadSlice('\n')
	*n += len(line)
	if *n > rr.max {
		return nil, errHeaderTooLarge
	}
	if err == nil {
		return trimEOL(line), nil
	}
	if err != bufio.ErrBufferFull {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	rr.line = append(rr.line[:0], line...)
	for {
		line, err = rr.br.ReadSlice('\n')
		if *n += len(line); *n > rr.max {
			return nil, errHeaderTooLarge
		}
		rr.line = append(rr.line, line...)
		if err == nil {
			return trimEOL(rr.line), nil
		}
		if err != bufio.ErrBufferFull {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

func trimEOL(b []byte) []byte {
	b = b[:len(b)-1]
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	return b
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// equalFold reports whether b equals the lower-case ASCII lower, ignoring
// the case of b. The conversion of lower does not escape: nothing is
// allocated.
func equalFold(b []byte, lower string) bool { return bytes.EqualFold(b, []byte(lower)) }

func hasPrefixFold(b []byte, lower string) bool {
	return len(b) >= len(lower) && equalFold(b[:len(lower)], lower)
}

// parseLength parses a Content-Length value: decimal digits only.
func parseLength(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F') }

func unhex(c byte) byte {
	switch {
	case isDigit(c):
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// isTokenChar reports whether c may appear in an HTTP token (RFC 9110
// section 5.6.2): a method or a header name.
func isTokenChar(c byte) bool {
	return tokenChars[c]
}

var tokenChars = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

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
	mu       sync.Mutex
	conns    map[*wireConn]struct{}
	wg       sync.WaitGroup // one per connection goroutine
}

func newWire(s *Server, ln net.Listener) *wire {
	return &wire{s: s, o: s.opts, ln: ln, conns: make(map[*wireConn]struct{})}
}

// serve accepts connections until the listener is closed. It returns nil
// when shutdown closed it.
func (w *wire) serve() error {
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
		c := &wireConn{w: w, nc: nc}
		c.state.Store(connActive)
		w.mu.Lock()
		if w.shutting.Load() {
			w.mu.Unlock()
			nc.Close()
			continue
		}
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

// shutdown stops accepting, closes idle connections at once, and waits for
// the others to finish the request they are answering (which says
// Connection: close) until ctx is done; then it closes them all and returns
// ctx's error.
func (w *wire) shutdown(ctx context.Context) error {
	w.mu.Lock()
	w.shutting.Store(true)
	w.ln.Close()
	for c := range w.conns {
		c.closeIfIdle()
	}
	w.mu.Unlock()
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	w.mu.Lock()
	for c := range w.conns {
		c.nc.Close()
	}
	w.mu.Unlock()
	<-done
	return ctx.Err()
}

// Connection states: idle between requests, active from a request's first
// byte to its response's last, closed once shutdown has closed it.
const (
	connIdle int32 = iota
	connActive
	connClosed
)

// wireConn is one connection of the public listener.
type wireConn struct {
	w     *wire
	nc    net.Conn
	state atomic.Int32
	rr    reqReader
	extra []byte // the Date and Connection lines of the current response

	// out holds the responses made and not yet written, to pending
	// requests, the last of which started at reqStart.
	out      []byte
	pending  int64
	reqStart time.Time

	// rdl and wdl are the deadlines set on nc, zero for none.
	rdl, wdl time.Time
}

func (c *wireConn) closeIfIdle() {
	if c.state.CompareAndSwap(connIdle, connClosed) {
		c.nc.Close()
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
	c.rr = reqReader{br: br, max: o.MaxHeaderBytes}
	headTimeout := min(o.ReadHeaderTimeout, o.ReadTimeout)
	c.out = make([]byte, 0, wireOutStart)
	// A new connection's first request must start within the header
	// timeout, as with net/http; later ones within IdleTimeout.
	last, idle := time.Now(), headTimeout
	var r request
	for {
		if br.Buffered() == 0 {
			if !c.flush() || !c.waitIdle(last, idle) {
				return
			}
		}
		idle = o.IdleTimeout
		start := time.Now()
		if !c.readBy(start.Add(headTimeout), headTimeout/10, false) {
			return
		}
		err := c.rr.readHead(&r)
		if err != nil {
			if pe, ok := err.(*protoError); ok {
				c.begin(start)
				c.out = appendHeader(c.out, pe.code, len(pe.body), c.headers(start, true, false))
				c.out = append(c.out, pe.body...)
				m.observe(pe.code, time.Since(start))
				if c.flush() {
					c.linger()
				}
			}
			return
		}
		closing := r.close || w.shutting.Load()
		switch {
		case r.contentLength > 0 && r.expect:
			// The client waits for a 100 Continue that never comes: answer
			// without its body and close, as net/http does.
			closing = true
		case r.contentLength > 0:
			if !c.readBy(start.Add(o.ReadTimeout), o.ReadTimeout/10, false) {
				return
			}
			if _, err := br.Discard(int(r.contentLength)); err != nil {
				return
			}
		}
		c.begin(start)
		var code int
		c.out, code = s.respond(c.out, r.method, r.path, c.headers(start, closing, r.keepAlive))
		last = time.Now()
		m.observe(code, last.Sub(start))
		if closing {
			c.flush()
			return
		}
		if len(c.out) >= wireFlushAt && !c.flush() {
			return
		}
	}
}

// begin counts a request that started at start as in flight until flush
// writes its answer.
func (c *wireConn) begin(start time.Time) {
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

// headers returns the header lines every response carries: Date, and
// Connection when it says something.
func (c *wireConn) headers(now time.Time, closing, keepAlive bool) []byte {
	c.extra = append(c.extra[:0], c.w.s.dateHeader(now)...)
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
	ok := c.writeBy(c.reqStart.Add(wt), wt/10)
	if ok {
		_, err := c.nc.Write(c.out)
		ok = err == nil
	}
	if !small {
		inFlight.Add(-c.pending)
	}
	c.pending = 0
	if cap(c.out) > wireOutKeep {
		c.out = make([]byte, 0, wireOutStart)
	} else {
		c.out = c.out[:0]
	}
	return ok
}

// linger closes the write side and reads what the client still sends, for
// a bounded time, before the connection closes: closing with unread data
// would send a reset, and the client could lose the error answer it is
// about to read. net/http does the same.
func (c *wireConn) linger() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	c.rdl = time.Now().Add(wireLinger)
	if c.nc.SetReadDeadline(c.rdl) == nil {
		_, _ = io.CopyN(io.Discard, c.rr.br, wireLingerBytes)
	}
}

// waitIdle waits, idle, for the first byte of the next request, up to it
// after since. It reports false when the connection is to be closed: the
// wait timed out or failed, or the server is shutting down.
func (c *wireConn) waitIdle(since time.Time, it time.Duration) bool {
	if !c.state.CompareAndSwap(connActive, connIdle) {
		return false
	}
	if c.w.shutting.Load() {
		return false
	}
	want := since.Add(it)
	// An earlier deadline, a request's still set, is fine: it ends the
	// wait early, and the wait goes on to the idle deadline. Most requests
	// on a busy connection arrive before it, and cost no timer update.
	if !c.readBy(want, it/10, true) {
		return false
	}
	for {
		_, err := c.rr.br.Peek(1)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) || !time.Now().Before(want.Add(-it/10)) {
			return false
		}
		c.rdl = want
		if c.nc.SetReadDeadline(want) != nil {
			return false
		}
	}
	return c.state.CompareAndSwap(connIdle, connActive)
}

// readBy makes the read deadline t, unless the one set is within tol of t
// (or earlier, if early is true): a timer update costs about as much as
// parsing a request, and a deadline a tenth off is as good.
func (c *wireConn) readBy(t time.Time, tol time.Duration, early bool) bool {
	if !c.rdl.IsZero() {
		if d := c.rdl.Sub(t); d <= tol && (early || d >= -tol) {
			return true
		}
	}
	c.rdl = t
	return c.nc.SetReadDeadline(t) == nil
}

// writeBy is readBy for the write deadline.
func (c *wireConn) writeBy(t time.Time, tol time.Duration) bool {
	if !c.wdl.IsZero() {
		if d := c.wdl.Sub(t); d <= tol && d >= -tol {
			return true
		}
	}
	c.wdl = t
	return c.nc.SetWriteDeadline(t) == nil
}
