//go:build race

package testenv

// Race reports whether the race detector is on. Tests whose numbers depend
// on the generator keeping a rate skip under it: it makes the generator
// several times slower, so they would measure the detector (make e2e runs
// them without it).
const Race = true
