package hostmetrics

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzProcParsers feeds the /proc parsers arbitrary input: they may refuse
// it, never panic, and never count more sockets than asked.
func FuzzProcParsers(f *testing.F) {
	for _, name := range []string{"snmp", "netstat", "sockstat", "tcp", "tcp6"} {
		b, err := os.ReadFile(filepath.Join(fixtureProc, "net", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("Tcp: RetransSegs\nTcp: \n"))
	f.Add([]byte("h\n 0: a b 0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sectionValues(b, "Tcp:", "RetransSegs", "CurrEstab")
		sectionValues(b, "TcpExt:", "ListenOverflows")
		lineKV(b, "TCP:")
		var counts [len(tcpStateNames)]int64
		n := 0
		scanTCPStates(bytes.NewReader(b), &counts, &n, 5, nil)
		if n > 5 {
			t.Fatalf("counted %d sockets, bound 5", n)
		}
	})
}
