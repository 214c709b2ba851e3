//go:build linux

package hostmetrics

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"syscall"
)

// Netlink sock_diag constants (linux/sock_diag.h, linux/inet_diag.h).
const (
	netlinkInetDiag     = 4  // NETLINK_INET_DIAG (NETLINK_SOCK_DIAG)
	sockDiagByFamily    = 20 // SOCK_DIAG_BY_FAMILY
	tcpTimeWait         = 6
	inetDiagReqV2Len    = 56 // family, protocol, ext, pad, states, inet_diag_sockid
	inetDiagMsgStateOff = 1  // inet_diag_msg: family, then state
)

// countTCPStatesNetlink counts the host's TCP sockets by state with one
// sock_diag dump per address family, as ss(8) does: far cheaper than
// /proc/net/tcp, which formats a line per socket. TIME_WAIT sockets, often
// the most numerous on a load generator, are left out of the dump (the
// kernel skips them) and counted from /proc/net/sockstat by the caller.
func countTCPStatesNetlink(buf []byte) (map[string]int64, error) {
	var counts [len(tcpStateNames)]int64
	for _, family := range []uint8{syscall.AF_INET, syscall.AF_INET6} {
		if err := dumpTCPStates(family, &counts, buf); err != nil {
			return nil, err
		}
	}
	out := make(map[string]int64)
	for i, c := range counts {
		if c > 0 {
			out[tcpStateNames[i]] = c
		}
	}
	return out, nil
}

func dumpTCPStates(family uint8, counts *[len(tcpStateNames)]int64, buf []byte) error {
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, netlinkInetDiag)
	if err != nil {
		return fmt.Errorf("sock_diag socket: %w", err)
	}
	defer syscall.Close(fd)
	sa := &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}
	if err := syscall.Bind(fd, sa); err != nil {
		return fmt.Errorf("sock_diag bind: %w", err)
	}

	req := make([]byte, syscall.NLMSG_HDRLEN+inetDiagReqV2Len)
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], sockDiagByFamily)
	ne.PutUint16(req[6:], syscall.NLM_F_REQUEST|syscall.NLM_F_DUMP)
	ne.PutUint32(req[8:], 1) // sequence
	p := req[syscall.NLMSG_HDRLEN:]
	p[0] = family
	p[1] = syscall.IPPROTO_TCP
	// Every state but TIME_WAIT.
	ne.PutUint32(p[4:], ^uint32(0)&^(1<<tcpTimeWait))
	if err := syscall.Sendto(fd, req, 0, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		return fmt.Errorf("sock_diag request: %w", err)
	}

	if len(buf) < 32<<10 {
		buf = make([]byte, 32<<10)
	}
	buf = buf[:cap(buf)]
	for {
		runtime.Gosched() // a dump of many sockets is many replies: let senders in between
		n, _, err := syscall.Recvfrom(fd, buf, 0)
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			return fmt.Errorf("sock_diag receive: %w", err)
		}
		b := buf[:n]
		for len(b) >= syscall.NLMSG_HDRLEN {
			l := int(ne.Uint32(b[0:]))
			typ := ne.Uint16(b[4:])
			if l < syscall.NLMSG_HDRLEN || l > len(b) {
				return errors.New("sock_diag: malformed reply")
			}
			switch typ {
			case syscall.NLMSG_DONE:
				return nil
			case syscall.NLMSG_ERROR:
				if l >= syscall.NLMSG_HDRLEN+4 {
					if e := int32(ne.Uint32(b[syscall.NLMSG_HDRLEN:])); e != 0 {
						return fmt.Errorf("sock_diag: %w", syscall.Errno(-e))
					}
				}
				return errors.New("sock_diag: error reply")
			case sockDiagByFamily:
				if l > syscall.NLMSG_HDRLEN+inetDiagMsgStateOff {
					st := int(b[syscall.NLMSG_HDRLEN+inetDiagMsgStateOff])
					if st > 0 && st < len(counts) {
						counts[st]++
					}
				}
			}
			adv := (l + syscall.NLMSG_ALIGNTO - 1) &^ (syscall.NLMSG_ALIGNTO - 1)
			if adv > len(b) {
				break
			}
			b = b[adv:]
		}
	}
}
