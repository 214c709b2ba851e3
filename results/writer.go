package results

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// WriterOptions tunes a Writer.
type WriterOptions struct {
	// Render, when set, writes pages drawn from the finished run directory
	// (report.WriteRunHTML writes report.html). It runs last in Close, once
	// every file it may read is written. This package draws no page
	// itself: reports are a package above it.
	Render func(dir string) error
}

// Writer writes one run directory as the run goes. It is the sink of a
// run's intervals: WriteInterval streams each to latency.hlog and
// timeline.csv, so memory stays flat however long the run. Close writes
// the rest: host.json, run.json, and the pages of WriterOptions.Render.
// perf attack, merge and any other producer of runs write through it, so
// every run directory has the same files, written the same way.
//
// A Writer is not safe for concurrent use.
type Writer struct {
	dir                    string
	opts                   WriterOptions
	hlogFile, timelineFile *os.File
	hlog                   *HlogWriter
	timeline               *TimelineWriter
	closed                 bool
}

// CreateRun creates a new run directory under parent (see NewRunDir) and
// returns its writer.
func CreateRun(parent, name string, started time.Time, opts WriterOptions) (*Writer, error) {
	dir, err := NewRunDir(parent, name, started)
	if err != nil {
		return nil, err
	}
	return NewWriter(dir, opts)
}

// NewWriter returns a writer of a run into dir, an existing directory;
// files of the run already in it are replaced.
func NewWriter(dir string, opts WriterOptions) (*Writer, error) {
	w := &Writer{dir: dir, opts: opts}
	var err error
	if w.hlogFile, err = os.Create(filepath.Join(dir, HlogFile)); err != nil {
		return nil, fmt.Errorf("create run %s: %w", dir, err)
	}
	if w.timelineFile, err = os.Create(filepath.Join(dir, TimelineFile)); err != nil {
		w.hlogFile.Close()
		return nil, fmt.Errorf("create run %s: %w", dir, err)
	}
	w.timeline = NewTimelineWriter(w.timelineFile)
	return w, nil
}

// WriteRunDir writes a whole run into dir, an existing directory, through
// a Writer: its intervals in order, then, as Close does, host.json (when
// host is not nil), run.json and the pages.
func WriteRunDir(dir string, run *Run, intervals []Interval, host *HostSamples, opts WriterOptions) error {
	w, err := NewWriter(dir, opts)
	if err != nil {
		return err
	}
	for _, iv := range intervals {
		if err := w.WriteInterval(iv); err != nil {
			w.Abort()
			return err
		}
	}
	return w.Close(run, host)
}

// Dir returns the run directory.
func (w *Writer) Dir() string { return w.dir }

// WriteInterval appends iv to latency.hlog and timeline.csv. The log
// starts where the first interval does. Intervals come in time order.
func (w *Writer) WriteInterval(iv Interval) error {
	if w.hlog == nil {
		hw, err := NewHlogWriter(w.hlogFile, iv.Start)
		if err != nil {
			return fmt.Errorf("write %s: %w", w.path(HlogFile), err)
		}
		w.hlog = hw
	}
	if err := w.hlog.WriteInterval(iv); err != nil {
		return fmt.Errorf("write %s: %w", w.path(HlogFile), err)
	}
	if err := w.timeline.WriteInterval(iv); err != nil {
		return fmt.Errorf("write %s: %w", w.path(TimelineFile), err)
	}
	return nil
}

// Close ends latency.hlog and timeline.csv (a run without one interval
// gets an empty log starting at run.StartedAt), syncs them, writes
// host.json when host is not nil, run.json, and then the rendered pages.
// host.json is evidence beside the run: when it cannot be written, the
// run's warnings say so and run.json is written all the same.
// A page that cannot be rendered is an error matching ErrRender: every
// file of the run is written by then. Closing again does nothing.
func (w *Writer) Close(run *Run, host *HostSamples) error {
	if w.closed {
		return nil
	}
	if err := w.closeLogs(run.StartedAt); err != nil {
		return err
	}
	if host != nil {
		if err := WriteHostSamples(w.path(HostFile), host); err != nil {
			run.Warnings = append(run.Warnings, err.Error())
		}
	}
	if err := WriteRun(w.dir, run); err != nil {
		return err
	}
	if w.opts.Render != nil {
		if err := w.opts.Render(w.dir); err != nil {
			return fmt.Errorf("%w: %w", ErrRender, err)
		}
	}
	return nil
}

// Abort closes the logs as they are, without run.json: the run failed.
func (w *Writer) Abort() {
	if !w.closed {
		w.closed = true
		w.hlogFile.Close()
		w.timelineFile.Close()
	}
}

func (w *Writer) closeLogs(start time.Time) error {
	w.closed = true
	var err error
	if w.hlog == nil {
		// Not one interval: still leave a readable, empty log.
		_, err = NewHlogWriter(w.hlogFile, start)
	} else {
		// A run that ended in its warm-up gets its warm-up marker here.
		err = w.hlog.Close()
	}
	err = errors.Join(err, w.hlogFile.Sync(), w.hlogFile.Close())
	if err != nil {
		w.timelineFile.Close()
		return fmt.Errorf("write %s: %w", w.path(HlogFile), err)
	}
	if err := errors.Join(w.timelineFile.Sync(), w.timelineFile.Close()); err != nil {
		return fmt.Errorf("write %s: %w", w.path(TimelineFile), err)
	}
	return nil
}

func (w *Writer) path(name string) string { return filepath.Join(w.dir, name) }
