package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/perf-tools/perf/report"
	"github.com/perf-tools/perf/results"
)

// reportFormats are the values of perf report --output; a new format is a
// name here and a case in runReport.
var reportFormats = []string{report.FormatText, report.FormatJSON, report.FormatMarkdown, report.FormatHTML}

// reportOptions are the settings of one perf report.
type reportOptions struct {
	dirs   []string
	output string
	stdout io.Writer
}

func newReportCmd() *cobra.Command {
	o := &reportOptions{}
	cmd := &cobra.Command{
		Use:   "report DIR...",
		Short: "Print run directories as text, JSON, Markdown or HTML",
		Long: `Print one or more run directories written by perf attack. Several runs are
printed side by side, one column a run.

The text report (the default) is a compact summary as wrk2 prints it: the
run's target, planned and achieved rate, duration, requests, errors by status
code and kind, send lag and generator CPU; the percentiles of corrected
latency (timed from the intended send time, coordinated-omission safe) and
service latency (from the actual send) side by side; and the run's validity
and SLO verdicts. Latencies are in milliseconds.

--output json prints run.json exactly for one run and a JSON array of them
for several; --output markdown prints GitHub tables for pull requests and
wikis; --output html writes a self-contained page with plots (percentile
spectrum, latency, rate, errors and generator CPU over time; several runs
overlaid), the report.html of a run directory.

A search directory of perf attack search, given alone, prints as the
search: its steps, its answer, and with --output html its knee plot.

perf report only reads: it never re-evaluates SLOs nor changes the exit code
for a failed run (perf attack and perf compare gate). A directory that is not
a run directory, or whose run.json is unreadable or of another schema, is an
error (exit 1); a bad --output, or a glob that matches nothing (the shell
then passes it on as it is), is a usage error (exit 2).`,
		Example: `  # the latest run
  perf report perf-results/$(ls perf-results | tail -1)

  # every run, side by side
  perf report perf-results/*

  # a pull-request comment
  perf report --output markdown perf-results/20261127T123456Z-baseline perf-results/20261127T130102Z-candidate

  # one figure for a script
  perf report --output json perf-results/20261127T123456Z-smoke | jq .latency.corrected.p99_ms`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(reportFormats, o.output) {
				return usageErr(fmt.Errorf("--output %q: expected %s", o.output, strings.Join(reportFormats, ", ")))
			}
			dirs, err := expandRunArgs(args)
			if err != nil {
				return err
			}
			o.dirs = dirs
			o.stdout = cmd.OutOrStdout()
			return runReport(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", report.FormatText,
		"report `FORMAT`: "+strings.Join(reportFormats, ", "))
	cmd.AddCommand(newReportMergeCmd())
	return cmd
}

// runReport reads the run directories and prints them; a search directory
// of perf attack search, alone, prints as the search.
func runReport(_ context.Context, o *reportOptions) error {
	if len(o.dirs) == 1 {
		if _, err := os.Stat(filepath.Join(o.dirs[0], results.SearchFile)); err == nil {
			return reportSearch(o)
		}
	}
	runs := make([]*results.Run, 0, len(o.dirs))
	for _, dir := range o.dirs {
		r, err := results.ReadRun(dir)
		if err != nil {
			return err
		}
		runs = append(runs, r)
	}
	var rep report.Reporter
	switch o.output {
	case report.FormatText:
		rep = report.Text(runs...)
	case report.FormatJSON:
		rep = report.JSON(runs...)
	case report.FormatMarkdown:
		rep = report.Markdown(runs...)
	case report.FormatHTML:
		dirs := make([]*results.RunDir, 0, len(o.dirs))
		for _, dir := range o.dirs {
			d, err := results.LoadRunDir(dir)
			if err != nil {
				return err
			}
			dirs = append(dirs, d)
		}
		rep = report.HTML(dirs...)
	default:
		return usageErr(fmt.Errorf("--output %q: expected %s", o.output, strings.Join(reportFormats, ", ")))
	}
	if err := rep(o.stdout); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// reportSearch prints the search directory o.dirs[0] in o.output's format:
// --output json prints its search.json as it is.
func reportSearch(o *reportOptions) error {
	dir := o.dirs[0]
	s, err := results.LoadSearch(dir)
	if err != nil {
		return err
	}
	switch o.output {
	case report.FormatJSON:
		b, err := os.ReadFile(filepath.Join(dir, results.SearchFile))
		if err == nil {
			_, err = o.stdout.Write(b)
		}
		return err
	case report.FormatMarkdown:
		return report.SearchMarkdown(o.stdout, s)
	case report.FormatHTML:
		return report.SearchHTML(o.stdout, s)
	}
	return report.SearchText(o.stdout, s)
}

// expandRunArgs returns the run directories that args name, expanding the
// globs a shell passed on unmatched (see results.ExpandPattern); a pattern
// that matches nothing is a usage error.
func expandRunArgs(args []string) ([]string, error) {
	var dirs []string
	for _, a := range args {
		m, err := results.ExpandPattern(a)
		if err != nil {
			return nil, patternErr(err)
		}
		dirs = append(dirs, m...)
	}
	return dirs, nil
}

// patternErr makes a malformed or unmatched run directory pattern a usage
// error, and leaves other errors as they are.
func patternErr(err error) error {
	if errors.Is(err, results.ErrNoMatch) || errors.Is(err, filepath.ErrBadPattern) {
		return usageErr(err)
	}
	return err
}
