package tuning_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/perf-tools/perf/tuning"
	"github.com/perf-tools/perf/tuning/tuningtest"
)

// inSandbox is set in the environment of this test binary when it is
// re-run inside the sandbox.
const inSandbox = "PERF_TUNE_IN_SANDBOX"

// sandboxed runs the calling test again in a new user and network
// namespace as an unprivileged user and fails if it fails there. It returns
// true in the sandbox, where the test should do its work.
func sandboxed(t *testing.T) bool {
	t.Helper()
	if os.Getenv(inSandbox) == "1" {
		// Never run against the host: a global sysctl must be read-only
		// here, or the sandbox does not protect the host.
		if !tuningtest.Protected() {
			t.Fatal("the host's global sysctls are writable: not in a sandbox that protects the host; refusing to run")
		}
		return true
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := tuningtest.SharedDir(t)
	bin := tuningtest.Executable(t, self, dir)
	cmd := tuningtest.Sandbox(t, exec.Command(bin, "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), inSandbox+"=1", "TMPDIR="+dir)
	out, err := tuningtest.Run(t, cmd)
	t.Logf("in the sandbox:\n%s", out)
	if err != nil {
		t.Fatalf("sandboxed run: %v", err)
	}
	if strings.Contains(string(out), "--- SKIP") {
		// A plain skip, even when PERF_TEST_REQUIRE requires netns: the
		// namespace was made and the test ran in it; it relays the skip the
		// test decided there, where the same environment applies.
		t.Skip("skipped in the sandbox")
	}
	return false
}

// realKeys are per-network-namespace sysctls, safe to change in a sandbox.
const realProfile = `name: netns
description: per-netns keys, for the real-kernel test
settings:
  - {key: net.ipv4.tcp_fin_timeout, value: "<=17", why: test}
  - {key: net.ipv4.ip_local_port_range, value: "<=1024 >=65535", why: test}
  - {key: net.core.somaxconn, value: ">=8192", why: test}
`

var realKeys = []string{"net.ipv4.tcp_fin_timeout", "net.ipv4.ip_local_port_range", "net.core.somaxconn"}

func readReal(t *testing.T, keys []string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, k := range keys {
		b, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(k, ".", "/"))
		if err != nil {
			t.Fatal(err)
		}
		m[k] = string(b)
	}
	return m
}

// TestRealKernelApplyRevert applies and reverts a profile of per-netns keys
// against the real /proc/sys of a new network namespace.
func TestRealKernelApplyRevert(t *testing.T) {
	if !sandboxed(t) {
		return
	}
	p := loadProfile(t, writeProfile(t, realProfile))
	state := filepath.Join(t.TempDir(), "state.json")
	orig := readReal(t, realKeys)
	if orig["net.ipv4.tcp_fin_timeout"] == "17\n" {
		t.Fatalf("the new namespace already has the test value: %q", orig)
	}
	rs, err := tuning.Check("/", p)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Scope != tuning.ScopeNetns {
			t.Errorf("%s scope %s, want netns", r.Key, r.Scope)
		}
	}
	apply(t, "/", p, state)
	got := readReal(t, realKeys)
	want := map[string]string{
		"net.ipv4.tcp_fin_timeout":     "17\n",
		"net.ipv4.ip_local_port_range": "1024\t65535\n",
		"net.core.somaxconn":           "8192\n",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("after apply %s = %q, want %q", k, got[k], v)
		}
	}
	rs, err = tuning.Check("/", p)
	if err != nil {
		t.Fatal(err)
	}
	if tuning.Drifted(rs) {
		t.Errorf("drift after apply: %+v", rs)
	}
	// Re-apply: nothing to change, the state file keeps the originals.
	plan, err := tuning.NewPlan("/", p)
	if err != nil || len(plan.Changes) != 0 {
		t.Errorf("second plan: %+v, %v", plan, err)
	}
	restored, err := tuning.Revert("/", state)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(restored)
	if len(restored) != 3 {
		t.Errorf("restored %v", restored)
	}
	if after := readReal(t, realKeys); !mapsEqual(after, orig) {
		t.Errorf("after revert %q, want %q", after, orig)
	}
}

