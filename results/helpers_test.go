package results

import (
	"os"
	"testing"
)

// The helpers here are shared by the package's own tests. They cannot live
// in resultstest: merge_test.go and java_test.go import resultstest, so it
// must not import package results.

// writeRunDir writes a run directory through the run writer: run.json
// from run, and latency.hlog and timeline.csv from intervals.
func writeRunDir(t testing.TB, dir string, run *Run, intervals []Interval) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteRunDir(dir, run, intervals, nil, WriterOptions{}); err != nil {
		t.Fatal(err)
	}
}
