package tuning_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/perf-tools/perf/profiles"
	"github.com/perf-tools/perf/tuning"
)

// FuzzParseProfile checks that the parser never panics, that every error
// says which input failed, and that an accepted profile's keys and values
// are valid.
func FuzzParseProfile(f *testing.F) {
	for _, n := range profiles.Names() {
		b, _ := profiles.Load(n)
		f.Add(b)
	}
	for _, p := range []string{"testdata/fixture.yaml", "testdata/child.yaml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("name: x\ndescription: d\nsettings:\n  - {key: ../etc/passwd, value: \"1\", why: w}\n"))
	f.Add([]byte("name: x\ndescription: d\nsettings:\n  - {key: /sys/a/*/b, value: \"a|b <=3\", why: w}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := tuning.ParseProfile(data, "fuzz.yaml")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the input: %v", err)
			}
			return
		}
		for _, s := range p.Settings {
			if _, err := tuning.ParseKey(s.Key); err != nil {
				t.Fatalf("accepted invalid key %q: %v", s.Key, err)
			}
			if _, err := tuning.ParseValue(s.Value); err != nil {
				t.Fatalf("accepted invalid value %q: %v", s.Value, err)
			}
		}
	})
}

// FuzzKey checks that a key ParseKey accepts never resolves outside the
// root, whatever it names: a fixture tree with links that escape is checked
// with a profile of that key.
func FuzzKey(f *testing.F) {
	for _, k := range []string{"net.core.somaxconn", "rlimit.nofile", "/sys/kernel/mm/transparent_hugepage/enabled",
		"../x", "/sys/../x", "net.core.evil", "/sys/kernel/mm/evil", "/sys/*/*/*", "evildir.secret", "a.b", "/sys/kernel/mm/evil*"} {
		f.Add(k)
	}
	dir := f.TempDir()
	root := filepath.Join(dir, "root")
	if err := os.CopyFS(root, os.DirFS("testdata/root")); err != nil {
		f.Fatal(err)
	}
	outside := filepath.Join(dir, "outside")
	if err := os.WriteFile(outside, []byte("OUTSIDE\n"), 0o644); err != nil {
		f.Fatal(err)
	}
	for l, target := range map[string]string{
		"proc/sys/net/core/evil": outside,
		"proc/sys/evildir":       "../../etc",
		"sys/kernel/mm/evil":     "../../../etc/sysctl.conf",
	} {
		if err := os.Symlink(target, filepath.Join(root, l)); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, key string) {
		kind, err := tuning.ParseKey(key)
		if err != nil {
			if !errors.Is(err, tuning.ErrInvalidKey) {
				t.Fatalf("ParseKey(%q): %v, want ErrInvalidKey", key, err)
			}
			return
		}
		if kind == tuning.KindSysctl && (strings.Contains(key, "/") || strings.Contains(key, "..")) {
			t.Fatalf("accepted sysctl %q", key)
		}
		if kind == tuning.KindSysfs && (strings.Contains(key, "/../") || strings.HasSuffix(key, "/..")) {
			t.Fatalf("accepted sysfs %q", key)
		}
		p := &tuning.Profile{Name: "f", Settings: []tuning.Setting{{Key: key, Value: "1", Why: "w"}}}
		rs, err := tuning.Check(root, p)
		if err != nil {
			if !errors.Is(err, tuning.ErrInvalidKey) && !strings.Contains(err.Error(), "read ") {
				t.Fatalf("Check(%q): %v", key, err)
			}
			return
		}
		for _, r := range rs {
			// Only files inside ROOT/proc/sys and ROOT/sys may be read:
			// never the file outside the root or /etc/sysctl.conf.
			if strings.Contains(r.Current, "OUTSIDE") || strings.Contains(r.Current, "sysctl.conf") {
				t.Fatalf("key %q read a file outside: %+v", key, r)
			}
			// A file may be named "0.." (testdata/fuzz/FuzzKey has one);
			// only a ".." path element would climb.
			if kind == tuning.KindSysfs && (!strings.HasPrefix(r.Key, "/sys/") || slices.Contains(strings.Split(r.Key, "/"), "..")) {
				t.Fatalf("result key %q", r.Key)
			}
		}
	})
}

// FuzzParseValue checks that a parsed value's target satisfies it whenever
// a target can be computed.
func FuzzParseValue(f *testing.F) {
	for _, s := range [][2]string{{">=4096", "128"}, {"<=1024 >=65535", "32768\t60999\n"}, {"madvise|never", "always [madvise] never"}, {"0", "1"}, {"a b", "c"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, value, current string) {
		v, err := tuning.ParseValue(value)
		if err != nil {
			if !errors.Is(err, tuning.ErrInvalidValue) {
				t.Fatalf("ParseValue(%q): %v", value, err)
			}
			return
		}
		target, err := v.Target(current)
		if err != nil {
			return
		}
		if !v.Satisfied(target) && !strings.ContainsAny(target, "[]") {
			t.Fatalf("value %q: target %q from %q does not satisfy it", value, target, current)
		}
	})
}

// FuzzParseSysctlConf checks that the sysctl.conf parser never panics and
// returns trimmed keys.
func FuzzParseSysctlConf(f *testing.F) {
	f.Add([]byte("net.core.somaxconn = 1024\n# c\n-kernel.x=1\nnet/ipv4/conf/eth0.1/rp_filter=2\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, e := range tuning.ParseSysctlConf(b) {
			if e.Key == "" || strings.TrimSpace(e.Key) != e.Key || e.Line < 1 {
				t.Fatalf("entry %+v", e)
			}
		}
	})
}
