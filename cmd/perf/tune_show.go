package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/perf-tools/perf/tuning"
)

func newTuneShowCmd(parent *tuneOptions) *cobra.Command {
	opts := &tuneCheckOptions{}
	cmd := &cobra.Command{
		Use:   "show PROFILE",
		Short: "Print a profile's settings after include",
		Long: `perf tune show prints the resolved settings of a profile: the included
profile's settings overridden key by key by the profile's own. --output yaml
prints a stand-alone profile file to start a custom one from.`,
		Example: `  perf tune show server-latency
  perf tune show ./my-profile.yaml --output yaml > resolved.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Root, opts.Profile = parent.Root, args[0]
			return runTuneShow(cmd.OutOrStdout(), opts)
		},
	}
	tuneOutputFlag(cmd, &opts.Output, "text", "json", "yaml")
	return cmd
}

func runTuneShow(stdout io.Writer, opts *tuneCheckOptions) error {
	if err := tuneCheckOutput(opts.Output, "text", "json", "yaml"); err != nil {
		return err
	}
	p, err := tuning.LoadProfile(opts.Profile)
	if err != nil {
		return tuneErr(err)
	}
	switch opts.Output {
	case "json":
		return writeJSON(stdout, p)
	case "yaml":
		flat := *p
		flat.Include = ""
		enc := yaml.NewEncoder(stdout)
		enc.SetIndent(2)
		if err := enc.Encode(&flat); err != nil {
			return err
		}
		return enc.Close()
	}
	fmt.Fprintf(stdout, "%s: %s\n", p.Name, strings.TrimSpace(p.Description))
	if p.Include != "" {
		fmt.Fprintf(stdout, "includes %s\n", p.Include)
	}
	fmt.Fprintln(stdout)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tWANTED\tSCOPE\tFROM\tWHY")
	for _, s := range p.Settings {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Key, s.Value, tuning.ScopeOf(s.Key), s.From, s.Why)
	}
	return tw.Flush()
}
