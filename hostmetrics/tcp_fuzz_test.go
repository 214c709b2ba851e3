package hostmetrics

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/prometheus/procfs"
)

// FuzzScanTCPStates checks the socket-state scanner of net/tcp against
// procfs's parser of the same file, another implementation, and checks its
// bound. On a file whose fields are separated by spaces, as the kernel
// writes them:
//   - where both accept it, they count the same sockets in the same states;
//   - where procfs reads a state the kernel does not have, the scanner
//     refuses the file;
//   - where procfs accepts it and every state is a known one in two hex
//     digits, as the kernel writes it, the scanner accepts it too.
//
// On any file it accepts, the scanner stopped at k sockets counts what it
// counts on the file cut after the k-th socket line, and says that it
// stopped early.
//
// The seed corpus is testdata/fuzz/FuzzScanTCPStates.
func FuzzScanTCPStates(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		all, n, err := scanAll(t, b)
		if err == nil {
			checkBound(t, b, all, n)
		}
		if !kernelSpacing(b) {
			return
		}
		want, unknown, ok := procfsStates(t, b)
		switch {
		case !ok: // procfs refuses it: the scanner may read it, since it reads one field
		case unknown:
			if err == nil {
				t.Fatalf("scanner counts %v where procfs reads a state the kernel does not have", all)
			}
		case err != nil && knownStates(b):
			t.Fatalf("scanner refuses a file procfs reads (states %v): %v", want, err)
		case err == nil && all != want:
			t.Fatalf("scanner counts %v, procfs %v", all, want)
		}
	})
}

// checkBound checks that scanning b bounded at k sockets counts the first
// k sockets of the n that b has, with all their counts.
func checkBound(t *testing.T, b []byte, all [len(tcpStateNames)]int64, n int) {
	t.Helper()
	var sum int64
	for _, c := range all {
		sum += c
	}
	if sum != int64(n) {
		t.Fatalf("counted %d sockets, states add up to %d", n, sum)
	}
	for _, k := range []int{0, 1, n / 2, n - 1} {
		if k < 0 || k >= n {
			continue
		}
		var got [len(tcpStateNames)]int64
		m := 0
		more, err := scanTCPStates(bytes.NewReader(b), &got, &m, k, nil)
		if err != nil || !more || m != k {
			t.Fatalf("bound %d of %d sockets: counted %d, stopped early %v, error %v", k, n, m, more, err)
		}
		want, _, err := scanAll(t, firstLines(b, k+1)) // the header and k sockets
		if err != nil || got != want {
			t.Fatalf("bound %d: counts %v, want those of the first %d sockets %v (%v)", k, got, k, want, err)
		}
	}
}

// scanAll scans b with no bound.
func scanAll(t *testing.T, b []byte) ([len(tcpStateNames)]int64, int, error) {
	t.Helper()
	var counts [len(tcpStateNames)]int64
	n := 0
	more, err := scanTCPStates(bytes.NewReader(b), &counts, &n, math.MaxInt, nil)
	if more {
		t.Fatal("stopped early with no bound")
	}
	return counts, n, err
}

// procfsStates counts the states of net/tcp b with procfs; unknown when
// it reads a state the kernel does not have, ok false when it refuses b.
func procfsStates(t *testing.T, b []byte) (counts [len(tcpStateNames)]int64, unknown, ok bool) {
	t.Helper()
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "net", "tcp"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	fs, err := procfs.NewFS(root)
	if err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1019 deprecated for reading sockets (use netlink, as tcpstates_linux.go does); here it is an independent parser of the file to check ours against.
	lines, err := fs.NetTCP()
	if err != nil {
		return counts, false, false
	}
	for _, l := range lines {
		if l.St == 0 || l.St >= uint64(len(counts)) {
			return counts, true, true
		}
		counts[l.St]++
	}
	return counts, false, true
}

// firstLines returns the first n lines of b.
func firstLines(b []byte, n int) []byte {
	end := 0
	for range n {
		i := bytes.IndexByte(b[end:], '\n')
		if i < 0 {
			return b
		}
		end += i + 1
	}
	return b[:end]
}

// kernelSpacing reports whether b's only white space is ' ' and '\n', as in
// the kernel's net/tcp; procfs splits fields at any Unicode space.
func kernelSpacing(b []byte) bool {
	for _, r := range string(b) {
		if unicode.IsSpace(r) && r != ' ' && r != '\n' {
			return false
		}
	}
	return true
}

// knownStates reports whether every socket line of b (all but the first)
// has, as fourth field, a known state in two hex digits, as the kernel
// writes it ("%02X").
func knownStates(b []byte) bool {
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) < 4 || len(f[3]) != 2 {
			return false
		}
		st, err := strconv.ParseUint(f[3], 16, 8)
		if err != nil || st == 0 || st >= uint64(len(tcpStateNames)) {
			return false
		}
	}
	return true
}
