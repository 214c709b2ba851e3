package tuning_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/perf-tools/perf/tuning"
)

func TestApplyThenCheckPasses(t *testing.T) {
	root := fixtureRoot(t)
	p := loadProfile(t, "testdata/fixture.yaml")
	state := filepath.Join(t.TempDir(), "state.json")

	plan, err := tuning.NewPlan(root, p)
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]string{}
	for _, c := range plan.Changes {
		targets[c.Key] = c.Target
	}
	want := map[string]string{
		"net.core.somaxconn":                          "4096",
		"net.ipv4.ip_local_port_range":                "1024 65535",
		"net.ipv4.tcp_fin_timeout":                    "30",
		"vm.swappiness":                               "10",
		"net.ipv4.tcp_rmem":                           "4096 131072 16777216",
		"/sys/kernel/mm/transparent_hugepage/enabled": "never",
	}
	if len(targets) != len(want) {
		t.Errorf("plan = %v, want %v", targets, want)
	}
	for k, v := range want {
		if targets[k] != v {
			t.Errorf("plan %s -> %q, want %q", k, targets[k], v)
		}
	}
	if len(plan.Advice) != 1 || !strings.Contains(plan.Advice[0], "LimitNOFILE=65536") || !strings.Contains(plan.Advice[0], "limits.conf") {
		t.Errorf("advice = %q, want LimitNOFILE and limits.conf", plan.Advice)
	}

	if err := plan.Apply(state); err != nil {
		t.Fatal(err)
	}
	if got := readKey(t, root, "net.ipv4.ip_local_port_range"); got != "1024 65535\n" {
		t.Errorf("ip_local_port_range = %q", got)
	}
	results, err := tuning.Check(root, p)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Status == tuning.StatusDrift && r.Key != "rlimit.nofile" {
			t.Errorf("after apply %s drifts: %q, want %s", r.Key, r.Current, r.Wanted)
		}
	}

	st, err := tuning.ReadState(state)
	if err != nil {
		t.Fatal(err)
	}
	saved := map[string]string{}
	for _, s := range st.Saved {
		saved[s.Key] = s.Original
	}
	if saved["net.ipv4.ip_local_port_range"] != "32768\t60999\n" || saved["/sys/kernel/mm/transparent_hugepage/enabled"] != "madvise\n" {
		t.Errorf("saved = %q", saved)
	}
	if len(saved) != len(want) {
		t.Errorf("saved %d keys, want %d: %q", len(saved), len(want), saved)
	}
}

func TestReapplyIsNoop(t *testing.T) {
	root := fixtureRoot(t)
	p := loadProfile(t, "testdata/fixture.yaml")
	state := filepath.Join(t.TempDir(), "state.json")
	apply(t, root, p, state)
	stateBefore, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, root)

	plan, err := tuning.NewPlan(root, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Changes) != 0 {
		t.Fatalf("second plan has changes: %+v", plan.Changes)
	}
	if err := plan.Apply(state); err != nil {
		t.Fatal(err)
	}
	sameTree(t, before, snapshot(t, root))
	if stateAfter, _ := os.ReadFile(state); string(stateAfter) != string(stateBefore) {
		t.Errorf("state file changed:\n%s\n->\n%s", stateBefore, stateAfter)
	}
}

func TestRevertRestoresByteForByte(t *testing.T) {
	root := fixtureRoot(t)
	// The THP file is a list with the current choice bracketed, which a
	// real sysfs file prints back after a write of the choice; this fixture
	// is a plain file, so leave it out of the byte-for-byte comparison.
	p := loadProfile(t, writeProfile(t, `name: bytes
description: sysctls only
settings:
  - {key: net.core.somaxconn, value: ">=4096", why: w}
  - {key: net.ipv4.ip_local_port_range, value: "<=1024 >=65535", why: w}
  - {key: net.ipv4.tcp_rmem, value: ">=4096 >=131072 >=16777216", why: w}
  - {key: vm.swappiness, value: "<=10", why: w}
`))
	state := filepath.Join(root, tuning.DefaultStatePath)
	before := snapshot(t, root)
	apply(t, root, p, state)
	if readKey(t, root, "vm.swappiness") != "10\n" {
		t.Fatal("apply did not write vm.swappiness")
	}
	restored, err := tuning.Revert(root, state)
	if err != nil {
		t.Fatal(err)
	}
	if len(restored) != 4 {
		t.Errorf("restored %v, want 4 keys", restored)
	}
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state file still there: %v", err)
	}
	// apply made var/lib/perf (and var, var/lib) for the state file; revert
	// removes them with the file, so the tree is as it was.
	sameTree(t, before, snapshot(t, root))

	// Nothing left to revert.
	if _, err := tuning.Revert(root, state); !errors.Is(err, tuning.ErrNoState) {
		t.Errorf("second revert: %v, want ErrNoState", err)
	}
}

