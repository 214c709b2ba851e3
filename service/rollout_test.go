package service

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/perf-tools/perf/results"
)

func TestParseRolloutSteps(t *testing.T) {
	steps, err := ParseRolloutSteps(" 1%/30s, 5%/300ms,25%/1m ,100%/1h30m")
	want := []RolloutStep{{1, 30 * time.Second}, {5, 300 * time.Millisecond}, {25, time.Minute}, {100, 90 * time.Minute}}
	if err != nil || fmt.Sprint(steps) != fmt.Sprint(want) {
		t.Fatalf("got %v, %v; want %v", steps, err, want)
	}
	for _, tc := range []struct{ in, want string }{
		{"", `empty: want WEIGHT%/HOLD`},
		{"5%", `rollout step 1 "5%": no hold`},
		{"5%/30s,", `rollout step 2 "": empty`},
		{"5/30s", `rollout step 1 "5/30s": the weight "5": want a percentage`},
		{"0%/30s", `the weight "0%": want a whole percentage from 1% to 100%`},
		{"101%/30s", `the weight "101%"`},
		{"2.5%/30s", `the weight "2.5%"`},
		{"05%/30s", `the weight "05%"`},
		{"+5%/30s", `the weight "+5%"`},
		{"5%/30", `rollout step 1 "5%/30": the hold "30": want a duration of at least 10ms`},
		{"5%/1ms", `the hold "1ms"`},
		{"5%/-1s", `the hold "-1s"`},
		{"5%/30s,5%/30s", `rollout step 2 "5%/30s": the weight 5% is not above the step before's 5%`},
		{"50%/30s,25%/30s", `rollout step 2 "25%/30s": the weight 25% is not above`},
		{"5%/30s/1m", `the hold "30s/1m"`},
	} {
		_, err := ParseRolloutSteps(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseRolloutSteps(%q): %v, want an error with %q", tc.in, err, tc.want)
		}
	}
	if _, err := ParseRolloutSteps(strings.Repeat("1%/1s,", 101) + "1%/1s"); err == nil || !strings.Contains(err.Error(), "at most 100") {
		t.Errorf("102 steps: %v", err)
	}
}

// FuzzParseRolloutSteps: the parser never panics; an error names the step
// by position or the whole list; accepted steps have growing weights from
// 1 to 100 and holds of at least MinRolloutHold, and print back to a list
// that parses to the same steps.
func FuzzParseRolloutSteps(f *testing.F) {
	for _, s := range []string{"1%/30s,5%/30s,25%/1m,50%/1m,100%/1m", "100%/1h", "5%/30s,5%/30s", "5%", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		steps, err := ParseRolloutSteps(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "rollout step") {
				t.Fatalf("error %q names no step", err)
			}
			return
		}
		if len(steps) == 0 {
			t.Fatal("no steps and no error")
		}
		for i, st := range steps {
			if st.Weight < 1 || st.Weight > 100 || st.Hold < MinRolloutHold || (i > 0 && st.Weight <= steps[i-1].Weight) {
				t.Fatalf("%q: accepted step %d %v", s, i+1, st)
			}
		}
		again, err := ParseRolloutSteps(strings.Join(stepStrings(steps), ","))
		if err != nil || fmt.Sprint(again) != fmt.Sprint(steps) {
			t.Fatalf("%q: %v printed back parses to %v, %v", s, steps, again, err)
		}
	})
}

func TestCheckRolloutSLOs(t *testing.T) {
	for _, tc := range []struct{ slo, want string }{
		{"rate>=100", "bounds the rate"},
		{"p99[compact]<=10ms", "bounds a variant"},
	} {
		b, err := results.ParseSLO(tc.slo)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckRolloutSLOs([]results.Bound{b}); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.slo) {
			t.Errorf("%s: %v, want an error naming it with %q", tc.slo, err, tc.want)
		}
	}
	bs, _ := results.ParseSLOs([]string{"p99<=25ms", "errors<=0.1%", "errors<=3", "max<=1s"})
	if err := CheckRolloutSLOs(bs); err != nil {
		t.Error(err)
	}
}

