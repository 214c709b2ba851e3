package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/perf-tools/perf/tuning/tuningtest"
)

// sandboxedPerf returns a copy of the perf binary that a sandboxed user may
// run, the shared directory it lives in, and a function that runs a shell
// script in the sandbox (a new user and network namespace, unprivileged on
// the host). It fails the test if the sandbox would let writes reach the
// host's global sysctls.
func sandboxedPerf(t *testing.T) (dir string, run func(script string) (string, int)) {
	t.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	dir = tuningtest.SharedDir(t)
	bin := tuningtest.Executable(t, perfBinary(t), dir)
	run = func(script string) (string, int) {
		t.Helper()
		cmd := tuningtest.Sandbox(t, exec.Command("sh", "-c", script))
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"))
		out, err := tuningtest.Run(t, cmd)
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), ee.ExitCode()
		}
		return string(out), 0
	}
	if out, code := run(`test -w /proc/sys/vm/swappiness || test -w /proc/sys/net/core/rmem_max && exit 9; exit 0`); code != 0 {
		t.Fatalf("the sandbox can write the host's global sysctls; refusing to run: %s", out)
	}
	return dir, run
}

// TestTuneNotPermitted runs perf tune apply where it may not write a global
// key: exit 4, the key named, nothing written, no state file.
func TestTuneNotPermitted(t *testing.T) {
	dir, run := sandboxedPerf(t)
	b, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	profile := `name: global
description: a per-netns key and a global one the sandbox may not write
settings:
  - {key: net.ipv4.tcp_fin_timeout, value: "<=17", why: test}
  - {key: net.core.rmem_max, value: ">=` + strconv.FormatInt(n+1, 10) + `", why: test}
`
	if err := os.WriteFile(filepath.Join(dir, "global.yaml"), []byte(profile), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := run(`before=$(cat /proc/sys/net/ipv4/tcp_fin_timeout)
perf tune apply --state ./state.json global.yaml; rc=$?
echo "rc=$rc"
test "$before" = "$(cat /proc/sys/net/ipv4/tcp_fin_timeout)" && echo unchanged
test -e ./state.json && echo state-written
exit 0`)
	if code != 0 {
		t.Fatalf("script exit %d:\n%s", code, out)
	}
	for _, want := range []string{"rc=4", "unchanged", "not permitted to write net.core.rmem_max"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "state-written") || strings.Contains(out, "tcp_fin_timeout:") {
		t.Errorf("a state file was written or the netns key was named:\n%s", out)
	}
	if got, _ := os.ReadFile("/proc/sys/net/core/rmem_max"); string(got) != string(b) {
		t.Errorf("host rmem_max changed: %q -> %q", b, got)
	}
}

// TestTuneRealKernel runs check, apply, re-apply and revert through the CLI
// against the real /proc/sys of a fresh network namespace.
func TestTuneRealKernel(t *testing.T) {
	dir, run := sandboxedPerf(t)
	profile := `name: netns
description: per-netns keys
settings:
  - {key: net.ipv4.tcp_fin_timeout, value: "<=17", why: test}
  - {key: net.ipv4.ip_local_port_range, value: "<=1024 >=65535", why: test}
  - {key: net.core.somaxconn, value: ">=8192", why: test}
`
	if err := os.WriteFile(filepath.Join(dir, "netns.yaml"), []byte(profile), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := run(`snap() { cat /proc/sys/net/ipv4/tcp_fin_timeout /proc/sys/net/ipv4/ip_local_port_range /proc/sys/net/core/somaxconn; }
snap > before.txt
perf tune check netns.yaml >/dev/null 2>&1; echo "check1=$?"
perf tune apply --state ./state.json netns.yaml >/dev/null 2>&1; echo "apply=$?"
echo "fin=$(cat /proc/sys/net/ipv4/tcp_fin_timeout) range=$(cat /proc/sys/net/ipv4/ip_local_port_range) somaxconn=$(cat /proc/sys/net/core/somaxconn)"
perf tune check netns.yaml >/dev/null 2>&1; echo "check2=$?"
perf tune apply --state ./state.json netns.yaml 2>/dev/null
perf tune revert --state ./state.json >/dev/null 2>&1; echo "revert=$?"
snap > after.txt
cmp before.txt after.txt && echo restored
test -e state.json || echo state-removed`)
	if code != 0 {
		t.Fatalf("script exit %d:\n%s", code, out)
	}
	for _, want := range []string{"check1=3", "apply=0", "fin=17 range=1024\t65535 somaxconn=8192", "check2=0", "netns: nothing to change", "revert=0", "restored", "state-removed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
