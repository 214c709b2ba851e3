//go:build !linux

package capture

import "runtime"

// usableCores is how many cores this process can keep busy at once.
func usableCores() int { return runtime.GOMAXPROCS(0) }