// TestRealKernelHalfwayFailure has the kernel refuse the second write (a
// port range whose low end is above its high end is EINVAL) and checks that
// the first is undone.
func TestRealKernelHalfwayFailure(t *testing.T) {
	if !sandboxed(t) {
		return
	}
	p := loadProfile(t, writeProfile(t, `name: bad
description: the kernel rejects the second value
settings:
  - {key: net.ipv4.tcp_fin_timeout, value: "<=17", why: test}
  - {key: net.ipv4.ip_local_port_range, value: "65535 1024", why: test}
  - {key: net.core.somaxconn, value: ">=8192", why: test}
`))
	state := filepath.Join(t.TempDir(), "state.json")
	orig := readReal(t, realKeys)
	plan, err := tuning.NewPlan("/", p)
	if err != nil {
		t.Fatal(err)
	}
	err = plan.Apply(state)
	var werr *tuning.WriteError
	if !errors.As(err, &werr) || !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("apply: %v, want a WriteError with EINVAL", err)
	}
	if werr.Key != "net.ipv4.ip_local_port_range" || !slices.Equal(werr.Restored, []string{"net.ipv4.tcp_fin_timeout"}) {
		t.Errorf("WriteError = %+v", werr)
	}
	if after := readReal(t, realKeys); !mapsEqual(after, orig) {
		t.Errorf("after the failed apply %q, want %q", after, orig)
	}
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state file left: %v", err)
	}
}

// TestRealKernelNotPermitted asks for a global key, which the sandbox may
// not write: nothing is written, and the error names that key.
func TestRealKernelNotPermitted(t *testing.T) {
	if !sandboxed(t) {
		return
	}
	cur := strings.TrimSpace(readReal(t, []string{"net.core.rmem_max"})["net.core.rmem_max"])
	n, err := strconv.ParseInt(cur, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	// Were the write to happen after all, it would raise the host's
	// rmem_max by one byte: harmless. The sandbox check above makes sure it
	// cannot.
	p := loadProfile(t, writeProfile(t, `name: global
description: a netns key and a global one
settings:
  - {key: net.ipv4.tcp_fin_timeout, value: "<=17", why: test}
  - {key: net.core.rmem_max, value: ">=`+strconv.FormatInt(n+1, 10)+`", why: test}
`))
	state := filepath.Join(t.TempDir(), "state.json")
	orig := readReal(t, []string{"net.ipv4.tcp_fin_timeout", "net.core.rmem_max"})
	plan, err := tuning.NewPlan("/", p)
	if err != nil {
		t.Fatal(err)
	}
	err = plan.Apply(state)
	var perr *tuning.PermissionError
	if !errors.Is(err, tuning.ErrNotPermitted) || !errors.As(err, &perr) || !slices.Equal(perr.Keys, []string{"net.core.rmem_max"}) {
		t.Fatalf("apply: %v, want ErrNotPermitted naming net.core.rmem_max", err)
	}
	if after := readReal(t, []string{"net.ipv4.tcp_fin_timeout", "net.core.rmem_max"}); !mapsEqual(after, orig) {
		t.Errorf("after the refused apply %q, want %q", after, orig)
	}
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state file written: %v", err)
	}
}

// TestRealKernelScopes checks ScopeOf against the kernel: in a network
// namespace of its own, a sandboxed process may write exactly the
// per-netns sysctls.
func TestRealKernelScopes(t *testing.T) {
	if !sandboxed(t) {
		return
	}
	for _, name := range tuning.Builtin() {
		for _, s := range loadProfile(t, name).Settings {
			if !strings.HasPrefix(s.Key, "net.") {
				continue
			}
			path := "/proc/sys/" + strings.ReplaceAll(s.Key, ".", "/")
			if _, err := os.Stat(path); err != nil {
				continue
			}
			writable := syscall.Access(path, 2) == nil
			if got := tuning.ScopeOf(s.Key); (got == tuning.ScopeNetns) != writable {
				t.Errorf("%s: ScopeOf says %s, but writable in an own netns = %v", s.Key, got, writable)
			}
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
