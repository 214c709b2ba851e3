package service

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ghostCandidate serves the items perf serve serves, from AppendDocument,
// except for ids where id%10 == 3, whose body differs in its last byte
// but not in its length. It answers 500 to a request without the user
// header, so a ghost that does not forward the user id shows as mismatches
// everywhere.
func ghostCandidate(t *testing.T, valueSize int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-User-Id") == "" {
			http.Error(w, "no user", http.StatusInternalServerError)
			return
		}
		id, err := strconv.ParseUint(strings.TrimPrefix(r.URL.Path, ItemsPath), 10, 64)
		if err != nil {
			http.Error(w, "bad id", http.StatusBadRequest)
			return
		}
		doc, err := AppendDocument(nil, id, valueSize)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if id%10 == 3 {
			doc[len(doc)-2] ^= 1 // the payload's last character
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// startGhostServer is startServer with a hook on each counted ghost
// request, set before Run starts.
func startGhostServer(t *testing.T, st *Store, opts Options, onResult func()) (*Server, string, string) {
	t.Helper()
	opts.ErrorLog = log.New(io.Discard, "", 0)
	srv := New(st, opts)
	if srv.ghost == nil || srv.ghost.err != nil {
		t.Fatalf("ghost mode is off with %+v", opts)
	}
	srv.ghost.onResult = onResult
	srv.SetReady(true)
	_, pub, adm := runServer(t, srv)
	return srv, pub.URL, adm.URL
}

// getItem reads an item as user through client and fails the test on
// anything but 200.
func getItem(t *testing.T, client *http.Client, url, user string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("X-User-Id", user)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
}

// TestGhostMismatchShare mirrors every read to a candidate that differs on
// a tenth of the ids: exactly that tenth is reported as mismatches, the
// rest as matches, the primary against itself matches every time, and the
// verdict says the candidate is beyond noise. The examples, the admin
// JSON and Prometheus say the same.
func TestGhostMismatchShare(t *testing.T) {
	const items, reads = 200, 1000
	cand := ghostCandidate(t, 256)
	counted := make(chan struct{}, reads)
	srv, pub, admin := startGhostServer(t, seededStore(t, items, 256), Options{
		Candidate: cand.URL, GhostShare: 100, GhostQueue: reads, UserHeader: "X-User-Id",
	}, func() { counted <- struct{}{} })
	client := &http.Client{Timeout: 10 * time.Second}
	for i := range reads {
		getItem(t, client, pub+ItemsPath+strconv.Itoa(i%items), "user-"+strconv.Itoa(i))
	}
	timeout := time.After(30 * time.Second)
	for range reads {
		select {
		case <-counted:
		case <-timeout:
			t.Fatalf("30s after the reads, the ghost has counted %+v of %d", srv.GhostStatus().Requests, reads)
		}
	}
	st := srv.GhostStatus()
	want := map[string]uint64{"match": reads * 9 / 10, "mismatch": reads / 10, "candidate_error": 0, "dropped": 0}
	for k, v := range want {
		if st.Requests[k] != v {
			t.Errorf("%s: %d, want %d (all %v)", k, st.Requests[k], v, st.Requests)
		}
	}
	if st.Baseline.Match != reads || st.Baseline.Mismatch != 0 {
		t.Errorf("baseline %+v, want %d matches and no mismatch", st.Baseline, reads)
	}
	if !st.Verdict.ExceedsBaseline || math.Abs(st.MismatchRate-0.1) > 1e-9 {
		t.Errorf("mismatch rate %v, verdict %+v: want 0.1, beyond noise", st.MismatchRate, st.Verdict)
	}
	if len(st.Mismatches) != ghostExamples {
		t.Fatalf("%d examples, want %d", len(st.Mismatches), ghostExamples)
	}
	for _, ex := range st.Mismatches {
		id, _ := strconv.Atoi(strings.TrimPrefix(ex.Path, ItemsPath))
		if id%10 != 3 || ex.Primary.Status != 200 || ex.Candidate.Status != 200 || ex.Primary.CRC32C == ex.Candidate.CRC32C ||
			ex.Primary.Bytes != 256 || !strings.HasPrefix(ex.Primary.First, `{"id":`+strconv.Itoa(id)) || !strings.HasPrefix(ex.User, "user-") {
			t.Errorf("example %+v: want an id ending in 3, both 200, different hashes, the user", ex)
		}
	}
	if st.CandidateLatencyMS["count"] != reads || st.CandidateLatencyMS["p99"] <= 0 {
		t.Errorf("candidate latency %v, want %d answers", st.CandidateLatencyMS, reads)
	}

	// GET /ghost answers the same, and Prometheus counts the same.
	resp, body := do(t, "GET", admin+"/ghost")
	var got GhostStatus
	if err := json.Unmarshal(body, &got); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /ghost: %d %v\n%s", resp.StatusCode, err, body)
	}
	if got.Requests["mismatch"] != reads/10 || got.Candidate != cand.URL || got.SharePercent != 100 || !got.Running {
		t.Errorf("GET /ghost: %s", body)
	}
	_, metrics := do(t, "GET", admin+"/metrics")
	for _, line := range []string{
		`perf_serve_ghost_requests_total{result="mismatch"} 100`,
		`perf_serve_ghost_requests_total{result="match"} 900`,
		`perf_serve_ghost_requests_total{result="dropped"} 0`,
		`perf_serve_ghost_baseline_total{result="match"} 1000`,
		`perf_serve_ghost_candidate_duration_seconds_count 1000`,
	} {
		if !strings.Contains(string(metrics), line+"\n") {
			t.Errorf("/metrics lacks %q", line)
		}
	}
}

