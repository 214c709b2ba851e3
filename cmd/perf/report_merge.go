package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/perf-tools/perf/report"
	"github.com/perf-tools/perf/results"
)

// reportMergeOptions are the settings of one perf report merge.
type reportMergeOptions struct {
	dirs   []string
	out    string
	stdout io.Writer
	stderr io.Writer
	// prog prefixes messages: perf, or the name perf was installed under.
	prog string
}

func newReportMergeCmd() *cobra.Command {
	o := &reportMergeOptions{}
	cmd := &cobra.Command{
		Use:   "merge DIR... --out DIR",
		Short: "Merge the runs of several load generators into one run directory",
		Long: `Merge the run directories of load generators that attacked together
(perf attack --shard i/n on n machines, say) into one new run directory. A
sharded run is named shard-i unless --name is given, so its directory is
<UTC start>-shard-i.

The latency histograms are added second by second of wall-clock time (each
interval's start rounded to the nearest second), so the merged percentiles
are those of all the samples together, without approximation. Requests,
errors, status codes and error kinds are summed, and so are the planned and
achieved rates. The merged run is valid only when every part is; each part's
invalid reasons and warnings are kept with its directory. SLOs are evaluated
again on the merged summary. host.json keeps each generator's samples under
its directory name, and pprof/NAME/ its profiles. report.html is drawn for
the merged run.

The result is an ordinary run directory: perf report, perf compare and the
HTML report read it like any other, and it can be merged again.

A glob that matches nothing (the shell then passes it on as it is) is a
usage error naming the pattern; a quoted glob is expanded here. --out must be
a new or an empty directory. The merged directory's path is printed on
stdout.`,
		Example: `  # four generators (perf attack --shard i/4 on each), each with one quarter of
  # the rate plan, their run directories copied to gen-0 .. gen-3
  perf report merge gen-*/perf-results/*-shard-* --out perf-results/merged
  perf report perf-results/merged`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			dirs, err := expandRunArgs(args)
			if err != nil {
				return err
			}
			o.dirs = dirs
			o.stdout = cmd.OutOrStdout()
			o.stderr = cmd.ErrOrStderr()
			o.prog = cmd.Root().Name()
			if err := o.check(); err != nil {
				return usageErr(err)
			}
			return runReportMerge(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.out, "out", "", "write the merged run to `DIR` (new or empty)")
	return cmd
}

// check validates the arguments before anything is read.
func (o *reportMergeOptions) check() error {
	if len(o.dirs) < 2 {
		return fmt.Errorf("got %d run directories, expected at least 2 to merge", len(o.dirs))
	}
	if o.out == "" {
		return errors.New("--out DIR is required: the new run directory to write")
	}
	fi, err := os.Stat(o.out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("--out %s: %w", o.out, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("--out %s: not a directory; expected a new or empty directory", o.out)
	}
	ents, err := os.ReadDir(o.out)
	if err != nil {
		return fmt.Errorf("--out %s: %w", o.out, err)
	}
	if len(ents) > 0 {
		return fmt.Errorf("--out %s: directory not empty; expected a new or empty directory", o.out)
	}
	return nil
}

// runReportMerge merges the runs and prints the merged directory.
func runReportMerge(_ context.Context, o *reportMergeOptions) error {
	// Every run directory has its HTML report; the merged data stands
	// without it, so a failure to draw it is only a warning.
	err := results.Merge(o.dirs, o.out, results.WriterOptions{Render: report.WriteRunHTML})
	if errors.Is(err, results.ErrRender) {
		fmt.Fprintf(o.stderr, "%s: warning: %v\n", o.prog, err)
	} else if err != nil {
		return err
	}
	run, err := results.ReadRun(o.out)
	if err != nil {
		return err
	}
	valid := "valid"
	if !run.Valid {
		valid = "INVALID"
	}
	fmt.Fprintf(o.stderr, "%s: merged %d runs: %d requests, %d errors, p99 %.3f ms, %s\n",
		o.prog, len(o.dirs), run.Requests, run.Errors, run.Latency.Corrected.P99, valid)
	fmt.Fprintln(o.stdout, o.out)
	return nil
}
