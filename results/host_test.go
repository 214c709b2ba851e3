package results

import (
	"testing"
	"time"
)

// TestGeneratorSince keeps the samples of a window and summarises them.
func TestGeneratorSince(t *testing.T) {
	start := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	h := &HostSamples{Start: start, Generator: []HostSample{
		{T: 1, ProcCPUPercent: 90, Cores: 1}, // the second before the window
		{T: 2, ProcCPUPercent: 40, Cores: 1},
		{T: 3, ProcCPUPercent: 60, Cores: 2},
	}}
	got := ProcessCPU(h.GeneratorSince(start.Add(time.Second)))
	if got != (CPUStats{MeanPercent: 50, MaxPercent: 60, Samples: 2, Cores: 2}) {
		t.Errorf("ProcessCPU of the window = %+v", got)
	}
}
