package harness

import (
	"bufio"
	"strings"
	"testing"

	"github.com/perf-tools/perf/internal/http1"
)

// TestResponseFailures checks how the client reports a response that
// fails: the kind run.json counts it as, and whether the request may be
// sent again. The parsing itself is http1's and tested there.
func TestResponseFailures(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		kind     string
		resend   bool // for a replayable request on a reused connection
	}{
		{name: "bad status", in: "HTTP/1.1 2x0 OK\r\n\r\n", kind: KindMalformed},
		{name: "not http", in: "SSH-2.0-OpenSSH\r\n\r\n", kind: KindMalformed},
		{name: "bad header", in: "HTTP/1.1 200 OK\r\nno colon\r\n\r\n", kind: KindMalformed},
		{name: "bad length", in: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", kind: KindMalformed},
		{name: "bad chunk", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", kind: KindMalformed},
		{name: "header block over 64 KiB", in: "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Big: "+strings.Repeat("x", 20000)+"\r\n", 4) + "\r\n", kind: KindMalformed},
		{name: "truncated body", in: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", kind: KindTruncatedBody},
		{name: "truncated chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", kind: KindTruncatedBody},
		{name: "truncated headers", in: "HTTP/1.1 200 OK\r\nContent-Le", kind: KindTruncatedHead},
		{name: "truncated after an interim response", in: "HTTP/1.1 100 Continue\r\n\r\n", kind: KindTruncatedHead},
		{name: "nothing", in: "", kind: KindClosed, resend: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &conn{rr: http1.NewResponseReader(bufio.NewReaderSize(strings.NewReader(tc.in), 64))}
			resp, err := c.readResponse(false)
			if err == nil {
				t.Fatalf("read %+v, want an error", resp)
			}
			if k := errorKind(err); k != tc.kind {
				t.Errorf("%v: kind %q, want %q", err, k, tc.kind)
			}
			if r := mayResend(err, true); r != tc.resend {
				t.Errorf("%v: may resend %v, want %v", err, r, tc.resend)
			}
		})
	}
}
