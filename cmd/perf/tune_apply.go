package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/perf-tools/perf/tuning"
)

// tuneApplyOptions configures perf tune apply.
type tuneApplyOptions struct {
	tuneOptions
	Profile string
	State   string
	DryRun  bool
	// prog is the name perf runs as, for the revert hint.
	prog string
}

func newTuneApplyCmd(parent *tuneOptions) *cobra.Command {
	opts := &tuneApplyOptions{}
	cmd := &cobra.Command{
		Use:   "apply PROFILE",
		Short: "Change the host to match a profile, saving what was there",
		Long: `perf tune apply writes every drifting sysctl and sysfs setting of a profile.

Before it writes anything it checks that every file is writable (exit 4 names
each key it may not write) and saves the current value of every key it will
change to the state file (written to a temporary file, synced, renamed). If a
write fails, the keys already written are restored: the host is never left
half-tuned. Applying again changes nothing. Applying a second profile before
reverting adds its keys to the same state file; a key saved earlier keeps its
original value, so one revert returns the host to where it started.

The open-files limit (rlimit.nofile) belongs to processes, not the host: apply
says what to put in the systemd unit (LimitNOFILE=) or limits.conf.

--dry-run prints the plan, current -> wanted, and changes nothing.`,
		Example: `  perf tune apply --dry-run load-generator
  sudo perf tune apply load-generator
  perf tune apply --root ./fixture --state /tmp/state.json my-profile.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Root, opts.Profile = parent.Root, args[0]
			opts.prog = cmd.Root().Name()
			return runTuneApply(cmd.OutOrStdout(), cmd.ErrOrStderr(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "print the plan and change nothing")
	cmd.Flags().StringVar(&opts.State, "state", "", "state `FILE` (default ROOT/"+tuning.DefaultStatePath+")")
	tuneOutputFlag(cmd, &opts.Output, "text", "json")
	return cmd
}

func runTuneApply(stdout, stderr io.Writer, opts *tuneApplyOptions) error {
	if err := tuneCheckOutput(opts.Output, "text", "json"); err != nil {
		return err
	}
	if err := tuneCheckRoot(&opts.Root); err != nil {
		return err
	}
	state := tuneStateFile(opts.Root, opts.State)
	p, err := tuning.LoadProfile(opts.Profile)
	if err != nil {
		return tuneErr(err)
	}
	plan, err := tuning.NewPlan(opts.Root, p)
	if err != nil {
		return tuneErr(err)
	}
	results, err := tuning.Check(opts.Root, p)
	if err != nil {
		return tuneErr(err)
	}
	for _, w := range tuning.Warnings(opts.Root, p, results) {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	for _, k := range plan.Skipped {
		fmt.Fprintf(stderr, "skip %s: not on this host\n", k)
	}
	for _, a := range plan.Advice {
		fmt.Fprintf(stderr, "note: %s\n", a)
	}
	if !opts.DryRun {
		if err := plan.Apply(state); err != nil {
			return tuneErr(fmt.Errorf("apply %s: %w", p.Name, err))
		}
	}
	if opts.Output == "json" {
		return writeJSON(stdout, struct {
			*tuning.Plan
			DryRun bool   `json:"dry_run"`
			State  string `json:"state"`
		}{plan, opts.DryRun, state})
	}
	verb := "changed"
	if opts.DryRun {
		verb = "would change"
	}
	if len(plan.Changes) == 0 {
		fmt.Fprintf(stdout, "%s: nothing to change\n", p.Name)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, c := range plan.Changes {
		fmt.Fprintf(tw, "%s\t%s\t%s -> %s\t(%s)\n", verb, c.Key, c.Current, c.Target, c.Scope)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !opts.DryRun {
		fmt.Fprintf(stderr, "saved the previous values in %s; undo with: %s tune revert%s\n", state, opts.prog, tuneRevertHint(opts))
	}
	return nil
}

// tuneRevertHint repeats the flags revert needs to find the state file.
func tuneRevertHint(opts *tuneApplyOptions) string {
	var s string
	if opts.Root != "/" {
		s += " --root " + opts.Root
	}
	if opts.State != "" {
		s += " --state " + opts.State
	}
	return s
}
