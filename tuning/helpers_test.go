package tuning_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/perf-tools/perf/tuning"
)

// fixtureRoot copies testdata/root into a fresh temporary directory, so a
// test may change it.
func fixtureRoot(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "root")
	if err := os.CopyFS(dst, os.DirFS("testdata/root")); err != nil {
		t.Fatalf("copy fixture: %v", err)
	}
	return dst
}

// snapshot hashes every regular file under root, and records directories
// and symlinks, so tests can prove nothing changed.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			out[rel] = "link:" + l
		case d.IsDir():
			out[rel] = "dir"
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h := sha256.Sum256(b)
			out[rel] = hex.EncodeToString(h[:])
		}
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", root, err)
	}
	return out
}

// sameTree fails the test unless two snapshots are equal.
func sameTree(t *testing.T, before, after map[string]string) {
	t.Helper()
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s changed: %q -> %q", k, v, after[k])
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("%s appeared", k)
		}
	}
}

// readKey reads a fixture sysctl by its dotted name.
func readKey(t *testing.T, root, key string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "proc", "sys", strings.ReplaceAll(key, ".", "/")))
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return string(b)
}

// writeProfile writes a profile file and returns its path.
func writeProfile(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "profile.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// loadProfile loads a profile or fails the test.
func loadProfile(t *testing.T, ref string) *tuning.Profile {
	t.Helper()
	p, err := tuning.LoadProfile(ref)
	if err != nil {
		t.Fatalf("load %s: %v", ref, err)
	}
	return p
}