// TestGhostShareSample mirrors a fifth of the reads: about a fifth are
// compared, within binomial noise, and a tenth of those mismatch.
func TestGhostShareSample(t *testing.T) {
	const items, reads = 100, 2000
	cand := ghostCandidate(t, 256)
	counted := make(chan struct{}, reads)
	srv, pub, _ := startGhostServer(t, seededStore(t, items, 256), Options{
		Candidate: cand.URL, GhostShare: 20, GhostBaseline: 50, GhostQueue: reads, UserHeader: "X-User-Id",
	}, func() { counted <- struct{}{} })
	client := &http.Client{Timeout: 10 * time.Second}
	for i := range reads {
		getItem(t, client, pub+ItemsPath+strconv.Itoa(i%items), "u")
	}
	// Every read is answered, so every record is queued: wait for each.
	mirrored := srv.GhostStatus().Mirrored
	timeout := time.After(30 * time.Second)
	for range mirrored {
		select {
		case <-counted:
		case <-timeout:
			t.Fatalf("30s after the reads, the ghost has counted %+v of %d", srv.GhostStatus().Requests, mirrored)
		}
	}
	st := srv.GhostStatus()
	compared := st.Requests["match"] + st.Requests["mismatch"]
	// 2000 reads at 20%: mean 400, sd 17.9; six sds either way.
	if compared < 400-108 || compared > 400+108 {
		t.Errorf("compared %d of %d reads, want about 400 (20%%)", compared, reads)
	}
	// A tenth of ~400: sd about 6; the ids are uniform, so within 5 sds.
	if m := st.Requests["mismatch"]; math.Abs(float64(m)-float64(compared)/10) > 30 {
		t.Errorf("%d mismatches of %d compared, want about a tenth", m, compared)
	}
	b := st.Baseline.Match + st.Baseline.Mismatch
	if st.Baseline.Mismatch != 0 || b < compared/2-90 || b > compared/2+90 {
		t.Errorf("baseline %+v of %d compared, want about half of them, all matching", st.Baseline, compared)
	}
}