// TestRevertRemovesOnlyItsDirectories checks that revert removes the state
// directories apply created, and never one that was there before or that
// holds someone else's files.
func TestRevertRemovesOnlyItsDirectories(t *testing.T) {
	p := loadProfile(t, writeProfile(t, "name: d\ndescription: d\nsettings:\n  - {key: vm.swappiness, value: \"<=10\", why: w}\n"))
	revert := func(t *testing.T, root, state string) {
		t.Helper()
		if _, err := tuning.Revert(root, state); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("var/lib existed", func(t *testing.T) {
		root := fixtureRoot(t)
		if err := os.MkdirAll(filepath.Join(root, "var/lib"), 0o755); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, root)
		state := tuning.StatePath(root)
		apply(t, root, p, state)
		st, err := tuning.ReadState(state)
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(root, "var/lib/perf"); len(st.CreatedDirs) != 1 || st.CreatedDirs[0] != want {
			t.Errorf("state records created dirs %q, want [%s]", st.CreatedDirs, want)
		}
		// A second apply before revert keeps the first apply's record.
		apply(t, root, loadProfile(t, writeProfile(t, "name: e\ndescription: d\nsettings:\n  - {key: net.core.somaxconn, value: \">=4096\", why: w}\n")), state)
		revert(t, root, state)
		sameTree(t, before, snapshot(t, root))
	})

	t.Run("state directory existed", func(t *testing.T) {
		root := fixtureRoot(t)
		if err := os.MkdirAll(filepath.Join(root, "var/lib/perf"), 0o755); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, root)
		state := tuning.StatePath(root)
		apply(t, root, p, state)
		if st, err := tuning.ReadState(state); err != nil || len(st.CreatedDirs) != 0 {
			t.Errorf("state records created dirs %v (%v), want none", st, err)
		}
		revert(t, root, state)
		sameTree(t, before, snapshot(t, root)) // var/lib/perf is still there
	})

	t.Run("someone else's file", func(t *testing.T) {
		root := fixtureRoot(t)
		state := tuning.StatePath(root)
		apply(t, root, p, state)
		other := filepath.Join(root, "var/lib/perf/notes.txt")
		if err := os.WriteFile(other, []byte("mine\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		revert(t, root, state)
		if b, err := os.ReadFile(other); err != nil || string(b) != "mine\n" {
			t.Errorf("revert touched a file it did not write: %q, %v", b, err)
		}
		if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("state file still there: %v", err)
		}
	})

	t.Run("failed apply", func(t *testing.T) {
		root := fixtureRoot(t)
		swappiness := filepath.Join(root, "proc/sys/vm/swappiness")
		plan, err := tuning.NewPlan(root, p)
		if err != nil {
			t.Fatal(err)
		}
		// The write fails (a directory cannot be opened for writing).
		if err := os.Remove(swappiness); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(swappiness, 0o755); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, root)
		if err := plan.Apply(tuning.StatePath(root)); err == nil {
			t.Fatal("apply succeeded")
		}
		sameTree(t, before, snapshot(t, root))
	})
}

func TestRevertRestoresSysfsChoice(t *testing.T) {
	root := fixtureRoot(t)
	p := loadProfile(t, writeProfile(t, "name: thp\ndescription: d\nsettings:\n  - {key: /sys/kernel/mm/transparent_hugepage/enabled, value: never, why: w}\n"))
	state := filepath.Join(t.TempDir(), "state.json")
	apply(t, root, p, state)
	thp := filepath.Join(root, "sys/kernel/mm/transparent_hugepage/enabled")
	if b, _ := os.ReadFile(thp); string(b) != "never\n" {
		t.Fatalf("after apply THP = %q", b)
	}
	if _, err := tuning.Revert(root, state); err != nil {
		t.Fatal(err)
	}
	// sysfs is written the chosen word, as echo madvise > enabled does.
	if b, _ := os.ReadFile(thp); string(b) != "madvise\n" {
		t.Errorf("after revert THP = %q, want the original choice", b)
	}
}

