package http1

import (
	"bufio"
	"bytes"
	"io"
	"strings"
)

// RequestError is a request a server must refuse: it answers Code, says
// Msg, and closes the connection.
type RequestError struct {
	Code int    // the status code to answer
	Msg  string // why, in words for the client
}

func (e *RequestError) Error() string { return e.Msg }

// The requests ReadHead refuses.
var (
	errRequestLine      = &RequestError{400, "bad request: malformed request line"}
	errTarget           = &RequestError{400, "bad request: malformed request target"}
	errHeaderLine       = &RequestError{400, "bad request: malformed header line"}
	errHost             = &RequestError{400, "bad request: an HTTP/1.1 request needs exactly one Host header"}
	errHostValue        = &RequestError{400, "bad request: malformed Host header"}
	errContentLength    = &RequestError{400, "bad request: malformed Content-Length"}
	errBodyTooLarge     = &RequestError{413, "request body too large"}
	errRequestTooLarge  = &RequestError{431, "request header fields too large"}
	errTransferEncoding = &RequestError{501, "Transfer-Encoding is not supported: this service reads no request bodies"}
	errVersion          = &RequestError{505, "HTTP version not supported: use HTTP/1.0 or HTTP/1.1"}
)

// Request is one parsed request head. Its slices point into the reader's
// buffers and are valid until the next request is read.
type Request struct {
	Method []byte
	// Path is the request target's path, percent-decoded, without the
	// query string; for an absolute-form target, the path after the
	// authority; "*" for an asterisk-form one.
	Path []byte
	// Minor is the HTTP/1 minor version: 0 or 1.
	Minor int
	// Close means the connection closes after this response: the client
	// asked for it, or HTTP/1.0 without keep-alive.
	Close bool
	// KeepAlive means an HTTP/1.0 client asked for keep-alive, which the
	// response confirms with Connection: keep-alive.
	KeepAlive bool
	// ContentLength is the length of the body that follows the head: zero
	// when it has none.
	ContentLength int64
	// Expect means the client sent Expect: 100-continue and waits for a
	// 100 Continue before sending its body.
	Expect bool
	// Captured is the value RequestReader.Capture asked for: the first
	// header of that name, else the named cookie; empty when the request
	// has neither.
	Captured []byte
}

// RequestReader parses HTTP/1.x request heads from a bufio.Reader without
// allocating, except to copy lines longer than the reader's buffer. It
// reads no bodies: the caller reads or discards ContentLength bytes after
// each head, from the same bufio.Reader. Chunked request bodies are
// refused.
type RequestReader struct {
	lines   lineReader
	maxHead int   // request line and headers, line ends included
	maxBody int64 // the largest Content-Length accepted
	// reqLine holds the method and target of the current request, copied
	// out of the bufio.Reader's buffer, which the header lines overwrite.
	reqLine []byte
	// pathBuf holds a percent-decoded path.
	pathBuf []byte
	// capHeader (lower case) and capCookie name the value to capture into
	// capBuf (see Capture).
	capHeader, capCookie string
	capBuf               []byte
}

// Capture makes ReadHead keep one value of each request in
// Request.Captured: the value of the first header named header (matched
// without regard to case), or, when the request has none, the value of the
// first cookie named cookie in its Cookie headers (matched exactly, as RFC
// 6265 says, and without the double quotes a cookie value may have). Either
// name may be empty. The value is copied, so it stays valid after later
// header lines overwrite the bufio.Reader's buffer; capturing allocates only
// to grow that copy to the longest value seen.
func (rr *RequestReader) Capture(header, cookie string) {
	rr.capHeader, rr.capCookie = strings.ToLower(header), cookie
}

// NewRequestReader returns a reader of the request heads on br, which
// refuses a head of more than maxHead bytes (431) and a body of more than
// maxBody (413).
func NewRequestReader(br *bufio.Reader, maxHead int, maxBody int64) RequestReader {
	return RequestReader{lines: lineReader{br: br}, maxHead: maxHead, maxBody: maxBody}
}

// keepBuf is the largest buffer a RequestReader keeps across Release: a
// request line, a path and a captured value of ordinary size fit.
const keepBuf = 1024

// Release drops the buffers that an unusually long request line, path,
// header line or captured value grew past keepBuf, so a connection that
// once read a 20,000-byte request line does not hold it while idle. Call it
// between requests; the Request last read becomes invalid.
func (rr *RequestReader) Release() {
	drop := func(b *[]byte) {
		if cap(*b) > keepBuf {
			*b = nil
		}
	}
	drop(&rr.reqLine)
	drop(&rr.pathBuf)
	drop(&rr.capBuf)
	drop(&rr.lines.long)
}

