// Package report turns runs into what people and scripts read: a text
// summary as wrk2 prints one, JSON (exactly run.json), GitHub Markdown, and
// a self-contained HTML page with the plots (percentile spectrum, latency,
// send lag, rate, errors and CPU over time) drawn from a whole run
// directory.
//
// Every report opens with the run's verdict in words (results.Headline)
// and reads its numbers through the one metric table (results.Metrics) and
// the one percentile rule (results.ValuesAtPercentiles), so the plotted p99
// is the table's p99.
//
// A run whose rate was a schedule has a summary a segment (run.json's
// segments): the text and Markdown reports add a Segments table, a row a
// segment; the HTML page adds a Segments section (the table, and latency
// by segment against the segments' planned rates, a knee when they are
// steps) and marks where each segment starts on the plots over time. A run
// without segments is reported as it always was.
//
// A run split by a response header (run.json's variants, perf attack
// --split-by) adds a Variants table to the text and Markdown reports, a row
// a variant with its corrected percentiles side by side, and a Variants
// section to the HTML page: the table, and every variant's corrected
// percentile spectrum on one plot, read from the variants' tags in
// latency.hlog.
//
// A search (perf attack search: search.json beside a run directory a
// step; results.LoadSearch) has reports of its own: SearchText and
// SearchMarkdown (the outcome first, the answer, a row a step), and
// WriteSearchHTML, the search directory's report.html, with the knee
// (latency against the offered rate, the SLO bounds and the answer drawn),
// the achieved against the offered rate, and each step linked to its run's
// page. Both HTML pages share one style sheet and one plot template.
//
// Reporters are func(io.Writer) error, as vegeta's are: New picks one by
// format name; WriteRunHTML writes a run directory's report.html, and is
// what a results.Writer's Render option takes.
//
// The package reads runs and searches (package results) and knows nothing
// of how they were produced (package harness) nor of the command line.
package report
