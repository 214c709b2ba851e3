package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/perf-tools/perf/profiles"
	"github.com/perf-tools/perf/tuning"
)

func newTuneListCmd(parent *tuneOptions) *cobra.Command {
	opts := &tuneOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the built-in profiles",
		Long:  "perf tune list prints the built-in profiles with their descriptions.",
		Example: `  perf tune list
  perf tune list --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Root = parent.Root
			return runTuneList(cmd.OutOrStdout(), opts)
		},
	}
	tuneOutputFlag(cmd, &opts.Output, "text", "json")
	return cmd
}

func runTuneList(stdout io.Writer, opts *tuneOptions) error {
	if err := tuneCheckOutput(opts.Output, "text", "json"); err != nil {
		return err
	}
	type entry struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		Include     string `json:"include,omitempty"`
		Settings    int    `json:"settings"`
	}
	var list []entry
	for _, name := range profiles.Names() {
		p, err := tuning.LoadProfile(name)
		if err != nil {
			return fmt.Errorf("built-in profile %s: %w", name, err)
		}
		list = append(list, entry{p.Name, strings.TrimSpace(p.Description), p.Include, len(p.Settings)})
	}
	if opts.Output == "json" {
		return writeJSON(stdout, list)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSETTINGS\tDESCRIPTION")
	for _, e := range list {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", e.Name, e.Settings, e.Description)
	}
	return tw.Flush()
}
