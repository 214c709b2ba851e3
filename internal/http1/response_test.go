package http1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
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
		stage Stage // where a failure that is not a malformed response happened
	}{
		{name: "content-length", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloNEXT", code: 200, rest: "NEXT"},
		{name: "header case", in: "HTTP/1.1 404 Not Found\r\ncOnTeNt-LeNgTh: 2\r\n\r\nnoNEXT", code: 404, rest: "NEXT"},
		{name: "no reason", in: "HTTP/1.1 204\r\n\r\nNEXT", code: 204, rest: "NEXT"},
		{name: "chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\nTrailer: x\r\n\r\nNEXT", code: 200, rest: "NEXT"},
		{name: "head ignores length", in: "HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\nNEXT", head: true, code: 200, rest: "NEXT"},
		{name: "304 has no body", in: "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\nNEXT", code: 304, rest: "NEXT"},
		{name: "interim 100", in: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\nNEXT", code: 201, rest: "NEXT"},
		{name: "connection close", in: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", code: 200, close: true},
		{name: "connection list", in: "HTTP/1.1 200 OK\r\nConnection: Upgrade, Close\r\nContent-Length: 0\r\n\r\n", code: 200, close: true},
		{name: "http/1.0 closes", in: "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", code: 200, close: true},
		{name: "http/1.0 keep-alive", in: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", code: 200},
		{name: "until close", in: "HTTP/1.1 200 OK\r\n\r\nall of it", code: 200, close: true},
		{name: "LF only", in: "HTTP/1.1 200 OK\nContent-Length: 1\n\nxNEXT", code: 200, rest: "NEXT"},
		{name: "bad status", in: "HTTP/1.1 2x0 OK\r\n\r\n", err: ErrMalformedStatus},
		{name: "not http", in: "SSH-2.0-OpenSSH\r\n\r\n", err: ErrMalformedStatus},
		{name: "bad header", in: "HTTP/1.1 200 OK\r\nno colon\r\n\r\n", err: ErrMalformedHeader},
		{name: "obsolete line folding", in: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n more\r\nContent-Length: 0\r\n\r\n", err: ErrMalformedHeader},
		{name: "bad length", in: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", err: ErrMalformedHeader},
		{name: "bad chunk", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", err: ErrMalformedChunk},
		{name: "chunk longer than its size", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n", err: ErrMalformedChunk},
		{name: "truncated body", in: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", err: io.ErrUnexpectedEOF, stage: StageBody},
		{name: "truncated chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", err: io.ErrUnexpectedEOF, stage: StageBody},
		{name: "truncated before the trailers", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n", err: io.ErrUnexpectedEOF, stage: StageBody},
		{name: "truncated headers", in: "HTTP/1.1 200 OK\r\nContent-Le", err: io.ErrUnexpectedEOF, stage: StageHead},
		{name: "truncated at a line end", in: "HTTP/1.1 200 OK\r\n", err: io.ErrUnexpectedEOF, stage: StageHead},
		{name: "nothing after an interim response", in: "HTTP/1.1 100 Continue\r\n\r\n", err: io.ErrUnexpectedEOF, stage: StageHead},
		{name: "nothing", in: "", err: io.EOF, stage: StageWait},
		{name: "header line of 20,000 bytes", in: "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("x", 20000) + "\r\nContent-Length: 1\r\n\r\nxNEXT", code: 200, rest: "NEXT"},
		{name: "header block over 64 KiB", in: "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Big: "+strings.Repeat("x", 20000)+"\r\n", 4) + "\r\n", err: ErrHeaderTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := bufio.NewReaderSize(strings.NewReader(tc.in), 64)
			rr := NewResponseReader(br)
			resp, st, err := rr.ReadResponse(tc.head)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				if tc.stage != StageUnwritten && st != tc.stage {
					t.Errorf("stage %d, want %d", st, tc.stage)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.Code != tc.code || resp.Close != tc.close {
				t.Errorf("code %d close %v, want %d %v", resp.Code, resp.Close, tc.code, tc.close)
			}
			rest, _ := br.ReadString(0)
			if rest != tc.rest {
				t.Errorf("left %q unread, want %q", rest, tc.rest)
			}
		})
	}
}

// FuzzReadResponse checks the response parser against net/http's
// http.ReadResponse on the same bytes: where both read a whole response
// (net/http's body to its end), they must agree on its status code and on
// whether the connection stays open, and, when it does, on where the
// response ends. The parser is more lenient than net/http (it ignores
// headers a load generator need not check), so a response only one of them
// reads proves nothing; where both read one, a disagreement is a bug in
// one of them.
func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\n\r\n{}HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\nTrailer: 1\r\n\r\nNEXT",
		"HTTP/1.0 404 Not Found\r\n\r\nbody until close",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nxNEXT",
		"HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nNEXT",
		"HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\nNEXT",
		"HTTP/1.1 304 Not Modified\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\nraw",
		"HTTP/1.1 200 OK\nContent-Length: 3\n\nabc",
		"HTTP/1.1 200 OK\r\nX-Variant:  doc-view=compact, etag=off \r\nx-variant: B\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 103 Early Hints\r\nX-Variant: A\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nNEXT"), true)
	f.Fuzz(func(t *testing.T, data []byte, head bool) {
		in := bytes.NewReader(data)
		br := bufio.NewReaderSize(in, 64) // small: long lines take the slow path
		rr := NewResponseReader(br)
		var captured []string
		rr.Capture("X-Variant", func(v []byte) int { captured = append(captured, string(v)); return 7 })
		resp, _, err := rr.ReadResponse(head)
		if err != nil {
			return
		}
		left := br.Buffered() + in.Len()

		ref, refLeft, refErr := netHTTPRead(data, head)
		if refErr != nil {
			return
		}
		if resp.Code != ref.StatusCode {
			t.Fatalf("status %d, net/http %d, from %q", resp.Code, ref.StatusCode, data)
		}
		// The captured header is the final response's first X-Variant,
		// as net/http reads it.
		if vs := ref.Header.Values("X-Variant"); len(vs) > 0 {
			if resp.Class != 7 || len(captured) != 1 || captured[0] != vs[0] {
				t.Fatalf("captured %q (class %d), net/http's first X-Variant %q, from %q", captured, resp.Class, vs[0], data)
			}
		} else if resp.Class != -1 || len(captured) != 0 {
			t.Fatalf("captured %q (class %d) from a response net/http finds no X-Variant in: %q", captured, resp.Class, data)
		}
		if ref.ProtoMinor == 0 && bytes.Contains(bytes.ToLower(data), []byte("transfer-encoding")) {
			// net/http ignores Transfer-Encoding in an HTTP/1.0 response
			// (and removes the header); the parser reads the chunks. RFC
			// 9112 section 6.1 asks to close the connection after such a
			// response; the parser keeps a kept-alive one open, as the
			// harness always has, and so does net/http given a
			// Content-Length.
			return
		}
		if resp.Close != ref.Close {
			t.Fatalf("close %v, net/http %v, from %q", resp.Close, ref.Close, data)
		}
		if !resp.Close && left != refLeft {
			t.Fatalf("response of %d bytes, net/http %d, from %q", len(data)-left, len(data)-refLeft, data)
		}
	})
}

// netHTTPRead reads a response from data with net/http, skipping interim
// responses as ReadResponse does, and reads its body to the end. It returns
// the response and how many bytes it left unread.
func netHTTPRead(data []byte, head bool) (*http.Response, int, error) {
	in := bytes.NewReader(data)
	br := bufio.NewReader(in)
	req := &http.Request{Method: http.MethodGet}
	if head {
		req.Method = http.MethodHead
	}
	for {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return nil, 0, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, 0, err
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != 101 {
			continue
		}
		return resp, br.Buffered() + in.Len(), nil
	}
}
