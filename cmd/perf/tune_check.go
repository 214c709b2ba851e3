package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/perf-tools/perf/tuning"
)

func newTuneCheckCmd(parent *tuneOptions) *cobra.Command {
	opts := &tuneCheckOptions{}
	cmd := &cobra.Command{
		Use:   "check PROFILE",
		Short: "Compare this host with a profile, key by key",
		Long: `perf tune check reads every setting of a profile and prints key, current
value, wanted value, status and scope:

  ok       the current value satisfies the profile
  drift    it does not (perf tune apply would change it)
  missing  this kernel has no such sysctl (a typo, or a module not loaded)
  n/a      a sysfs setting this host does not have (cpufreq in a VM)

Scope is global (the whole kernel), netns (this network namespace) or
process (this process and its children). It changes nothing.

Warnings on stderr name what would undo or fight the profile: a running
TuneD, /etc/sysctl.conf or sysctl.d entries setting a key differently, and
global keys seen from inside a container or another network namespace.

Exit 0 when nothing drifts, 3 when something does.`,
		Example: `  perf tune check load-generator
  perf tune check server-latency --output json | jq '.results[] | select(.status=="drift")'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Root, opts.Profile = parent.Root, args[0]
			return runTuneCheck(cmd.OutOrStdout(), cmd.ErrOrStderr(), opts)
		},
	}
	tuneOutputFlag(cmd, &opts.Output, "text", "json")
	return cmd
}

// tuneCheckReport is perf tune check --output json.
type tuneCheckReport struct {
	Profile  string           `json:"profile"`
	Root     string           `json:"root"`
	Results  []tuning.Result  `json:"results"`
	Drift    []string         `json:"drift"`
	Warnings []tuning.Warning `json:"warnings"`
	Summary  tuning.Summary   `json:"summary"`
}

func runTuneCheck(stdout, stderr io.Writer, opts *tuneCheckOptions) error {
	if err := tuneCheckOutput(opts.Output, "text", "json"); err != nil {
		return err
	}
	if err := tuneCheckRoot(&opts.Root); err != nil {
		return err
	}
	p, err := tuning.LoadProfile(opts.Profile)
	if err != nil {
		return tuneErr(err)
	}
	results, err := tuning.Check(opts.Root, p)
	if err != nil {
		return tuneErr(err)
	}
	warnings := tuning.Warnings(opts.Root, p, results)
	sum := tuning.Summarize(p.Name, results)
	for _, w := range warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	for _, r := range results {
		if r.Status == tuning.StatusMissing {
			fmt.Fprintf(stderr, "warning: %s: not present on this kernel (a typo, an old kernel, or a module not loaded)\n", r.Key)
		}
	}
	if opts.Output == "json" {
		if warnings == nil {
			warnings = []tuning.Warning{}
		}
		err = writeJSON(stdout, tuneCheckReport{Profile: p.Name, Root: opts.Root, Results: results, Drift: sum.Drift, Warnings: warnings, Summary: sum})
	} else {
		err = tuneCheckTable(stdout, results)
	}
	if err != nil {
		return err
	}
	if n := len(sum.Drift); n > 0 {
		fmt.Fprintf(stderr, "%s: %d of %d settings drift: %s\n", p.Name, n, len(results), strings.Join(sum.Drift, ", "))
		return silent(exitGate, fmt.Errorf("%d settings drift", n))
	}
	return nil
}

func tuneCheckTable(w io.Writer, results []tuning.Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tCURRENT\tWANTED\tSTATUS\tSCOPE\tWHY")
	for _, r := range results {
		cur := r.Current
		if cur == "" {
			cur = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Key, cur, r.Wanted, r.Status, r.Scope, r.Why)
	}
	return tw.Flush()
}
