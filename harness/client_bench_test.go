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
func BenchmarkRoundTrip(b *testing.B) {
	req := []byte("GET /v1/items/12345 HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: perf\r\n\r\n")
	resp := []byte(serveResponse + strings.Repeat("x", 1024))
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
	b.ReportAllocs()
	for b.Loop() {
		if err := c.setDeadline(time.Now(), 10*time.Second); err != nil {
			b.Fatal(err)
		}
		if r, err := c.roundTrip(req, false); err != nil || r.code != 200 {
			b.Fatalf("%d, %v", r.code, err)
		}
	}
}
