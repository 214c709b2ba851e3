package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Set by the Makefile through -ldflags; build info fills them otherwise.
var (
	version = ""
	commit  = ""
)

// buildVersion returns the version and commit of this binary.
func buildVersion() (ver, rev string) {
	ver, rev = version, commit
	if info, ok := debug.ReadBuildInfo(); ok {
		if ver == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			ver = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && rev == "" {
				rev = s.Value
			}
		}
	}
	if ver == "" {
		ver = "devel"
	}
	if rev == "" {
		rev = "unknown"
	}
	return ver, rev
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print perf's version, commit and Go version",
		Long: `Print perf's version, commit and Go version.

Linux's own profiler is also called perf (perf(1), from linux-perf). This
binary is the latency-budget toolkit; 'perf version' tells them apart: ours
prints "perf (latency budget toolkit)", theirs "perf version 6.x".`,
		Example: "  perf version",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ver, rev := buildVersion()
			fmt.Fprintf(cmd.OutOrStdout(), "perf (latency budget toolkit) %s\ncommit: %s\ngo: %s %s/%s\n",
				ver, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
