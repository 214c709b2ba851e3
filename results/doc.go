// Package results is perf's model of a finished load test and everything
// that reads or writes it: the versioned Run summary (run.json), the
// HdrHistogram interval log (latency.hlog), the per-second timeline
// (timeline.csv), SLO expressions and their verdicts, and the text, JSON and
// Markdown reports.
//
// # Run directory
//
// NewRunDir creates parent/<UTC start>-<name>/ (20261127T123456Z-smoke),
// never reusing an existing directory. In it:
//
//   - run.json (RunFile): the Run, written atomically by WriteRun and read
//     back by ReadRun, which refuses other schemas by name.
//   - latency.hlog (HlogFile): written by HlogWriter, one interval a second,
//     three lines each tagged corrected, service and lag; HdrHistogram's
//     log format 1.3 with V2 compressed histograms of nanoseconds, which the
//     reference Java and C tools read. Warm-up intervals are logged too; a
//     comment "#[perf warmup_end: SECONDS]" records where the warm-up ends,
//     so ReadHlog marks them and Hlog.Total leaves them out (with the Java
//     HistogramLogProcessor, pass -start SECONDS).
//   - timeline.csv (TimelineFile): one row an interval, written by
//     TimelineWriter and read by ReadTimeline.
//
// All latencies are recorded in nanoseconds and reported in milliseconds;
// Summarize turns a histogram into the Percentiles that run.json holds.
//
// The package knows nothing of how load is generated (that is package
// harness) nor of the command line; it must never import vegeta.
package results
