package tuningtest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"github.com/perf-tools/perf/internal/testenv"
)

// NobodyID is the uid and gid the sandboxed command has outside its user
// namespace.
const NobodyID = 65534

// SharedDir returns a new temporary directory the sandboxed user may read,
// write and execute from (mode 0777), removed when the test ends.
func SharedDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "perf-tune-sandbox-")
	if err != nil {
		t.Fatalf("sandbox dir: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatalf("sandbox dir: %v", err)
	}
	return dir
}

// Executable copies the binary at path into dir with mode 0755, so the
// sandboxed user can run it even when the original lives in a private
// build directory, and returns the copy's path.
func Executable(t testing.TB, path, dir string) string {
	t.Helper()
	src, err := os.Open(path)
	if err != nil {
		t.Fatalf("copy %s: %v", path, err)
	}
	defer src.Close()
	dst := filepath.Join(dir, filepath.Base(path))
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatalf("copy %s: %v", path, err)
	}
	if _, err := io.Copy(out, src); err != nil {
		out.Close()
		t.Fatalf("copy %s: %v", path, err)
	}
	if err := out.Close(); err != nil {
		t.Fatalf("copy %s: %v", path, err)
	}
	return dst
}

// Sandbox returns cmd set up to start in a new user and network namespace
// as the unprivileged NobodyID. It skips the test, with the reason, where
// that cannot work: not Linux, or not root (only root may map another uid);
// it fails the test instead when PERF_TEST_REQUIRE requires netns (see
// package testenv). Run reports a kernel that refuses the namespaces.
func Sandbox(t testing.TB, cmd *exec.Cmd) *exec.Cmd {
	t.Helper()
	if runtime.GOOS != "linux" {
		testenv.SkipOrFail(t, testenv.Netns, "network namespaces are Linux only")
	}
	if os.Geteuid() != 0 {
		testenv.SkipOrFail(t, testenv.Netns, "mapping the sandbox to uid 65534 needs root; run the tests as root (the host is not changed)")
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: NobodyID, Size: 1}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: NobodyID, Size: 1}},
		GidMappingsEnableSetgroups: false,
		// Become uid 0 inside, which is NobodyID outside. Without this the
		// child keeps its kernel uid 0 (shown as the overflow uid) and may
		// still write the host's global sysctls.
		Credential: &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true},
	}
	return cmd
}

// Protected reports whether this process is sandboxed so that the host's
// global sysctls are read-only to it: the check a sandboxed test makes
// before it writes anything.
func Protected() bool {
	return syscall.Access("/proc/sys/vm/swappiness", 2 /* W_OK */) != nil &&
		syscall.Access("/proc/sys/net/core/rmem_max", 2 /* W_OK */) != nil
}

// Run starts a sandboxed cmd and waits for it, returning its combined
// output and error. It skips the test when the kernel refuses to create the
// namespaces (user namespaces disabled, a seccomp filter, ...), or fails it
// when PERF_TEST_REQUIRE requires netns.
func Run(t testing.TB, cmd *exec.Cmd) ([]byte, error) {
	t.Helper()
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		testenv.SkipOrFail(t, testenv.Netns, fmt.Sprintf("the kernel refuses a new user and network namespace: %v", err))
	}
	return out, err
}
