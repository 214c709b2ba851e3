//go:build linux

package hostmetrics

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

// affinityCores lists the cores this process may run on (its CPU affinity),
// or nil when that cannot be read.
func affinityCores() []int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil || set.Count() == 0 {
		return nil
	}
	var cores []int
	for i := 0; len(cores) < set.Count() && i < 1<<12; i++ {
		if set.IsSet(i) {
			cores = append(cores, i)
		}
	}
	return cores
}
