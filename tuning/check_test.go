package tuning_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/perf-tools/perf/tuning"
)

func TestCheckFindsDrift(t *testing.T) {
	root := fixtureRoot(t)
	p := loadProfile(t, "testdata/fixture.yaml")
	before := snapshot(t, root)
	results, err := tuning.Check(root, p)
	if err != nil {
		t.Fatal(err)
	}
	sameTree(t, before, snapshot(t, root))
	want := []struct {
		key     string
		current string
		status  tuning.Status
		scope   tuning.Scope
	}{
		{"net.core.somaxconn", "128", tuning.StatusDrift, tuning.ScopeNetns},
		{"net.ipv4.ip_local_port_range", "32768 60999", tuning.StatusDrift, tuning.ScopeNetns},
		{"net.ipv4.tcp_fin_timeout", "60", tuning.StatusDrift, tuning.ScopeNetns},
		{"net.ipv4.tcp_tw_reuse", "2", tuning.StatusOK, tuning.ScopeNetns},
		{"vm.swappiness", "60", tuning.StatusDrift, tuning.ScopeGlobal},
		{"net.ipv4.tcp_rmem", "4096 131072 6291456", tuning.StatusDrift, tuning.ScopeNetns},
		{"/sys/kernel/mm/transparent_hugepage/enabled", "madvise", tuning.StatusDrift, tuning.ScopeGlobal},
		{"/sys/devices/system/cpu/cpufreq/policy*/scaling_governor", "", tuning.StatusNA, tuning.ScopeGlobal},
		{"net.ipv4.tcp_no_such_key", "", tuning.StatusMissing, tuning.ScopeNetns},
		{"rlimit.nofile", "1024 524288", tuning.StatusDrift, tuning.ScopeProcess},
	}
	if len(results) != len(want) {
		t.Fatalf("got %d results, want %d: %+v", len(results), len(want), results)
	}
	for i, w := range want {
		r := results[i]
		if r.Key != w.key || r.Current != w.current || r.Status != w.status || r.Scope != w.scope {
			t.Errorf("result %d = {%s %q %s %s}, want {%s %q %s %s}", i, r.Key, r.Current, r.Status, r.Scope, w.key, w.current, w.status, w.scope)
		}
		if r.Why == "" || r.Wanted == "" {
			t.Errorf("result %s lacks why or wanted: %+v", r.Key, r)
		}
	}
	if !tuning.Drifted(results) {
		t.Error("Drifted = false")
	}
}

