package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/perf-tools/perf/tuning"
)

// tuneRevertOptions configures perf tune revert.
type tuneRevertOptions struct {
	tuneOptions
	State string
}

func newTuneRevertCmd(parent *tuneOptions) *cobra.Command {
	opts := &tuneRevertOptions{}
	cmd := &cobra.Command{
		Use:   "revert",
		Short: "Restore the values saved by perf tune apply",
		Long: `perf tune revert writes back every value the state file saved and then
removes the state file, and the state directory when apply created it and
nothing else is in it. What is written back is the value apply read: a
sysctl's text as it was; for a sysfs choice list such as
transparent_hugepage/enabled ("always [madvise] never") the chosen word,
madvise, which the kernel shows again as the list (such a file takes one
choice, not its list). With no state file there is nothing to revert and it
succeeds. If a key cannot be restored the others still are, and the state
file is kept so revert can be run again.`,
		Example: `  sudo perf tune revert
  perf tune revert --root ./fixture --state /tmp/state.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Root = parent.Root
			return runTuneRevert(cmd.OutOrStdout(), cmd.ErrOrStderr(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.State, "state", "", "state `FILE` (default ROOT/"+tuning.DefaultStatePath+")")
	return cmd
}

func runTuneRevert(stdout, stderr io.Writer, opts *tuneRevertOptions) error {
	if err := tuneCheckRoot(&opts.Root); err != nil {
		return err
	}
	state := tuneStateFile(opts.Root, opts.State)
	restored, err := tuning.Revert(opts.Root, state)
	if errors.Is(err, tuning.ErrNoState) {
		fmt.Fprintf(stderr, "nothing to revert: no state file at %s\n", state)
		return nil
	}
	for _, k := range restored {
		fmt.Fprintf(stdout, "restored\t%s\n", k)
	}
	if err != nil {
		return tuneErr(err)
	}
	fmt.Fprintf(stderr, "removed %s\n", state)
	return nil
}
