//go:build unix

package harness

import (
	"time"

	"golang.org/x/sys/unix"
)

// openFileLimit is how many files this process may hold open (its soft
// RLIMIT_NOFILE, which the Go runtime raises to the hard limit at start), or
// 0 when unknown.
func openFileLimit() int {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &r); err != nil || r.Cur > 1<<30 {
		return 0
	}
	return int(r.Cur)
}

// processCPU is the CPU time (user and system) this process has used so
// far, or 0 when it cannot be read.
func processCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
