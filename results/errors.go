package results

import "errors"

// Sentinel errors; match them with errors.Is. The errors returned carry the
// input's name and what was expected around these.
var (
	// ErrNotRunDir reports a directory without run.json.
	ErrNotRunDir = errors.New("not a perf run directory")
	// ErrSchema reports a run.json of another schema than Schema.
	ErrSchema = errors.New("unsupported run.json schema")
	// ErrBadBound reports a malformed bound: an SLO or a regression gate.
	ErrBadBound = errors.New("invalid bound")
	// ErrEmptyHlog reports an interval log with no lines at all.
	ErrEmptyHlog = errors.New("empty interval log")
	// ErrBadTimeline reports a malformed timeline.csv.
	ErrBadTimeline = errors.New("invalid timeline")
	// ErrRender reports a page of a run (report.html) that could not be
	// drawn, once every other file of the run was written.
	ErrRender = errors.New("render the run's pages")
	// ErrNoMatch reports a glob pattern for run directories that matches
	// nothing: the user's mistake, not an unreadable run. (A malformed one
	// matches filepath.ErrBadPattern.)
	ErrNoMatch = errors.New("the pattern matches nothing")
)
