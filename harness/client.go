package harness

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// The client is a minimal HTTP/1.1 client: one connection per worker, the
// request written with one write from a prebuilt buffer, the response parsed
// in place from a bufio.Reader and its body discarded. It exists because
// net/http's client costs several microseconds and several allocations per
// request, which on one core is the difference between measuring the server
// and measuring the generator. It speaks what load tests need: keep-alive,
// Content-Length and chunked bodies, HEAD, Connection: close, TLS.

// readBufferSize is the per-connection read buffer: big enough for the
// headers and a typical body in one read.
const readBufferSize = 16 << 10

// maxHeaderBytes bounds a response's header block.
const maxHeaderBytes = 64 << 10

var (
	errMalformedStatus = errors.New("malformed HTTP status line")
	errMalformedHeader = errors.New("malformed HTTP header")
	errHeaderTooLarge  = errors.New("HTTP response headers too large")
	errMalformedChunk  = errors.New("malformed chunked body")
)

// stage is how far a request got when it failed on the wire. It decides
// whether the request may be sent again (see attack.send) and how the
// failure is counted (see errorKind).
type stage int

const (
	// stageUnwritten: writing the request failed before any byte of it
	// went out, so the server cannot have seen it.
	stageUnwritten stage = iota
	// stageWait: the request was written (wholly or in part) and not one
	// byte of a response arrived.
	stageWait
	// stageHead: the response was cut short in its status line or headers.
	stageHead
	// stageBody: the response was cut short in its body.
	stageBody
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

// at wraps a read error with the stage it happened in; protocol errors
// (malformed responses) stay as they are.
func at(st stage, err error) error {
	if err == nil || errors.Is(err, errMalformedStatus) || errors.Is(err, errMalformedHeader) ||
		errors.Is(err, errHeaderTooLarge) || errors.Is(err, errMalformedChunk) {
		return err
	}
	if errors.Is(err, io.EOF) && st != stageWait {
		err = io.ErrUnexpectedEOF
	}
	return &wireError{stage: st, err: err}
}

// endpoint is where requests go: a dial address plus TLS settings.
type endpoint struct {
	addr string      // host:port to dial
	tls  *tls.Config // nil for plain HTTP
}

// conn is one keep-alive connection owned by one worker.
type conn struct {
	nc       net.Conn
	br       *bufio.Reader
	deadline time.Time // the deadline last set on nc
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
	return &conn{nc: nc, br: bufio.NewReaderSize(nc, readBufferSize)}, nil
}

func (c *conn) close() { c.nc.Close() }

// setDeadline sets the connection's deadline to now+timeout. Moving a
// deadline costs a runtime timer update, so it is only moved when it has
// fallen more than a tenth of the timeout behind: each request still gets
// at least 90% of the timeout, and the hot path saves the call.
func (c *conn) setDeadline(now time.Time, timeout time.Duration) error {
	if timeout <= 0 {
		return nil
	}
	want := now.Add(timeout)
	if want.Sub(c.deadline) < timeout/10 {
		return nil
	}
	c.deadline = want
	return c.nc.SetDeadline(want)
}

// response is what the harness keeps of a response.
type response struct {
	code  int
	close bool // the server will close the connection
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
	return readResponse(c.br, head)
}

// readResponse parses one HTTP/1.x response from br and discards its body.
func readResponse(br *bufio.Reader, head bool) (response, error) {
	var resp response
	if _, err := br.Peek(1); err != nil {
		return resp, at(stageWait, err) // not one byte of a response
	}
	line, err := readLine(br)
	if err != nil {
		return resp, at(stageHead, err)
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return resp, fmt.Errorf("%w: %q", errMalformedStatus, truncate(line))
	}
	code, ok := atoi3(line[9:12])
	if !ok || (len(line) > 12 && line[12] != ' ') {
		return resp, fmt.Errorf("%w: %q", errMalformedStatus, truncate(line))
	}
	resp.code = code
	http10 := line[7] == '0'
	resp.close = http10

	contentLength := int64(-1)
	chunked := false
	total := len(line)
	for {
		line, err := readLine(br)
		if err != nil {
			return resp, at(stageHead, err)
		}
		if len(line) == 0 {
			break
		}
		total += len(line)
		if total > maxHeaderBytes {
			return resp, errHeaderTooLarge
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return resp, fmt.Errorf("%w: %q", errMalformedHeader, truncate(line))
		}
		name, value := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch {
		case asciiEqualFold(name, "content-length"):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 {
				return resp, fmt.Errorf("%w: bad Content-Length %q", errMalformedHeader, truncate(value))
			}
			contentLength = n
		case asciiEqualFold(name, "transfer-encoding"):
			chunked = asciiContainsFold(value, "chunked")
		case asciiEqualFold(name, "connection"):
			if asciiContainsFold(value, "close") {
				resp.close = true
			} else if asciiContainsFold(value, "keep-alive") {
				resp.close = false
			}
		}
	}

	switch {
	case head || code == 204 || code == 304 || (code >= 100 && code < 200):
		if code >= 100 && code < 200 && code != 101 {
			// An interim response: the real one follows, and the server
			// has seen the request, so its absence is no longer stageWait.
			if _, err := br.Peek(1); err != nil {
				return resp, at(stageHead, err)
			}
			return readResponse(br, head)
		}
		return resp, nil
	case chunked:
		return resp, at(stageBody, discardChunked(br))
	case contentLength >= 0:
		_, err := br.Discard(int(contentLength))
		return resp, at(stageBody, err)
	default:
		// No length: the body runs until the server closes.
		resp.close = true
		_, err := io.Copy(io.Discard, br)
		return resp, at(stageBody, err)
	}
}

// readLine returns the next CRLF- or LF-terminated line without its ending.
// The slice is valid until the next read from br.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		line, err = readLongLine(br, line)
	}
	if err != nil {
		if errors.Is(err, io.EOF) && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// readLongLine goes on reading a line longer than br's buffer, whose start
// is first, into a new buffer, up to maxHeaderBytes. It is the slow path of
// readLine: a header line over the read buffer's 16 KiB is legal (vegeta
// and fortio accept one of 20,000 bytes), only rare.
func readLongLine(br *bufio.Reader, first []byte) ([]byte, error) {
	line := append(make([]byte, 0, 2*len(first)), first...)
	for {
		more, err := br.ReadSlice('\n')
		line = append(line, more...)
		if len(line) > maxHeaderBytes {
			return nil, errHeaderTooLarge
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return line, err
		}
	}
}

func discardChunked(br *bufio.Reader) error {
	for {
		line, err := readLine(br)
		if err != nil {
			return err
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		line = bytes.TrimSpace(line)
		size, err := strconv.ParseUint(string(line), 16, 63)
		if err != nil {
			return fmt.Errorf("%w: size %q", errMalformedChunk, truncate(line))
		}
		if size == 0 {
			// Trailers, then an empty line.
			for {
				line, err := readLine(br)
				if err != nil {
					return err
				}
				if len(line) == 0 {
					return nil
				}
			}
		}
		if _, err := br.Discard(int(size)); err != nil {
			return err
		}
		line, err = readLine(br)
		if err != nil {
			return err
		}
		if len(line) != 0 {
			return fmt.Errorf("%w: data longer than its size", errMalformedChunk)
		}
	}
}

func atoi3(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// asciiEqualFold reports whether b equals lower (given in lower case),
// ignoring ASCII case. The conversion of lower does not escape, so nothing
// is allocated.
func asciiEqualFold(b []byte, lower string) bool { return bytes.EqualFold(b, []byte(lower)) }

// asciiContainsFold reports whether b contains lower (given in lower case),
// ignoring ASCII case.
func asciiContainsFold(b []byte, lower string) bool {
	for i := 0; i+len(lower) <= len(b); i++ {
		if asciiEqualFold(b[i:i+len(lower)], lower) {
			return true
		}
	}
	return false
}

func truncate(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