// TestGhostStalledCandidate sends to a candidate that never answers: the
// primary answers every read at once, the ghost requests time out
// (candidate_error), and the ones that find the queue full are dropped.
func TestGhostStalledCandidate(t *testing.T) {
	release := make(chan struct{})
	cand := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer cand.Close()
	defer close(release)
	failed := make(chan struct{}, 100)
	srv, pub, _ := startGhostServer(t, seededStore(t, 100, 256), Options{
		Candidate: cand.URL, GhostShare: 100, GhostQueue: 4, GhostWorkers: 2, GhostTimeout: 100 * time.Millisecond,
	}, func() {
		select {
		case failed <- struct{}{}:
		default:
		}
	})
	client := &http.Client{Timeout: 10 * time.Second}
	start := time.Now()
	for i := range 200 {
		getItem(t, client, pub+ItemsPath+strconv.Itoa(i%100), "u")
	}
	// A functional bound, far above 200 loopback reads: were the primary
	// to wait for the candidate, 200 reads would take 20s.
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("200 reads took %v with a stalled candidate", d)
	}
	select {
	case <-failed:
	case <-time.After(30 * time.Second):
		t.Fatal("no ghost request timed out in 30s")
	}
	st := srv.GhostStatus()
	if st.Requests["dropped"] == 0 {
		t.Errorf("requests %v: 200 reads through 2 stalled workers and a queue of 4 dropped none", st.Requests)
	}
	if st.Requests["match"]+st.Requests["mismatch"] != 0 || !strings.Contains(st.LastError, "Client.Timeout") {
		t.Errorf("requests %v, last error %q: want only timeouts", st.Requests, st.LastError)
	}
}

// TestGhostQueueDropsWhenFull offers more reads than the queue holds, with
// no worker taking any: the excess is dropped and counted, nothing blocks.
func TestGhostQueueDropsWhenFull(t *testing.T) {
	srv := New(nil, Options{Candidate: "http://127.0.0.1:9", GhostShare: 100, GhostQueue: 3})
	g := srv.ghost
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
	for range 10 {
		g.offer(getMethod, []byte(ItemsPath+"1"), nil, 200, resp)
	}
	if d, q := g.dropped.Load(), len(g.queue); d != 7 || q != 3 {
		t.Fatalf("dropped %d, queued %d; want 7 and 3", d, q)
	}
	rec := <-g.queue
	if rec.status != 200 || string(rec.path[:rec.pathLen]) != ItemsPath+"1" || rec.size != 2 || string(rec.firstBody[:rec.firstLen]) != "{}" {
		t.Errorf("record %+v: want the read's status, path and body", rec)
	}
	// Not an item read, or too long to record: not queued, not dropped.
	g.offer(getMethod, []byte("/other"), nil, 404, resp)
	g.offer(getMethod, []byte(ItemsPath+strings.Repeat("9", ghostMaxPath)), nil, 400, resp)
	g.offer([]byte("POST"), []byte(ItemsPath+"1"), nil, 405, resp)
	if d, q, s := g.dropped.Load(), len(g.queue), g.skipped.Load(); d != 7 || q != 2 || s != 1 {
		t.Errorf("dropped %d, queued %d, skipped %d; want 7, 2, 1", d, q, s)
	}
}

// TestGhostOfferAllocs checks that the request path's part of ghost mode
// allocates nothing: for a read not picked, one picked and queued, and one
// picked and dropped.
func TestGhostOfferAllocs(t *testing.T) {
	srv := New(nil, Options{Candidate: "http://127.0.0.1:9", GhostShare: 100, GhostQueue: 1 << 16})
	g := srv.ghost
	resp, _ := AppendDocument([]byte("HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\n"), 7, 1024)
	path, user := []byte(ItemsPath+"7"), []byte("user-7")
	offer := func() { g.offer(getMethod, path, user, 200, resp) }
	if a := testing.AllocsPerRun(1000, offer); a != 0 {
		t.Errorf("a ghosted read allocates %v times", a)
	}
	for len(g.queue) < cap(g.queue) {
		offer()
	}
	if a := testing.AllocsPerRun(1000, offer); a != 0 || g.dropped.Load() == 0 {
		t.Errorf("a dropped read allocates %v times (dropped %d)", a, g.dropped.Load())
	}
	g.shareAll, g.shareAt = false, 1 // picks one read in 2^64
	if a := testing.AllocsPerRun(1000, offer); a != 0 {
		t.Errorf("a read not ghosted allocates %v times", a)
	}
}