func mustSLOs(t *testing.T, exprs ...string) []results.Bound {
	t.Helper()
	bs, err := results.ParseSLOs(exprs)
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

// TestRolloutJudge walks the gate's state machine hold by hold, with
// measurements put in by hand and no timer.
func TestRolloutJudge(t *testing.T) {
	s := New(nil, Options{UserHeader: "X-User-Id", ErrorLog: log.New(io.Discard, "", 0)})
	steps, _ := ParseRolloutSteps("10%/1s,20%/1s,50%/1s,100%/1s")
	ro, err := s.newRollout(Rollout{Candidate: "http://127.0.0.1:1", Steps: steps, SLOs: mustSLOs(t, "p99<=25ms", "errors<=5%"), Failures: 2}, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	ro.registerMetrics(prometheus.NewRegistry())
	ro.setWeightLocked(10)
	now := time.Now()
	hold := func(fast, slow, failed int) RolloutHold {
		t.Helper()
		for range fast {
			ro.record(200, time.Millisecond)
		}
		for range slow {
			ro.record(200, 50*time.Millisecond)
		}
		for range failed {
			ro.recordFailure(false)
		}
		now = now.Add(time.Second)
		ro.judge(now)
		return ro.history[len(ro.history)-1]
	}
	expect := func(what, state string, step, weight, failures int) {
		t.Helper()
		if ro.state != state || ro.step+1 != step || ro.weight != weight || ro.failures != failures {
			t.Fatalf("%s: %s at step %d, %d%%, %d failures; want %s at step %d, %d%%, %d failures (%s)",
				what, ro.state, ro.step+1, ro.weight, ro.failures, state, step, weight, failures, ro.reason)
		}
	}
	ro.win.Load().primaryUsers.Add(7)
	now = now.Add(time.Second)
	ro.judge(now)
	ro.judge(now.Add(time.Second))
	if len(ro.history) != 1 || ro.history[0].Verdict != VerdictNoTraffic || ro.history[0].Holds != 2 || ro.history[0].PrimaryUsers != 7 {
		t.Fatalf("two holds without candidate traffic: %+v", ro.history)
	}
	expect("no traffic", RolloutRunning, 1, 10, 0)

	if h := hold(100, 0, 0); h.Verdict != VerdictPass || h.Requests != 100 {
		t.Fatalf("fast hold: %+v", h)
	}
	expect("a pass", RolloutRunning, 2, 20, 0)
	// 2 slow of 100: p99 is the 99th value, 50ms.
	if h := hold(98, 2, 0); h.Verdict != VerdictFail || h.P99 < 49 || !strings.Contains(h.Note, "failure 1 of 2") {
		t.Fatalf("slow hold: %+v", h)
	}
	expect("one failure of two", RolloutRunning, 2, 20, 1)
	hold(100, 0, 0)
	expect("a pass after a failure", RolloutRunning, 3, 50, 0)

	ro.control(RolloutPause)
	hold(100, 0, 0)
	expect("a pass while paused", RolloutPaused, 3, 50, 0)
	if h := hold(90, 0, 10); h.Verdict != VerdictFail || h.Errors != 10 {
		t.Fatalf("10%% errors: %+v", h)
	}
	expect("a failure while paused", RolloutPaused, 3, 50, 1)
	ro.control(RolloutResume)
	hold(100, 0, 0)
	expect("a pass after resume", RolloutRunning, 4, 100, 0)
	hold(100, 0, 0)
	expect("the last step", RolloutPassed, 4, 100, 0)
	hold(100, 0, 0)
	expect("a pass after the last step", RolloutPassed, 4, 100, 0)
	hold(0, 5, 0)
	hold(0, 5, 0)
	expect("two failures", RolloutRolledBack, 4, 0, 2)
	if ro.assign.Load() != nil || !strings.Contains(ro.reason, "step 4 (100%/1s) failed its gate 2 time(s) in a row: p99 50") {
		t.Errorf("after the rollback: assign %v, reason %q", ro.assign.Load(), ro.reason)
	}
	n := len(ro.history)
	hold(100, 0, 0)
	if len(ro.history) != n || ro.state != RolloutRolledBack {
		t.Error("a rolled-back rollout judged another hold")
	}
	if err := ro.control(RolloutResume); err == nil {
		t.Error("resumed a rolled-back rollout")
	}
}

// itemCandidate is a test's candidate version: it serves items as perf
// serve does, counts the requests and the users it saw, and sleeps delay
// per request once set.
type itemCandidate struct {
	*httptest.Server
	requests atomic.Int64
	delay    atomic.Int64 // nanoseconds
	users    chan string
}

func startCandidate(t *testing.T) *itemCandidate {
	t.Helper()
	c := &itemCandidate{users: make(chan string, 10000)}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.requests.Add(1)
		select {
		case c.users <- r.Header.Get("X-User-Id"):
		default:
		}
		time.Sleep(time.Duration(c.delay.Load()))
		id, err := strconv.ParseUint(strings.TrimPrefix(r.URL.Path, ItemsPath), 10, 64)
		if err != nil {
			http.Error(w, "bad id", http.StatusBadRequest)
			return
		}
		doc, _ := AppendDocument(nil, id, 300)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("ETag", `"candidate"`)
		w.Header().Set("Content-Length", strconv.Itoa(len(doc)))
		w.Write(doc)
	}))
	t.Cleanup(c.Close)
	return c
}

