package results

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FindRunDirs expands one side of a comparison to run directories. arg is
// a comma-separated list whose items are each a run directory, a directory
// of run directories (its subdirectories holding run.json, in name order:
// the artifact of repeated runs), or a glob pattern matching either. An
// item that is none of these is an error naming it.
func FindRunDirs(arg string) ([]string, error) {
	var dirs []string
	for _, item := range strings.Split(arg, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		paths, err := ExpandPattern(item)
		if err != nil {
			return nil, err
		}
		for _, p := range paths {
			found, err := runDirsAt(p)
			if err != nil {
				return nil, err
			}
			dirs = append(dirs, found...)
		}
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("run directories %q: none given", arg)
	}
	return dirs, nil
}

// ExpandPattern returns arg itself when it exists or holds no glob
// metacharacter, else the paths the pattern matches. A shell passes a glob
// that matches nothing on as it is (sh, and bash without nullglob), so such
// an argument reaches here; that it matches nothing is an error matching
// ErrNoMatch and naming it, where "no such directory" would
// hide the user's glob. A malformed pattern matches filepath.ErrBadPattern.
func ExpandPattern(arg string) ([]string, error) {
	if !strings.ContainsAny(arg, "*?[") {
		return []string{arg}, nil
	}
	if _, err := os.Lstat(arg); !errors.Is(err, fs.ErrNotExist) {
		return []string{arg}, nil
	}
	m, err := filepath.Glob(arg)
	if err != nil {
		return nil, fmt.Errorf("run directories %q: bad pattern: %w", arg, err)
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("run directories %q: %w", arg, ErrNoMatch)
	}
	return m, nil
}

// runDirsAt returns p when it is a run directory, else its subdirectories
// that are.
func runDirsAt(p string) ([]string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read run %s: no such directory", p)
		}
		return nil, fmt.Errorf("read run %s: %w", p, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("read run %s: not a directory; expected a run directory written by perf attack", p)
	}
	if _, err := os.Stat(filepath.Join(p, RunFile)); err == nil {
		return []string{p}, nil
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return nil, fmt.Errorf("read run %s: %w", p, err)
	}
	var dirs []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		sub := filepath.Join(p, e.Name())
		if _, err := os.Stat(filepath.Join(sub, RunFile)); err == nil {
			dirs = append(dirs, sub)
		}
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("%s is %w: %s missing, and no run directory inside it", p, ErrNotRunDir, RunFile)
	}
	return dirs, nil
}
