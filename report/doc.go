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
// Reporters are func(io.Writer) error, as vegeta's are: New picks one by
// format name; WriteRunHTML writes a run directory's report.html, and is
// what a results.Writer's Render option takes.
//
// The package reads runs (package results) and knows nothing of how they
// were produced (package harness) nor of the command line.
package report
