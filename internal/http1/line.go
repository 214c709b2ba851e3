package http1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// errTooLarge is readLine's failure once a head exceeds its bound; each
// parser turns it into its own error.
var errTooLarge = errors.New("head too large")

// lineReader reads the lines of a message head, or of a chunked body's
// framing, from a bufio.Reader.
type lineReader struct {
	br *bufio.Reader
	// long holds a line longer than br's buffer, and is kept for the next
	// one.
	long []byte
}

// readLine reads one line, without its LF or CRLF, adding its length to n
// (line end included) and failing with errTooLarge once n exceeds max. It
// returns io.EOF when the input ended before the line's first byte and
// io.ErrUnexpectedEOF when it ended within it. The line is valid until the
// next read.
//
// A line within br's buffer is returned in place; a longer one, legal but
// rare (vegeta and fortio accept a header line of 20,000 bytes), is copied
// into l.long.
func (l *lineReader) readLine(n *int, max int) ([]byte, error) {
	line, err := l.br.ReadSlice('\n')
	if *n += len(line); *n > max {
		return nil, errTooLarge
	}
	if err == nil {
		return trimEOL(line), nil
	}
	if err != bufio.ErrBufferFull {
		return nil, cutShort(line, err)
	}
	l.long = append(l.long[:0], line...)
	for {
		line, err = l.br.ReadSlice('\n')
		if *n += len(line); *n > max {
			return nil, errTooLarge
		}
		l.long = append(l.long, line...)
		if err == nil {
			return trimEOL(l.long), nil
		}
		if err != bufio.ErrBufferFull {
			return nil, cutShort(l.long, err)
		}
	}
}

// cutShort returns err, or io.ErrUnexpectedEOF for an io.EOF after part of
// a line was read.
func cutShort(read []byte, err error) error {
	if len(read) > 0 && errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func trimEOL(b []byte) []byte {
	b = b[:len(b)-1]
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	return b
}

// trimOWS trims the optional white space (RFC 9110 section 5.6.3: spaces
// and tabs) around a field value.
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

// containsFold reports whether b contains the lower-case ASCII lower,
// ignoring the case of b.
func containsFold(b []byte, lower string) bool {
	for i := 0; i+len(lower) <= len(b); i++ {
		if equalFold(b[i:i+len(lower)], lower) {
			return true
		}
	}
	return false
}

// connectionTokens reports whether a Connection field value lists close
// and keep-alive (RFC 9110 section 7.6.1: a comma-separated list of
// tokens, in any case).
func connectionTokens(value []byte) (close, keepAlive bool) {
	for len(value) > 0 {
		var tok []byte
		if i := bytes.IndexByte(value, ','); i >= 0 {
			tok, value = trimOWS(value[:i]), value[i+1:]
		} else {
			tok, value = trimOWS(value), nil
		}
		switch {
		case equalFold(tok, "close"):
			close = true
		case equalFold(tok, "keep-alive"):
			keepAlive = true
		}
	}
	return close, keepAlive
}

// shouldClose reports whether the connection closes after a message of
// HTTP/1.minor whose Connection fields listed close and keep-alive: an
// HTTP/1.0 connection closes unless kept alive, an HTTP/1.1 one only when
// asked (RFC 9112 section 9.3).
func shouldClose(minor int, close, keepAlive bool) bool {
	if minor == 0 {
		return close || !keepAlive
	}
	return close
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
