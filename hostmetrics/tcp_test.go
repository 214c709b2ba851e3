package hostmetrics

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/procfs"
)

// fixtureProc is a procfs root for the readers, laid out as /proc is:
// net/sockstat, net/tcp and the rest per host, net/snmp and net/netstat
// under a process (fixturePID), as procfs reads them.
const (
	fixtureProc = "testdata/proc"
	fixturePID  = 4242
)

func fixtureFS(t *testing.T) procfs.FS {
	t.Helper()
	fs, err := procfs.NewFS(fixtureProc)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestReadTCPCountersFixture(t *testing.T) {
	p, err := fixtureFS(t).Proc(fixturePID)
	if err != nil {
		t.Fatal(err)
	}
	c, err := readTCPCounters(p)
	if err != nil {
		t.Fatal(err)
	}
	want := tcpCounters{retransSegs: 7, outSegs: 600, activeOpens: 11, passiveOpens: 12,
		attemptFails: 13, estabResets: 14, currEstab: 3, listenOverflows: 21, listenDrops: 22}
	if c != want {
		t.Errorf("got %+v, want %+v", c, want)
	}
}

// TestReadTCPCountersErrors: a kernel without a field, or a file that does
// not parse, is an error that says which.
func TestReadTCPCountersErrors(t *testing.T) {
	for _, tc := range []struct{ snmp, want string }{
		{"Tcp: RtoAlgorithm ActiveOpens\nTcp: 1 2\n", "no field Tcp: RetransSegs"},
		{"Tcp: A B\nTcp: 1\n", "read net/snmp"},
		{"Tcp: RetransSegs\nTcp: x\n", "read net/snmp"},
	} {
		root := t.TempDir()
		dir := filepath.Join(root, "1", "net")
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "snmp"), []byte(tc.snmp), 0o644)
		os.WriteFile(filepath.Join(dir, "netstat"), []byte("TcpExt: ListenOverflows ListenDrops\nTcpExt: 1 2\n"), 0o644)
		fs, err := procfs.NewFS(root)
		if err != nil {
			t.Fatal(err)
		}
		p, err := fs.Proc(1)
		if err != nil {
			t.Fatal(err)
		}
		_, err = readTCPCounters(p)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("snmp %q: error = %v, want %q", tc.snmp, err, tc.want)
		}
	}
}

func TestSockstatFixture(t *testing.T) {
	s, err := readSockstat(fixtureFS(t))
	if err != nil {
		t.Fatal(err)
	}
	if want := (sockstat{inuse: 7, orphan: 1, tw: 2, alloc: 6}); s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
}

func TestCountTCPStatesFixture(t *testing.T) {
	st, trunc, err := countTCPStates(fixtureProc, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"LISTEN": 2, "ESTABLISHED": 2, "TIME_WAIT": 1, "CLOSE_WAIT": 1}
	if !maps.Equal(st, want) || trunc {
		t.Errorf("got %v truncated=%v, want %v", st, trunc, want)
	}
	st, trunc, err = countTCPStates(fixtureProc, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int64{"LISTEN": 1, "ESTABLISHED": 2}; !maps.Equal(st, want) || !trunc {
		t.Errorf("bounded: got %v truncated=%v, want %v truncated", st, trunc, want)
	}

	bad := t.TempDir()
	os.MkdirAll(filepath.Join(bad, "net"), 0o755)
	os.WriteFile(filepath.Join(bad, "net", "tcp"), []byte("header\n   0: 0100007F:1F90 00000000:0000 ZZ 0\n"), 0o644)
	if _, _, err := countTCPStates(bad, 100, nil); err == nil || !strings.Contains(err.Error(), "malformed socket state") {
		t.Errorf("malformed tcp: error = %v", err)
	}
}
