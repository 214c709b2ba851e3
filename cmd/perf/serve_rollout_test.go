package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/perf-tools/perf/internal/testenv"
	"github.com/perf-tools/perf/results"
	"github.com/perf-tools/perf/service"
)

// testCandidate is a candidate version in the test: it serves items as
// perf serve does (service.AppendDocument, 1 KiB), counts its requests, and
// sleeps delay per request once the test sets it.
type testCandidate struct {
	*httptest.Server
	requests atomic.Int64
	delay    atomic.Int64 // nanoseconds
}

func startTestCandidate(t *testing.T) *testCandidate {
	t.Helper()
	c := &testCandidate{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.requests.Add(1)
		time.Sleep(time.Duration(c.delay.Load()))
		id, err := strconv.ParseUint(strings.TrimPrefix(r.URL.Path, service.ItemsPath), 10, 64)
		if err != nil || r.Header.Get("X-User-Id") == "" {
			http.Error(w, "want an item id and a user id", http.StatusBadRequest)
			return
		}
		doc, err := service.AppendDocument(nil, id, service.DefaultValueSize)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
	}))
	t.Cleanup(c.Close)
	return c
}

// rolloutStatus reads GET /rollout.
func rolloutStatus(t *testing.T, admin string) service.RolloutStatus {
	t.Helper()
	code, body := httpGetBody(t, admin+"/rollout")
	var st service.RolloutStatus
	if err := json.Unmarshal(body, &st); code != 200 || err != nil {
		t.Fatalf("GET /rollout: %d %s (%v)", code, body, err)
	}
	return st
}

