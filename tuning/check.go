package tuning

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Status is the outcome of checking one setting.
type Status string

// The statuses of a checked setting.
const (
	// StatusOK means the current value satisfies the profile.
	StatusOK Status = "ok"
	// StatusDrift means the current value does not satisfy the profile.
	StatusDrift Status = "drift"
	// StatusMissing means this kernel has no such sysctl (a typo, an old
	// kernel or a module that is not loaded).
	StatusMissing Status = "missing"
	// StatusNA means a sysfs setting this host does not have, such as the
	// CPU frequency governor in most VMs: nothing to tune.
	StatusNA Status = "n/a"
)

// Result is the check of one setting on one host.
type Result struct {
	Key     string `json:"key"`
	Current string `json:"current"`
	Wanted  string `json:"wanted"`
	Status  Status `json:"status"`
	Scope   Scope  `json:"scope"`
	Why     string `json:"why"`

	kind Kind
	path string // real path of the file; empty for rlimits and absent keys
	raw  string // the file's content as read
	want Value
}

// maxRead bounds what is read of a setting's file.
const maxRead = 64 << 10

// Check reads every setting of p under root and compares it with the wanted
// value. It changes nothing. It fails, before reading anything, when a key is
// invalid or its path escapes root.
func Check(root string, p *Profile) ([]Result, error) {
	type keyed struct {
		s     Setting
		kind  Kind
		want  Value
		paths []string
	}
	var ks []keyed
	for _, s := range p.Settings {
		kind, err := ParseKey(s.Key)
		if err != nil {
			return nil, err
		}
		want, err := ParseValue(s.Value)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", s.Key, err)
		}
		k := keyed{s: s, kind: kind, want: want}
		if kind != KindRlimit {
			if k.paths, err = resolve(root, s.Key, kind); err != nil {
				return nil, err
			}
		}
		ks = append(ks, k)
	}
	var out []Result
	for _, k := range ks {
		r := Result{Key: k.s.Key, Wanted: k.want.String(), Scope: ScopeOf(k.s.Key), Why: k.s.Why, kind: k.kind, want: k.want}
		switch {
		case k.kind == KindRlimit:
			cur, err := readNofile(root)
			if errors.Is(err, fs.ErrNotExist) {
				r.Status = StatusMissing
				out = append(out, r)
				continue
			}
			if err != nil {
				return nil, err
			}
			r.raw, r.Current = cur, cur
			r.Status = StatusDrift
			if k.want.broadcast(cur).Satisfied(cur) {
				r.Status = StatusOK
			}
			out = append(out, r)
		case len(k.paths) == 0:
			r.Status = StatusMissing
			if k.kind == KindSysfs {
				r.Status = StatusNA
			}
			out = append(out, r)
		default:
			realBase, _ := filepath.EvalSymlinks(base(root, k.kind)) // resolve succeeded, so this does
			for _, path := range k.paths {
				rr := r
				if k.kind == KindSysfs {
					rr.Key = sysfsKey(realBase, path)
				}
				raw, err := readSetting(path)
				if err != nil {
					return nil, fmt.Errorf("key %s: %w", rr.Key, err)
				}
				rr.path, rr.raw, rr.Current = path, raw, displayValue(raw)
				rr.Status = StatusDrift
				if k.want.Satisfied(raw) {
					rr.Status = StatusOK
				}
				out = append(out, rr)
			}
		}
	}
	return out, nil
}

// readSetting reads a sysctl or sysfs file.
func readSetting(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRead))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return string(b), nil
}

// readNofile returns "SOFT HARD" of the open-files limit from
// ROOT/proc/self/limits: on a real host, this process's limits, which its
// children inherit.
func readNofile(root string) (string, error) {
	path := filepath.Join(root, "proc", "self", "limits")
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "Max open files")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			break
		}
		return f[0] + " " + f[1], nil
	}
	return "", fmt.Errorf("read %s: no \"Max open files\" line with soft and hard limits", path)
}

// broadcast applies a one-field value to every field of current, so that
// rlimit.nofile ">=65536" checks both the soft and the hard limit.
func (v Value) broadcast(current string) Value {
	n := len(currentFields(current))
	if len(v.fields) != 1 || n <= 1 {
		return v
	}
	out := Value{raw: v.raw}
	for range n {
		out.fields = append(out.fields, v.fields[0])
	}
	return out
}

// Drifted reports whether any result drifts from its profile.
func Drifted(results []Result) bool {
	for _, r := range results {
		if r.Status == StatusDrift {
			return true
		}
	}
	return false
}

// Summary is the tuning of a host as a run records it (run.json
// host.tuning): the profile's keys, their current values and the keys that
// drift.
type Summary struct {
	Profile  string            `json:"profile"`
	Settings map[string]string `json:"settings"`
	Drift    []string          `json:"drift"`
	Missing  []string          `json:"missing,omitempty"`
}

// Summarize condenses check results into a Summary. Settings holds every key
// the host has (n/a and missing keys are left out); Drift lists the keys that
// drift, in profile order.
func Summarize(profile string, results []Result) Summary {
	s := Summary{Profile: profile, Settings: map[string]string{}, Drift: []string{}}
	for _, r := range results {
		switch r.Status {
		case StatusOK, StatusDrift:
			s.Settings[r.Key] = r.Current
			if r.Status == StatusDrift {
				s.Drift = append(s.Drift, r.Key)
			}
		case StatusMissing:
			s.Missing = append(s.Missing, r.Key)
		}
	}
	return s
}

// CheckProfile loads a profile (see LoadProfile) and checks it under root:
// the one call perf attack and perf serve need to record a host's tuning.
func CheckProfile(root, nameOrPath string) (*Profile, []Result, error) {
	p, err := LoadProfile(nameOrPath)
	if err != nil {
		return nil, nil, err
	}
	res, err := Check(root, p)
	if err != nil {
		return p, nil, err
	}
	return p, res, nil
}
