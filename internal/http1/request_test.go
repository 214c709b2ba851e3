package http1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// maxBody is the largest request body the tests accept, the service's.
const maxBody = 64 << 10

func TestReadHead(t *testing.T) {
	big := "X-Big: " + strings.Repeat("a", 2048) + "\r\n"
	for _, tc := range []struct {
		name, in string
		method   string
		path     string
		want     Request // but Method and Path
		code     int     // a RequestError's code
		err      error   // another error
	}{
		{name: "GET", in: "GET /v1/items/1 HTTP/1.1\r\nHost: x\r\n\r\n", method: "GET", path: "/v1/items/1", want: Request{Minor: 1}},
		{name: "empty lines first, bare LF", in: "\r\n\nGET /a HTTP/1.1\nHost: x\n\n", method: "GET", path: "/a", want: Request{Minor: 1}},
		{name: "absolute-form, escapes, query", in: "HEAD http://h:1/a/%62?q=%zz HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", method: "HEAD", path: "/a/b", want: Request{KeepAlive: true}},
		{name: "absolute-form without a path", in: "GET https://h HTTP/1.1\r\nHost: h\r\n\r\n", method: "GET", path: "/", want: Request{Minor: 1}},
		{name: "asterisk", in: "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", method: "OPTIONS", path: "*", want: Request{Minor: 1}},
		{name: "HTTP/1.0 closes", in: "GET / HTTP/1.0\r\n\r\n", method: "GET", path: "/", want: Request{Close: true}},
		{name: "HTTP/1.0 keep-alive and close", in: "GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", method: "GET", path: "/", want: Request{Close: true}},
		{name: "Connection list", in: "GET / HTTP/1.1\r\nHost: x\r\nConnection: TE, Close\r\n\r\n", method: "GET", path: "/", want: Request{Minor: 1, Close: true}},
		{name: "Connection: not a token", in: "GET / HTTP/1.1\r\nHost: x\r\nConnection: closed\r\n\r\n", method: "GET", path: "/", want: Request{Minor: 1}},
		{name: "HTTP/1.9 is 1.1", in: "GET / HTTP/1.9\r\nHost: x\r\n\r\n", method: "GET", path: "/", want: Request{Minor: 1}},
		{name: "body and Expect", in: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\nExpect: 100-Continue\r\n\r\n", method: "POST", path: "/", want: Request{Minor: 1, ContentLength: 5, Expect: true}},
		{name: "malformed request line", in: "GARBAGE\r\n\r\n", code: 400},
		{name: "bad escape", in: "GET /%z1 HTTP/1.1\r\nHost: x\r\n\r\n", code: 400},
		{name: "no Host", in: "GET / HTTP/1.1\r\n\r\n", code: 400},
		{name: "malformed Host", in: "GET / HTTP/1.1\r\nHost: a b<>\r\n\r\n", code: 400},
		{name: "Host with a slash", in: "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", code: 400},
		{name: "Host on HTTP/1.0", in: "GET / HTTP/1.0\r\nHost: a\"b\r\n\r\n", code: 400},
		{name: "IPv6 Host with a port", in: "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", method: "GET", path: "/", want: Request{Minor: 1}},
		{name: "empty Host", in: "GET / HTTP/1.1\r\nHost:\r\n\r\n", method: "GET", path: "/", want: Request{Minor: 1}},
		{name: "space before colon", in: "GET / HTTP/1.1\r\nHost : x\r\n\r\n", code: 400},
		{name: "conflicting Content-Length", in: "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", code: 400},
		{name: "signed Content-Length", in: "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\n", code: 400},
		{name: "body too large", in: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n\r\n", code: 413},
		{name: "head too large", in: "GET / HTTP/1.1\r\nHost: x\r\n" + big + "\r\n", code: 431},
		{name: "head too large before its end", in: "GET / HTTP/1.1\r\nHost: x\r\n" + big, code: 431},
		{name: "Transfer-Encoding", in: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", code: 501},
		{name: "HTTP/2.0", in: "GET / HTTP/2.0\r\n\r\n", code: 505},
		{name: "nothing", in: "", err: io.EOF},
		{name: "only empty lines", in: "\r\n", err: io.ErrUnexpectedEOF},
		{name: "cut in the request line", in: "GET / HT", err: io.ErrUnexpectedEOF},
		{name: "cut in the headers", in: "GET / HTTP/1.1\r\nHost: x\r\n", err: io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rr := NewRequestReader(bufio.NewReaderSize(strings.NewReader(tc.in), 64), 2048, maxBody)
			var r Request
			err := rr.ReadHead(&r)
			var re *RequestError
			switch {
			case tc.code != 0:
				if !errors.As(err, &re) || re.Code != tc.code {
					t.Fatalf("err %v, want a %d", err, tc.code)
				}
				return
			case tc.err != nil:
				if err != tc.err {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if string(r.Method) != tc.method || string(r.Path) != tc.path {
				t.Errorf("%q %q, want %q %q", r.Method, r.Path, tc.method, tc.path)
			}
			tc.want.Method, tc.want.Path = r.Method, r.Path
			if !reflect.DeepEqual(r, tc.want) {
				t.Errorf("%+v, want %+v", r, tc.want)
			}
		})
	}
}

// FuzzReadRequest feeds arbitrary bytes to the request parser: it must
// never panic, never accept a head of more than its maximum, and every
// request it accepts must have a method, a routable path and a bounded
// body.
func FuzzReadRequest(f *testing.F) {
	for _, s := range []string{
		"GET /v1/items/1 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /v1/items/1 HTTP/1.1\nHost: x\n\nGET /v1/items/2 HTTP/1.1\nHost: x\nConnection: close\n\n",
		"HEAD http://h:1/v1/items/%31?q=1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"POST /v1/items/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: y\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"\r\n\r\nOPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/2.0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nCookie: a=1; uid=\"7\"\r\nX-User-Id: 8\r\n\r\n",
		"GET /" + strings.Repeat("a", 5000) + " HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const maxHeader = 2048
		in := bytes.NewReader(data)
		br := bufio.NewReaderSize(in, 4096)
		unread := func() int { return br.Buffered() + in.Len() }
		rr := NewRequestReader(br, maxHeader, maxBody)
		rr.Capture("X-User-Id", "uid")
		var r Request
		for i := 0; i < 64; i++ {
			before := unread()
			err := rr.ReadHead(&r)
			if err != nil {
				var re *RequestError
				if !errors.As(err, &re) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("ReadHead: unexpected error %v", err)
				}
				return
			}
			if len(r.Method) == 0 || len(r.Path) == 0 || (r.Path[0] != '/' && string(r.Path) != "*") {
				t.Fatalf("accepted method %q path %q", r.Method, r.Path)
			}
			if n := before - unread(); n > maxHeader {
				t.Fatalf("accepted a head of %d bytes, over the %d allowed", n, maxHeader)
			}
			if r.ContentLength < 0 || r.ContentLength > maxBody {
				t.Fatalf("accepted Content-Length %d", r.ContentLength)
			}
			if r.Minor != 0 && r.Minor != 1 {
				t.Fatalf("minor version %d", r.Minor)
			}
			if bytes.ContainsAny(r.Captured, "\r\n") || len(r.Captured) > maxHeader {
				t.Fatalf("captured %q", r.Captured)
			}
			if _, err := br.Discard(int(r.ContentLength)); err != nil {
				return
			}
		}
	})
}

func TestReadHeadCapture(t *testing.T) {
	const long = "u-0123456789012345678901234567890123456789012345678901234567890123456789"
	for _, tc := range []struct {
		name, header, cookie, in string
		want                     string // "" means none
	}{
		{name: "header", header: "X-User-Id", in: "x-user-id:  42 \r\n", want: "42"},
		{name: "first header wins", header: "X-User-Id", in: "X-User-Id: 1\r\nX-User-Id: 2\r\n", want: "1"},
		{name: "cookie", cookie: "uid", in: "Cookie: a=1; uid=7; b=2\r\n", want: "7"},
		{name: "quoted cookie", cookie: "uid", in: "Cookie: uid=\"q7\"\r\n", want: "q7"},
		{name: "cookie name is exact", cookie: "uid", in: "Cookie: UID=1; xuid=2; uidx=3\r\n"},
		{name: "second Cookie header", cookie: "uid", in: "Cookie: a=1\r\nCookie: uid=9\r\n", want: "9"},
		{name: "header beats an earlier cookie", header: "X-User-Id", cookie: "uid", in: "Cookie: uid=c\r\nX-User-Id: h\r\n", want: "h"},
		{name: "cookie when no header", header: "X-User-Id", cookie: "uid", in: "Cookie: uid=c\r\n", want: "c"},
		{name: "neither", header: "X-User-Id", cookie: "uid", in: "X-Other: 1\r\n"},
		{name: "not asked", in: "X-User-Id: 1\r\n"},
		// A value longer than what follows it: later header lines overwrite
		// the bufio buffer, so the value must have been copied.
		{name: "copied out of the buffer", header: "X-User-Id", in: "X-User-Id: " + long + "\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("p", 40)+"\r\n", 4), want: long},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := "GET / HTTP/1.1\r\nHost: x\r\n" + tc.in + "\r\n" + "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
			rr := NewRequestReader(bufio.NewReaderSize(strings.NewReader(in), 64), 4096, maxBody)
			rr.Capture(tc.header, tc.cookie)
			var r Request
			if err := rr.ReadHead(&r); err != nil {
				t.Fatal(err)
			}
			if string(r.Captured) != tc.want || (tc.want == "") != (r.Captured == nil) {
				t.Errorf("captured %q, want %q", r.Captured, tc.want)
			}
			// The next request has none: nothing leaks from the last one.
			if err := rr.ReadHead(&r); err != nil {
				t.Fatal(err)
			}
			if r.Captured != nil {
				t.Errorf("next request captured %q, want nothing", r.Captured)
			}
		})
	}
}

func TestReleaseDropsGrownBuffers(t *testing.T) {
	long := "/" + strings.Repeat("a", 20000)
	in := "GET " + long + "?x=%41 HTTP/1.1\r\nHost: x\r\nX-User-Id: " + strings.Repeat("u", 5000) + "\r\n\r\n" +
		"GET /%61 HTTP/1.1\r\nHost: x\r\n\r\n"
	rr := NewRequestReader(bufio.NewReaderSize(strings.NewReader(in), 4096), 64<<10, maxBody)
	rr.Capture("X-User-Id", "")
	var r Request
	if err := rr.ReadHead(&r); err != nil || string(r.Path) != long {
		t.Fatalf("%v, path of %d bytes", err, len(r.Path))
	}
	rr.Release()
	for name, b := range map[string][]byte{"request line": rr.reqLine, "path": rr.pathBuf, "capture": rr.capBuf, "long line": rr.lines.long} {
		if cap(b) > keepBuf {
			t.Errorf("%s buffer of %d bytes kept after Release", name, cap(b))
		}
	}
	// The reader still works, and small buffers are kept.
	if err := rr.ReadHead(&r); err != nil || string(r.Path) != "/a" {
		t.Fatalf("after Release: %v, path %q", err, r.Path)
	}
	rr.Release()
	if cap(rr.reqLine) == 0 {
		t.Error("Release dropped a small buffer")
	}
}
