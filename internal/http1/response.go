package http1

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// MaxResponseHead bounds a response's status line and headers, line ends
// included, and each line of a chunked body's framing.
const MaxResponseHead = 64 << 10

// The malformed responses ReadResponse refuses, wrapped with the offending
// bytes.
var (
	ErrMalformedStatus = errors.New("malformed HTTP status line")
	ErrMalformedHeader = errors.New("malformed HTTP header")
	ErrHeaderTooLarge  = errors.New("HTTP response headers too large")
	ErrMalformedChunk  = errors.New("malformed chunked body")
)

// Stage is how far an exchange, a request and its response, had got when
// it failed on the connection. It decides whether a client may send the
// request again and how the failure is counted.
type Stage int

const (
	// StageUnwritten: writing the request failed before any byte of it
	// went out, so the server cannot have seen it. A client's write
	// reports it; ReadResponse never does.
	StageUnwritten Stage = iota
	// StageWait: the request was written (wholly or in part) and not one
	// byte of a response arrived.
	StageWait
	// StageHead: the response was cut short in its status line or headers.
	StageHead
	// StageBody: the response was cut short in its body.
	StageBody
)

// Response is what a load generator keeps of a response.
type Response struct {
	Code  int
	Close bool // the server will close the connection
	// Class is what the classifier set by Capture made of the response's
	// first header of the captured name, or -1 when it had none (or
	// nothing is captured).
	Class int
}

// ResponseReader parses HTTP/1.x responses from a bufio.Reader in place,
// and discards their bodies. It speaks what load tests need: keep-alive,
// Content-Length and chunked bodies, bodies that run until the connection
// closes, HEAD, interim 1xx responses.
type ResponseReader struct {
	lines lineReader
	// capture is the lower-case name of the header classify reads, when
	// one is captured.
	capture  string
	classify func(value []byte) int
}

// Capture makes ReadResponse pass the value of the response's first
// header called name (in any case), spaces trimmed, to classify, and
// return what it says as Response.Class. The value is valid only during
// the call: classify must copy what it keeps. It exists so that a client
// can tell responses apart by a header without a copy or an allocation per
// response: classify maps the few distinct values to small numbers.
func (rr *ResponseReader) Capture(name string, classify func(value []byte) int) {
	rr.capture, rr.classify = strings.ToLower(name), classify
}

// NewResponseReader returns a reader of the responses on br.
func NewResponseReader(br *bufio.Reader) ResponseReader {
	return ResponseReader{lines: lineReader{br: br}}
}

// ReadResponse reads one response and discards its body. head says the
// request was a HEAD, whose response has no body whatever its headers say.
// An interim response (1xx but 101) is skipped: the one that follows is
// returned.
//
// A malformed response fails with an error that wraps one of the Err
// values above. Otherwise a failure is the reader's error, and st says
// where it happened: the input ending is io.EOF at StageWait, before the
// response's first byte, and io.ErrUnexpectedEOF after it.
func (rr *ResponseReader) ReadResponse(head bool) (resp Response, st Stage, err error) {
	resp, st, err = rr.read(head)
	if err != nil && st != StageWait && errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return resp, st, err
}

func (rr *ResponseReader) read(head bool) (resp Response, st Stage, err error) {
	resp.Class = -1
	br := rr.lines.br
	if _, err := br.Peek(1); err != nil {
		return resp, StageWait, err // not one byte of a response
	}
	n := 0
	line, err := rr.lines.readLine(&n, MaxResponseHead)
	if err != nil {
		return resp, StageHead, headError(err)
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return resp, StageHead, fmt.Errorf("%w: %q", ErrMalformedStatus, truncate(line))
	}
	code, ok := atoi3(line[9:12])
	if !ok || (len(line) > 12 && line[12] != ' ') {
		return resp, StageHead, fmt.Errorf("%w: %q", ErrMalformedStatus, truncate(line))
	}
	resp.Code = code
	minor := 1
	if line[7] == '0' {
		minor = 0
	}

	contentLength := int64(-1)
	chunked, conClose, conKeepAlive := false, false, false
	// An interim response's headers are not the response's.
	classify := rr.classify
	if code >= 100 && code < 200 && code != 101 {
		classify = nil
	}
	for {
		line, err := rr.lines.readLine(&n, MaxResponseHead)
		if err != nil {
			return resp, StageHead, headError(err)
		}
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			// Obsolete line folding (RFC 9112 section 5.2) would change the
			// value of the header before, which may be one the parser acts
			// on (Connection, Content-Length): refused rather than misread.
			return resp, StageHead, fmt.Errorf("%w: obsolete line folding: %q", ErrMalformedHeader, truncate(line))
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return resp, StageHead, fmt.Errorf("%w: %q", ErrMalformedHeader, truncate(line))
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		switch {
		case equalFold(name, "content-length"):
			cl, ok := parseLength(value)
			if !ok {
				return resp, StageHead, fmt.Errorf("%w: bad Content-Length %q", ErrMalformedHeader, truncate(value))
			}
			contentLength = cl
		case equalFold(name, "transfer-encoding"):
			chunked = containsFold(value, "chunked")
		case equalFold(name, "connection"):
			c, k := connectionTokens(value)
			conClose, conKeepAlive = conClose || c, conKeepAlive || k
		case classify != nil && resp.Class < 0 && equalFold(name, rr.capture):
			resp.Class = classify(value)
		}
	}
	resp.Close = shouldClose(minor, conClose, conKeepAlive)

	switch {
	case head || code == 204 || code == 304 || (code >= 100 && code < 200):
		if code >= 100 && code < 200 && code != 101 {
			// An interim response: the real one follows, and the server
			// has seen the request, so its absence is no longer StageWait.
			if _, err := br.Peek(1); err != nil {
				return resp, StageHead, err
			}
			return rr.read(head)
		}
		return resp, StageWait, nil
	case chunked:
		return resp, StageBody, rr.discardChunked()
	case contentLength >= 0:
		_, err := br.Discard(int(contentLength))
		return resp, StageBody, err
	default:
		// No length: the body runs until the server closes.
		resp.Close = true
		_, err := io.Copy(io.Discard, br)
		return resp, StageBody, err
	}
}

// headError is the error of a line of the head or of a chunked body's
// framing that could not be read.
func headError(err error) error {
	if err == errTooLarge {
		return ErrHeaderTooLarge
	}
	return err
}

// discardChunked reads a chunked body to its end, trailers included.
func (rr *ResponseReader) discardChunked() error {
	for {
		n := 0
		line, err := rr.lines.readLine(&n, MaxResponseHead)
		if err != nil {
			return headError(err)
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		line = bytes.TrimSpace(line)
		size, err := strconv.ParseUint(string(line), 16, 63)
		if err != nil {
			return fmt.Errorf("%w: size %q", ErrMalformedChunk, truncate(line))
		}
		if size == 0 {
			// Trailers, then an empty line.
			for {
				n := 0
				line, err := rr.lines.readLine(&n, MaxResponseHead)
				if err != nil {
					return headError(err)
				}
				if len(line) == 0 {
					return nil
				}
			}
		}
		if _, err := rr.lines.br.Discard(int(size)); err != nil {
			return err
		}
		if line, err = rr.lines.readLine(&n, MaxResponseHead); err != nil {
			return headError(err)
		}
		if len(line) != 0 {
			return fmt.Errorf("%w: data longer than its size", ErrMalformedChunk)
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

func truncate(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
