package results

import "errors"

// Sentinel errors; match them with errors.Is. The errors returned carry the
// input's name and what was expected around these.
var (
	// ErrNotRunDir reports a directory without run.json.
	ErrNotRunDir = errors.New("not a perf run directory")
	// ErrSchema reports a run.json of another schema than Schema.
	ErrSchema = errors.New("unsupported run.json schema")
	// ErrBadSLO reports a malformed SLO expression.
	ErrBadSLO = errors.New("invalid SLO")
	// ErrEmptyHlog reports an interval log with no lines at all.
	ErrEmptyHlog = errors.New("empty interval log")
	// ErrBadTimeline reports a malformed timeline.csv.
	ErrBadTimeline = errors.New("invalid timeline")
	// ErrUnknownFormat reports a report format this package does not know.
	ErrUnknownFormat = errors.New("unknown report format")
	// ErrNoMatch reports a glob pattern for run directories that matches
	// nothing: the user's mistake, not an unreadable run. (A malformed one
	// matches filepath.ErrBadPattern.)
	ErrNoMatch = errors.New("the pattern matches nothing")
)