// BenchmarkGhostOffer measures what ghost mode adds to a read on the
// request path: "skip" for a read not picked (a random number), "queue"
// for one picked and queued (a CRC-32C of a 1 KiB body and a copy into the
// queue, emptied with the timer stopped), "drop" for one picked when the
// queue is full.
func BenchmarkGhostOffer(b *testing.B) {
	resp, _ := AppendDocument([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1024\r\n\r\n"), 7, 1024)
	path, user := []byte(ItemsPath+"7"), []byte("user-7")
	for _, tc := range []struct {
		name  string
		share float64
		drain bool
	}{{"skip", 1e-9, true}, {"queue", 100, true}, {"drop", 100, false}} {
		b.Run(tc.name, func(b *testing.B) {
			srv := New(nil, Options{Candidate: "http://127.0.0.1:9", GhostShare: tc.share, GhostQueue: 1 << 12})
			g := srv.ghost
			b.ReportAllocs()
			for b.Loop() {
				if len(g.queue) == cap(g.queue) && tc.drain {
					b.StopTimer()
					for len(g.queue) > 0 {
						<-g.queue
					}
					b.StartTimer()
				}
				g.offer(getMethod, path, user, 200, resp)
			}
			b.ReportMetric(float64(g.queued.Load())/float64(b.N), "queued/op")
		})
	}
}

func TestParseCandidate(t *testing.T) {
	for _, tc := range []struct{ in, want, says string }{
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", ""},
		{"http://candidate.internal:80/", "http://candidate.internal:80", ""},
		{"http://[::1]:9000", "http://[::1]:9000", ""},
		{"https://127.0.0.1:8443", "", "the scheme must be http"},
		{"http://127.0.0.1", "", "no host:port"},
		{"127.0.0.1:8080", "", "does not parse"},
		{"http://127.0.0.1:8080/v1", "", "it has a path"},
		{"http://127.0.0.1:8080?x=1", "", "more than a host and port"},
		{"http://u:p@127.0.0.1:8080", "", "more than a host and port"},
		{"http://127.0.0.1:http", "", "does not parse"},
		{"http://127.0.0.1:99999", "", "port must be a number"},
		{"http://127.0.0.1:0", "", "port must be a number"},
		{"http://:8080", "", "no host:port"},
		{"", "", "the scheme must be http"},
	} {
		got, err := ParseCandidate(tc.in)
		switch {
		case tc.says == "" && (err != nil || got != tc.want):
			t.Errorf("ParseCandidate(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		case tc.says != "" && (err == nil || !errors.Is(err, ErrCandidate) || !strings.Contains(err.Error(), tc.says) ||
			!strings.Contains(err.Error(), "want http://host:port") || !strings.Contains(err.Error(), `"`+tc.in+`"`)):
			t.Errorf("ParseCandidate(%q) = %q, %v; want an error saying %q, naming the input and what is wanted", tc.in, got, err, tc.says)
		}
	}
}

// TestGhostOptions: a bad candidate or share makes Run fail, naming it;
// a candidate without a share leaves ghost mode off.
func TestGhostOptions(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		says string
	}{
		{Options{GhostShare: 5}, "without a candidate"},
		{Options{Candidate: "http://127.0.0.1:1", GhostShare: 101}, "ghost share 101: want a percentage from 0 to 100"},
		{Options{Candidate: "http://127.0.0.1:1", GhostShare: math.NaN()}, "ghost share NaN"},
		{Options{Candidate: "http://127.0.0.1:1", GhostShare: 5, GhostBaseline: 200}, "ghost baseline 200"},
		{Options{Candidate: "ftp://x:1", GhostShare: 5}, `"ftp://x:1": the scheme must be http`},
	} {
		srv := New(nil, tc.opts)
		pub, _ := net.Listen("tcp", "127.0.0.1:0")
		adm, _ := net.Listen("tcp", "127.0.0.1:0")
		err := srv.Run(context.Background(), pub, adm)
		if err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("Run with %+v: %v, want an error saying %q", tc.opts, err, tc.says)
		}
	}
	if srv := New(nil, Options{Candidate: "http://127.0.0.1:1"}); srv.ghost != nil || srv.GhostStatus().Enabled {
		t.Errorf("a candidate without a ghost share turned ghost mode on")
	}
}

