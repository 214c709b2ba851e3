package http1

import (
	"bufio"
	"strings"
	"testing"
)

// TestCapture reads responses one after another on one reader, as a
// keep-alive connection does, and checks the class of each: the first
// header of the name in any case, spaces trimmed, none for a response
// without it, and only the final response's header after an interim one.
func TestCapture(t *testing.T) {
	in := "HTTP/1.1 200 OK\r\nX-Variant:  doc-view=compact, etag=off \r\nContent-Length: 2\r\n\r\nok" +
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" +
		"HTTP/1.1 503 Busy\r\nx-variant: B\r\nX-VARIANT: A\r\nContent-Length: 0\r\n\r\n" +
		"HTTP/1.1 100 Continue\r\nX-Variant: A\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" +
		"HTTP/1.1 200 OK\r\nX-Variant-Other: A\r\nX-Variant:\r\nContent-Length: 0\r\n\r\n"
	var seen []string
	classes := map[string]int{}
	rr := NewResponseReader(bufio.NewReader(strings.NewReader(in)))
	rr.Capture("X-Variant", func(v []byte) int {
		seen = append(seen, string(v))
		if _, ok := classes[string(v)]; !ok {
			classes[string(v)] = len(classes)
		}
		return classes[string(v)]
	})
	want := []struct {
		code, class int
	}{{200, 0}, {200, -1}, {503, 1}, {200, -1}, {200, 2}}
	for i, w := range want {
		resp, _, err := rr.ReadResponse(false)
		if err != nil || resp.Code != w.code || resp.Class != w.class {
			t.Fatalf("response %d: code %d class %d (%v), want %d class %d", i+1, resp.Code, resp.Class, err, w.code, w.class)
		}
	}
	if got := strings.Join(seen, "|"); got != "doc-view=compact, etag=off|B|" {
		t.Errorf("classified values %q, want the first of each final response's headers, trimmed", got)
	}
}

// TestCaptureAllocs checks that a captured header costs no allocation:
// the value is handed over in place.
func TestCaptureAllocs(t *testing.T) {
	resp := "HTTP/1.1 200 OK\r\nX-Variant: doc-view=compact, etag=off\r\nContent-Length: 4\r\n\r\nbody"
	rr := NewResponseReader(bufio.NewReaderSize(&repeatReader{data: []byte(resp)}, 16<<10))
	known := "doc-view=compact, etag=off"
	rr.Capture("x-variant", func(v []byte) int {
		if string(v) == known {
			return 1
		}
		return 0
	})
	allocs := testing.AllocsPerRun(1000, func() {
		if r, _, err := rr.ReadResponse(false); err != nil || r.Class != 1 {
			t.Fatalf("class %d, %v", r.Class, err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations a response, want 0", allocs)
	}
}
