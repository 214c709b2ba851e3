package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestWriteCreates(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.json")
	if err := Write(path, []byte("new\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	checkFile(t, path, "new\n", 0o640)
	checkOnly(t, dir, "run.json")
}

func TestWriteReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	if err := os.WriteFile(path, []byte("a longer old content\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The permissions are perm's, not the old file's: run directories are
	// shared, and a 0600 file left by another tool must not stay private.
	if err := Write(path, []byte("new\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	checkFile(t, path, "new\n", 0o644)
	checkOnly(t, dir, "state.json")
}

func TestWriteRelativePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := Write("plain", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	checkFile(t, filepath.Join(dir, "plain"), "x", 0o644)
	checkOnly(t, dir, "plain")
}

// TestWriteFailureKeepsOld makes each step fail in turn, on real files, and
// checks that the old content stays and no temporary file is left.
func TestWriteFailureKeepsOld(t *testing.T) {
	boom := errors.New("boom")
	for _, step := range []string{"create", "write", "sync", "chmod", "close", "rename"} {
		t.Run(step, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "run.json")
			if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			o := osOps
			o.createTemp = func(dir, pattern string) (file, error) {
				if step == "create" {
					return nil, boom
				}
				f, err := os.CreateTemp(dir, pattern)
				return faultyFile{f, step, boom}, err
			}
			o.rename = func(oldpath, newpath string) error {
				if step == "rename" {
					return boom
				}
				return os.Rename(oldpath, newpath)
			}
			err := write(o, path, []byte("new content\n"), 0o644)
			if !errors.Is(err, boom) {
				t.Fatalf("write failing at %s: err %v, want %v", step, err, boom)
			}
			checkFile(t, path, "old\n", 0o644)
			checkOnly(t, dir, "run.json")
		})
	}
}

// TestWriteOverDirectory fails without injected faults: a rename cannot
// replace a non-empty directory.
func TestWriteOverDirectory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pprof")
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(path, "cpu.pb.gz"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, []byte("new"), 0o644); err == nil {
		t.Fatal("Write over a non-empty directory succeeded")
	}
	checkOnly(t, dir, "pprof")
	checkFile(t, filepath.Join(path, "cpu.pb.gz"), "old", 0o644)
}

func TestWriteMissingDirectory(t *testing.T) {
	dir := t.TempDir()
	err := Write(filepath.Join(dir, "no", "run.json"), []byte("x"), 0o644)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err %v, want fs.ErrNotExist", err)
	}
	checkOnly(t, dir)
}

// TestWriteSyncDirFailure: the file is already replaced when the directory
// sync fails; the error must still reach the caller.
func TestWriteSyncDirFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.json")
	boom := errors.New("boom")
	var synced string
	o := osOps
	o.syncDir = func(d string) error { synced = d; return boom }
	if err := write(o, path, []byte("new"), 0o644); !errors.Is(err, boom) {
		t.Fatalf("err %v, want %v", err, boom)
	}
	if filepath.Clean(synced) != dir {
		t.Errorf("synced %q, want the file's directory %q", synced, dir)
	}
	checkFile(t, path, "new", 0o644)
	checkOnly(t, dir, "run.json")
}

// faultyFile is a real temporary file whose step fails.
type faultyFile struct {
	*os.File
	step string
	err  error
}

func (f faultyFile) Write(p []byte) (int, error) {
	if f.step == "write" {
		// Half written, as a full disk leaves it.
		n, _ := f.File.Write(p[:len(p)/2])
		return n, f.err
	}
	return f.File.Write(p)
}

func (f faultyFile) Sync() error { return f.fail("sync", f.File.Sync) }
func (f faultyFile) Close() error {
	return f.fail("close", f.File.Close)
}
func (f faultyFile) Chmod(mode fs.FileMode) error {
	return f.fail("chmod", func() error { return f.File.Chmod(mode) })
}

func (f faultyFile) fail(step string, call func() error) error {
	err := call()
	if f.step == step {
		return f.err
	}
	return err
}

func checkFile(t *testing.T, path, want string, perm fs.FileMode) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s holds %q, want %q", path, got, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != perm {
		t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), perm)
	}
}

// checkOnly fails the test unless dir holds exactly names: no temporary
// file left behind.
func checkOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, names) {
		t.Errorf("%s holds %q, want only %q", dir, got, names)
	}
}
