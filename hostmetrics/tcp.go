package hostmetrics

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/prometheus/procfs"
)

// The TCP counters are read with github.com/prometheus/procfs, as
// node_exporter reads sockstat, under a root ("/proc", or a fixture
// directory in tests, as node_exporter's --path.procfs). procfs reads
// net/snmp and net/netstat as a process's files (/proc/net links to
// /proc/self/net), so the sampler resolves self once.
//
// procfs parses every field of the three files where the parser of our own
// it replaces read only the fields it needs, and it costs more, but not
// the sampling budget. Against that parser (benchstat, -count=10 interleaved, on a
// 2-core VM that other jobs kept at a load of 6): BenchmarkTCPCounters
// 228 -> 278 µs of CPU a read (+22%), 53 -> 472 allocations, 34 -> 56 KiB;
// a whole BenchmarkSample 461 -> 519 µs of CPU (no-states) and 852 -> 913
// µs (default), neither difference significant (p = 0.11, 0.53). That is
// about 0.05 ms and 22 KiB of garbage once a second, beside a generator
// that allocates for every request it sends.

// tcpCounters are the cumulative TCP counters of /proc/net/snmp (Tcp:) and
// /proc/net/netstat (TcpExt:).
type tcpCounters struct {
	retransSegs, outSegs, activeOpens, passiveOpens int64
	attemptFails, estabResets, currEstab            int64
	listenOverflows, listenDrops                    int64
}

// readTCPCounters reads the counters from p's net/snmp and net/netstat. A
// field the kernel does not have is an error naming it.
func readTCPCounters(p procfs.Proc) (tcpCounters, error) {
	var c tcpCounters
	snmp, err := p.Snmp()
	if err != nil {
		return c, fmt.Errorf("read net/snmp: %w", err)
	}
	var missing []error
	get := func(file, name string, v *float64) int64 {
		if v == nil {
			missing = append(missing, fmt.Errorf("read net/%s: no field %s", file, name))
			return 0
		}
		return int64(*v)
	}
	t := snmp.Tcp
	c.retransSegs = get("snmp", "Tcp: RetransSegs", t.RetransSegs)
	c.outSegs = get("snmp", "Tcp: OutSegs", t.OutSegs)
	c.activeOpens = get("snmp", "Tcp: ActiveOpens", t.ActiveOpens)
	c.passiveOpens = get("snmp", "Tcp: PassiveOpens", t.PassiveOpens)
	c.attemptFails = get("snmp", "Tcp: AttemptFails", t.AttemptFails)
	c.estabResets = get("snmp", "Tcp: EstabResets", t.EstabResets)
	c.currEstab = get("snmp", "Tcp: CurrEstab", t.CurrEstab)

	netstat, err := p.Netstat()
	if err != nil {
		return c, fmt.Errorf("read net/netstat: %w", err)
	}
	c.listenOverflows = get("netstat", "TcpExt: ListenOverflows", netstat.ListenOverflows)
	c.listenDrops = get("netstat", "TcpExt: ListenDrops", netstat.ListenDrops)
	return c, errors.Join(missing...)
}

// sockstat is the TCP line of /proc/net/sockstat (plus TCP6's inuse).
type sockstat struct {
	inuse, orphan, tw, alloc int64
}

// readSockstat reads net/sockstat and, when present, net/sockstat6 of fs.
func readSockstat(fs procfs.FS) (sockstat, error) {
	var s sockstat
	st, err := fs.NetSockstat()
	if err != nil {
		return s, fmt.Errorf("read net/sockstat: %w", err)
	}
	tcp := protocol(st, "TCP")
	if tcp == nil {
		return s, errors.New("read net/sockstat: no TCP: line")
	}
	s.inuse, s.orphan, s.tw, s.alloc = int64(tcp.InUse), deref(tcp.Orphan), deref(tcp.TW), deref(tcp.Alloc)
	if st6, err := fs.NetSockstat6(); err == nil { // absent when IPv6 is off
		if tcp6 := protocol(st6, "TCP6"); tcp6 != nil {
			s.inuse += int64(tcp6.InUse)
		}
	}
	return s, nil
}

// protocol returns the line of st for name, or nil.
func protocol(st *procfs.NetSockstat, name string) *procfs.NetSockstatProtocol {
	for i := range st.Protocols {
		if st.Protocols[i].Protocol == name {
			return &st.Protocols[i]
		}
	}
	return nil
}

func deref(p *int) int64 {
	if p == nil {
		return 0
	}
	return int64(*p)
}

// The socket states are counted with sock_diag (tcpstates_linux.go), as
// procfs itself advises in deprecating its NetTCP; net/tcp is the fallback
// where sock_diag is refused. It is not read with procfs's NetTCP either:
// that parses every field of every line (addresses, queues, inode) into a
// slice with no bound, where counting the states needs one field and must
// stop at MaxTCPSockets, the kernel's cost of listing sockets growing with
// their number. FuzzScanTCPStates checks this scanner against NetTCP.

// tcpStateNames are the kernel's TCP states (include/net/tcp_states.h), by
// the hex code /proc/net/tcp shows.
var tcpStateNames = [...]string{
	1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
	6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN",
	11: "CLOSING", 12: "NEW_SYN_RECV",
}

// countTCPStates counts sockets by state in root/net/tcp and tcp6, reading
// at most max sockets in all (the kernel's cost of listing them grows with
// their number). It reports whether it stopped early.
func countTCPStates(root string, max int, buf []byte) (map[string]int64, bool, error) {
	var counts [len(tcpStateNames)]int64
	n := 0
	truncated := false
	for _, name := range []string{"tcp", "tcp6"} {
		path := filepath.Join(root, "net", name)
		f, err := os.Open(path)
		if err != nil {
			if name == "tcp6" && os.IsNotExist(err) {
				continue // IPv6 disabled
			}
			return nil, false, fmt.Errorf("read %s: %w", path, err)
		}
		more, err := scanTCPStates(f, &counts, &n, max, buf)
		f.Close()
		if err != nil {
			return nil, false, fmt.Errorf("read %s: %w", path, err)
		}
		if more {
			truncated = true
			break
		}
	}
	out := make(map[string]int64)
	for i, c := range counts {
		if c > 0 {
			out[tcpStateNames[i]] = c
		}
	}
	return out, truncated, nil
}

// scanTCPStates adds the states of r's socket lines to counts; it returns
// true when it stopped at max sockets with lines left.
func scanTCPStates(r io.Reader, counts *[len(tcpStateNames)]int64, n *int, max int, buf []byte) (bool, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(buf, 1<<20)
	first := true
	for sc.Scan() {
		if first { // header
			first = false
			continue
		}
		if *n >= max {
			return true, nil
		}
		// "  sl  local_address rem_address   st ...": the fourth field.
		line := sc.Bytes()
		field := 0
		i := 0
		for field < 3 && i < len(line) {
			for i < len(line) && line[i] == ' ' {
				i++
			}
			for i < len(line) && line[i] != ' ' {
				i++
			}
			field++
		}
		for i < len(line) && line[i] == ' ' {
			i++
		}
		if i+2 > len(line) {
			return false, fmt.Errorf("malformed socket line %q", line)
		}
		// The kernel writes the state in two hex digits ("%02X"): a third
		// would make it another state.
		st, err := strconv.ParseUint(string(line[i:i+2]), 16, 8)
		if err != nil || st == 0 || int(st) >= len(tcpStateNames) || (i+2 < len(line) && line[i+2] != ' ') {
			return false, fmt.Errorf("malformed socket state in %q", line)
		}
		counts[st]++
		*n++
	}
	return false, sc.Err()
}
