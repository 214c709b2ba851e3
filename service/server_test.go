package service

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// testURL is the base URL of a listener a test started.
type testURL struct{ URL string }

// newTestServer serves a seeded store through Run on 127.0.0.1 port 0, the
// public listener on the lean server and the admin one on net/http, and
// stops it when the test ends. It is not ready until SetReady(true).
func newTestServer(t *testing.T, items uint64, valueSize int) (*Server, *testURL, *testURL) {
	t.Helper()
	return startServer(t, seededStore(t, items, valueSize), Options{ErrorLog: log.New(io.Discard, "", 0)})
}

func startServer(t testing.TB, st *Store, opts Options) (*Server, *testURL, *testURL) {
	t.Helper()
	return runServer(t, New(st, opts))
}

// runServer runs srv on 127.0.0.1 port 0 until the test ends.
func runServer(t testing.TB, srv *Server) (*Server, *testURL, *testURL) {
	t.Helper()
	pub, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adm, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		pub.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, pub, adm) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return srv, &testURL{"http://" + pub.Addr().String()}, &testURL{"http://" + adm.Addr().String()}
}

func do(t *testing.T, method, url string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp, body
}

func TestItemsHandler(t *testing.T) {
	_, pub, _ := newTestServer(t, 100, 300)
	want42, _ := AppendDocument(nil, 42, 300)

	resp, body := do(t, "GET", pub.URL+"/v1/items/42")
	if resp.StatusCode != 200 || !bytes.Equal(body, want42) {
		t.Fatalf("GET item 42: %d %q, want 200 %q", resp.StatusCode, body, want42)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if resp.ContentLength != 300 {
		t.Errorf("Content-Length %d, want 300", resp.ContentLength)
	}

	resp, body = do(t, "HEAD", pub.URL+"/v1/items/42")
	if resp.StatusCode != 200 || len(body) != 0 {
		t.Fatalf("HEAD item 42: %d with %d body bytes, want 200 and none", resp.StatusCode, len(body))
	}
	if resp.ContentLength != 300 || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("HEAD headers: Content-Length %d, Content-Type %q; want 300, application/json",
			resp.ContentLength, resp.Header.Get("Content-Type"))
	}

	for _, tc := range []struct {
		method, path string
		code         int
		contains     string
	}{
		{"GET", "/v1/items/0", 200, `"id":0,`},
		{"GET", "/v1/items/99", 200, `"id":99,`},
		{"GET", "/v1/items/100", 404, "item not found"},
		{"GET", "/v1/items/18446744073709551615", 404, "item not found"},
		{"HEAD", "/v1/items/100", 404, ""},
		{"GET", "/v1/items/", 400, "malformed item id"},
		{"GET", "/v1/items/abc", 400, "malformed item id"},
		{"GET", "/v1/items/-1", 400, "malformed item id"},
		{"GET", "/v1/items/+1", 400, "malformed item id"},
		{"GET", "/v1/items/1x", 400, "malformed item id"},
		{"GET", "/v1/items/x1", 400, "malformed item id"},
		{"GET", "/v1/items/007", 400, "malformed item id"},
		{"GET", "/v1/items/18446744073709551616", 400, "malformed item id"},
		{"GET", "/v1/items/1/2", 400, "malformed item id"},
		{"GET", "/v1/items/%201", 400, "malformed item id"},
		{"GET", "/", 404, "items are at /v1/items/{id}"},
		{"GET", "/v1/items", 404, "items are at"},
		{"GET", "/metrics", 404, ""},
		{"GET", "/debug/pprof/", 404, ""},
		{"GET", "/debug/pprof/heap", 404, ""},
		{"GET", "/healthz", 404, ""},
		{"POST", "/v1/items/1", 405, "use GET or HEAD"},
		{"PUT", "/v1/items/1", 405, "use GET or HEAD"},
		{"DELETE", "/v1/items/1", 405, "use GET or HEAD"},
		{"OPTIONS", "/v1/items/1", 405, "use GET or HEAD"},
	} {
		resp, body := do(t, tc.method, pub.URL+tc.path)
		if resp.StatusCode != tc.code {
			t.Errorf("%s %s: %d, want %d (%s)", tc.method, tc.path, resp.StatusCode, tc.code, body)
			continue
		}
		if !strings.Contains(string(body), tc.contains) {
			t.Errorf("%s %s: body %q does not contain %q", tc.method, tc.path, body, tc.contains)
		}
		if tc.code == 405 {
			if allow := resp.Header.Get("Allow"); allow != "GET, HEAD" {
				t.Errorf("%s %s: Allow %q, want \"GET, HEAD\"", tc.method, tc.path, allow)
			}
		}
		if resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: Content-Type %q, want application/json", tc.method, tc.path, resp.Header.Get("Content-Type"))
		}
	}
}

