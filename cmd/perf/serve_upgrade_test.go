package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/perf-tools/perf/internal/testenv"
)

// upgradeProc is a perf serve run from its own copy of the binary, with a
// PID file, so a test can replace the binary and signal whichever
// generation serves.
type upgradeProc struct {
	*serveProc
	bin, pidFile string
}

func startUpgradeProc(t *testing.T, args ...string) *upgradeProc {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "perf")
	data, err := os.ReadFile(perfBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	u := &upgradeProc{bin: bin, pidFile: filepath.Join(dir, "perf.pid")}
	u.serveProc = startServeProcBin(t, bin, nil, append([]string{"--data", t.TempDir(), "--pid-file", u.pidFile}, args...)...)
	// The generations a test started are killed when it ends, whatever
	// happened: the first is startServeProc's to kill.
	t.Cleanup(func() {
		if pid := u.pid(); pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	u.waitReady()
	return u
}

// pid returns the PID the PID file holds, or 0.
func (u *upgradeProc) pid() int {
	b, err := os.ReadFile(u.pidFile)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

var stoppedRE = regexp.MustCompile(`^stopped: generation (\d+) answered (\d+) requests$`)

// answered sums what every generation said it answered as it stopped.
func (u *upgradeProc) answered() (total int64, byGen map[int]int64) {
	byGen = map[int]int64{}
	for _, line := range strings.Split(u.log(), "\n") {
		if m := stoppedRE.FindStringSubmatch(line); m != nil {
			gen, _ := strconv.Atoi(m[1])
			n, _ := strconv.ParseInt(m[2], 10, 64)
			byGen[gen] = n
			total += n
		}
	}
	return total, byGen
}

// upgrade sends SIGHUP to the generation that serves and waits until the
// next one serves and the old one has stopped.
func (u *upgradeProc) upgrade(t *testing.T, gen int) {
	t.Helper()
	old := u.pid()
	if err := syscall.Kill(old, syscall.SIGHUP); err != nil {
		t.Fatalf("SIGHUP generation %d (pid %d): %v", gen, old, err)
	}
	u.waitLine(regexp.MustCompile(fmt.Sprintf(`^stopped: generation %d answered \d+ requests$`, gen)))
	if u.pid() == old {
		t.Fatalf("the PID file still names generation %d (pid %d) after it stopped", gen, old)
	}
}

// TestE2EServeLiveUpgrades upgrades a real perf serve 20 times while
// perf attack holds a constant rate, once with keep-alive connections and
// once with a connection per request: no request may fail, and the
// attack's count must equal the sum of what the generations answered.
func TestE2EServeLiveUpgrades(t *testing.T) {
	testenv.SkipUnderRace(t)
	for _, keepalive := range []bool{true, false} {
		t.Run(fmt.Sprintf("keepalive=%v", keepalive), func(t *testing.T) {
			const upgrades, rate = 20, 400
			u := startUpgradeProc(t, "--seed", "1000")
			out := t.TempDir()
			done := make(chan result, 1)
			go func() {
				code, stdout, stderr := perf(t, "attack",
					"--url", u.publicURL+"/v1/items/{key}", "--keys", "uniform:1000",
					"--rate", strconv.Itoa(rate), "--duration", "12s",
					"--keepalive="+strconv.FormatBool(keepalive),
					"--out-dir", out, "--slo", "errors<=0",
					"--max-lag", "1s", "--min-achieved", "50")
				done <- result{code, stdout, stderr}
			}()
			deadline := time.Now().Add(10 * time.Second)
			for metricSum(t, u.adminURL+"/metrics", "perf_serve_requests_total") == 0 {
				if time.Now().After(deadline) {
					t.Fatal("the attack did not start")
				}
				time.Sleep(10 * time.Millisecond)
			}
			start := time.Now()
			for gen := 1; gen <= upgrades; gen++ {
				u.upgrade(t, gen)
			}
			took := time.Since(start)
			r := <-done
			if r.code != exitOK {
				t.Fatalf("perf attack exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			if took > 11*time.Second {
				t.Fatalf("%d upgrades took %v: not all of them under the attack's 12s", upgrades, took)
			}
			// Stop the last generation, so it says what it answered.
			if err := syscall.Kill(u.pid(), syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			u.waitLine(regexp.MustCompile(fmt.Sprintf(`^stopped: generation %d `, upgrades+1)))

			run := readRunJSON(t, onlyRunDir(t, out))
			total, byGen := u.answered()
			t.Logf("%d upgrades in %v; attack: %d requests, %d errors, %d retries; answered by generation: %v",
				upgrades, took.Round(time.Millisecond), run.Requests, run.Errors, run.Retries, byGen)
			if run.Errors != 0 || run.StatusCodes["200"] != run.Requests || run.Requests != 12*rate {
				t.Errorf("attack: %d requests, %d errors (%v), codes %v; want %d, all 200", run.Requests, run.Errors, run.ErrorKinds, run.StatusCodes, 12*rate)
			}
			if total != run.Requests {
				t.Errorf("the generations answered %d requests, the attack counted %d", total, run.Requests)
			}
			for gen := 1; gen <= upgrades+1; gen++ {
				if _, ok := byGen[gen]; !ok {
					t.Errorf("generation %d never said it stopped", gen)
				}
			}
			served := 0
			for _, n := range byGen {
				if n > 0 {
					served++
				}
			}
			if served < upgrades/2 {
				t.Errorf("only %d of %d generations answered requests: %v", served, upgrades+1, byGen)
			}
		})
	}
}

// result is what perf returned.
type result struct {
	code           int
	stdout, stderr string
}

// TestServeFailedUpgradeKeepsServing replaces the binary with one that
// exits during start-up, then with one that never becomes ready: each
// upgrade fails, says so, and the old generation serves on without a
// failed request.
func TestServeFailedUpgradeKeepsServing(t *testing.T) {
	u := startUpgradeProc(t, "--seed", "100", "--upgrade-timeout", "2s")
	first := u.pid()
	out := t.TempDir()
	done := make(chan result, 1)
	go func() {
		code, stdout, stderr := perf(t, "attack",
			"--url", u.publicURL+"/v1/items/{key}", "--keys", "uniform:100",
			"--rate", "200", "--duration", "6s",
			"--out-dir", out, "--slo", "errors<=0",
			"--max-lag", "1s", "--min-achieved", "50")
		done <- result{code, stdout, stderr}
	}()
	for _, tc := range []struct{ name, script, why string }{
		{"exits during start-up", "#!/bin/sh\necho 'new binary: cannot start' >&2\nexit 3\n", "exited"},
		{"never ready", "#!/bin/sh\nexec sleep 60\n", "timed out"},
	} {
		if err := os.Remove(u.bin); err != nil { // the running binary stays on disk
			t.Fatal(err)
		}
		if err := os.WriteFile(u.bin, []byte(tc.script), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(first, syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		m := u.waitLine(regexp.MustCompile(`^upgrade failed: (.*); generation 1 keeps serving$`))
		if !strings.Contains(m[1], tc.why) {
			t.Errorf("%s: upgrade failed with %q, want it to say %q", tc.name, m[1], tc.why)
		}
		if u.pid() != first {
			t.Errorf("%s: the PID file names %d, want the serving %d", tc.name, u.pid(), first)
		}
		code, body := httpGetBody(t, u.adminURL+"/upgrade")
		if code != 200 || !strings.Contains(string(body), tc.why) || !strings.Contains(string(body), `"generation": 1`) {
			t.Errorf("%s: GET /upgrade: %d %s", tc.name, code, body)
		}
	}
	r := <-done
	if r.code != exitOK {
		t.Fatalf("perf attack exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	run := readRunJSON(t, onlyRunDir(t, out))
	if run.Errors != 0 || run.StatusCodes["200"] != run.Requests {
		t.Errorf("attack: %d requests, %d errors, codes %v", run.Requests, run.Errors, run.StatusCodes)
	}
	if got := metricSum(t, u.adminURL+"/metrics", `perf_serve_upgrades_total{result="failure"}`); got != 2 {
		t.Errorf("perf_serve_upgrades_total{result=\"failure\"} = %v, want 2", got)
	}
}
