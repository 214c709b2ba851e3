package harness

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadResponse(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    string
		head  bool
		code  int
		close bool
		rest  string // what must remain unread: the next response
		err   error
		kind  string // the error's kind in run.json
	}{
		{name: "content-length", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloNEXT", code: 200, rest: "NEXT"},
		{name: "header case", in: "HTTP/1.1 404 Not Found\r\ncOnTeNt-LeNgTh: 2\r\n\r\nnoNEXT", code: 404, rest: "NEXT"},
		{name: "no reason", in: "HTTP/1.1 204\r\n\r\nNEXT", code: 204, rest: "NEXT"},
		{name: "chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\nTrailer: x\r\n\r\nNEXT", code: 200, rest: "NEXT"},
		{name: "head ignores length", in: "HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\nNEXT", head: true, code: 200, rest: "NEXT"},
		{name: "304 has no body", in: "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\nNEXT", code: 304, rest: "NEXT"},
		{name: "interim 100", in: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\nNEXT", code: 201, rest: "NEXT"},
		{name: "connection close", in: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", code: 200, close: true},
		{name: "http/1.0 closes", in: "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", code: 200, close: true},
		{name: "http/1.0 keep-alive", in: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", code: 200},
		{name: "until close", in: "HTTP/1.1 200 OK\r\n\r\nall of it", code: 200, close: true},
		{name: "LF only", in: "HTTP/1.1 200 OK\nContent-Length: 1\n\nxNEXT", code: 200, rest: "NEXT"},
		{name: "bad status", in: "HTTP/1.1 2x0 OK\r\n\r\n", err: errMalformedStatus},
		{name: "not http", in: "SSH-2.0-OpenSSH\r\n\r\n", err: errMalformedStatus},
		{name: "bad header", in: "HTTP/1.1 200 OK\r\nno colon\r\n\r\n", err: errMalformedHeader},
		{name: "bad length", in: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", err: errMalformedHeader},
		{name: "bad chunk", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", err: errMalformedChunk},
		{name: "truncated body", in: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", err: io.ErrUnexpectedEOF, kind: KindTruncatedBody},
		{name: "truncated chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", err: io.ErrUnexpectedEOF, kind: KindTruncatedBody},
		{name: "truncated headers", in: "HTTP/1.1 200 OK\r\nContent-Le", err: io.ErrUnexpectedEOF, kind: KindTruncatedHead},
		{name: "nothing", in: "", err: io.EOF, kind: KindClosed},
		{name: "header line of 20,000 bytes", in: "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("x", 20000) + "\r\nContent-Length: 1\r\n\r\nxNEXT", code: 200, rest: "NEXT"},
		{name: "header block over 64 KiB", in: "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Big: "+strings.Repeat("x", 20000)+"\r\n", 4) + "\r\n", err: errHeaderTooLarge, kind: KindMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := bufio.NewReaderSize(strings.NewReader(tc.in), 64)
			resp, err := readResponse(br, tc.head)
			if tc.err != nil {
				if err == nil || (!errors.Is(err, tc.err) && !strings.Contains(err.Error(), tc.err.Error())) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				if k := errorKind(err); tc.kind != "" && k != tc.kind {
					t.Errorf("kind %q, want %q", k, tc.kind)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.code != tc.code || resp.close != tc.close {
				t.Errorf("code %d close %v, want %d %v", resp.code, resp.close, tc.code, tc.close)
			}
			rest, _ := br.ReadString(0)
			if rest != tc.rest {
				t.Errorf("left %q unread, want %q", rest, tc.rest)
			}
		})
	}
}

func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.0 404 Not Found\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
	} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, in string, head bool) {
		resp, err := readResponse(bufio.NewReaderSize(strings.NewReader(in), 128), head)
		if err == nil && (resp.code < 0 || resp.code > 999) {
			t.Fatalf("code %d from %q", resp.code, in)
		}
	})
}
