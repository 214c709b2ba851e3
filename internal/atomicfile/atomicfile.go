package atomicfile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Write replaces the content of path with data, atomically, and leaves the
// file with permissions perm (exactly perm: the umask does not apply, and an
// existing file's permissions are not kept). The directory must exist.
//
// If Write fails before the rename, path is untouched and no temporary file
// is left behind. If only the final directory sync fails, path already holds
// data but the rename may not survive a crash; the error says so.
//
// The errors are the os package's, which name the call and the file (the
// temporary one for a write, sync, chmod or close); callers add the path and
// what the file is for ("write state /var/lib/perf/...: ...").
func Write(path string, data []byte, perm fs.FileMode) error {
	return write(osOps, path, data, perm)
}

// file is the part of *os.File that Write uses, so tests can make any step
// fail.
type file interface {
	Name() string
	Write(p []byte) (int, error)
	Sync() error
	Chmod(mode fs.FileMode) error
	Close() error
}

// ops are the file-system calls Write makes, behind fields so tests can
// replace them (tableflip's idea) and check what a failure leaves behind.
type ops struct {
	createTemp func(dir, pattern string) (file, error)
	rename     func(oldpath, newpath string) error
	remove     func(name string) error
	syncDir    func(dir string) error
}

var osOps = ops{
	createTemp: func(dir, pattern string) (file, error) { return os.CreateTemp(dir, pattern) },
	rename:     os.Rename,
	remove:     os.Remove,
	syncDir:    syncDir,
}

func write(o ops, path string, data []byte, perm fs.FileMode) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	// A dot name keeps the temporary file out of globs such as *.json
	// while it exists.
	f, err := o.createTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	renamed := false
	defer func() {
		if !renamed {
			o.remove(tmp)
		}
	}()

	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		// On the descriptor: CreateTemp made the file 0600, and fchmod,
		// unlike the mode given to open, ignores the umask.
		err = f.Chmod(perm)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = o.rename(tmp, path)
	}
	if err != nil {
		return err
	}
	renamed = true
	if err := o.syncDir(dir); err != nil {
		return fmt.Errorf("replaced, but the rename may not survive a crash: sync directory %s: %w", dir, err)
	}
	return nil
}

// syncDir fsyncs a directory, which makes a rename in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