func TestSummarize(t *testing.T) {
	root := fixtureRoot(t)
	p := loadProfile(t, "testdata/fixture.yaml")
	results, err := tuning.Check(root, p)
	if err != nil {
		t.Fatal(err)
	}
	s := tuning.Summarize(p.Name, results)
	if s.Profile != "fixture" {
		t.Errorf("profile = %q", s.Profile)
	}
	if s.Settings["net.core.somaxconn"] != "128" || s.Settings["rlimit.nofile"] != "1024 524288" {
		t.Errorf("settings = %v", s.Settings)
	}
	if _, ok := s.Settings["net.ipv4.tcp_no_such_key"]; ok {
		t.Error("missing key recorded as a setting")
	}
	wantDrift := []string{"net.core.somaxconn", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_fin_timeout", "vm.swappiness", "net.ipv4.tcp_rmem", "/sys/kernel/mm/transparent_hugepage/enabled", "rlimit.nofile"}
	if !slices.Equal(s.Drift, wantDrift) {
		t.Errorf("drift = %v, want %v", s.Drift, wantDrift)
	}
	if !slices.Equal(s.Missing, []string{"net.ipv4.tcp_no_such_key"}) {
		t.Errorf("missing = %v", s.Missing)
	}
}

func TestCheckRlimitBothLimits(t *testing.T) {
	root := fixtureRoot(t)
	for _, tc := range []struct {
		value  string
		status tuning.Status
	}{
		{">=1024", tuning.StatusOK},     // soft and hard are both >= 1024
		{">=65536", tuning.StatusDrift}, // the soft limit is 1024
		{">=1024 >=524288", tuning.StatusOK},
		{"<=100000", tuning.StatusDrift}, // the hard limit is higher
	} {
		p := loadProfile(t, writeProfile(t, "name: r\ndescription: d\nsettings:\n  - {key: rlimit.nofile, value: \""+tc.value+"\", why: w}\n"))
		rs, err := tuning.Check(root, p)
		if err != nil {
			t.Fatal(err)
		}
		if rs[0].Status != tc.status {
			t.Errorf("%s: status %s, want %s", tc.value, rs[0].Status, tc.status)
		}
	}
}

func TestWarnings(t *testing.T) {
	root := fixtureRoot(t)
	p := loadProfile(t, "testdata/fixture.yaml")

	ws := tuning.Warnings(root, p, nil)
	text := joinWarnings(ws)
	// 90-app.conf sets somaxconn below the profile and fin_timeout within it;
	// sysctl.conf sets swappiness above it.
	for _, want := range []string{
		"/etc/sysctl.d/90-app.conf:2 sets 1024, the profile wants >=4096",
		"/etc/sysctl.conf:2 sets 60, the profile wants <=10",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("warnings lack %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "tcp_fin_timeout") || strings.Contains(text, "TuneD") || strings.Contains(text, "container") {
		t.Errorf("unexpected warning:\n%s", text)
	}

	// A running TuneD (pid file and live pid) and a container.
	mustWrite(t, filepath.Join(root, "run/tuned/tuned.pid"), "4242\n")
	mustWrite(t, filepath.Join(root, "proc/4242/comm"), "tuned\n")
	mustWrite(t, filepath.Join(root, "proc/1/environ"), "PATH=/bin\x00container=podman\x00")
	text = joinWarnings(tuning.Warnings(root, p, nil))
	for _, want := range []string{"TuneD is running (pid 4242)", "inside a container (container=podman)", "vm.swappiness"} {
		if !strings.Contains(text, want) {
			t.Errorf("warnings lack %q:\n%s", want, text)
		}
	}

	// A process named tuned without a pid file, and a non-initial netns.
	root2 := fixtureRoot(t)
	mustWrite(t, filepath.Join(root2, "proc/777/comm"), "tuned\n")
	for _, l := range []struct{ path, target string }{
		{"proc/self/ns/net", "net:[4026532999]"},
		{"proc/1/ns/net", "net:[4026531833]"},
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root2, l.path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(l.target, filepath.Join(root2, l.path)); err != nil {
			t.Fatal(err)
		}
	}
	text = joinWarnings(tuning.Warnings(root2, p, nil))
	for _, want := range []string{"TuneD is running (pid 777)", "non-initial network namespace"} {
		if !strings.Contains(text, want) {
			t.Errorf("warnings lack %q:\n%s", want, text)
		}
	}
}

func TestParseSysctlConf(t *testing.T) {
	in := "# c\n; c\n\nnet.core.somaxconn = 1024\n-kernel.x=1\nnet/ipv4/conf/eth0.1/rp_filter = 2\nnot a line\n  vm.a  =  1   2\t3 \n"
	got := tuning.ParseSysctlConf([]byte(in))
	want := []tuning.ConfEntry{
		{Line: 4, Key: "net.core.somaxconn", Value: "1024"},
		{Line: 5, Key: "kernel.x", Value: "1"},
		{Line: 6, Key: "net.ipv4.conf.eth0.1.rp_filter", Value: "2"},
		{Line: 8, Key: "vm.a", Value: "1 2 3"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func joinWarnings(ws []tuning.Warning) string {
	var b strings.Builder
	for _, w := range ws {
		b.WriteString(w.String() + "\n")
	}
	return b.String()
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCheckProfileUnknown(t *testing.T) {
	_, _, err := tuning.CheckProfile(t.TempDir(), "no-such-profile")
	if !errors.Is(err, tuning.ErrUnknownProfile) {
		t.Fatalf("err = %v, want ErrUnknownProfile", err)
	}
	if !strings.Contains(err.Error(), "load-generator") {
		t.Errorf("error does not list the built-in names: %v", err)
	}
}