// TestGhostVerdict checks the two-proportion z test against values worked
// out by hand.
func TestGhostVerdict(t *testing.T) {
	for _, tc := range []struct {
		mc, nc, mb, nb uint64
		z              float64
		exceeds        bool
	}{
		// p = 0.05, se = sqrt(0.05*0.95*0.002) = 0.0097468; z = 0.1/se.
		{100, 1000, 0, 1000, 10.26, true},
		// p = 0.011, se = sqrt(0.011*0.989*0.002) = 0.0046646; z = 0.002/se.
		{12, 1000, 10, 1000, 0.43, false},
		// p = 0.0125, se = sqrt(0.0125*0.9875*(1/400+1/800)) = 0.0068041;
		// z = (0.025-0.00625)/se.
		{10, 400, 5, 800, 2.76, false},
		{0, 1000, 0, 1000, 0, false},
	} {
		v := ghostVerdict(tc.mc, tc.nc, tc.mb, tc.nb)
		if v.Z != tc.z || v.ExceedsBaseline != tc.exceeds {
			t.Errorf("%d/%d against %d/%d: z %v exceeds %v, want %v %v (%s)", tc.mc, tc.nc, tc.mb, tc.nb, v.Z, v.ExceedsBaseline, tc.z, tc.exceeds, v.Says)
		}
	}
	if v := ghostVerdict(5, 10, 0, 1000); v.ExceedsBaseline || !strings.Contains(v.Says, "not enough comparisons") {
		t.Errorf("10 comparisons: %+v, want no verdict yet", v)
	}
}

// FuzzParseCandidate: what ParseCandidate accepts, net/http can send to as
// it is, at the same host and an explicit port, with the item path
// appended; and it accepts its own answer unchanged.
func FuzzParseCandidate(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		base, err := ParseCandidate(s)
		if err != nil {
			if !errors.Is(err, ErrCandidate) || !strings.Contains(err.Error(), strconv.Quote(s)) {
				t.Fatalf("ParseCandidate(%q): %v: want ErrCandidate naming the input", s, err)
			}
			return
		}
		req, err := http.NewRequest(http.MethodGet, base+ItemsPath+"1", nil)
		if err != nil {
			t.Fatalf("ParseCandidate(%q) = %q, which net/http cannot send to: %v", s, base, err)
		}
		port, perr := strconv.ParseUint(req.URL.Port(), 10, 16)
		if req.URL.Scheme != "http" || req.URL.Hostname() == "" || perr != nil || port == 0 || req.URL.Path != ItemsPath+"1" {
			t.Fatalf("ParseCandidate(%q) = %q: net/http reads scheme %q host %q port %q path %q", s, base, req.URL.Scheme, req.URL.Hostname(), req.URL.Port(), req.URL.Path)
		}
		if again, err := ParseCandidate(base); again != base || err != nil {
			t.Fatalf("ParseCandidate(%q) = %q, but ParseCandidate of that = %q, %v", s, base, again, err)
		}
	})
}
