package tuning_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/perf-tools/perf/profiles"
	"github.com/perf-tools/perf/tuning"
)

func TestBuiltinProfiles(t *testing.T) {
	names := profiles.Names()
	for _, want := range []string{"load-generator", "server-latency", "server-throughput"} {
		p := loadProfile(t, want)
		if p.Name != want || p.Source != "builtin:"+want {
			t.Errorf("%s: name %q source %q", want, p.Name, p.Source)
		}
		seen := map[string]bool{}
		for _, s := range p.Settings {
			if strings.HasPrefix(s.Key, "kernel.sched_") {
				t.Errorf("%s: %s is gone from current kernels", want, s.Key)
			}
			if len(strings.TrimSpace(s.Why)) < 20 {
				t.Errorf("%s: %s: why %q does not justify the value", want, s.Key, s.Why)
			}
			if seen[s.Key] {
				t.Errorf("%s: %s twice after include", want, s.Key)
			}
			seen[s.Key] = true
		}
	}
	if len(names) != 3 {
		t.Errorf("built-in profiles = %v", names)
	}
	// somaxconn defaults to 4096 since 5.4: the profiles ask for at least.
	for _, s := range loadProfile(t, "server-throughput").Settings {
		if s.Key == "net.core.somaxconn" && s.Value != ">=4096" {
			t.Errorf("somaxconn = %q, want >=4096", s.Value)
		}
	}
	// server-latency includes server-throughput and overrides THP.
	lat := loadProfile(t, "server-latency")
	for _, s := range lat.Settings {
		if s.Key == "/sys/kernel/mm/transparent_hugepage/enabled" && (s.Value != "madvise|never" || s.From != "server-latency") {
			t.Errorf("server-latency THP = %+v", s)
		}
		if s.Key == "net.core.rmem_max" && s.From != "server-throughput" {
			t.Errorf("rmem_max from %q", s.From)
		}
	}
}

func TestIncludeFromFile(t *testing.T) {
	p := loadProfile(t, "testdata/child.yaml")
	if p.Name != "child" || p.Include != "fixture.yaml" {
		t.Fatalf("profile = %+v", p)
	}
	var keys []string
	got := map[string]tuning.Setting{}
	for _, s := range p.Settings {
		keys = append(keys, s.Key)
		got[s.Key] = s
	}
	if got["vm.swappiness"].Value != "<=60" || got["vm.swappiness"].From != "child" {
		t.Errorf("child did not override vm.swappiness: %+v", got["vm.swappiness"])
	}
	if got["net.core.somaxconn"].From != "fixture" {
		t.Errorf("somaxconn from %q", got["net.core.somaxconn"].From)
	}
	// Parent order first, the override in its place, new keys last.
	if keys[4] != "vm.swappiness" || keys[len(keys)-1] != "net.core.netdev_max_backlog" || len(keys) != 11 {
		t.Errorf("keys = %v", keys)
	}
}

func TestProfileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		is         error
		msg        string
	}{
		{"typo", "name: x\ndescription: d\nsettings:\n  - {key: vm.swappiness, vaule: \"1\", why: w}\n", tuning.ErrInvalidProfile, "vaule"},
		{"unknown top", "name: x\ndescription: d\nsetting: []\n", tuning.ErrInvalidProfile, "setting"},
		{"no name", "description: d\nsettings:\n  - {key: vm.swappiness, value: \"1\", why: w}\n", tuning.ErrInvalidProfile, "name"},
		{"bad name", "name: X Y\ndescription: d\nsettings:\n  - {key: vm.swappiness, value: \"1\", why: w}\n", tuning.ErrInvalidProfile, "name"},
		{"no description", "name: x\nsettings:\n  - {key: vm.swappiness, value: \"1\", why: w}\n", tuning.ErrInvalidProfile, "description"},
		{"no settings", "name: x\ndescription: d\n", tuning.ErrInvalidProfile, "no settings"},
		{"no why", "name: x\ndescription: d\nsettings:\n  - {key: vm.swappiness, value: \"1\"}\n", tuning.ErrInvalidProfile, "why is missing"},
		{"bad value", "name: x\ndescription: d\nsettings:\n  - {key: vm.swappiness, value: \">x\", why: w}\n", tuning.ErrInvalidValue, "vm.swappiness"},
		{"empty value", "name: x\ndescription: d\nsettings:\n  - {key: vm.swappiness, why: w}\n", tuning.ErrInvalidValue, "vm.swappiness"},
		{"duplicate", "name: x\ndescription: d\nsettings:\n  - {key: vm.swappiness, value: \"1\", why: w}\n  - {key: vm.swappiness, value: \"2\", why: w}\n", tuning.ErrInvalidProfile, "already set by setting 1"},
		{"two docs", "name: x\ndescription: d\nsettings:\n  - {key: vm.swappiness, value: \"1\", why: w}\n---\nname: y\n", tuning.ErrInvalidProfile, "one YAML document"},
		{"not yaml", "{{{", tuning.ErrInvalidProfile, "profile t.yaml"},
		{"empty", "", tuning.ErrInvalidProfile, "empty"},
		{"list", "- a\n", tuning.ErrInvalidProfile, "profile t.yaml"},
	} {
		_, err := tuning.ParseProfile([]byte(tc.yaml), "t.yaml")
		if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), "t.yaml") {
			t.Errorf("%s: %v, want %v mentioning %q and the source", tc.name, err, tc.is, tc.msg)
		}
	}
}

func TestNumericValuesInYAML(t *testing.T) {
	p, err := tuning.ParseProfile([]byte("name: x\ndescription: d\nsettings:\n  - {key: vm.swappiness, value: 10, why: w}\n"), "t")
	if err != nil {
		t.Fatal(err)
	}
	if p.Settings[0].Value != "10" {
		t.Errorf("value = %q", p.Settings[0].Value)
	}
}

func TestIncludeCycleAndMissing(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, dir+"/a.yaml", "name: a\ndescription: d\ninclude: b.yaml\nsettings: []\n")
	mustWrite(t, dir+"/b.yaml", "name: b\ndescription: d\ninclude: a.yaml\nsettings: []\n")
	if _, err := tuning.LoadProfile(dir + "/a.yaml"); !errors.Is(err, tuning.ErrInvalidProfile) || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("cycle: %v", err)
	}
	mustWrite(t, dir+"/c.yaml", "name: c\ndescription: d\ninclude: nope.yaml\nsettings: []\n")
	if _, err := tuning.LoadProfile(dir + "/c.yaml"); !errors.Is(err, tuning.ErrUnknownProfile) || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("missing include: %v", err)
	}
	mustWrite(t, dir+"/d.yaml", "name: d\ndescription: d\ninclude: load-generator\nsettings:\n  - {key: net.ipv4.tcp_fin_timeout, value: \"<=15\", why: w}\n")
	p := loadProfile(t, dir+"/d.yaml")
	if len(p.Settings) != len(loadProfile(t, "load-generator").Settings) {
		t.Errorf("file including a built-in: %d settings", len(p.Settings))
	}
	if _, err := tuning.LoadProfile(dir + "/none.yaml"); !errors.Is(err, tuning.ErrUnknownProfile) {
		t.Errorf("missing file: %v", err)
	}
}
