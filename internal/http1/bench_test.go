package http1

import (
	"bufio"
	"strings"
	"testing"
)

// repeatReader reads data over and over, without end: a peer that always
// has the next message ready.
type repeatReader struct {
	data []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.data[r.off:])
		n += c
		r.off = (r.off + c) % len(r.data)
	}
	return n, nil
}

// BenchmarkReadHead measures parsing one request as perf attack sends it,
// from the service's 4 KiB read buffer: the request parser's share of a
// read, without the system calls.
func BenchmarkReadHead(b *testing.B) {
	const req = "GET /v1/items/12345 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: perf\r\n\r\n"
	br := bufio.NewReaderSize(&repeatReader{data: []byte(req)}, 4096)
	rr := NewRequestReader(br, 64<<10, 64<<10)
	var r Request
	b.ReportAllocs()
	for b.Loop() {
		if err := rr.ReadHead(&r); err != nil || len(r.Path) != len("/v1/items/12345") {
			b.Fatalf("%q, %v", r.Path, err)
		}
	}
}

// serveResponse is the head of a response of perf serve, whose 1 KiB
// body follows.
const serveResponse = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1024\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\n\r\n"

// BenchmarkReadResponse measures parsing one response as perf attack's
// client does, from its 16 KiB read buffer, the body discarded: the
// client's share of a request's CPU without the system calls.
func BenchmarkReadResponse(b *testing.B) {
	for _, bc := range []struct{ name, resp string }{
		{"length", serveResponse + strings.Repeat("x", 1024)},
		{"chunked", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" + strings.Repeat("x", 1024) + "\r\n0\r\n\r\n"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			rr := NewResponseReader(bufio.NewReaderSize(&repeatReader{data: []byte(bc.resp)}, 16<<10))
			b.ReportAllocs()
			for b.Loop() {
				if resp, _, err := rr.ReadResponse(false); err != nil || resp.Code != 200 {
					b.Fatalf("%d, %v", resp.Code, err)
				}
			}
		})
	}
}

// BenchmarkReadHeadCapture is BenchmarkReadHead with a user id header
// captured, as perf serve --user-header does.
func BenchmarkReadHeadCapture(b *testing.B) {
	const req = "GET /v1/items/12345 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: perf\r\nX-User-Id: 12345\r\n\r\n"
	br := bufio.NewReaderSize(&repeatReader{data: []byte(req)}, 4096)
	rr := NewRequestReader(br, 64<<10, 64<<10)
	rr.Capture("X-User-Id", "")
	var r Request
	b.ReportAllocs()
	for b.Loop() {
		if err := rr.ReadHead(&r); err != nil || string(r.Captured) != "12345" {
			b.Fatalf("%q, %v", r.Captured, err)
		}
	}
}

// BenchmarkReadResponseCapture is BenchmarkReadResponse's "length" case
// with perf serve's X-Variant header captured and classified, as perf
// attack --split-by X-Variant reads every response.
func BenchmarkReadResponseCapture(b *testing.B) {
	resp := "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1024\r\nX-Variant: doc-view=compact, etag=off\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\n\r\n" + strings.Repeat("x", 1024)
	rr := NewResponseReader(bufio.NewReaderSize(&repeatReader{data: []byte(resp)}, 16<<10))
	ids := map[string]int{"doc-view=compact, etag=off": 2}
	rr.Capture("X-Variant", func(v []byte) int { return ids[string(v)] })
	b.ReportAllocs()
	for b.Loop() {
		if r, _, err := rr.ReadResponse(false); err != nil || r.Code != 200 || r.Class != 2 {
			b.Fatalf("%d %d, %v", r.Code, r.Class, err)
		}
	}
}
