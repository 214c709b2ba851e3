// Package results is perf's model of a load test's run and the files of
// its run directory.
//
// # The model
//
// Run is the summary of one run: the content of run.json, versioned by
// Schema. A Tally is what a run measured in its measured window; Tally.Fill
// is the one place a tally becomes a Run's numbers. Metrics is the one
// table of the numbers read from a run (name, unit, which way is better,
// how to read it); Bound is the one grammar of limits on them: an SLO is an
// absolute bound (ParseSLO, Bound.Evaluate), a regression gate may also be
// relative to a base run (ParseBound; package compare checks those).
// ValuesAtPercentiles is the one percentile rule, the reference Java
// HdrHistogram's, used for run.json, the timeline, the live progress and
// the plots (it lives in package internal/percentile, so that package
// service uses it too). Headline says a run's verdict in words.
//
// A run may be split by a response header into variants (Variant,
// Tally.Variants): each variant's responses have their own corrected and
// service histograms and summary, and an SLO may bound one variant
// (p99[compact]<=10ms, in the same grammar). A Segment is the same summary
// for one segment of a rate schedule.
//
// # The run directory
//
// A Writer writes one run directory as the run goes: it is the sink of
// the run's intervals and, on Close, writes every other file. NewRunDir
// names it parent/<UTC start>-<name>/ (20261127T123456Z-smoke), never
// reusing an existing directory. In it:
//
//   - run.json (RunFile): the Run, written atomically by WriteRun and read
//     back by ReadRun, which refuses other schemas by name.
//   - latency.hlog (HlogFile): written by HlogWriter, one interval a second,
//     three lines each tagged corrected, service and lag (two more a
//     variant of a split run, tagged corrected@NAME and service@NAME with
//     NAME escaped by EscapeTag); HdrHistogram's
//     log format 1.3 with V2 compressed histograms of nanoseconds, which the
//     reference Java and C tools read. Warm-up intervals are logged too; a
//     comment "#[perf warmup_end: SECONDS]" records where the warm-up ends,
//     so ReadHlog marks them and Hlog.Total leaves them out (with the Java
//     HistogramLogProcessor, pass -start SECONDS).
//   - timeline.csv (TimelineFile): one row an interval, counts (intended,
//     unsent, failures, errors) and percentiles, written by TimelineWriter
//     and read by ReadTimeline; rates are derived from the counts.
//   - host.json (HostFile): the host samples of the generator (and of the
//     target, when polled), HostSamples.
//   - pprof/ and report.html: profiles (package harness/capture) and the
//     page a Writer's Render option draws (package report).
//
// LoadRunDir reads a whole run directory back; FindRunDirs and
// ExpandPattern find run directories from the command line's arguments;
// Merge adds the run directories of generators that attacked together
// into one, losslessly, through a Writer.
//
// All latencies are recorded in nanoseconds and reported in milliseconds.
//
// The package knows nothing of how load is generated (package harness),
// how runs are reported or compared (packages report and compare), nor of
// the command line; it must never import vegeta.
package results
