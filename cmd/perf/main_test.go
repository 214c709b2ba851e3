package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets testscript run this test binary as the "perf" command, so the
// scripts in testdata/script exercise the real CLI in-process; and as
// "perf-budget", the name the README suggests where Linux's perf(1) is
// installed too.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"perf":        func() { os.Exit(Main()) },
		"perf-budget": func() { os.Exit(Main()) },
	})
}

// TestScript runs the end-to-end CLI scripts in testdata/script.
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
	})
}

var (
	perfBinOnce sync.Once
	perfBinPath string
	perfBinErr  error
)

// perfBinary builds the perf binary once per test run and returns its path,
// for tests that need a real separate process (signals, a second server on
// the same store, load at a running server).
func perfBinary(t testing.TB) string {
	t.Helper()
	perfBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "perf-bin-")
		if err != nil {
			perfBinErr = err
			return
		}
		perfBinPath = filepath.Join(dir, "perf")
		out, err := exec.Command("go", "build", "-o", perfBinPath, ".").CombinedOutput()
		if err != nil {
			perfBinErr = &buildError{out: string(out), err: err}
		}
	})
	if perfBinErr != nil {
		t.Fatalf("build perf: %v", perfBinErr)
	}
	return perfBinPath
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

func TestProgramName(t *testing.T) {
	for arg0, want := range map[string]string{
		"/usr/local/bin/perf-budget": "perf-budget",
		"./perf":                     "perf",
		"perf-budget.exe":            "perf-budget",
		"":                           "perf",
	} {
		if got := programName(arg0); got != want {
			t.Errorf("programName(%q) = %q, want %q", arg0, got, want)
		}
	}
}
