package hostmetrics

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// The TCP counters and socket counts gopsutil does not read cheaply are
// read here, straight from procfs under a root ("/proc", or a fixture
// directory in tests, as node_exporter's --path.procfs).

// tcpCounters are the cumulative TCP counters of /proc/net/snmp (Tcp:) and
// /proc/net/netstat (TcpExt:).
type tcpCounters struct {
	retransSegs, outSegs, activeOpens, passiveOpens int64
	attemptFails, estabResets, currEstab            int64
	listenOverflows, listenDrops                    int64
}

// readTCPCounters reads the counters from root/net/snmp and root/net/netstat.
func readTCPCounters(root string) (tcpCounters, error) {
	var c tcpCounters
	path := filepath.Join(root, "net", "snmp")
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("read %s: %w", path, err)
	}
	v, err := sectionValues(b, "Tcp:", "RetransSegs", "OutSegs", "ActiveOpens", "PassiveOpens",
		"AttemptFails", "EstabResets", "CurrEstab")
	if err != nil {
		return c, fmt.Errorf("read %s: %w", path, err)
	}
	c.retransSegs, c.outSegs, c.activeOpens, c.passiveOpens = v[0], v[1], v[2], v[3]
	c.attemptFails, c.estabResets, c.currEstab = v[4], v[5], v[6]

	path = filepath.Join(root, "net", "netstat")
	b, err = os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("read %s: %w", path, err)
	}
	v, err = sectionValues(b, "TcpExt:", "ListenOverflows", "ListenDrops")
	if err != nil {
		return c, fmt.Errorf("read %s: %w", path, err)
	}
	c.listenOverflows, c.listenDrops = v[0], v[1]
	return c, nil
}

// sectionValues finds, in the "Name: field field..." / "Name: value
// value..." line pairs of /proc/net/snmp and /proc/net/netstat, the values
// of the named fields of one section. A field the kernel does not have is
// an error naming it.
func sectionValues(b []byte, section string, names ...string) ([]int64, error) {
	prefix := []byte(section + " ")
	var header []byte
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if !bytes.HasPrefix(line, prefix) {
			continue
		}
		if header == nil {
			header = line[len(prefix):]
			continue
		}
		keys := bytes.Fields(header)
		vals := bytes.Fields(line[len(prefix):])
		if len(keys) != len(vals) {
			return nil, fmt.Errorf("section %s: %d fields but %d values", section, len(keys), len(vals))
		}
		out := make([]int64, len(names))
		for i, name := range names {
			found := false
			for j, k := range keys {
				if string(k) == name {
					n, err := strconv.ParseInt(string(vals[j]), 10, 64)
					if err != nil {
						return nil, fmt.Errorf("section %s: field %s: %w", section, name, err)
					}
					out[i], found = n, true
					break
				}
			}
			if !found {
				return nil, fmt.Errorf("section %s: no field %s", section, name)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("no %s section with a header and a value line", section)
}

// sockstat is the TCP line of /proc/net/sockstat (plus TCP6's inuse).
type sockstat struct {
	inuse, orphan, tw, alloc int64
}

// readSockstat reads root/net/sockstat and, when present, root/net/sockstat6.
func readSockstat(root string) (sockstat, error) {
	var s sockstat
	path := filepath.Join(root, "net", "sockstat")
	b, err := os.ReadFile(path)
	if err != nil {
		return s, fmt.Errorf("read %s: %w", path, err)
	}
	kv, ok := lineKV(b, "TCP:")
	if !ok {
		return s, fmt.Errorf("read %s: no TCP: line", path)
	}
	s.inuse, s.orphan, s.tw, s.alloc = kv["inuse"], kv["orphan"], kv["tw"], kv["alloc"]
	if b, err := os.ReadFile(filepath.Join(root, "net", "sockstat6")); err == nil {
		if kv, ok := lineKV(b, "TCP6:"); ok {
			s.inuse += kv["inuse"]
		}
	}
	return s, nil
}

// lineKV parses a "NAME: key value key value" line of b.
func lineKV(b []byte, name string) (map[string]int64, bool) {
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		f := bytes.Fields(line)
		if len(f) == 0 || string(f[0]) != name {
			continue
		}
		kv := make(map[string]int64, len(f)/2)
		for i := 1; i+1 < len(f); i += 2 {
			n, err := strconv.ParseInt(string(f[i+1]), 10, 64)
			if err == nil {
				kv[string(f[i])] = n
			}
		}
		return kv, true
	}
	return nil, false
}

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
		st, err := strconv.ParseUint(string(line[i:i+2]), 16, 8)
		if err != nil || st == 0 || int(st) >= len(tcpStateNames) {
			return false, fmt.Errorf("malformed socket state in %q", line)
		}
		counts[st]++
		*n++
	}
	return false, sc.Err()
}
