package harness

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// serveResponse is the head of a response of perf serve, whose 1 KiB
// body follows (as in http1's BenchmarkReadResponse).
const serveResponse = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1024\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\n\r\n"

// BenchmarkRoundTrip measures one request of the client over a loopback
// connection to a server that answers every request with the same canned
// response: the deadline, the write, the read and the parse.
func BenchmarkRoundTrip(b *testing.B) { benchmarkRoundTrip(b, serveResponse, nil) }

// BenchmarkRoundTripSplit is BenchmarkRoundTrip with the response's
// X-Variant header captured into its variant, as perf attack --split-by
// X-Variant:doc-view reads every response.
func BenchmarkRoundTripSplit(b *testing.B) {
	head := strings.Replace(serveResponse, "\r\n\r\n", "\r\nX-Variant: doc-view=compact, etag=off\r\n\r\n", 1)
	split, err := ParseSplit("X-Variant:doc-view")
	if err != nil {
		b.Fatal(err)
	}
	benchmarkRoundTrip(b, head, split)
}

// BenchmarkRequestKeyHeader builds the requests of a URL and a user id
// header that share each hit's key (--url .../{key} -H 'X-User-Id: {key}').
func BenchmarkRequestKeyHeader(b *testing.B) {
	keys, err := ParseKeys("zipf:100000", 1)
	if err != nil {
		b.Fatal(err)
	}
	tg, err := NewURLTargets("http://127.0.0.1:8080/v1/items/{key}", keys, RequestOptions{
		Method: "GET", KeepAlive: true, Header: map[string][]string{"X-User-Id": {"{key}"}},
	})
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	n := uint64(0)
	for b.Loop() {
		buf, _ = tg.request(n, buf)
		n++
	}
}

func benchmarkRoundTrip(b *testing.B, head string, split *Split) {
	req := []byte("GET /v1/items/12345 HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: perf\r\n\r\n")
	resp := []byte(head + strings.Repeat("x", 1024))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		in := make([]byte, len(req))
		for {
			if _, err := io.ReadFull(c, in); err != nil {
				return
			}
			if _, err := c.Write(resp); err != nil {
				return
			}
		}
	}()
	c, err := dial(&endpoint{addr: ln.Addr().String()}, time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer c.close()
	want := -1
	if split != nil {
		c.rr.Capture(split.header, newVariants(split).classify)
		want = 2 // the first variant after (none) and (other)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.setDeadline(time.Now(), 10*time.Second); err != nil {
			b.Fatal(err)
		}
		if r, err := c.roundTrip(req, false); err != nil || r.code != 200 || r.variant != want {
			b.Fatalf("%d variant %d, %v", r.code, r.variant, err)
		}
	}
}
