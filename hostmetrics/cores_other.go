//go:build !linux

package hostmetrics

import "runtime"

// UsableCores is how many cores this process can keep busy at once.
func UsableCores() int { return runtime.GOMAXPROCS(0) }

// affinityCores is unknown here: every core counts.
func affinityCores() []int { return nil }
