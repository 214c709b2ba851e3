package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/perf-tools/perf/compare"
	"github.com/perf-tools/perf/results"
)

// compareOptions are the settings of perf compare.
type compareOptions struct {
	// base and candidate are the sides as given: each item a run
	// directory, a directory of run directories, a glob, or a
	// comma-separated list of those.
	base, candidate []string
	// control and treatment, when set, name two variants of the runs in
	// runs (perf attack --split-by): the base side is each run's control
	// variant, the candidate side its treatment variant.
	control, treatment string
	runs               []string
	gates              []string
	output             string
	junit              string
	alpha              float64
	// stepSummary is the file named by $GITHUB_STEP_SUMMARY, if any: the
	// comparison is appended to it as Markdown.
	stepSummary string

	stdout, stderr io.Writer
	// command names this command in messages: "perf compare", or the
	// name perf was installed under.
	command string
}

func newCompareCmd() *cobra.Command { return compareCmd(runCompare) }

// compareCmd builds the command around runF, so tests can check flag
// parsing without running a comparison.
func compareCmd(runF func(context.Context, *compareOptions) error) *cobra.Command {
	opts := &compareOptions{}
	cmd := &cobra.Command{
		Use:   "compare BASE CANDIDATE | compare --control A --treatment B RUN...",
		Short: "Compare a candidate's runs with a baseline's and gate on regressions",
		Long: `perf compare compares the runs of a candidate with those of a baseline, metric
by metric (corrected latency p50, p90, p95, p99, p99.9, max and mean; errors;
error rate; achieved rate), and checks regression gates for CI.

Each side is a run directory, a directory of run directories (every
subdirectory holding a run.json: a kept baseline artifact, say), a glob, or a
comma-separated list of those. --base and --candidate (repeatable) may be used
instead of the two arguments.

When a side holds a single run, the medians are compared directly. With two
runs or more a side, each metric's change is tested with the two-sided
Mann-Whitney U test on the per-run values, as benchstat does, at --alpha
(0.05): "~" marks a change that is not significant, and a delta gate fails
only on a significant change. At alpha 0.05 at least 4 runs a side are needed:
with 3+3 the smallest possible p is 0.1, so no change can be significant. With
4+4 a change is significant only when every candidate run is beyond every base
run (p 0.029; one pair out of order gives 0.057). Use 5 or more runs a side:
with 5+5 a change still shows when two of the 25 base-candidate pairs are out
of order (p 0.032).

Variants: --control A --treatment B RUN... compares two variants of the same
runs (perf attack --split-by), as two runs are compared: the base side is
variant A of each run, the candidate side variant B of each run, with the
same metrics, gates and significance test over repeated runs. A variant's
errors are its error statuses and its rate its responses per second; a run
without either variant is an error naming it.

Gates (--gate, repeatable). A signed limit bounds the change from the base; an
unsigned one bounds the value of every candidate run:
  p99<=+10%      candidate p99 at most 10% above the base's (p50..p999, max, mean)
  p999<=+5ms     candidate p99.9 at most 5ms above the base's
  p99<=25ms      candidate p99 at most 25ms in every candidate run
  errors<=0      no failed request in any candidate run (errors<=0.1%: a share)
  errors<=+10    at most 10 more failed requests than the base
  rate>=-1%      achieved rate at most 1% below the base's (rate>=1000: absolute)

Output: --output text|json|markdown on stdout; when $GITHUB_STEP_SUMMARY names a
file, the Markdown is appended to it as well; --junit FILE writes one test case
a gate (and one "valid runs" case) for CI test reports.

Exit codes: 0 every gate passed, 3 a gate failed, 5 a run of either side is
invalid (its generator could not keep the plan: its numbers cannot be
trusted, whatever the gates say), 2 a malformed gate or flag or a pattern
that matches nothing (or a --control or --treatment variant a run lacks), 1 a
run that cannot be read.`,
		Example: `  # one run a side
  perf compare perf-results/base perf-results/candidate --gate 'p99<=+10%'

  # repeated runs: a directory of baseline runs against five fresh ones
  perf compare baseline/ 'perf-results/*-pr' --gate 'p99<=+10%' --gate 'p999<=+5ms' \
      --gate 'errors<=0' --gate 'rate>=-1%' --junit perf-junit.xml

  # an A/B experiment over five repeated runs: treatment against control
  perf compare --control full --treatment compact 'perf-results/*-ab' --gate 'p99<=+10%'

  # the same, with the sides as flags
  perf compare --base runs/b1 --base runs/b2 --candidate runs/c1 --candidate runs/c2 --output markdown`,
		Args: func(cmd *cobra.Command, args []string) error {
			flagged := len(opts.base) > 0 || len(opts.candidate) > 0
			variants := opts.control != "" || opts.treatment != ""
			switch {
			case variants && (opts.control == "" || opts.treatment == ""):
				return errors.New("--control and --treatment are both needed")
			case variants && opts.control == opts.treatment:
				return fmt.Errorf("--control and --treatment are both %q: expected two variants", opts.control)
			case variants && flagged:
				return errors.New("--control and --treatment compare variants of the runs given as arguments: drop --base and --candidate")
			case variants && len(args) == 0:
				return errors.New("--control and --treatment need the runs as arguments (RUN...)")
			case variants:
				return nil
			case flagged && len(args) > 0:
				return errors.New("give the sides either as BASE CANDIDATE arguments or with --base and --candidate, not both")
			case flagged && (len(opts.base) == 0 || len(opts.candidate) == 0):
				return errors.New("--base and --candidate are both needed")
			case !flagged && len(args) != 2:
				return fmt.Errorf("accepts 2 arguments, BASE and CANDIDATE, received %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case opts.control != "":
				opts.runs = args
			case len(args) == 2:
				opts.base, opts.candidate = []string{args[0]}, []string{args[1]}
			}
			switch opts.output {
			case "text", "json", "markdown":
			default:
				return usageErr(fmt.Errorf("--output %q: expected text, json or markdown", opts.output))
			}
			if opts.alpha <= 0 || opts.alpha >= 1 {
				return usageErr(fmt.Errorf("--alpha %v: expected a significance level between 0 and 1, such as 0.05", opts.alpha))
			}
			opts.stepSummary = os.Getenv("GITHUB_STEP_SUMMARY")
			opts.stdout, opts.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			opts.command = cmd.CommandPath()
			return runF(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&opts.base, "base", nil, "a baseline run directory, directory of runs, glob or comma-separated list (repeatable)")
	f.StringArrayVar(&opts.candidate, "candidate", nil, "a candidate run directory, directory of runs, glob or comma-separated list (repeatable)")
	f.StringVar(&opts.control, "control", "", "compare two variants of RUN...: the base side's variant (see --treatment)")
	f.StringVar(&opts.treatment, "treatment", "", "compare two variants of RUN...: the candidate side's variant (see --control)")
	f.StringArrayVar(&opts.gates, "gate", nil, "a regression gate such as 'p99<=+10%' (repeatable)")
	f.StringVarP(&opts.output, "output", "o", "text", "output format: text, json or markdown")
	f.StringVar(&opts.junit, "junit", "", "write a JUnit XML report (one test case a gate) to this file")
	f.Float64Var(&opts.alpha, "alpha", compare.DefaultAlpha, "significance level of the Mann-Whitney U test")
	return cmd
}

// runCompare reads both sides, compares them, writes the reports and maps
// the outcome to an exit code.
func runCompare(ctx context.Context, opts *compareOptions) error {
	gates, err := results.ParseBounds(opts.gates)
	if err != nil {
		return usageErr(err)
	}
	var (
		baseDirs, candDirs []string
		baseRuns, candRuns []*results.Run
	)
	if opts.control != "" {
		baseDirs, baseRuns, candDirs, candRuns, err = readVariantSides(opts.runs, opts.control, opts.treatment)
		if err != nil {
			return err
		}
	} else {
		if baseDirs, baseRuns, err = readCompareSide(opts.base); err != nil {
			return fmt.Errorf("base: %w", err)
		}
		if candDirs, candRuns, err = readCompareSide(opts.candidate); err != nil {
			return fmt.Errorf("candidate: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := compare.Runs(baseRuns, candRuns, gates, compare.Options{
		Alpha:           opts.alpha,
		BaseLabels:      baseDirs,
		CandidateLabels: candDirs,
	})
	if err != nil {
		return err
	}

	switch opts.output {
	case "json":
		err = c.WriteJSON(opts.stdout)
	case "markdown":
		err = c.WriteMarkdown(opts.stdout)
	default:
		err = c.WriteText(opts.stdout)
	}
	if err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	if opts.junit != "" {
		if err := writeCompareFile(opts.junit, false, c.WriteJUnit); err != nil {
			return err
		}
	}
	if opts.stepSummary != "" {
		if err := writeCompareFile(opts.stepSummary, true, c.WriteMarkdown); err != nil {
			return fmt.Errorf("$GITHUB_STEP_SUMMARY: %w", err)
		}
	}

	if !c.Valid {
		fmt.Fprintf(opts.stderr, "%s: invalid runs, the comparison cannot pass: %s\n", opts.command, strings.Join(c.InvalidReasons, "; "))
		return silent(exitInvalid, errors.New("invalid runs"))
	}
	if failed := c.Failed(); len(failed) > 0 {
		names := make([]string, len(failed))
		for i, g := range failed {
			names[i] = g.Gate
		}
		fmt.Fprintf(opts.stderr, "%s: %d of %d gates failed: %s\n", opts.command, len(failed), len(c.Gates), strings.Join(names, ", "))
		return silent(exitGate, errors.New("gates failed"))
	}
	return nil
}

// readCompareSide expands the arguments of one side to run directories and reads
// their run.json.
func readCompareSide(args []string) ([]string, []*results.Run, error) {
	var dirs []string
	for _, a := range args {
		d, err := results.FindRunDirs(a)
		if err != nil {
			return nil, nil, patternErr(err)
		}
		dirs = append(dirs, d...)
	}
	runs := make([]*results.Run, 0, len(dirs))
	for _, d := range dirs {
		r, err := results.ReadRun(d)
		if err != nil {
			return nil, nil, err
		}
		runs = append(runs, r)
	}
	return dirs, runs, nil
}

// readVariantSides reads the runs of args and returns their control
// variants as the base side and their treatment variants as the candidate
// side, each labelled "DIR [VARIANT]".
func readVariantSides(args []string, control, treatment string) (baseDirs []string, base []*results.Run, candDirs []string, cand []*results.Run, err error) {
	dirs, runs, err := readCompareSide(args)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	// A variant the runs lack is a mistaken flag: a usage error.
	label := func(v string) []string {
		out := make([]string, len(dirs))
		for i, d := range dirs {
			out[i] = d + " [" + v + "]"
		}
		return out
	}
	if base, err = results.VariantRuns(runs, dirs, control); err != nil {
		return nil, nil, nil, nil, usageErr(fmt.Errorf("--control: %w", err))
	}
	if cand, err = results.VariantRuns(runs, dirs, treatment); err != nil {
		return nil, nil, nil, nil, usageErr(fmt.Errorf("--treatment: %w", err))
	}
	return label(control), base, label(treatment), cand, nil
}

// writeCompareFile writes a report to path, appending when appendTo is set.
func writeCompareFile(path string, appendTo bool, write func(io.Writer) error) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if appendTo {
		flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
