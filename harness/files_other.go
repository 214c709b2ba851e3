//go:build !unix

package harness

import "time"

// openFileLimit is unknown here.
func openFileLimit() int { return 0 }

// processCPU is unknown here: the pool grows as if CPU were to spare.
func processCPU() time.Duration { return 0 }
