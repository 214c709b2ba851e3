package results

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The helpers here are shared by the package's own tests. They cannot live
// in resultstest: merge_test.go and java_test.go import resultstest, so it
// must not import package results.

// writeRunDir writes a run directory with the package's own writers:
// run.json from run, and latency.hlog and timeline.csv from intervals, the
// log starting at run.StartedAt.
func writeRunDir(t testing.TB, dir string, run *Run, intervals []Interval) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var hlog, timeline bytes.Buffer
	hw, err := NewHlogWriter(&hlog, run.StartedAt)
	if err != nil {
		t.Fatal(err)
	}
	tw := NewTimelineWriter(&timeline)
	for _, iv := range intervals {
		if err := hw.WriteInterval(iv); err != nil {
			t.Fatal(err)
		}
		if err := tw.WriteInterval(iv); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, HlogFile), hlog.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, TimelineFile), timeline.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteRun(dir, run); err != nil {
		t.Fatal(err)
	}
}

// checkGolden compares got with testdata/name, or rewrites the file when
// UPDATE_GOLDEN=1. The name may hold a subdirectory.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with UPDATE_GOLDEN=1 to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (UPDATE_GOLDEN=1 rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
