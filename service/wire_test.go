package service

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptrace"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// dialTest connects to a test listener; every read and write on the
// connection fails after 10 seconds, so a hung server fails the test
// rather than hanging it.
func dialTest(t testing.TB, url string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// readResponses reads len(methods) responses, each to a request of that
// method, and returns them with their bodies read.
func readResponses(t *testing.T, br *bufio.Reader, methods ...string) ([]*http.Response, [][]byte) {
	t.Helper()
	var resps []*http.Response
	var bodies [][]byte
	for i, m := range methods {
		resp, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("response %d: body: %v", i, err)
		}
		resps = append(resps, resp)
		bodies = append(bodies, body)
	}
	return resps, bodies
}

// expectEOF checks that the server closed the connection: nothing more
// arrives and the read ends.
func expectEOF(t *testing.T, br *bufio.Reader) {
	t.Helper()
	b, err := br.ReadByte()
	if err == nil {
		rest, _ := br.Peek(br.Buffered())
		t.Fatalf("read %q after the last response, want the connection closed", append([]byte{b}, rest...))
	}
	if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("after the last response: %v, want the connection closed", err)
	}
}

func TestWireRequests(t *testing.T) {
	_, pub, _ := newTestServer(t, 100, 300)
	const get1 = "GET /v1/items/1 HTTP/1.1\r\nHost: x\r\n\r\n"
	bigHeader := "X-Big: " + strings.Repeat("a", DefaultMaxHeaderBytes) + "\r\n"
	for _, tc := range []struct {
		name    string
		raw     string
		methods string // G for GET, H for HEAD, one per response; default all G
		codes   []int
		closed  bool // the server closes the connection after the last response
	}{
		{name: "one request", raw: get1, codes: []int{200}},
		{name: "pipelined in one write", raw: get1 +
			"GET /v1/items/100 HTTP/1.1\r\nHost: x\r\n\r\n" +
			"HEAD /v1/items/2 HTTP/1.1\r\nHost: x\r\n\r\n" +
			"GET /v1/items/x HTTP/1.1\r\nHost: x\r\n\r\n" +
			"DELETE /v1/items/3 HTTP/1.1\r\nHost: x\r\n\r\n" +
			"GET /v1/items/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			methods: "GGHGGG", codes: []int{200, 404, 200, 400, 405, 200}, closed: true},
		{name: "bare LF", raw: "GET /v1/items/1 HTTP/1.1\nHost: x\n\n", codes: []int{200}},
		{name: "empty line before the request line", raw: "\r\n" + get1, codes: []int{200}},
		{name: "HTTP/1.0 closes by default", raw: "GET /v1/items/1 HTTP/1.0\r\n\r\n", codes: []int{200}, closed: true},
		{name: "HTTP/1.0 keep-alive", raw: "GET /v1/items/1 HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", codes: []int{200}},
		{name: "Connection: close", raw: "GET /v1/items/1 HTTP/1.1\r\nHost: x\r\nconnection: close\r\n\r\n", codes: []int{200}, closed: true},
		{name: "Connection list", raw: "GET /v1/items/1 HTTP/1.1\r\nHost: x\r\nConnection: TE, Close\r\n\r\n", codes: []int{200}, closed: true},
		{name: "absolute-form", raw: "GET http://example.com:8080/v1/items/1 HTTP/1.1\r\nHost: example.com\r\n\r\n", codes: []int{200}},
		{name: "absolute-form without a path", raw: "GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n", codes: []int{404}},
		{name: "query string", raw: "GET /v1/items/1?fields=all&x HTTP/1.1\r\nHost: x\r\n\r\n", codes: []int{200}},
		{name: "percent-encoded path", raw: "GET /v1/%69tems/%31 HTTP/1.1\r\nHost: x\r\n\r\n", codes: []int{200}},
		{name: "HEAD", raw: "HEAD /v1/items/1 HTTP/1.1\r\nHost: x\r\n\r\n" + get1, methods: "HG", codes: []int{200, 200}},
		{name: "405 reads and discards the body", raw: "POST /v1/items/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" + get1, codes: []int{405, 200}},
		{name: "Expect: 100-continue is answered without the body", raw: "POST /v1/items/1 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", codes: []int{405}, closed: true},
		{name: "lower-case method", raw: "get /v1/items/1 HTTP/1.1\r\nHost: x\r\n\r\n", codes: []int{405}},
		{name: "malformed request line", raw: "GARBAGE\r\n\r\n", codes: []int{400}, closed: true},
		{name: "two spaces", raw: "GET  /v1/items/1 HTTP/1.1\r\nHost: x\r\n\r\n", codes: []int{400}, closed: true},
		{name: "bad method", raw: "G(T /v1/items/1 HTTP/1.1\r\nHost: x\r\n\r\n", codes: []int{400}, closed: true},
		{name: "bad target", raw: "GET v1/items/1 HTTP/1.1\r\nHost: x\r\n\r\n", codes: []int{400}, closed: true},
		{name: "bad escape", raw: "GET /v1/items/%zz HTTP/1.1\r\nHost: x\r\n\r\n", codes: []int{400}, closed: true},
		{name: "no Host", raw: "GET /v1/items/1 HTTP/1.1\r\n\r\n", codes: []int{400}, closed: true},
		{name: "two Hosts", raw: "GET /v1/items/1 HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", codes: []int{400}, closed: true},
		{name: "header without colon", raw: "GET /v1/items/1 HTTP/1.1\r\nHost x\r\n\r\n", codes: []int{400}, closed: true},
		{name: "space before colon", raw: "GET /v1/items/1 HTTP/1.1\r\nHost : x\r\n\r\n", codes: []int{400}, closed: true},
		{name: "folded header", raw: "GET /v1/items/1 HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", codes: []int{400}, closed: true},
		{name: "control character", raw: "GET /v1/items/1 HTTP/1.1\r\nHost: x\x01\r\n\r\n", codes: []int{400}, closed: true},
		{name: "bad Content-Length", raw: "GET /v1/items/1 HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", codes: []int{400}, closed: true},
		{name: "conflicting Content-Length", raw: "GET /v1/items/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", codes: []int{400}, closed: true},
		{name: "huge headers", raw: "GET /v1/items/1 HTTP/1.1\r\nHost: x\r\n" + bigHeader + "\r\n", codes: []int{431}, closed: true},
		{name: "big body", raw: "POST /v1/items/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n", codes: []int{413}, closed: true},
		{name: "Transfer-Encoding", raw: "POST /v1/items/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", codes: []int{501}, closed: true},
		{name: "HTTP/2.0", raw: "GET /v1/items/1 HTTP/2.0\r\nHost: x\r\n\r\n", codes: []int{505}, closed: true},
		{name: "not HTTP", raw: "GET /v1/items/1 FTP/1.0\r\nHost: x\r\n\r\n", codes: []int{400}, closed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialTest(t, pub.URL)
			go io.WriteString(c, tc.raw) // a large request may fill the socket buffers
			methods := make([]string, len(tc.codes))
			for i := range methods {
				methods[i] = "GET"
				if i < len(tc.methods) && tc.methods[i] == 'H' {
					methods[i] = "HEAD"
				}
			}
			br := bufio.NewReader(c)
			resps, bodies := readResponses(t, br, methods...)
			for i, resp := range resps {
				if resp.StatusCode != tc.codes[i] {
					t.Errorf("response %d: %d %q, want %d", i, resp.StatusCode, bodies[i], tc.codes[i])
				}
				if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("response %d: Content-Type %q", i, ct)
				}
				if _, err := http.ParseTime(resp.Header.Get("Date")); err != nil {
					t.Errorf("response %d: Date %q: %v", i, resp.Header.Get("Date"), err)
				}
				if methods[i] == "HEAD" && (len(bodies[i]) != 0 || resp.ContentLength != 300) {
					t.Errorf("response %d to HEAD: %d body bytes, Content-Length %d; want none and 300", i, len(bodies[i]), resp.ContentLength)
				}
				if resp.StatusCode == 200 && methods[i] == "GET" {
					if want, _ := AppendDocument(nil, 1, 300); i == 0 && !bytes.Equal(bodies[i], want) && !strings.Contains(tc.name, "pipelined") {
						t.Errorf("response %d: body %q, want item 1", i, bodies[i])
					}
				}
				if resp.StatusCode == 405 && resp.Header.Get("Allow") != "GET, HEAD" {
					t.Errorf("response %d: Allow %q, want \"GET, HEAD\"", i, resp.Header.Get("Allow"))
				}
			}
			last := resps[len(resps)-1]
			if last.Close != tc.closed {
				t.Errorf("last response: close %v, want %v (Connection %q)", last.Close, tc.closed, last.Header.Get("Connection"))
			}
			if tc.closed {
				expectEOF(t, br)
				return
			}
			// The connection stays open for the next request.
			if _, err := io.WriteString(c, get1); err != nil {
				t.Fatal(err)
			}
			if resps, _ := readResponses(t, br, "GET"); resps[0].StatusCode != 200 {
				t.Fatalf("next request on the kept connection: %d", resps[0].StatusCode)
			}
		})
	}
}

