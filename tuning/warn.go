package tuning

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Warning is something on the host that would undo or fight a profile.
type Warning struct {
	// Key is the setting concerned, or empty for the whole profile.
	Key     string `json:"key,omitempty"`
	Message string `json:"message"`
}

func (w Warning) String() string {
	if w.Key == "" {
		return w.Message
	}
	return w.Key + ": " + w.Message
}

// Inode numbers of the initial namespaces, fixed by the kernel since 3.8
// (include/linux/proc_ns.h).
const (
	initUserNS = "user:[4026531837]"
	initPidNS  = "pid:[4026531836]"
)

// Warnings looks under root for what would undo or fight p: a running TuneD,
// sysctl configuration files that set a profile key to a value the profile
// does not accept (they win at the next boot or systemd-sysctl run), and
// global keys while running in a container or a non-initial network
// namespace, where they belong to the host, not to this environment.
// results, from Check, limit the last warning to keys the host has; nil
// means every key.
func Warnings(root string, p *Profile, results []Result) []Warning {
	var ws []Warning
	if pid, ok := tunedRunning(root); ok {
		ws = append(ws, Warning{Message: fmt.Sprintf("TuneD is running (pid %d): it re-applies its own profile and may undo these settings; stop it (tuned-adm off) or make its profile agree", pid)})
	}
	wants := map[string]Value{}
	for _, s := range p.Settings {
		if v, err := ParseValue(s.Value); err == nil {
			wants[s.Key] = v
		}
	}
	for _, e := range sysctlConfEntries(root) {
		v, ok := wants[e.Key]
		if !ok || v.Satisfied(e.Value) {
			continue
		}
		ws = append(ws, Warning{Key: e.Key, Message: fmt.Sprintf("%s:%d sets %s, the profile wants %s; it will undo the profile at the next boot or systemd-sysctl run", e.File, e.Line, e.Value, v)})
	}
	var global []string
	present := map[string]bool{}
	for _, r := range results {
		if r.Status == StatusOK || r.Status == StatusDrift {
			present[r.Key] = true
		}
	}
	for _, s := range p.Settings {
		if ScopeOf(s.Key) == ScopeGlobal && (results == nil || present[s.Key]) {
			global = append(global, s.Key)
		}
	}
	if len(global) > 0 {
		if where := confined(root); where != "" {
			ws = append(ws, Warning{Message: fmt.Sprintf("running %s: the global keys (%s) belong to the host kernel; what check shows is the host's value, and writing them changes the whole host or is refused", where, strings.Join(global, ", "))})
		}
	}
	return ws
}

// tunedRunning looks for a TuneD daemon: its pid file with a live pid, or a
// process named tuned.
func tunedRunning(root string) (int, bool) {
	for _, f := range []string{"run/tuned/tuned.pid", "var/run/tuned/tuned.pid"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, "proc", strconv.Itoa(pid))); err == nil {
			return pid, true
		}
	}
	entries, err := os.ReadDir(filepath.Join(root, "proc"))
	if err != nil {
		return 0, false
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(filepath.Join(root, "proc", e.Name(), "comm"))
		if err == nil && strings.TrimSpace(string(comm)) == "tuned" {
			return pid, true
		}
	}
	return 0, false
}

// confined says why global keys are not this environment's own, or "".
func confined(root string) string {
	exists := func(p string) bool { _, err := os.Lstat(filepath.Join(root, p)); return err == nil }
	link := func(p string) string { l, _ := os.Readlink(filepath.Join(root, p)); return l }
	switch {
	case exists(".dockerenv"):
		return "inside a container (/.dockerenv)"
	case exists("run/.containerenv"):
		return "inside a container (/run/.containerenv)"
	}
	if env, err := os.ReadFile(filepath.Join(root, "proc", "1", "environ")); err == nil {
		for _, kv := range bytes.Split(env, []byte{0}) {
			if c, ok := bytes.CutPrefix(kv, []byte("container=")); ok {
				return fmt.Sprintf("inside a container (container=%s)", c)
			}
		}
	}
	if u := link("proc/self/ns/user"); u != "" && u != initUserNS {
		return "in a non-initial user namespace (" + u + ")"
	}
	if pid := link("proc/self/ns/pid"); pid != "" && pid != initPidNS {
		return "in a non-initial PID namespace (" + pid + ")"
	}
	self, init := link("proc/self/ns/net"), link("proc/1/ns/net")
	if self != "" && init != "" && self != init {
		return "in a non-initial network namespace (" + self + ", pid 1 has " + init + ")"
	}
	return ""
}

// ConfEntry is one key = value line of a sysctl configuration file.
type ConfEntry struct {
	File  string
	Line  int
	Key   string
	Value string
}

// sysctlConfDirs are the sysctl.d directories systemd-sysctl reads, in
// order of precedence.
var sysctlConfDirs = []string{"etc/sysctl.d", "run/sysctl.d", "usr/local/lib/sysctl.d", "usr/lib/sysctl.d", "lib/sysctl.d"}

// sysctlConfEntries returns the entries of ROOT/etc/sysctl.conf and the
// sysctl.d files, in the order they are applied (a later entry wins). A file
// in an earlier directory hides a file of the same name in later ones.
func sysctlConfEntries(root string) []ConfEntry {
	byName := map[string]string{}
	for i := len(sysctlConfDirs) - 1; i >= 0; i-- {
		matches, _ := filepath.Glob(filepath.Join(globEscape(filepath.Join(root, sysctlConfDirs[i])), "*.conf"))
		for _, m := range matches {
			byName[filepath.Base(m)] = m
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	files := make([]string, 0, len(names)+1)
	for _, n := range names {
		files = append(files, byName[n])
	}
	files = append(files, filepath.Join(root, "etc", "sysctl.conf"))
	seen := map[string]bool{}
	var out []ConfEntry
	for _, f := range files {
		real, err := filepath.EvalSymlinks(f)
		if err != nil || seen[real] {
			continue // 99-sysctl.conf is often a link to ../sysctl.conf
		}
		seen[real] = true
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		rel, _ := filepath.Rel(root, f)
		for _, e := range ParseSysctlConf(b) {
			e.File = "/" + filepath.ToSlash(rel)
			out = append(out, e)
		}
	}
	return out
}

// ParseSysctlConf parses sysctl.conf(5) syntax: "key = value" lines, '#' and
// ';' comments, a leading '-' (ignore failures) and '/' as an alternative
// separator in keys. Lines it cannot read are skipped, as sysctl does.
func ParseSysctlConf(b []byte) []ConfEntry {
	var out []ConfEntry
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		// "-key = value" (ignore errors for this key) may have space after the dash.
		k = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(k), "-"))
		if i := strings.IndexAny(k, "./"); i >= 0 && k[i] == '/' {
			k = strings.ReplaceAll(k, "/", ".")
		}
		if k == "" {
			continue
		}
		out = append(out, ConfEntry{Line: n, Key: k, Value: strings.Join(strings.Fields(v), " ")})
	}
	return out
}