// waitRollout waits until the rollout's status satisfies cond, for at most
// timeout, and returns it.
func waitRollout(t *testing.T, admin, what string, timeout time.Duration, cond func(service.RolloutStatus) bool) service.RolloutStatus {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := rolloutStatus(t, admin)
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			logTimeline(t, st)
			t.Fatalf("the rollout did not reach %s in %v: %s at step %d, %d%%", what, timeout, st.State, st.Step, st.Weight)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// logTimeline logs a rollout's holds: weight, candidate p99, verdict.
func logTimeline(t *testing.T, st service.RolloutStatus) {
	t.Helper()
	var b strings.Builder
	for _, h := range st.History {
		fmt.Fprintf(&b, "\n  step %d  %3d%%  holds %d  candidate %4d requests  %d errors  p99 %7.3fms  %-10s %s",
			h.Step, h.Weight, h.Holds, h.Requests, h.Errors, h.P99, h.Verdict, h.Note)
	}
	t.Logf("rollout %s (%s):%s", st.State, st.Reason, b.String())
}

// rolloutAttack runs perf attack at a constant rate against url with a user
// per key, split by who answered, in the background.
func rolloutAttack(t *testing.T, url, out string, rate int, d time.Duration) <-chan result {
	done := make(chan result, 1)
	go func() {
		code, stdout, stderr := perf(t, "attack",
			"--url", url+"/v1/items/{key}", "--keys", "uniform:1000", "-H", "X-User-Id: {key}",
			"--rate", strconv.Itoa(rate), "--duration", d.String(),
			"--split-by", service.VersionHeader,
			"--out-dir", out, "--slo", "errors<=0",
			"--max-lag", "1s", "--min-achieved", "50")
		done <- result{code, stdout, stderr}
	}()
	return done
}

// TestE2ERolloutSlowCandidateRollsBack: a candidate that turns slow
// halfway through the ramp fails its p99 gate at the next hold's end and is
// rolled back to 0% by itself, while perf attack at a constant rate sees no
// failed request (the gate's error budget is not touched: slowness is what
// failed) and no user is sent to the candidate after the rollback, not even
// by the generation a live upgrade starts after it.
func TestE2ERolloutSlowCandidateRollsBack(t *testing.T) {
	testenv.SkipUnderRace(t)
	cand := startTestCandidate(t)
	p := startUpgradeProc(t, "--seed", "1000", "--user-header", "X-User-Id",
		"--candidate", cand.URL, "--rollout", "10%/300ms,25%/300ms,50%/300ms,100%/300ms",
		"--rollout-slo", "p99<=25ms", "--rollout-slo", "errors<=1%")
	out := t.TempDir()
	done := rolloutAttack(t, p.publicURL, out, 200, 5*time.Second)

	waitRollout(t, p.adminURL, "step 3", 10*time.Second, func(st service.RolloutStatus) bool {
		return st.Step >= 3 || st.State != service.RolloutRunning
	})
	cand.delay.Store(int64(50 * time.Millisecond))
	st := waitRollout(t, p.adminURL, "a rollback", 10*time.Second, func(st service.RolloutStatus) bool {
		return st.State != service.RolloutRunning
	})
	atRollback := cand.requests.Load()
	logTimeline(t, st)
	if st.State != service.RolloutRolledBack || st.Weight != 0 || !strings.Contains(st.Reason, "failed its gate 1 time(s) in a row: p99") {
		t.Fatalf("after the candidate turned slow: %s at %d%%: %s", st.State, st.Weight, st.Reason)
	}
	last := st.History[len(st.History)-1]
	if last.Verdict != service.VerdictFail || last.P99 < 50 || last.Step < 3 {
		t.Errorf("the failed hold: %+v", last)
	}
	passed := 0
	for _, h := range st.History {
		if h.Verdict == service.VerdictPass {
			passed++
		}
	}
	if passed < 2 {
		t.Errorf("%d holds passed before the candidate turned slow, want 2 or more", passed)
	}

	// A live upgrade after the rollback: the new generation stays rolled
	// back.
	p.upgrade(t, 1)
	if st := rolloutStatus(t, p.adminURL); st.State != service.RolloutRolledBack || st.Weight != 0 || !strings.Contains(st.Reason, "rolled back in generation 1: step ") {
		t.Errorf("generation 2: %s at %d%%: %s", st.State, st.Weight, st.Reason)
	}

	r := <-done
	if r.code != exitOK {
		t.Fatalf("perf attack exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	run := readRunJSON(t, onlyRunDir(t, out))
	byCand := int64(0)
	if v := run.Variant("candidate"); v != nil {
		byCand = v.Responses
	}
	after := cand.requests.Load() - atRollback
	t.Logf("attack: %d requests, %d errors, corrected p99 %.2fms; %d answered by the candidate; the candidate got %d requests after the rollback",
		run.Requests, run.Errors, run.Latency.Corrected.P99, byCand, after)
	if run.Errors != 0 || byCand == 0 {
		t.Errorf("attack: %d errors (%v), %d answered by the candidate; want 0 errors and some", run.Errors, run.StatusCodes, byCand)
	}
	// A request that had picked the candidate just before the rollback
	// may still reach it; nothing after.
	if after > 5 {
		t.Errorf("the candidate got %d requests after the rollback", after)
	}
	if !strings.Contains(p.log(), "rollout: rolled back to 0%: step ") {
		t.Errorf("perf serve did not log the rollback:\n%s", p.log())
	}
}

// TestE2ERolloutPromote: a healthy candidate passes every step to 100%;
// control requests without the token are refused and change nothing; perf
// serve rollout promote ends with a live upgrade (generation 2 serves every
// user itself); perf attack at a constant rate throughout sees no failed
// request, and every request is counted once, by generation 1 (itself or
// through the candidate) or generation 2.
func TestE2ERolloutPromote(t *testing.T) {
	testenv.SkipUnderRace(t)
	t.Setenv("PERF_CONTROL_TOKEN", "")
	cand := startTestCandidate(t)
	tok := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tok, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	u := startUpgradeProc(t, "--seed", "1000", "--user-header", "X-User-Id", "--control-token-file", tok,
		"--candidate", cand.URL, "--rollout", "25%/300ms,50%/300ms,100%/300ms",
		"--rollout-slo", "p99<=25ms", "--rollout-slo", "errors<=0")
	first := u.pid()
	out := t.TempDir()
	done := rolloutAttack(t, u.publicURL, out, 200, 6*time.Second)

	// Without the token: refused, and nothing changes.
	before := rolloutStatus(t, u.adminURL)
	for _, action := range service.RolloutActions {
		code, _, stderr := perf(t, "serve", "rollout", action, "--admin", u.adminURL)
		if code != exitRuntime || !strings.Contains(stderr, "401 Unauthorized") || !strings.Contains(stderr, "--token-file") {
			t.Errorf("%s without the token: exit %d, %s", action, code, stderr)
		}
	}
	if after := rolloutStatus(t, u.adminURL); after.State != service.RolloutRunning || after.Step < before.Step || after.Weight < before.Weight {
		t.Fatalf("refused control requests changed the rollout: %+v, then %+v", before, after)
	}

	st := waitRollout(t, u.adminURL, "passed", 10*time.Second, func(st service.RolloutStatus) bool {
		return st.State != service.RolloutRunning
	})
	logTimeline(t, st)
	if st.State != service.RolloutPassed || st.Weight != 100 {
		t.Fatalf("a healthy candidate: %s at %d%%: %s", st.State, st.Weight, st.Reason)
	}
	code, stdout, stderr := perf(t, "serve", "rollout", "status", "--admin", u.adminURL)
	if code != exitOK || !strings.Contains(stdout, "rollout: passed, step 3 of 3 (100%/300ms), 100% of users") {
		t.Errorf("rollout status: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = perf(t, "serve", "rollout", "promote", "--admin", u.adminURL, "--token-file", tok)
	if code != exitOK || !strings.Contains(stdout, "rollout: promoted") {
		t.Fatalf("promote: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	u.waitLine(regexp.MustCompile(`^stopped: generation 1 answered \d+ requests$`))
	if u.pid() == first {
		t.Fatalf("the PID file still names generation 1 (pid %d) after the promote", first)
	}
	code, body := httpGetBody(t, u.adminURL+"/upgrade")
	if code != 200 || !strings.Contains(string(body), `"generation": 2`) {
		t.Errorf("GET /upgrade after the promote: %d %s", code, body)
	}
	if st := rolloutStatus(t, u.adminURL); st.State != service.RolloutPromoted || st.Weight != 0 {
		t.Errorf("generation 2's rollout: %s at %d%%: %s", st.State, st.Weight, st.Reason)
	}
	r := <-done
	if r.code != exitOK {
		t.Fatalf("perf attack exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if err := syscall.Kill(u.pid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	u.waitLine(regexp.MustCompile(`^stopped: generation 2 `))
	if !strings.Contains(u.log(), "rollout: promoted by generation 1: this generation runs the candidate's binary") {
		t.Errorf("generation 2 did not say it was promoted:\n%s", u.log())
	}

	run := readRunJSON(t, onlyRunDir(t, out))
	total, byGen := u.answered()
	byCand := int64(0)
	if v := run.Variant("candidate"); v != nil {
		byCand = v.Responses
	}
	t.Logf("attack: %d requests, %d errors, %d retries, corrected p99 %.2fms; answered by generation %v, %d of them by the candidate, which got %d requests",
		run.Requests, run.Errors, run.Retries, run.Latency.Corrected.P99, byGen, byCand, cand.requests.Load())
	if run.Errors != 0 || run.StatusCodes["200"] != run.Requests {
		t.Errorf("attack: %d requests, %d errors (%v), codes %v", run.Requests, run.Errors, run.ErrorKinds, run.StatusCodes)
	}
	if total != run.Requests || byGen[2] == 0 {
		t.Errorf("the generations answered %v = %d requests, the attack counted %d", byGen, total, run.Requests)
	}
	if byCand == 0 || byCand != cand.requests.Load() {
		t.Errorf("%d responses said the candidate answered; the candidate got %d requests", byCand, cand.requests.Load())
	}
}

// TestServeRolloutCommand drives a rollout of an in-process server through
// perf serve rollout: each action's answer, the text and JSON status, a
// refused action's exit code and message.
func TestServeRolloutCommand(t *testing.T) {
	t.Setenv("PERF_CONTROL_TOKEN", "s3cret")
	cand := startTestCandidate(t)
	srv := service.New(nil, service.Options{UserHeader: "X-User-Id", ControlToken: "s3cret"})
	pub, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adm, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran, rolled := make(chan error, 1), make(chan error, 1)
	go func() { ran <- srv.Run(ctx, pub, adm) }()
	steps, _ := service.ParseRolloutSteps("5%/1h,50%/1h")
	slos, _ := results.ParseSLOs([]string{"p99<=25ms"})
	if err := srv.StartRollout(service.Rollout{Candidate: cand.URL, Steps: steps, SLOs: slos}, t.Logf); err != nil {
		t.Fatal(err)
	}
	go func() { rolled <- srv.RunRollout(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-rolled; err != nil {
			t.Error(err)
		}
		if err := <-ran; err != nil {
			t.Error(err)
		}
	})
	admin := "http://" + adm.Addr().String()

	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"pause"}, exitOK, "rollout: paused, step 1 of 2 (5%/1h0m0s), 5% of users on the candidate " + cand.URL + "\nreason: paused by an operator"},
		{[]string{"status", "--output", "json"}, exitOK, `"state": "paused"`},
		{[]string{"resume"}, exitOK, "rollout: running, step 1 of 2"},
		{[]string{"status"}, exitOK, "gate: p99<=25ms; rolled back after 1 failure(s) in a row (now 0)\nno hold judged yet\n"},
		{[]string{"abort"}, exitOK, "rollout: aborted, step 1 of 2 (5%/1h0m0s), 0% of users"},
	} {
		code, stdout, stderr := perf(t, append([]string{"serve", "rollout"}, append(tc.args, "--admin", admin)...)...)
		if code != tc.code || !strings.Contains(stdout, tc.out) {
			t.Errorf("perf serve rollout %v: exit %d, stdout:\n%s\nstderr:\n%s\nwant exit %d and %q", tc.args, code, stdout, stderr, tc.code, tc.out)
		}
	}
	code, _, stderr := perf(t, "serve", "rollout", "resume", "--admin", admin)
	if code != exitRuntime || !strings.Contains(stderr, "409 Conflict: resume: the rollout is aborted") {
		t.Errorf("resume after abort: exit %d, %s", code, stderr)
	}
}