func TestApplyFailureHalfwayRestoresEverything(t *testing.T) {
	root := fixtureRoot(t)
	p := loadProfile(t, writeProfile(t, `name: halfway
description: the third key cannot be written
settings:
  - {key: net.core.somaxconn, value: ">=4096", why: w}
  - {key: net.ipv4.tcp_fin_timeout, value: "<=30", why: w}
  - {key: vm.swappiness, value: "<=10", why: w}
  - {key: net.ipv4.ip_local_port_range, value: "<=1024 >=65535", why: w}
`))
	state := filepath.Join(t.TempDir(), "state.json")
	plan, err := tuning.NewPlan(root, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Changes) != 4 {
		t.Fatalf("plan: %+v", plan.Changes)
	}
	// The host changes under the plan: vm.swappiness becomes something no
	// write can open (a directory: tests run as root, so mode bits would
	// not stop the write). The first two keys are written, the third fails.
	swappiness := filepath.Join(root, "proc/sys/vm/swappiness")
	if err := os.Remove(swappiness); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(swappiness, 0o755); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, root)

	err = plan.Apply(state)
	var werr *tuning.WriteError
	if !errors.As(err, &werr) {
		t.Fatalf("apply: %v, want a WriteError", err)
	}
	if werr.Key != "vm.swappiness" || strings.Join(werr.Restored, ",") != "net.ipv4.tcp_fin_timeout,net.core.somaxconn" || werr.RestoreErr != nil {
		t.Errorf("WriteError = %+v", werr)
	}
	if !strings.Contains(err.Error(), "nothing was left changed") {
		t.Errorf("error does not say the host is unchanged: %v", err)
	}
	sameTree(t, before, snapshot(t, root))
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state file left behind: %v", err)
	}
}

func TestApplyFailureKeepsEarlierState(t *testing.T) {
	root := fixtureRoot(t)
	state := filepath.Join(t.TempDir(), "state.json")
	apply(t, root, loadProfile(t, writeProfile(t, "name: a\ndescription: d\nsettings:\n  - {key: net.core.somaxconn, value: \">=1024\", why: w}\n")), state)
	prev, _ := os.ReadFile(state)

	p := loadProfile(t, writeProfile(t, "name: b\ndescription: d\nsettings:\n  - {key: net.core.somaxconn, value: \">=4096\", why: w}\n  - {key: vm.swappiness, value: \"<=10\", why: w}\n"))
	plan, err := tuning.NewPlan(root, p)
	if err != nil {
		t.Fatal(err)
	}
	swappiness := filepath.Join(root, "proc/sys/vm/swappiness")
	os.Remove(swappiness)
	os.Mkdir(swappiness, 0o755)
	if err := plan.Apply(state); err == nil {
		t.Fatal("apply succeeded")
	}
	if got, _ := os.ReadFile(state); string(got) != string(prev) {
		t.Errorf("state after a failed apply:\n%s\nwant the earlier one:\n%s", got, prev)
	}
	if got := readKey(t, root, "net.core.somaxconn"); got != "1024\n" {
		t.Errorf("somaxconn = %q, want the first apply's 1024", got)
	}
}

func TestApplyMergeKeepsOriginals(t *testing.T) {
	root := fixtureRoot(t)
	state := filepath.Join(t.TempDir(), "state.json")
	apply(t, root, loadProfile(t, writeProfile(t, "name: a\ndescription: d\nsettings:\n  - {key: net.core.somaxconn, value: \">=1024\", why: w}\n")), state)
	apply(t, root, loadProfile(t, writeProfile(t, "name: b\ndescription: d\nsettings:\n  - {key: net.core.somaxconn, value: \">=4096\", why: w}\n  - {key: vm.swappiness, value: \"<=10\", why: w}\n")), state)
	if got := readKey(t, root, "net.core.somaxconn"); got != "4096\n" {
		t.Fatalf("somaxconn = %q", got)
	}
	b, _ := os.ReadFile(state)
	var st tuning.State
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	if strings.Join(st.Profiles, ",") != "a,b" || len(st.Saved) != 2 || st.Saved[0].Original != "128\n" || st.Saved[1].Original != "60\n" {
		t.Errorf("state = %+v", st)
	}
	if _, err := tuning.Revert(root, state); err != nil {
		t.Fatal(err)
	}
	if readKey(t, root, "net.core.somaxconn") != "128\n" || readKey(t, root, "vm.swappiness") != "60\n" {
		t.Error("revert did not return to the values before the first apply")
	}
}

