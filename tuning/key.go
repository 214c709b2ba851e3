package tuning

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Kind is the kind of host setting a key names.
type Kind int

// The kinds of keys.
const (
	// KindSysctl is a sysctl by its dotted name, such as net.core.somaxconn,
	// read and written at ROOT/proc/sys/net/core/somaxconn.
	KindSysctl Kind = iota
	// KindRlimit is a resource limit of the process tree: rlimit.nofile.
	KindRlimit
	// KindSysfs is a file under /sys named by its absolute path, such as
	// /sys/kernel/mm/transparent_hugepage/enabled; a * matches within one
	// path element. Absent files are not applicable (a VM without cpufreq).
	KindSysfs
)

// Scope says how far a setting reaches.
type Scope string

// The scopes of settings.
const (
	// ScopeGlobal settings belong to the whole kernel.
	ScopeGlobal Scope = "global"
	// ScopeNetns settings belong to one network namespace.
	ScopeNetns Scope = "netns"
	// ScopeProcess settings belong to a process and its children.
	ScopeProcess Scope = "process"
)

// RlimitNofile is the key of the open-files limit.
const RlimitNofile = "rlimit.nofile"

const maxKeyLen = 256

var (
	sysctlName  = regexp.MustCompile(`^[a-z0-9_-]+(\.[a-z0-9_-]+)+$`)
	sysfsElem   = regexp.MustCompile(`^[A-Za-z0-9_:+*-][A-Za-z0-9_.:+*-]*$`)
	rlimitNames = map[string]bool{RlimitNofile: true}
)

// ParseKey validates a key's syntax and returns its kind. It does not look
// at any file; Check and Apply also make sure the key's path stays inside the
// root.
func ParseKey(key string) (Kind, error) {
	if len(key) > maxKeyLen {
		return 0, fmt.Errorf("key of %d bytes: %w: want at most %d bytes", len(key), ErrInvalidKey, maxKeyLen)
	}
	if strings.HasPrefix(key, "rlimit.") {
		if !rlimitNames[key] {
			return 0, fmt.Errorf("key %q: %w: want %s, the only rlimit key", key, ErrInvalidKey, RlimitNofile)
		}
		return KindRlimit, nil
	}
	if strings.HasPrefix(key, "/") {
		rest, ok := strings.CutPrefix(key, "/sys/")
		if !ok {
			return 0, fmt.Errorf("key %q: %w: want a sysfs file under /sys/ (sysctls go by dotted name, such as net.core.somaxconn)", key, ErrInvalidKey)
		}
		for _, e := range strings.Split(rest, "/") {
			if e == "" || e == "." || e == ".." || !sysfsElem.MatchString(e) {
				return 0, fmt.Errorf("key %q: %w: path element %q: want a clean path under /sys/ of [A-Za-z0-9_.:+*-] names, no empty, . or .. elements", key, ErrInvalidKey, e)
			}
		}
		return KindSysfs, nil
	}
	if !sysctlName.MatchString(key) {
		return 0, fmt.Errorf("key %q: %w: want a dotted sysctl name such as net.core.somaxconn ([a-z0-9_-] names joined by dots), %s, or a sysfs path under /sys/", key, ErrInvalidKey, RlimitNofile)
	}
	return KindSysctl, nil
}

// ScopeOf returns how far the setting of a valid key reaches. Network
// sysctls are per network namespace except the ones the kernel keeps global
// (most of net.core and the memory-pressure limits); the table covers the
// keys that tuning profiles use.
func ScopeOf(key string) Scope {
	kind, err := ParseKey(key)
	switch {
	case err != nil:
		return ScopeGlobal
	case kind == KindRlimit:
		return ScopeProcess
	case kind == KindSysfs:
		return ScopeGlobal
	}
	if !strings.HasPrefix(key, "net.") {
		return ScopeGlobal
	}
	if rest, ok := strings.CutPrefix(key, "net.core."); ok {
		switch {
		case rest == "somaxconn", rest == "txrehash", rest == "rps_default_mask",
			rest == "optmem_max", strings.HasPrefix(rest, "xfrm_"):
			return ScopeNetns
		}
		return ScopeGlobal
	}
	switch key {
	case "net.ipv4.tcp_mem", "net.ipv4.udp_mem", "net.ipv4.tcp_max_orphans",
		"net.ipv4.route.max_size", "net.ipv4.route.gc_thresh",
		"net.ipv4.ipfrag_secret_interval", "net.ipv6.route.max_size":
		return ScopeGlobal
	}
	return ScopeNetns
}

// base returns the directory a key of kind lives under.
func base(root string, kind Kind) string {
	if kind == KindSysfs {
		return filepath.Join(root, "sys")
	}
	return filepath.Join(root, "proc", "sys")
}

// resolve returns the real paths of a sysctl or sysfs key under root: one
// path for a sysctl, every match for a sysfs pattern. It returns no paths
// when the file does not exist, and an ErrInvalidKey error when a path,
// after following symlinks, leaves ROOT/proc/sys or ROOT/sys.
func resolve(root, key string, kind Kind) ([]string, error) {
	dir := base(root, kind)
	realBase, err := filepath.EvalSymlinks(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", dir, err)
	}
	var candidates []string
	switch kind {
	case KindSysctl:
		candidates = []string{filepath.Join(dir, strings.ReplaceAll(key, ".", string(filepath.Separator)))}
	case KindSysfs:
		pattern := filepath.Join(globEscape(dir), strings.TrimPrefix(key, "/sys/"))
		candidates, err = filepath.Glob(pattern)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w: %v", key, ErrInvalidKey, err)
		}
	default:
		return nil, fmt.Errorf("key %q: %w: not a file key", key, ErrInvalidKey)
	}
	var paths []string
	for _, c := range candidates {
		real, err := filepath.EvalSymlinks(c)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("key %q: resolve %s: %w", key, c, err)
		}
		if !within(realBase, real) {
			return nil, fmt.Errorf("key %q: %w: %s resolves to %s, outside %s", key, ErrInvalidKey, c, real, realBase)
		}
		fi, err := os.Stat(real)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", key, err)
		}
		if !fi.Mode().IsRegular() && !fi.IsDir() {
			return nil, fmt.Errorf("key %q: %w: %s is not a regular file", key, ErrInvalidKey, real)
		}
		paths = append(paths, real)
	}
	return paths, nil
}

// within reports whether path is strictly inside dir; both must be clean
// and free of symlinks.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != "." && !filepath.IsAbs(rel) &&
		rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// globEscape quotes the glob metacharacters of a literal path.
func globEscape(p string) string {
	var b strings.Builder
	for _, r := range p {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// sysfsKey turns a real path under realBase back into a /sys/... key.
func sysfsKey(realBase, path string) string {
	rel, _ := filepath.Rel(realBase, path)
	return "/sys/" + filepath.ToSlash(rel)
}
