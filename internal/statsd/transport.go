package statsd

import (
	"bytes"
	"errors"
	"log"
	"net"
	"sync"
	"sync/atomic"
	"time"

	dogstatsd "github.com/DataDog/datadog-go/v5/statsd"
)

// transport is the one place that writes to the socket. datadog-go hands
// it each datagram; it makes every line plain Etsy StatsD (see the package
// documentation), dials the address on first use and counts what it sent
// and what it could not.
type transport struct {
	addr string
	// rate is appended to every timer line: "|@0.1", or empty at rate 1.
	rate []byte
	log  *log.Logger
	// dial is net.DialTimeout, replaced in tests.
	dial func(network, addr string, timeout time.Duration) (net.Conn, error)

	datagrams, lines, errors atomic.Uint64

	// The fields below are the writer's: datadog-go's sender goroutine.
	conn     net.Conn
	dialed   time.Time // the last dial attempt
	buf      []byte
	logged   time.Time
	unlogged uint64 // errors since the last log line
	// mu orders Write, close and datadog-go's error handler, which run
	// on different goroutines of datadog-go's.
	mu sync.Mutex
}

// Write sends p, a datagram of newline-separated lines from datadog-go:
// as one datagram, or as two or more in the rare case that appending the
// rate made it longer than MaxPayload.
func (t *transport) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.conn == nil {
		if time.Since(t.dialed) < time.Second && !t.dialed.IsZero() {
			t.fail(errNotDialed)
			return 0, errNotDialed
		}
		t.dialed = time.Now()
		conn, err := t.dial("udp", t.addr, DialTimeout)
		if err != nil {
			t.fail(err)
			return 0, err
		}
		t.conn = conn
	}
	t.buf = plain(t.buf[:0], p, t.rate)
	for out := t.buf; len(out) > 0; {
		d := datagram(out)
		out = out[len(d):]
		_ = t.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := t.conn.Write(d); err != nil {
			t.fail(err)
			return 0, err
		}
		t.datagrams.Add(1)
		t.lines.Add(uint64(bytes.Count(d, []byte{'\n'})))
	}
	return len(p), nil
}

// datagram returns the longest run of whole lines at the start of p that
// fits in MaxPayload, or its first line when that alone is longer.
func datagram(p []byte) []byte {
	if len(p) <= MaxPayload {
		return p
	}
	end := bytes.LastIndexByte(p[:MaxPayload], '\n')
	if end < 0 {
		end = bytes.IndexByte(p, '\n')
	}
	return p[:end+1]
}

var errNotDialed = errors.New("address not resolved yet")

// plain appends to dst the lines of p as plain Etsy StatsD, each ended by
// a newline: `name:value|type`, with rate appended to timer lines and
// every other field datadog-go may add (tags, container id, cardinality,
// timestamp) left out.
func plain(dst, p, rate []byte) []byte {
	for len(p) > 0 {
		var line []byte
		line, p, _ = bytes.Cut(p, []byte{'\n'})
		if len(line) == 0 {
			continue
		}
		bar := bytes.IndexByte(line, '|')
		if bar < 0 {
			continue // not a metric: nothing datadog-go writes for us
		}
		typ := line[bar+1:]
		if i := bytes.IndexByte(typ, '|'); i >= 0 {
			typ = typ[:i]
		}
		dst = append(dst, line[:bar+1+len(typ)]...)
		if string(typ) == "ms" {
			dst = append(dst, rate...)
		}
		dst = append(dst, '\n')
	}
	return dst
}

// fail counts a datagram that was not sent and logs it, at most once
// every logEvery.
func (t *transport) fail(err error) {
	t.errors.Add(1)
	t.unlogged++
	if t.log != nil && time.Since(t.logged) >= logEvery {
		t.log.Printf("statsd %s: datagrams not sent since the last report: %d (last error: %v)", t.addr, t.unlogged, err)
		t.logged, t.unlogged = time.Now(), 0
	}
}

// handle receives datadog-go's errors. Write errors are counted by Write;
// what remains is a datagram it dropped itself (its sender queue full).
func (t *transport) handle(err error) {
	var full *dogstatsd.ErrorSenderChannelFull
	if errors.As(err, &full) {
		t.mu.Lock()
		t.fail(err)
		t.mu.Unlock()
	}
}

// Close is datadog-go's; the socket is closed by close, after datadog-go
// has written everything.
func (t *transport) Close() error { return nil }

func (t *transport) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.conn != nil {
		_ = t.conn.Close()
		t.conn = nil
	}
}