// runRollout runs cfg on s until the test ends.
func runRollout(t *testing.T, s *Server, cfg Rollout) {
	t.Helper()
	if err := s.StartRollout(cfg, t.Logf); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.RunRollout(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunRollout: %v", err)
		}
	})
}

func getUser(t *testing.T, url, user string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if user != "" {
		req.Header.Set("X-User-Id", user)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TestRolloutProxy: the users of the candidate's buckets get its answers,
// marked, with their id sent along; the others and requests without a user
// id get the primary's; a user stays on the candidate as the weight grows;
// a candidate that does not answer is a 502, counted against it.
func TestRolloutProxy(t *testing.T) {
	st := seededStore(t, 100, 300)
	s, pub, adm := startServer(t, st, Options{UserHeader: "X-User-Id", ErrorLog: log.New(io.Discard, "", 0)})
	cand := startCandidate(t)
	steps, _ := ParseRolloutSteps("30%/1h,60%/1h")
	runRollout(t, s, Rollout{Candidate: cand.URL, Steps: steps, SLOs: mustSLOs(t, "p99<=25ms")})

	want7, _ := AppendDocument(nil, 7, 300)
	onCandidate := map[string]bool{}
	for i := range 200 {
		user := "user-" + strconv.Itoa(i)
		resp, body := getUser(t, pub.URL+ItemsPath+"7", user)
		byCand := resp.Header.Get(VersionHeader) == "candidate"
		if resp.StatusCode != 200 || string(body) != string(want7) || byCand != (resp.Header.Get("ETag") == `"candidate"`) {
			t.Fatalf("user %s: %d %s %v %q", user, resp.StatusCode, resp.Header, byCand, body)
		}
		if byCand {
			onCandidate[user] = true
			if got := <-cand.users; got != user {
				t.Fatalf("the candidate saw user %q, want %q", got, user)
			}
		}
		// Sticky: the same user, the same version.
		if resp, _ := getUser(t, pub.URL+ItemsPath+"8", user); (resp.Header.Get(VersionHeader) == "candidate") != byCand {
			t.Fatalf("user %s flipped between two requests", user)
		}
		if byCand {
			<-cand.users
		}
	}
	if n := len(onCandidate); n < 40 || n > 80 {
		t.Errorf("%d of 200 users on the candidate at 30%%, want about 60", n)
	}
	for range 20 {
		if resp, _ := getUser(t, pub.URL+ItemsPath+"7", ""); resp.Header.Get(VersionHeader) != "" {
			t.Fatal("a request without a user id went to the candidate")
		}
	}
	// Not item reads: never proxied.
	for _, path := range []string{"/v1/items/x", "/other"} {
		if resp, _ := getUser(t, pub.URL+path, "user-1"); resp.Header.Get(VersionHeader) != "" {
			t.Errorf("%s went to the candidate", path)
		}
	}

	ro := s.rollout.Load()
	ro.mu.Lock()
	ro.setWeightLocked(60)
	ro.mu.Unlock()
	more := 0
	for i := range 200 {
		user := "user-" + strconv.Itoa(i)
		resp, _ := getUser(t, pub.URL+ItemsPath+"7", user)
		byCand := resp.Header.Get(VersionHeader) == "candidate"
		if onCandidate[user] && !byCand {
			t.Fatalf("user %s left the candidate as the weight grew from 30%% to 60%%", user)
		}
		if byCand && !onCandidate[user] {
			more++
		}
	}
	if more == 0 {
		t.Error("no user joined the candidate at 60%")
	}

	// HEAD, through the lean server's raw answer.
	for i := 0; ; i++ {
		user := "user-" + strconv.Itoa(i)
		if !onCandidate[user] {
			continue
		}
		req, _ := http.NewRequest(http.MethodHead, pub.URL+ItemsPath+"7", nil)
		req.Header.Set("X-User-Id", user)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.ContentLength != 300 || resp.Header.Get(VersionHeader) != "candidate" {
			t.Errorf("HEAD: %d, Content-Length %d, %s %q", resp.StatusCode, resp.ContentLength, VersionHeader, resp.Header.Get(VersionHeader))
		}
		break
	}

	// The candidate goes away: its users get 502, counted as its failures.
	cand.Close()
	var user string
	for u := range onCandidate {
		user = u
		break
	}
	resp, body := getUser(t, pub.URL+ItemsPath+"7", user)
	if resp.StatusCode != http.StatusBadGateway || resp.Header.Get(VersionHeader) != "candidate" || !strings.Contains(string(body), "candidate version failed") {
		t.Errorf("candidate down: %d %s %q", resp.StatusCode, resp.Header, body)
	}
	if h := ro.win.Load().hold(0, 0, time.Now()); h.Errors != 1 {
		t.Errorf("the hold counts %d candidate errors, want 1", h.Errors)
	}
	_, metrics := do(t, http.MethodGet, adm.URL+"/metrics")
	for _, want := range []string{`perf_serve_rollout_candidate_failures_total{kind="transport"} 1`, "perf_serve_rollout_weight_percent 60", `perf_serve_rollout_state{state="running"} 1`, "perf_serve_rollout_step 1"} {
		if !strings.Contains(string(metrics), want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestRolloutControlNeedsTheToken: every control request without the right
// token is refused and changes nothing; with it, each does what it says.
func TestRolloutControlNeedsTheToken(t *testing.T) {
	st := seededStore(t, 10, 300)
	s, _, adm := startServer(t, st, Options{UserHeader: "X-User-Id", ControlToken: "s3cret", ErrorLog: log.New(io.Discard, "", 0)})
	cand := startCandidate(t)
	steps, _ := ParseRolloutSteps("10%/1h,100%/1h")
	var promotes atomic.Int32
	runRollout(t, s, Rollout{Candidate: cand.URL, Steps: steps, SLOs: mustSLOs(t, "p99<=25ms"),
		Promote: func() error { promotes.Add(1); return fmt.Errorf("child exited: exit status 3") }})
	status := func() RolloutStatus {
		t.Helper()
		resp, body := do(t, http.MethodGet, adm.URL+"/rollout")
		var st RolloutStatus
		if err := json.Unmarshal(body, &st); resp.StatusCode != 200 || err != nil {
			t.Fatalf("GET /rollout: %d %s (%v)", resp.StatusCode, body, err)
		}
		return st
	}
	before := status()
	if before.State != RolloutRunning || before.Weight != 10 || before.Step != 1 {
		t.Fatalf("at start: %+v", before)
	}
	for _, action := range RolloutActions {
		for _, tok := range []string{"", "wrong", "s3cre", "S3CRET"} {
			if code, body := post(t, adm.URL+"/rollout/"+action, tok); code != http.StatusUnauthorized || !strings.Contains(body, "Bearer") {
				t.Errorf("%s with token %q: %d %s, want 401", action, tok, code, body)
			}
		}
	}
	if after := status(); fmt.Sprint(after) != fmt.Sprint(before) || promotes.Load() != 0 {
		t.Fatalf("refused requests changed the rollout: %+v, then %+v; %d promotes", before, after, promotes.Load())
	}

	if code, body := post(t, adm.URL+"/rollout/pause", "s3cret"); code != 200 || !strings.Contains(body, `"state": "paused"`) {
		t.Errorf("pause: %d %s", code, body)
	}
	if code, body := post(t, adm.URL+"/rollout/resume", "s3cret"); code != 200 || !strings.Contains(body, `"state": "running"`) {
		t.Errorf("resume: %d %s", code, body)
	}
	// A failed promote says so, and pauses.
	if code, body := post(t, adm.URL+"/rollout/promote", "s3cret"); code != http.StatusBadGateway || !strings.Contains(body, "exit status 3") || !strings.Contains(body, "keeps serving") {
		t.Errorf("failed promote: %d %s", code, body)
	}
	if st := status(); st.State != RolloutPaused || st.Weight != 10 || !strings.Contains(st.PromoteError, "exit status 3") {
		t.Errorf("after a failed promote: %+v", st)
	}
	if code, body := post(t, adm.URL+"/rollout/abort", "s3cret"); code != 200 || !strings.Contains(body, `"weight_percent": 0`) {
		t.Errorf("abort: %d %s", code, body)
	}
	if code, body := post(t, adm.URL+"/rollout/resume", "s3cret"); code != http.StatusConflict || !strings.Contains(body, "aborted") {
		t.Errorf("resume after abort: %d %s, want 409", code, body)
	}
	if code, _ := post(t, adm.URL+"/rollout/restart", "s3cret"); code != http.StatusNotFound {
		t.Errorf("an unknown action: %d, want 404", code)
	}

	// Without a configured token, control is off.
	st2 := seededStore(t, 10, 300)
	s2, _, adm2 := startServer(t, st2, Options{UserHeader: "X-User-Id", ErrorLog: log.New(io.Discard, "", 0)})
	runRollout(t, s2, Rollout{Candidate: cand.URL, Steps: steps, SLOs: mustSLOs(t, "p99<=25ms")})
	if code, _ := post(t, adm2.URL+"/rollout/abort", "anything"); code != http.StatusForbidden {
		t.Errorf("no token configured: %d, want 403", code)
	}
	if st := s2.rollout.Load().status(); st.State != RolloutRunning {
		t.Errorf("a refused abort changed the state to %s", st.State)
	}
}

// TestRolloutCountsTransportRetries: a candidate that reads a second
// request on a kept-alive connection and closes it unanswered makes Go's
// transport send that request again on a new connection; the retry is
// counted, not hidden.
func TestRolloutCountsTransportRetries(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var seen atomic.Int64
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				br := bufio.NewReader(nc)
				for n := 0; ; n++ {
					if _, err := http.ReadRequest(br); err != nil {
						return
					}
					seen.Add(1)
					if n == 1 {
						return // the second request on this connection: closed unanswered
					}
					doc, _ := AppendDocument(nil, 1, 300)
					fmt.Fprintf(nc, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(doc), doc)
				}
			}()
		}
	}()
	st := seededStore(t, 10, 300)
	s, pub, _ := startServer(t, st, Options{UserHeader: "X-User-Id", ErrorLog: log.New(io.Discard, "", 0)})
	steps, _ := ParseRolloutSteps("100%/1h")
	runRollout(t, s, Rollout{Candidate: "http://" + ln.Addr().String(), Steps: steps, SLOs: mustSLOs(t, "p99<=25ms")})
	for i := range 2 {
		if resp, _ := getUser(t, pub.URL+ItemsPath+"1", "u"); resp.StatusCode != 200 || resp.Header.Get(VersionHeader) != "candidate" {
			t.Fatalf("request %d: %d %s", i+1, resp.StatusCode, resp.Header)
		}
	}
	h := s.rollout.Load().win.Load().hold(1, 100, time.Now())
	if seen.Load() != 3 || h.Requests != 2 || h.Retries != 1 {
		t.Errorf("the candidate read %d requests; the hold counts %d requests and %d retries; want 3, 2 and 1", seen.Load(), h.Requests, h.Retries)
	}
}

// TestRolloutHandover: a generation started by a live upgrade continues the
// rollout where the one before left it, or ends it as that one ended it.
func TestRolloutHandover(t *testing.T) {
	steps, _ := ParseRolloutSteps("10%/1h,20%/1h,50%/1h")
	for _, tc := range []struct {
		from       RolloutHandover
		state      string
		step, wt   int
		reason     string
		returnsNow bool
	}{
		{RolloutHandover{State: RolloutRunning, Step: 2, Generation: 3}, RolloutRunning, 2, 20, "", false},
		{RolloutHandover{State: RolloutPaused, Step: 3, Reason: "paused by an operator", Generation: 3}, RolloutPaused, 3, 50, "paused in generation 3, continued here: paused by an operator", false},
		{RolloutHandover{State: RolloutRolledBack, Step: 2, Reason: "step 2 failed", Generation: 3}, RolloutRolledBack, 2, 0, "rolled back in generation 3: step 2 failed; restart perf serve", true},
		{RolloutHandover{State: RolloutPromoting, Step: 3, Generation: 3}, RolloutPromoted, 3, 0, "promoted by generation 3: this generation runs the candidate's binary", true},
	} {
		s := New(nil, Options{UserHeader: "X-User-Id", ErrorLog: log.New(io.Discard, "", 0)})
		from := tc.from
		notified := make(chan RolloutStatus, 100)
		if err := s.StartRollout(Rollout{Candidate: "http://127.0.0.1:1", Steps: steps, SLOs: mustSLOs(t, "p99<=25ms"),
			Handover: &from, Notify: func(st RolloutStatus) { notified <- st }}, t.Logf); err != nil {
			t.Fatal(err)
		}
		// The last status told is the one in force.
		var st RolloutStatus
		for len(notified) > 0 {
			st = <-notified
		}
		if st.State == "" {
			t.Fatalf("from %+v: Notify was not called", tc.from)
		}
		ctx, cancel := context.WithCancel(context.Background())
		if !tc.returnsNow {
			cancel()
		}
		// An ended rollout has no hold to judge: RunRollout returns at once.
		if err := s.RunRollout(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
		if st.State != tc.state || st.Step != tc.step || st.Weight != tc.wt || !strings.Contains(st.Reason, tc.reason) {
			t.Errorf("from %+v: %s at step %d, %d%% (%s); want %s at step %d, %d%% (%s)", tc.from, st.State, st.Step, st.Weight, st.Reason, tc.state, tc.step, tc.wt, tc.reason)
		}
	}
}
