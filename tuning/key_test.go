package tuning_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/perf-tools/perf/tuning"
)

func TestParseKey(t *testing.T) {
	for _, tc := range []struct {
		key  string
		kind tuning.Kind
		ok   bool
	}{
		{"net.core.somaxconn", tuning.KindSysctl, true},
		{"net.ipv4.ip_local_port_range", tuning.KindSysctl, true},
		{"fs.file-max", tuning.KindSysctl, true},
		{"rlimit.nofile", tuning.KindRlimit, true},
		{"/sys/kernel/mm/transparent_hugepage/enabled", tuning.KindSysfs, true},
		{"/sys/devices/system/cpu/cpufreq/policy*/scaling_governor", tuning.KindSysfs, true},
		{"rlimit.nproc", 0, false},
		{"somaxconn", 0, false},
		{"net/core/somaxconn", 0, false},
		{"Net.Core.Somaxconn", 0, false},
		{"net..core", 0, false},
		{".net.core", 0, false},
		{"net.core.", 0, false},
		{"../etc/passwd", 0, false},
		{"net.core.somaxconn/../../x", 0, false},
		{"net.core.some thing", 0, false},
		{"/etc/passwd", 0, false},
		{"/proc/sys/net/core/somaxconn", 0, false},
		{"/sys/../etc/passwd", 0, false},
		{"/sys/kernel/../../etc/passwd", 0, false},
		{"/sys/kernel/./mm", 0, false},
		{"/sys//kernel", 0, false},
		{"/sys/", 0, false},
		{"/sys/kernel/mm/", 0, false},
		{"/sys/kernel/[a]", 0, false},
		{"", 0, false},
		{strings.Repeat("a.", 200) + "b", 0, false},
	} {
		kind, err := tuning.ParseKey(tc.key)
		if tc.ok && (err != nil || kind != tc.kind) {
			t.Errorf("ParseKey(%q) = %v, %v; want kind %v", tc.key, kind, err, tc.kind)
		}
		if !tc.ok && !errors.Is(err, tuning.ErrInvalidKey) {
			t.Errorf("ParseKey(%q) = %v, want ErrInvalidKey", tc.key, err)
		}
		if !tc.ok && err != nil && !strings.Contains(err.Error(), "want") {
			t.Errorf("ParseKey(%q) error does not say what is expected: %v", tc.key, err)
		}
	}
}

func TestScopeOf(t *testing.T) {
	for key, want := range map[string]tuning.Scope{
		"net.core.somaxconn":                          tuning.ScopeNetns,
		"net.core.rmem_max":                           tuning.ScopeGlobal,
		"net.core.netdev_max_backlog":                 tuning.ScopeGlobal,
		"net.ipv4.ip_local_port_range":                tuning.ScopeNetns,
		"net.ipv4.tcp_mem":                            tuning.ScopeGlobal,
		"vm.swappiness":                               tuning.ScopeGlobal,
		"rlimit.nofile":                               tuning.ScopeProcess,
		"/sys/kernel/mm/transparent_hugepage/enabled": tuning.ScopeGlobal,
	} {
		if got := tuning.ScopeOf(key); got != want {
			t.Errorf("ScopeOf(%s) = %s, want %s", key, got, want)
		}
	}
}

// TestEscapesRefused puts symlinks in the fixture that lead out of
// ROOT/proc/sys and ROOT/sys and checks that check, plan and apply refuse
// them before anything is written, and that nothing is written.
func TestEscapesRefused(t *testing.T) {
	root := fixtureRoot(t)
	outside := filepath.Join(filepath.Dir(root), "outside")
	mustWrite(t, outside, "1\n")
	mustWrite(t, filepath.Join(root, "etc/secret"), "1\n") // inside root, outside proc/sys
	links := map[string]string{
		"proc/sys/net/core/evil_abs":  outside,
		"proc/sys/net/core/evil_rel":  "../../../../etc/secret",
		"proc/sys/evildir":            "../../etc",
		"sys/kernel/mm/evil":          "../../../etc/secret",
		"sys/kernel/mm/evil_abs":      outside,
		"proc/sys/net/core/dangling":  "../../../../nowhere/x",
		"proc/sys/net/core/fine_link": "somaxconn", // inside: allowed
	}
	for l, target := range links {
		if err := os.Symlink(target, filepath.Join(root, l)); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range []string{
		"net.core.evil_abs",
		"net.core.evil_rel",
		"evildir.secret",
		"/sys/kernel/mm/evil",
		"/sys/kernel/mm/evil_abs",
		"/sys/kernel/mm/evil*",
	} {
		p := loadProfile(t, writeProfile(t, `name: escape
description: the first key is fine, the second escapes
settings:
  - {key: net.core.somaxconn, value: ">=4096", why: fine}
  - {key: "`+key+`", value: "0", why: escape}
`))
		before := snapshot(t, root)
		if _, err := tuning.Check(root, p); !errors.Is(err, tuning.ErrInvalidKey) || !strings.Contains(err.Error(), "outside") {
			t.Errorf("check %s: %v, want ErrInvalidKey naming the escape", key, err)
		}
		if _, err := tuning.NewPlan(root, p); !errors.Is(err, tuning.ErrInvalidKey) {
			t.Errorf("plan %s: %v, want ErrInvalidKey", key, err)
		}
		sameTree(t, before, snapshot(t, root))
	}
	if b, _ := os.ReadFile(outside); string(b) != "1\n" {
		t.Errorf("outside file changed: %q", b)
	}

	// A dangling symlink is a missing key, and a link inside proc/sys is
	// followed.
	p := loadProfile(t, writeProfile(t, "name: links\ndescription: d\nsettings:\n  - {key: net.core.dangling, value: \"1\", why: w}\n  - {key: net.core.fine_link, value: \">=4096\", why: w}\n"))
	rs, err := tuning.Check(root, p)
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Status != tuning.StatusMissing || rs[1].Status != tuning.StatusDrift || rs[1].Current != "128" {
		t.Errorf("results = %+v", rs)
	}
}

func TestInvalidKeysInProfileRefused(t *testing.T) {
	for _, key := range []string{"../etc/passwd", "/etc/passwd", "net/core/somaxconn", "/sys/../etc/x", "rlimit.core", "kernel.sched_min_granularity_ns "} {
		_, err := tuning.ParseProfile([]byte("name: x\ndescription: d\nsettings:\n  - {key: \""+key+"\", value: \"1\", why: w}\n"), "test")
		if !errors.Is(err, tuning.ErrInvalidKey) {
			t.Errorf("key %q: %v, want ErrInvalidKey", key, err)
		}
		if err != nil && !strings.Contains(err.Error(), "profile test: setting 1") {
			t.Errorf("key %q: error does not name the profile and setting: %v", key, err)
		}
	}
}
