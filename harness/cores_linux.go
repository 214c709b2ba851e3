package harness

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// usableCores is how many cores this process can keep busy at once: the
// smaller of GOMAXPROCS and its CPU affinity (taskset).
func usableCores() int {
	n := runtime.GOMAXPROCS(0)
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err == nil && set.Count() > 0 && set.Count() < n {
		n = set.Count()
	}
	return n
}
