package results

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func dirRun(name string, _ float64, requests, errs int64, achieved float64) *Run {
	return &Run{Schema: Schema, Name: name, Requests: requests, Errors: errs, Rate: Rate{Achieved: achieved}, Valid: true}
}

func TestFindRunDirs(t *testing.T) {
	root := t.TempDir()
	mkRun := func(dir string, r *Run) {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := WriteRun(dir, r); err != nil {
			t.Fatal(err)
		}
	}
	base := filepath.Join(root, "base")
	mkRun(filepath.Join(base, "r2"), dirRun("r2", 1, 1, 0, 1))
	mkRun(filepath.Join(base, "r1"), dirRun("r1", 1, 1, 0, 1))
	if err := os.Mkdir(filepath.Join(base, "notes"), 0o755); err != nil {
		t.Fatal(err)
	}
	single := filepath.Join(root, "single")
	mkRun(single, dirRun("single", 1, 1, 0, 1))

	got, err := FindRunDirs(base)
	if err != nil || strings.Join(got, " ") != filepath.Join(base, "r1")+" "+filepath.Join(base, "r2") {
		t.Errorf("FindRunDirs(parent) = %q, %v", got, err)
	}
	got, err = FindRunDirs(single + "," + filepath.Join(base, "r*"))
	if err != nil || len(got) != 3 || got[0] != single {
		t.Errorf("FindRunDirs(list with glob) = %q, %v", got, err)
	}

	empty := filepath.Join(root, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	for arg, want := range map[string]string{
		empty:                          "is not a perf run directory: run.json missing",
		filepath.Join(root, "nothere"): "no such directory",
		filepath.Join(root, "x*"):      "matches nothing",
		",":                            "none given",
	} {
		_, err := FindRunDirs(arg)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("FindRunDirs(%q) = %v, want an error saying %q", arg, err, want)
		}
	}
	if _, err := FindRunDirs(empty); !errors.Is(err, ErrNotRunDir) {
		t.Errorf("FindRunDirs(empty dir): %v does not match ErrNotRunDir", err)
	}
}
