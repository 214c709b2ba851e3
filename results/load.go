package results

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// RunDir is a run directory read whole: what the HTML report draws and what
// merge adds up.
type RunDir struct {
	// Path is the directory the run was read from.
	Path string
	Run  *Run
	// Hlog is latency.hlog.
	Hlog *Hlog
	// Timeline is timeline.csv, one row an interval.
	Timeline []TimelineRow
	// Host is host.json; nil when the run has none.
	Host *HostSamples
}

// LoadRunDir reads a run directory: run.json, latency.hlog and
// timeline.csv, which every run directory holds, and host.json when it is
// there. The errors name the file and what is wrong.
func LoadRunDir(dir string) (*RunDir, error) {
	run, err := ReadRun(dir)
	if err != nil {
		return nil, err
	}
	d := &RunDir{Path: dir, Run: run}
	if d.Hlog, err = ReadHlogFile(filepath.Join(dir, HlogFile)); err != nil {
		return nil, err
	}
	// A run stopped before its first interval ended has an empty
	// timeline.csv (the header comes with the first row): no rows.
	path := filepath.Join(dir, TimelineFile)
	if fi, err := os.Stat(path); err != nil || fi.Size() > 0 {
		if d.Timeline, err = ReadTimelineFile(path); err != nil {
			return nil, err
		}
	}
	h, err := ReadHostSamples(filepath.Join(dir, HostFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		d.Host = h
	}
	return d, nil
}
