package tuning

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/perf-tools/perf/internal/atomicfile"
)

// DefaultStatePath is where apply saves the values it replaced, relative to
// the root.
const DefaultStatePath = "var/lib/perf/tune-state.json"

// StatePath returns the default state file under root.
func StatePath(root string) string { return filepath.Join(root, DefaultStatePath) }

// Change is one write a Plan will make.
type Change struct {
	Key     string `json:"key"`
	Current string `json:"current"`
	Target  string `json:"target"`
	Scope   Scope  `json:"scope"`

	path string
	raw  string
}

// Plan is what applying a profile under a root would change: the drifting
// sysctl and sysfs settings. The open-files limit cannot be written for other
// processes, so it is left to Advice.
type Plan struct {
	Root    string   `json:"root"`
	Profile string   `json:"profile"`
	Changes []Change `json:"changes"`
	// Advice says what must be configured elsewhere (rlimit.nofile in a
	// systemd unit or limits.conf) for the profile to hold.
	Advice []string `json:"advice,omitempty"`
	// Skipped lists keys this host lacks (missing or n/a).
	Skipped []string `json:"skipped,omitempty"`
}

// NewPlan checks p under root and returns the changes applying it would
// make. It changes nothing.
func NewPlan(root string, p *Profile) (*Plan, error) {
	results, err := Check(root, p)
	if err != nil {
		return nil, err
	}
	pl := &Plan{Root: root, Profile: p.Name, Changes: []Change{}}
	for _, r := range results {
		switch {
		case r.Status == StatusMissing || r.Status == StatusNA:
			pl.Skipped = append(pl.Skipped, r.Key)
		case r.Status != StatusDrift:
		case r.kind == KindRlimit:
			pl.Advice = append(pl.Advice, nofileAdvice(r))
		default:
			target, err := r.want.Target(r.raw)
			if err != nil {
				return nil, fmt.Errorf("key %s: %w", r.Key, err)
			}
			pl.Changes = append(pl.Changes, Change{Key: r.Key, Current: r.Current, Target: target, Scope: r.Scope, path: r.path, raw: r.raw})
		}
	}
	return pl, nil
}

// nofileAdvice says how to raise the open-files limit for good.
func nofileAdvice(r Result) string {
	n := strings.TrimPrefix(r.Wanted, ">=")
	return fmt.Sprintf("%s is %s (soft hard), want %s: a process cannot raise its hard limit for later ones; "+
		"set LimitNOFILE=%s in the systemd unit (or `* - nofile %s` in /etc/security/limits.conf) and start a new session; "+
		"perf raises its own soft limit to the hard one by itself", r.Key, r.Current, r.Wanted, n, n)
}

// PermissionError names the keys this process may not write.
type PermissionError struct {
	Keys []string
	Err  error
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("not permitted to write %s: %v (run as root, in the initial namespaces)", strings.Join(e.Keys, ", "), e.Err)
}

// Is makes errors.Is(err, ErrNotPermitted) hold.
func (e *PermissionError) Is(target error) bool { return target == ErrNotPermitted }

func (e *PermissionError) Unwrap() error { return e.Err }

// WriteError reports a failed write and what was done to undo the earlier
// ones.
type WriteError struct {
	Key string
	Err error
	// Restored lists the keys written before the failure and restored.
	Restored []string
	// RestoreErr is non-nil when some of them could not be restored; the
	// state file is kept for perf tune revert.
	RestoreErr error
}

func (e *WriteError) Error() string {
	msg := fmt.Sprintf("write %s: %v", e.Key, e.Err)
	if len(e.Restored) > 0 {
		msg += fmt.Sprintf("; restored %s", strings.Join(e.Restored, ", "))
	}
	if e.RestoreErr != nil {
		msg += fmt.Sprintf("; restore failed, run perf tune revert: %v", e.RestoreErr)
	} else {
		msg += "; nothing was left changed"
	}
	return msg
}

func (e *WriteError) Unwrap() error { return e.Err }