// ReadHead reads a request line and its headers into r. It returns a
// *RequestError for a request to refuse, io.EOF when the input ended
// cleanly before a request, and another error when reading failed.
func (rr *RequestReader) ReadHead(r *Request) error {
	*r = Request{}
	n := 0
	var line []byte
	var err error
	for {
		if line, err = rr.lines.readLine(&n, rr.maxHead); err != nil {
			if err == io.EOF && n > 0 {
				err = io.ErrUnexpectedEOF
			}
			return rr.headError(err)
		}
		if len(line) > 0 {
			break
		}
		// RFC 9112 section 2.2: empty lines before the request line are
		// ignored; they count towards maxHead.
	}
	if err := rr.requestLine(line, r); err != nil {
		return err
	}
	hosts := 0
	conClose, conKeepAlive, te := false, false, false
	// captured is where Captured came from: 0 nowhere yet, 1 a cookie,
	// 2 the header, which wins.
	captured := 0
	r.ContentLength = -1
	for {
		if line, err = rr.lines.readLine(&n, rr.maxHead); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return rr.headError(err)
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
		if captured < 2 && len(name) == len(rr.capHeader) && equalFold(name, rr.capHeader) {
			rr.capBuf = append(rr.capBuf[:0], value...)
			captured = 2
		}
		switch len(name) {
		case 6:
			if equalFold(name, "expect") && equalFold(value, "100-continue") {
				r.Expect = true
			}
			if captured == 0 && rr.capCookie != "" && equalFold(name, "cookie") {
				if v, ok := cookieValue(value, rr.capCookie); ok {
					rr.capBuf = append(rr.capBuf[:0], v...)
					captured = 1
				}
			}
		case 4:
			if equalFold(name, "host") {
				hosts++
				if !validHost(value) {
					return errHostValue
				}
			}
		case 10:
			if equalFold(name, "connection") {
				c, k := connectionTokens(value)
				conClose, conKeepAlive = conClose || c, conKeepAlive || k
			}
		case 14:
			if equalFold(name, "content-length") {
				cl, ok := parseLength(value)
				if !ok || (r.ContentLength >= 0 && cl != r.ContentLength) {
					return errContentLength
				}
				r.ContentLength = cl
			}
		case 17:
			if equalFold(name, "transfer-encoding") {
				te = true
			}
		}
	}
	r.Close = shouldClose(r.Minor, conClose, conKeepAlive)
	r.KeepAlive = r.Minor == 0 && !r.Close
	switch {
	case te:
		return errTransferEncoding
	case r.Minor > 0 && hosts != 1, hosts > 1:
		return errHost
	case r.ContentLength > rr.maxBody:
		return errBodyTooLarge
	}
	r.ContentLength = max(r.ContentLength, 0)
	if captured > 0 {
		r.Captured = rr.capBuf
	}
	return nil
}

// cookieValue returns the value of the first cookie called name in a Cookie
// header's value ("a=1; b=2"), without surrounding double quotes.
func cookieValue(header []byte, name string) ([]byte, bool) {
	for len(header) > 0 {
		var pair []byte
		if i := bytes.IndexByte(header, ';'); i >= 0 {
			pair, header = header[:i], header[i+1:]
		} else {
			pair, header = header, nil
		}
		pair = trimOWS(pair)
		eq := bytes.IndexByte(pair, '=')
		if eq < 0 || string(pair[:eq]) != name {
			continue
		}
		v := pair[eq+1:]
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		return v, true
	}
	return nil, false
}

func (rr *RequestReader) headError(err error) error {
	if err == errTooLarge {
		return errRequestTooLarge
	}
	return err
}

// requestLine parses "METHOD SP request-target SP HTTP/1.x" into r.
func (rr *RequestReader) requestLine(line []byte, r *Request) error {
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
		r.Minor = min(int(proto[7]-'0'), 1)
	case len(proto) == 8 && string(proto[:5]) == "HTTP/" && isDigit(proto[5]) && proto[6] == '.' && isDigit(proto[7]):
		return errVersion
	default:
		return errRequestLine
	}
	rr.reqLine = append(append(rr.reqLine[:0], method...), target...)
	r.Method = rr.reqLine[:len(method)]
	path, err := rr.targetPath(rr.reqLine[len(method):])
	if err != nil {
		return err
	}
	r.Path = path
	return nil
}

// targetPath returns the path of a request target: origin-form as it is,
// absolute-form after its authority, "*" as it is; without the query, and
// percent-decoded.
func (rr *RequestReader) targetPath(t []byte) ([]byte, error) {
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

// validHost reports whether a Host header's value can be uri-host [":"
// port] (RFC 9112 section 3.2, RFC 3986 section 3.2.2): the characters of a
// registered name, an IPv4 address or a bracketed IP literal, with a port.
// As net/http does, it checks the characters only, not the grammar; an
// empty value is allowed (a target without an authority).
func validHost(v []byte) bool {
	for _, c := range v {
		if c >= 0x80 || !hostByte[c] {
			return false
		}
	}
	return true
}

// hostByte marks the bytes a Host value may hold: unreserved, sub-delims,
// '%' of a percent-encoding, ':' before a port and in an IP literal, and
// its brackets.
var hostByte = func() (t [128]bool) {
	for _, c := range []byte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=%:[]") {
		t[c] = true
	}
	return t
}()