func TestApplyStateOfAnotherRoot(t *testing.T) {
	root, other := fixtureRoot(t), fixtureRoot(t)
	state := filepath.Join(t.TempDir(), "state.json")
	p := loadProfile(t, "testdata/fixture.yaml")
	apply(t, root, p, state)
	before := snapshot(t, other)
	plan, err := tuning.NewPlan(other, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Apply(state); err == nil || !strings.Contains(err.Error(), "saved for root") {
		t.Errorf("apply with another root's state: %v", err)
	}
	if _, err := tuning.Revert(other, state); err == nil || !strings.Contains(err.Error(), "--root "+root) {
		t.Errorf("revert with another root's state: %v", err)
	}
	sameTree(t, before, snapshot(t, other))
}

func TestRevertRefusesTamperedState(t *testing.T) {
	root := fixtureRoot(t)
	outside := filepath.Join(t.TempDir(), "outside")
	mustWrite(t, outside, "keep\n")
	if err := os.Symlink(outside, filepath.Join(root, "proc/sys/net/core/evil")); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "state.json")
	for _, saved := range []string{
		`{"key":"../../etc/passwd","original":"x"}`,
		`{"key":"net.core.evil","original":"x"}`,
		`{"key":"rlimit.nofile","original":"1 1"}`,
	} {
		mustWrite(t, state, `{"version":1,"root":"`+root+`","saved":[{"key":"net.core.somaxconn","original":"1\n"},`+saved+`]}`)
		before := snapshot(t, root)
		if _, err := tuning.Revert(root, state); !errors.Is(err, tuning.ErrInvalidKey) {
			t.Errorf("revert %s: %v, want ErrInvalidKey", saved, err)
		}
		sameTree(t, before, snapshot(t, root))
	}
	if b, _ := os.ReadFile(outside); string(b) != "keep\n" {
		t.Errorf("file outside the root changed: %q", b)
	}
}

func apply(t *testing.T, root string, p *tuning.Profile, state string) {
	t.Helper()
	plan, err := tuning.NewPlan(root, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Apply(state); err != nil {
		t.Fatal(err)
	}
}

func TestRevertKeyGoneRestoresTheRest(t *testing.T) {
	root := fixtureRoot(t)
	state := filepath.Join(t.TempDir(), "state.json")
	apply(t, root, loadProfile(t, writeProfile(t, "name: a\ndescription: d\nsettings:\n  - {key: net.core.somaxconn, value: \">=4096\", why: w}\n  - {key: vm.swappiness, value: \"<=10\", why: w}\n")), state)
	if err := os.Remove(filepath.Join(root, "proc/sys/net/core/somaxconn")); err != nil {
		t.Fatal(err)
	}
	restored, err := tuning.Revert(root, state)
	if err == nil || !strings.Contains(err.Error(), "net.core.somaxconn: no longer present") || !strings.Contains(err.Error(), "state file kept") {
		t.Errorf("revert: %v", err)
	}
	if strings.Join(restored, ",") != "vm.swappiness" || readKey(t, root, "vm.swappiness") != "60\n" {
		t.Errorf("restored %v, swappiness %q", restored, readKey(t, root, "vm.swappiness"))
	}
	if _, err := os.Stat(state); err != nil {
		t.Errorf("state file not kept: %v", err)
	}
}

func TestConcurrentAppliesShareState(t *testing.T) {
	root := fixtureRoot(t)
	before := snapshot(t, root)
	state := filepath.Join(t.TempDir(), "state.json")
	profiles := []*tuning.Profile{
		loadProfile(t, writeProfile(t, "name: a\ndescription: d\nsettings:\n  - {key: net.core.somaxconn, value: \">=4096\", why: w}\n")),
		loadProfile(t, writeProfile(t, "name: b\ndescription: d\nsettings:\n  - {key: vm.swappiness, value: \"<=10\", why: w}\n")),
		loadProfile(t, writeProfile(t, "name: c\ndescription: d\nsettings:\n  - {key: net.ipv4.tcp_fin_timeout, value: \"<=30\", why: w}\n")),
	}
	errs := make(chan error, len(profiles))
	for _, p := range profiles {
		plan, err := tuning.NewPlan(root, p)
		if err != nil {
			t.Fatal(err)
		}
		go func() { errs <- plan.Apply(state) }()
	}
	for range profiles {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	st, err := tuning.ReadState(state)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Saved) != 3 || len(st.Profiles) != 3 {
		t.Fatalf("state lost an apply: %+v", st)
	}
	if _, err := tuning.Revert(root, state); err != nil {
		t.Fatal(err)
	}
	sameTree(t, before, snapshot(t, root))
}