// TestWireSplitPipeline checks that answers already made are written when
// the next pipelined request arrives in pieces, not held back until it is
// whole.
func TestWireSplitPipeline(t *testing.T) {
	_, pub, _ := newTestServer(t, 10, 100)
	c := dialTest(t, pub.URL)
	io.WriteString(c, "GET /v1/items/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/items/2 HTTP/1.1\r\nHo")
	br := bufio.NewReader(c)
	if resps, _ := readResponses(t, br, "GET"); resps[0].StatusCode != 200 {
		t.Fatalf("first response: %d", resps[0].StatusCode)
	}
	io.WriteString(c, "st: x\r\n\r\n")
	if _, bodies := readResponses(t, br, "GET"); !bytes.Contains(bodies[0], []byte(`"id":2,`)) {
		t.Fatalf("second response: %q", bodies[0])
	}
}

func TestWireHTTP10KeepAliveHeader(t *testing.T) {
	_, pub, _ := newTestServer(t, 10, 100)
	c := dialTest(t, pub.URL)
	io.WriteString(c, "GET /v1/items/1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	resps, _ := readResponses(t, bufio.NewReader(c), "GET")
	if got := resps[0].Header.Get("Connection"); got != "keep-alive" {
		t.Fatalf("HTTP/1.0 keep-alive answered with Connection %q, want keep-alive", got)
	}
}

// TestWireClients checks net/http's client, raw pipelined bytes and
// keep-alive reuse against the lean server.
func TestWireClients(t *testing.T) {
	_, pub, _ := newTestServer(t, 1000, 512)

	// net/http's client reuses one connection for sequential requests.
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	reused := 0
	for i := 0; i < 50; i++ {
		req, _ := http.NewRequest("GET", pub.URL+ItemsPath+itoa(uint64(i*17)), nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(ci httptrace.GotConnInfo) {
				if ci.Reused {
					reused++
				}
			},
		}))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		want, _ := AppendDocument(nil, uint64(i*17), 512)
		if err != nil || resp.StatusCode != 200 || !bytes.Equal(body, want) {
			t.Fatalf("item %d: %d, %v", i*17, resp.StatusCode, err)
		}
	}
	if reused != 49 {
		t.Errorf("net/http client reused the connection %d times of 49", reused)
	}

	// 200 pipelined requests in one write come back in order.
	c := dialTest(t, pub.URL)
	var raw bytes.Buffer
	methods := make([]string, 200)
	for i := range methods {
		methods[i] = "GET"
		raw.WriteString("GET /v1/items/" + itoa(uint64(i)) + " HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	go c.Write(raw.Bytes())
	_, bodies := readResponses(t, bufio.NewReader(c), methods...)
	for i, body := range bodies {
		if want, _ := AppendDocument(nil, uint64(i), 512); !bytes.Equal(body, want) {
			t.Fatalf("pipelined response %d: %q, want item %d", i, body, i)
		}
	}

	// Many clients at once, each on its own kept connection.
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			c := dialTest(t, pub.URL)
			br := bufio.NewReader(c)
			for i := 0; i < 100; i++ {
				id := uint64(g*100 + i)
				io.WriteString(c, "GET /v1/items/"+itoa(id)+" HTTP/1.1\r\nHost: x\r\n\r\n")
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Error(err)
					return
				}
				body, _ := io.ReadAll(resp.Body)
				if want, _ := AppendDocument(nil, id, 512); !bytes.Equal(body, want) {
					t.Errorf("client %d: item %d: wrong body", g, id)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}

func TestWireIdleTimeout(t *testing.T) {
	st := seededStore(t, 10, 100)
	_, pub, _ := startServer(t, st, Options{IdleTimeout: 50 * time.Millisecond, ErrorLog: log.New(io.Discard, "", 0)})
	c := dialTest(t, pub.URL)
	io.WriteString(c, "GET /v1/items/1 HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	if resps, _ := readResponses(t, br, "GET"); resps[0].StatusCode != 200 || resps[0].Close {
		t.Fatalf("first request: %d, close %v", resps[0].StatusCode, resps[0].Close)
	}
	// Nothing more is sent: the server closes the idle connection.
	expectEOF(t, br)
}

func TestWireReadHeaderTimeout(t *testing.T) {
	st := seededStore(t, 10, 100)
	_, pub, _ := startServer(t, st, Options{ReadHeaderTimeout: 50 * time.Millisecond, ErrorLog: log.New(io.Discard, "", 0)})

	// A slow sender that never finishes its headers is cut off.
	c := dialTest(t, pub.URL)
	io.WriteString(c, "GET /v1/items/1 HTTP/1.1\r\nHost: x\r\n")
	expectEOF(t, bufio.NewReader(c))

	// So is a connection that never sends its first request.
	c = dialTest(t, pub.URL)
	expectEOF(t, bufio.NewReader(c))
}

func TestWireReadTimeoutBody(t *testing.T) {
	st := seededStore(t, 10, 100)
	_, pub, _ := startServer(t, st, Options{ReadTimeout: 50 * time.Millisecond, ErrorLog: log.New(io.Discard, "", 0)})
	// The body never arrives in full.
	c := dialTest(t, pub.URL)
	io.WriteString(c, "POST /v1/items/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
	expectEOF(t, bufio.NewReader(c))
}

// TestWireShutdownClosesIdle checks that a shutdown closes idle keep-alive
// connections, once a request on its way has had wireDrainSettle to arrive,
// and a new connection that never sends anything once it is wireNewIdle
// old (as net/http's Shutdown does), instead of waiting out the grace.
func TestWireShutdownClosesIdle(t *testing.T) {
	st := seededStore(t, 10, 100)
	srv := New(st, Options{ShutdownGrace: time.Minute})
	pubLn, _ := net.Listen("tcp", "127.0.0.1:0")
	admLn, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, pubLn, admLn) }()

	url := "http://" + pubLn.Addr().String()
	idle := dialTest(t, url)
	io.WriteString(idle, "GET /v1/items/1 HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(idle)
	readResponses(t, br, "GET")
	silent := dialTest(t, url) // never sends anything
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run waited for idle connections")
	}
	expectEOF(t, br)
	expectEOF(t, bufio.NewReader(silent))
}

func TestAdminHandlers(t *testing.T) {
	st := seededStore(t, 10, 100)
	extra := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"extra":true}`)
	})
	_, pub, adm := startServer(t, st, Options{AdminHandlers: map[string]http.Handler{"/debug/extra": extra}})
	resp, body := do(t, "GET", adm.URL+"/debug/extra")
	var v struct{ Extra bool }
	if resp.StatusCode != 200 || json.Unmarshal(body, &v) != nil || !v.Extra {
		t.Fatalf("admin /debug/extra: %d %q", resp.StatusCode, body)
	}
	if resp, _ := do(t, "GET", pub.URL+"/debug/extra"); resp.StatusCode != 404 {
		t.Fatalf("public /debug/extra: %d, want 404", resp.StatusCode)
	}
}

// BenchmarkWire measures one request through the lean server over a real
// loopback connection, from the client's write to the end of the response:
// parsing, the read, the metrics and two system calls on each side.
func BenchmarkWire(b *testing.B) {
	benchWire(b, 1)
}

// BenchmarkWirePipelined is BenchmarkWire with 16 requests in each write,
// answered with one write: the cost of the server's own work.
func BenchmarkWirePipelined(b *testing.B) {
	benchWire(b, 16)
}

func benchWire(b *testing.B, depth int) {
	const n = 100000
	st := seededStore(b, n, DefaultValueSize)
	_, pub, _ := startServer(b, st, Options{ErrorLog: log.New(io.Discard, "", 0)})
	c := dialTest(b, pub.URL)
	c.SetDeadline(time.Time{})
	// Ids of five digits: every request and response has the same size.
	reqs := make([][]byte, 1024)
	for i := range reqs {
		var buf bytes.Buffer
		for j := 0; j < depth; j++ {
			id := 10000 + uint64(i*depth+j)*7919%(n-10000)
			buf.WriteString("GET /v1/items/" + itoa(id) + " HTTP/1.1\r\nHost: x\r\n\r\n")
		}
		reqs[i] = buf.Bytes()
	}
	c.Write(reqs[0])
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	hdr := 0
	for k, v := range resp.Header {
		hdr += len(k) + 2 + len(v[0]) + 2
	}
	respLen := len("HTTP/1.1 200 OK\r\n") + hdr + 2 + len(body)
	// Drain the rest of the first batch.
	if _, err := io.ReadFull(br, make([]byte, respLen*(depth-1))); err != nil {
		b.Fatal(err)
	}
	in := make([]byte, respLen*depth)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += depth {
		if _, err := c.Write(reqs[i&1023]); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(br, in); err != nil {
			b.Fatal(err)
		}
	}
}

// TestWireIdleConnectionsHoldLittle has 200 connections each send a
// 20,000-byte request line and a 120-request pipeline, then idle: what the
// server holds for them must fall back to what idle connections need (a
// 4 KiB read buffer and small change), not stay at the largest request and
// pipeline each saw.
func TestWireIdleConnectionsHoldLittle(t *testing.T) {
	st := seededStore(t, 200, DefaultValueSize)
	// The connections are dialed first and used one by one: on a busy
	// machine the last may wait longer than the default header timeout.
	_, pub, _ := startServer(t, st, Options{ReadHeaderTimeout: time.Minute, ErrorLog: log.New(io.Discard, "", 0)})
	heap := func() uint64 {
		runtime.GC()
		runtime.GC() // twice: a sync.Pool keeps its victims through one
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	const conns = 200
	var pipeline bytes.Buffer
	for i := range 120 {
		fmt.Fprintf(&pipeline, "GET /v1/items/%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
	}
	longLine := "GET /" + strings.Repeat("a", 20000) + " HTTP/1.1\r\nHost: x\r\n\r\n"
	cs := make([]net.Conn, conns)
	for i := range cs {
		cs[i] = dialTest(t, pub.URL)
	}
	before := heap()
	for _, c := range cs {
		io.WriteString(c, longLine)
		br := bufio.NewReader(c)
		readResponses(t, br, "GET")
		c.Write(pipeline.Bytes())
		methods := make([]string, 120)
		for i := range methods {
			methods[i] = "GET"
		}
		readResponses(t, br, methods...)
	}
	// Each went idle once its last answer was written; wait for the last
	// to get there.
	const bound = 4 << 20
	deadline := time.Now().Add(10 * time.Second)
	for {
		grown := int64(heap()) - int64(before)
		if grown < bound {
			t.Logf("%d idle connections hold %d KiB more than before", conns, grown>>10)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d idle connections hold %d KiB more than before they sent large requests and pipelines, want under %d KiB", conns, grown>>10, bound>>10)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWireHeaderTimeoutFromConnectionStart: a new connection gets the
// header timeout once, from its start, as net/http gives it; a first byte
// late in that time does not buy a second one.
func TestWireHeaderTimeoutFromConnectionStart(t *testing.T) {
	st := seededStore(t, 10, 100)
	_, pub, _ := startServer(t, st, Options{ReadHeaderTimeout: time.Second, ErrorLog: log.New(io.Discard, "", 0)})
	start := time.Now()
	c := dialTest(t, pub.URL)
	time.Sleep(800 * time.Millisecond) // the slow client's pace, not a wait for an event
	io.WriteString(c, "G")
	expectEOF(t, bufio.NewReader(c))
	// The timeout fires within a tenth of its length; 1.8s is when a
	// second timeout from the first byte would have ended it.
	if took := time.Since(start); took >= 1500*time.Millisecond {
		t.Errorf("closed %v after the connection started, want about the 1s header timeout", took)
	}
}

// TestWireCloseLingers: when the server closes a connection with request
// bytes still unread (Connection: close in the middle of a pipeline, an
// Expect: 100-continue body already sent), the client still reads the whole
// answer rather than a reset.
func TestWireCloseLingers(t *testing.T) {
	// A 1 MiB document: most of the answer is still in the server's send
	// buffer when it closes, which a close without lingering would throw
	// away with the reset.
	st := seededStore(t, 3, MaxValueSize)
	_, pub, _ := startServer(t, st, Options{ErrorLog: log.New(io.Discard, "", 0)})
	rest := strings.Repeat("GET /v1/items/2 HTTP/1.1\r\nHost: x\r\n\r\n", 2000)
	for name, first := range map[string]string{
		"Connection: close in a pipeline": "GET /v1/items/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"Expect with the body sent":       "GET /v1/items/1 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 60000\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			for range 5 {
				c := dialTest(t, pub.URL)
				if _, err := io.WriteString(c, first+rest); err != nil {
					t.Fatal(err)
				}
				// A client busy elsewhere reads its answer a little later.
				time.Sleep(50 * time.Millisecond)
				br := bufio.NewReader(c)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("reading the answer: %v", err)
				}
				n, err := io.Copy(io.Discard, resp.Body)
				if err != nil || n != int64(MaxValueSize) {
					t.Fatalf("read %d bytes of the answer's %d: %v", n, MaxValueSize, err)
				}
				if !resp.Close {
					t.Fatalf("answer without Connection: close")
				}
				c.Close()
			}
		})
	}
}

func TestWireHostValidated(t *testing.T) {
	st := seededStore(t, 10, 100)
	_, pub, _ := startServer(t, st, Options{ErrorLog: log.New(io.Discard, "", 0)})
	c := dialTest(t, pub.URL)
	io.WriteString(c, "GET /v1/items/1 HTTP/1.1\r\nHost: a b<>\r\n\r\n")
	resps, bodies := readResponses(t, bufio.NewReader(c), "GET")
	if resps[0].StatusCode != 400 || !strings.Contains(string(bodies[0]), "malformed Host") {
		t.Errorf("Host: a b<>: %d %s, want 400", resps[0].StatusCode, bodies[0])
	}
}
