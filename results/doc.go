// Package results is perf's model of a finished load test and everything
// that reads or writes it: the versioned Run summary (run.json), the
// HdrHistogram interval log (latency.hlog), the per-second timeline
// (timeline.csv), SLO expressions and their verdicts, and the text, JSON and
// Markdown reports.
//
// It knows nothing of how load is generated (that is package harness) nor
// of the command line; it must never import vegeta.
package results