// Is makes a refused write match ErrNotPermitted.
func (e *WriteError) Is(target error) bool { return target == ErrNotPermitted && permissionErr(e.Err) }

// permissionErr reports whether err means "this process may not write".
func permissionErr(err error) bool {
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.EPERM)
}

// Apply makes the plan's changes. It first checks that every file is
// writable (naming every one that is not in a PermissionError), then saves
// the current value of every key to the state file at statePath, and only
// then writes. If a write fails it restores the keys already written and the
// state file as it was. Keys already saved by an earlier apply that was not
// reverted keep their original values. A plan without changes does nothing.
func (pl *Plan) Apply(statePath string) error {
	if len(pl.Changes) == 0 {
		return nil
	}
	var denied []string
	var deniedErr error
	for _, c := range pl.Changes {
		if err := syscall.Access(c.path, 2 /* W_OK */); err != nil && permissionErr(err) {
			denied = append(denied, c.Key)
			deniedErr = err
		}
	}
	if len(denied) > 0 {
		return &PermissionError{Keys: denied, Err: deniedErr}
	}

	var created []string
	var unlock func()
	for {
		dirs, err := makeStateDir(filepath.Dir(statePath))
		if err != nil {
			return err
		}
		for _, d := range dirs {
			if !slices.Contains(created, d) {
				created = append(created, d)
			}
		}
		// Deepest first: the directories are one chain of parents.
		slices.SortFunc(created, func(a, b string) int { return len(b) - len(a) })
		unlock, err = lockState(statePath)
		if err == nil {
			break
		}
		// A revert removed the directory while this apply waited for it:
		// make it again.
		if !errors.Is(err, errStateDirGone) && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	defer unlock()
	prev, err := os.ReadFile(statePath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read state %s: %w", statePath, err)
	}
	st := &State{Version: stateVersion, Root: pl.Root, Created: time.Now().UTC(), CreatedDirs: created}
	if prev != nil {
		if st, err = parseState(prev, statePath); err != nil {
			return err
		}
		if filepath.Clean(st.Root) != filepath.Clean(pl.Root) {
			return fmt.Errorf("state %s: saved for root %s, not %s: revert it first or choose another --state", statePath, st.Root, pl.Root)
		}
	}
	if !slices.Contains(st.Profiles, pl.Profile) {
		st.Profiles = append(st.Profiles, pl.Profile)
	}
	for _, c := range pl.Changes {
		if st.index(c.Key) < 0 {
			st.Saved = append(st.Saved, Saved{Key: c.Key, Original: restoreValue(c.raw)})
		}
	}
	if err := st.write(statePath); err != nil {
		if prev == nil {
			removeStateDirs(statePath, st.CreatedDirs)
		}
		return err
	}

	var written []Change
	for _, c := range pl.Changes {
		if err := writeSetting(c.path, c.Target); err != nil {
			werr := &WriteError{Key: c.Key, Err: err}
			var restoreErrs []error
			for i := len(written) - 1; i >= 0; i-- {
				w := written[i]
				if rerr := writeRaw(w.path, restoreValue(w.raw)); rerr != nil {
					restoreErrs = append(restoreErrs, fmt.Errorf("key %s: %w", w.Key, rerr))
					continue
				}
				werr.Restored = append(werr.Restored, w.Key)
			}
			if len(restoreErrs) > 0 {
				werr.RestoreErr = errors.Join(restoreErrs...)
				return werr
			}
			if prev != nil {
				err = writeAtomic(statePath, prev)
			} else if err = os.Remove(statePath); err == nil {
				removeStateDirs(statePath, st.CreatedDirs)
			}
			if err != nil {
				werr.RestoreErr = fmt.Errorf("restore state %s: %w", statePath, err)
			}
			return werr
		}
		written = append(written, c)
	}
	return nil
}

// restoreValue is what to write back to restore a file that read raw: the
// content itself, or the bracketed choice of a sysfs list.
func restoreValue(raw string) string {
	if m := selected.FindStringSubmatch(raw); m != nil {
		return m[1] + "\n"
	}
	return raw
}

// writeSetting writes a value as sysctl(8) does: the whole value and a
// newline in one write.
func writeSetting(path, value string) error { return writeRaw(path, value+"\n") }

// writeRaw writes content to an existing file in one write. It never creates
// a file.
func writeRaw(path, content string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}

// errStateDirGone reports a state directory that was removed or replaced
// while lockState waited for its lock.
var errStateDirGone = errors.New("state directory removed while waiting for its lock")

// lockState takes an exclusive flock on the state file's directory, so two
// applies or reverts with the same state file run one after the other. A
// revert may remove the directory it held (see removeStateDirs): a lock
// taken on a directory that is no longer at its path fails with
// errStateDirGone, and the caller tries again.
func lockState(statePath string) (unlock func(), err error) {
	dir := filepath.Dir(statePath)
	d, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX); err != nil {
		d.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	unlock = func() {
		syscall.Flock(int(d.Fd()), syscall.LOCK_UN)
		d.Close()
	}
	held, err := d.Stat()
	if err != nil {
		unlock()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if now, err := os.Stat(dir); err != nil || !os.SameFile(held, now) {
		unlock()
		return nil, fmt.Errorf("lock %s: %w", dir, errStateDirGone)
	}
	return unlock, nil
}

// makeStateDir creates dir and its missing parents and returns the ones it
// created, as absolute paths, deepest first.
func makeStateDir(dir string) ([]string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("create state directory %s: %w", dir, err)
	}
	var missing []string
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || !errors.Is(err, fs.ErrNotExist) {
			break
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	var created []string
	for i := len(missing) - 1; i >= 0; i-- {
		err := os.Mkdir(missing[i], 0o755)
		if errors.Is(err, fs.ErrExist) {
			continue // made by another process meanwhile: not ours
		}
		if err != nil {
			removeDirs(created)
			return nil, fmt.Errorf("create state directory %s: %w", dir, err)
		}
		created = append([]string{missing[i]}, created...)
	}
	return created, nil
}

// removeStateDirs removes the directories apply created for the state file
// at statePath, deepest first, each only when it is empty. Only the state
// file's directory and its parents are considered, whatever the state file
// lists.
func removeStateDirs(statePath string, created []string) {
	abs, err := filepath.Abs(filepath.Dir(statePath))
	if err != nil {
		return
	}
	var dirs []string
	for d := abs; ; d = filepath.Dir(d) {
		if slices.Contains(created, d) {
			dirs = append(dirs, d)
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	removeDirs(dirs)
}

// removeDirs removes each directory, deepest first, stopping at the first
// that cannot go (not empty: someone else's files are in it).
func removeDirs(dirs []string) {
	for _, d := range dirs {
		if err := os.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return
		}
	}
}

// stateVersion is the state file format.
const stateVersion = 1

// State is the state file: the original values of the keys that apply
// changed, kept until revert.
type State struct {
	Version  int       `json:"version"`
	Root     string    `json:"root"`
	Profiles []string  `json:"profiles"`
	Created  time.Time `json:"created"`
	Saved    []Saved   `json:"saved"`
	// CreatedDirs are the directories the first apply created to hold the
	// state file (absolute, deepest first): ROOT/var/lib/perf, say. Revert
	// removes them when it leaves them empty, and no other directory.
	CreatedDirs []string `json:"created_dirs,omitempty"`
}

// Saved is one key's value before the first apply that changed it, as it
// will be written back: a sysctl's content as apply read it; for a sysfs
// choice list such as "always [madvise] never", the chosen word
// ("madvise\n"), which the kernel shows again as the list. A choice file
// cannot be written its list, so its bytes are restored by the kernel, not
// by perf.
type Saved struct {
	Key      string `json:"key"`
	Original string `json:"original"`
}

func (s *State) index(key string) int {
	for i, e := range s.Saved {
		if e.Key == key {
			return i
		}
	}
	return -1
}

// ReadState reads a state file; the error matches ErrNoState when there is
// none.
func ReadState(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("state %s: %w", path, ErrNoState)
	}
	if err != nil {
		return nil, fmt.Errorf("read state %s: %w", path, err)
	}
	return parseState(b, path)
}

func parseState(b []byte, path string) (*State, error) {
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("state %s: not a perf tune state file: %w", path, err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("state %s: version %d, want %d", path, st.Version, stateVersion)
	}
	for _, s := range st.Saved {
		kind, err := ParseKey(s.Key)
		if err != nil {
			return nil, fmt.Errorf("state %s: %w", path, err)
		}
		if kind == KindRlimit {
			return nil, fmt.Errorf("state %s: key %s: %w: rlimits are never saved", path, s.Key, ErrInvalidKey)
		}
	}
	return &st, nil
}

// write saves the state atomically: a temporary file in the same directory,
// synced, renamed over the old one, and the directory synced.
func (s *State) write(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	return writeAtomic(path, append(b, '\n'))
}

// writeAtomic replaces the state file. It stays private to its owner (0600),
// as the file has always been.
func writeAtomic(path string, data []byte) error {
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return fmt.Errorf("write state %s: %w", path, err)
	}
	return nil
}

// Revert writes back every value saved in the state file at statePath under
// root (see Saved for what is written) and then removes the file, and the
// directories apply created for it when that leaves them empty. Every key is
// validated, and every file checked for permission, before anything is
// written. If a write fails, the others are still restored and the state
// file is kept so revert can be run again. It returns the keys it restored.
func Revert(root, statePath string) ([]string, error) {
	unlock, err := lockState(statePath)
	for errors.Is(err, errStateDirGone) {
		unlock, err = lockState(statePath)
	}
	if err == nil {
		defer unlock()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	st, err := ReadState(statePath)
	if err != nil {
		return nil, err
	}
	if filepath.Clean(st.Root) != filepath.Clean(root) {
		return nil, fmt.Errorf("state %s: saved for root %s, not %s: pass --root %s", statePath, st.Root, root, st.Root)
	}
	paths := make([]string, len(st.Saved))
	var denied []string
	var deniedErr error
	for i, s := range st.Saved {
		kind, _ := ParseKey(s.Key) // parseState validated it
		ps, err := resolve(root, s.Key, kind)
		if err != nil {
			return nil, fmt.Errorf("state %s: %w", statePath, err)
		}
		if len(ps) > 1 {
			return nil, fmt.Errorf("state %s: key %s: %w: want exactly one file under %s, found %d", statePath, s.Key, ErrInvalidKey, root, len(ps))
		}
		if len(ps) == 0 {
			continue // gone since apply (a module unloaded): reported below
		}
		paths[i] = ps[0]
		if err := syscall.Access(ps[0], 2 /* W_OK */); err != nil && permissionErr(err) {
			denied = append(denied, s.Key)
			deniedErr = err
		}
	}
	if len(denied) > 0 {
		return nil, &PermissionError{Keys: denied, Err: deniedErr}
	}
	var restored []string
	var errs []error
	for i, s := range st.Saved {
		if paths[i] == "" {
			errs = append(errs, fmt.Errorf("key %s: no longer present under %s, not restored", s.Key, root))
			continue
		}
		if err := writeRaw(paths[i], s.Original); err != nil {
			errs = append(errs, fmt.Errorf("key %s: %w", s.Key, err))
			continue
		}
		restored = append(restored, s.Key)
	}
	if len(errs) > 0 {
		return restored, fmt.Errorf("revert from %s (state file kept): %w", statePath, errors.Join(errs...))
	}
	if err := os.Remove(statePath); err != nil {
		return restored, fmt.Errorf("remove state %s: %w", statePath, err)
	}
	removeStateDirs(statePath, st.CreatedDirs)
	return restored, nil
}
