//go:build linux

package capture

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// UsableCores is how many cores this process can keep busy at once: its
// GOMAXPROCS, or its CPU affinity when that is smaller (taskset, cgroup
// cpusets).
func UsableCores() int {
	n := runtime.GOMAXPROCS(0)
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err == nil && set.Count() > 0 && set.Count() < n {
		n = set.Count()
	}
	return n
}
