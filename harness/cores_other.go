//go:build !linux

package harness

import "runtime"

// usableCores is GOMAXPROCS where CPU affinity cannot be read.
func usableCores() int { return runtime.GOMAXPROCS(0) }