func TestItemsHandlerLargeDocument(t *testing.T) {
	// Documents that outgrow a connection's first output buffer, and ones
	// that outgrow the buffer it keeps, which is then dropped.
	for _, size := range []int{wireOutStart, wireOutStart + 1, 100000, wireOutKeep + 1} {
		_, pub, _ := newTestServer(t, 3, size)
		for id := uint64(0); id < 3; id++ {
			want, _ := AppendDocument(nil, id, size)
			resp, body := do(t, "GET", pub.URL+"/v1/items/"+string(rune('0'+id)))
			if resp.StatusCode != 200 || !bytes.Equal(body, want) {
				t.Fatalf("size %d, item %d: %d, %d bytes; want 200 and the document", size, id, resp.StatusCode, len(body))
			}
		}
	}
}

func TestItemsConcurrentReads(t *testing.T) {
	_, pub, _ := newTestServer(t, 1000, 1024)
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				id := uint64(g*50+i) % 1000
				want, _ := AppendDocument(nil, id, 1024)
				resp, err := http.Get(pub.URL + ItemsPath + itoa(id))
				if err != nil {
					errs <- err.Error()
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !bytes.Equal(body, want) {
					errs <- "item " + itoa(id) + ": wrong answer"
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func itoa(n uint64) string { return string(AppendUint(nil, n)) }

// AppendUint is strconv.AppendUint, here to keep the test free of it.
func AppendUint(dst []byte, n uint64) []byte {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(dst, b[i:]...)
}

func TestAdminHandler(t *testing.T) {
	srv, pub, adm := newTestServer(t, 10, 256)

	resp, body := do(t, "GET", adm.URL+"/healthz")
	if resp.StatusCode != 200 {
		t.Fatalf("/healthz: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, "GET", adm.URL+"/readyz")
	if resp.StatusCode != 503 {
		t.Fatalf("/readyz before SetReady: %d %s, want 503", resp.StatusCode, body)
	}
	srv.SetReady(true)
	resp, body = do(t, "GET", adm.URL+"/readyz")
	if resp.StatusCode != 200 || !strings.Contains(string(body), "10 items of 256 bytes") {
		t.Fatalf("/readyz after SetReady: %d %q, want 200 naming the store", resp.StatusCode, body)
	}

	// Move the counters: 3 reads, 1 miss, 1 bad id, 1 bad method.
	for _, p := range []string{"/v1/items/1", "/v1/items/2", "/v1/items/3", "/v1/items/10", "/v1/items/x"} {
		do(t, "GET", pub.URL+p)
	}
	do(t, "POST", pub.URL+"/v1/items/1")

	resp, body = do(t, "GET", adm.URL+"/metrics")
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	text := string(body)
	for _, want := range []string{
		`perf_serve_requests_total{code="200"} 3`,
		`perf_serve_requests_total{code="404"} 1`,
		`perf_serve_requests_total{code="400"} 1`,
		`perf_serve_requests_total{code="405"} 1`,
		`perf_serve_request_duration_seconds_bucket{le="0.001"}`,
		`perf_serve_request_duration_seconds_count 6`,
		`perf_serve_requests_in_flight 0`,
		`perf_serve_store_items 10`,
		`perf_serve_store_value_size_bytes 256`,
		`go_goroutines `,
		`process_cpu_seconds_total `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// The latency histogram carries native buckets as well as classic ones.
	mfs, err := srv.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var h *dto.Histogram
	for _, mf := range mfs {
		if mf.GetName() == "perf_serve_request_duration_seconds" {
			h = mf.GetMetric()[0].GetHistogram()
		}
	}
	if h == nil {
		t.Fatal("no perf_serve_request_duration_seconds in the registry")
	}
	if h.GetSampleCount() != 6 {
		t.Errorf("histogram count %d, want 6", h.GetSampleCount())
	}
	if len(h.GetBucket()) != len(latencyBuckets) {
		t.Errorf("%d classic buckets, want %d", len(h.GetBucket()), len(latencyBuckets))
	}
	if h.GetSchema() != 3 || len(h.GetPositiveSpan()) == 0 {
		t.Errorf("native histogram: schema %d, %d positive spans; want schema 3 (factor 1.1) and spans", h.GetSchema(), len(h.GetPositiveSpan()))
	}

	for _, p := range []string{"/debug/pprof/", "/debug/pprof/heap?debug=1", "/debug/pprof/goroutine?debug=1", "/debug/pprof/mutex?debug=1", "/debug/pprof/block?debug=1", "/debug/pprof/cmdline"} {
		resp, body := do(t, "GET", adm.URL+p)
		if resp.StatusCode != 200 || len(body) == 0 {
			t.Errorf("admin %s: %d with %d bytes, want 200 and a profile", p, resp.StatusCode, len(body))
		}
	}
	resp, body = do(t, "GET", adm.URL+"/debug/pprof/profile?seconds=1")
	if resp.StatusCode != 200 || len(body) == 0 {
		t.Errorf("admin CPU profile: %d with %d bytes", resp.StatusCode, len(body))
	}
}

// inFlight reads the in-flight gauge from the registry.
func inFlight(t *testing.T, srv *Server) float64 {
	t.Helper()
	mfs, err := srv.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "perf_serve_requests_in_flight" {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatal("no in-flight gauge")
	return 0
}

// dialSmallWindow connects with a tiny receive buffer, so a large response
// fills it and the handler blocks in Write until the test reads.
func dialSmallWindow(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// smallSendListener gives accepted connections a small send buffer, so a
// large answer to a client that does not read keeps its handler writing.
// closed is closed once the listener is.
type smallSendListener struct {
	net.Listener
	once   sync.Once
	closed chan struct{}
}

func newSmallSendListener(ln net.Listener) *smallSendListener {
	return &smallSendListener{Listener: ln, closed: make(chan struct{})}
}

func (l *smallSendListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		err = c.(*net.TCPConn).SetWriteBuffer(8192)
	}
	return c, err
}

func (l *smallSendListener) Close() error {
	err := l.Listener.Close()
	l.once.Do(func() { close(l.closed) })
	return err
}

func TestRunShutdownDrains(t *testing.T) {
	const size = MaxValueSize
	st := seededStore(t, 4, size)
	const grace = 10 * time.Second
	srv := New(st, Options{ShutdownGrace: grace, ErrorLog: log.New(io.Discard, "", 0)})
	srv.SetReady(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pubLn := newSmallSendListener(ln)
	admLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, pubLn, admLn) }()

	// Three requests whose 1 MiB answers the clients do not read yet: their
	// handlers are blocked writing when the shutdown starts.
	conns := make([]net.Conn, 3)
	for i := range conns {
		conns[i] = dialSmallWindow(t, pubLn.Addr().String())
		if _, err := io.WriteString(conns[i], "GET /v1/items/"+itoa(uint64(i))+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for inFlight(t, srv) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("in flight: %v, want 3", inFlight(t, srv))
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	// The shutdown marks the server not ready, then closes the public
	// listener at once, before the drain: new connections are refused
	// while the requests in flight finish. (The bound is well within the
	// grace, which a listener closed after the drain would wait out.)
	select {
	case <-pubLn.closed:
	case <-time.After(grace / 2):
		t.Fatalf("the public listener was still open %v into the shutdown, with requests in flight", grace/2)
	}
	if srv.Ready() {
		t.Error("ready once the shutdown closed the public listener, want not ready")
	}
	if c, err := net.Dial("tcp", pubLn.Addr().String()); err == nil {
		c.Close()
		t.Error("a new connection was accepted during the shutdown")
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("a new connection during the shutdown: %v, want it refused", err)
	}
	for i, conn := range conns {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		want, _ := AppendDocument(nil, uint64(i), size)
		if err != nil || resp.StatusCode != 200 || !bytes.Equal(body, want) {
			t.Fatalf("request %d in flight during shutdown: %d, %d bytes, %v; want 200 and the whole document", i, resp.StatusCode, len(body), err)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the drain")
	}
}
