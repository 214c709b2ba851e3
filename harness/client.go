package harness

import (
	"bufio"
	"crypto/tls"
	"errors"
	"net"
	"time"

	"github.com/perf-tools/perf/internal/http1"
)

// The client is a minimal HTTP/1.1 client: one connection per worker, the
// request written with one write from a prebuilt buffer, the response parsed
// in place by http1.ResponseReader and its body discarded. It exists because
// net/http's client costs several microseconds and several allocations per
// request, which on one core is the difference between measuring the server
// and measuring the generator. It speaks what load tests need: keep-alive,
// Content-Length and chunked bodies, HEAD, Connection: close, TLS.

// readBufferSize is the per-connection read buffer: big enough for the
// headers and a typical body in one read.
const readBufferSize = 16 << 10

// stage is how far a request got when it failed on the wire. It decides
// whether the request may be sent again (see attack.send) and how the
// failure is counted (see errorKind).
type stage = http1.Stage

const (
	stageUnwritten = http1.StageUnwritten
	stageWait      = http1.StageWait
	stageHead      = http1.StageHead
	stageBody      = http1.StageBody
)

// wireError is a request that failed on the connection: the system's error
// and how far the exchange had got.
type wireError struct {
	stage stage
	err   error
}

func (e *wireError) Error() string {
	switch e.stage {
	case stageHead:
		return "response cut short in its headers: " + e.err.Error()
	case stageBody:
		return "response body cut short: " + e.err.Error()
	}
	return e.err.Error()
}

func (e *wireError) Unwrap() error { return e.err }

// malformed reports whether err is a response that broke the protocol.
func malformed(err error) bool {
	return errors.Is(err, http1.ErrMalformedStatus) || errors.Is(err, http1.ErrMalformedHeader) ||
		errors.Is(err, http1.ErrHeaderTooLarge) || errors.Is(err, http1.ErrMalformedChunk)
}

// endpoint is where requests go: a dial address plus TLS settings.
type endpoint struct {
	addr string      // host:port to dial
	tls  *tls.Config // nil for plain HTTP
}

// conn is one keep-alive connection owned by one worker.
type conn struct {
	nc       net.Conn
	rr       http1.ResponseReader
	deadline http1.Deadline // read and write
}

func dial(ep *endpoint, timeout time.Duration) (*conn, error) {
	d := net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	nc, err := d.Dial("tcp", ep.addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	if ep.tls != nil {
		tc := tls.Client(nc, ep.tls)
		if timeout > 0 {
			_ = tc.SetDeadline(time.Now().Add(timeout))
		}
		if err := tc.Handshake(); err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	return newConn(nc), nil
}

func newConn(nc net.Conn) *conn {
	return &conn{
		nc:       nc,
		rr:       http1.NewResponseReader(bufio.NewReaderSize(nc, readBufferSize)),
		deadline: http1.NewDeadline(nc.SetDeadline),
	}
}

func (c *conn) close() { c.nc.Close() }

// setDeadline gives the request starting now timeout to finish. The
// deadline moves only when it has fallen more than a tenth of the timeout
// behind (see http1.Deadline): each request still gets at least 90% of
// the timeout, and the hot path saves the timer update.
func (c *conn) setDeadline(now time.Time, timeout time.Duration) error {
	if timeout <= 0 {
		return nil
	}
	return c.deadline.Near(now.Add(timeout), timeout)
}

// response is what the harness keeps of a response.
type response struct {
	code  int
	close bool // the server will close the connection
	// variant is the id of the response's variant when the attack splits
	// responses (see variants), -1 without the header.
	variant int
}

// roundTrip writes req and reads one response. head says the request was a
// HEAD, whose response has no body whatever its headers say. A failure on
// the wire is a *wireError saying how far the exchange got.
func (c *conn) roundTrip(req []byte, head bool) (response, error) {
	if n, err := c.nc.Write(req); err != nil {
		st := stageWait
		if n == 0 {
			st = stageUnwritten
		}
		return response{}, &wireError{stage: st, err: err}
	}
	return c.readResponse(head)
}

// readResponse reads one response and discards its body. A malformed
// response fails with http1's error, a connection that failed with a
// *wireError.
func (c *conn) readResponse(head bool) (response, error) {
	r, st, err := c.rr.ReadResponse(head)
	if err != nil && !malformed(err) {
		err = &wireError{stage: st, err: err}
	}
	return response{code: r.Code, close: r.Close, variant: r.Class}, err
}
