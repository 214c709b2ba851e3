package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/perf-tools/perf/tuning"
)

// tuneOptions are the flags every tune subcommand shares.
type tuneOptions struct {
	Root   string
	Output string
}

// tuneCheckOptions configures perf tune show and perf tune check.
type tuneCheckOptions struct {
	tuneOptions
	Profile string
}

func newTuneCmd() *cobra.Command {
	opts := &tuneOptions{}
	cmd := &cobra.Command{
		Use:   "tune",
		Short: "List, show, check, apply and revert host tuning profiles",
		Long: `perf tune keeps the host settings a latency budget depends on: sysctls,
the open-files limit and sysfs settings such as transparent hugepages and the
CPU frequency governor.

A profile is a built-in name (see 'perf tune list') or a path to a YAML file:

  name: my-profile
  description: What the profile is for.
  include: load-generator          # optional: start from another profile
  settings:
    - key: net.core.somaxconn      # dotted sysctl, rlimit.nofile or /sys/... path
      value: ">=4096"              # exact "0", ">=N", "<=N", "a|b", "<=1024 >=65535"
      why: what it does and where the recommendation comes from

">=N" and "<=N" never lower a value that is already better; a value with
several fields is compared field by field.

Every read and write goes under --root (default /): ROOT/proc/sys, ROOT/sys,
ROOT/etc. Keys are validated before anything is touched; a key whose path
leaves ROOT/proc/sys or ROOT/sys, through .. or a symlink, is refused.

Exit codes: 0 ok, 2 bad arguments or profile, 3 check found drift,
4 not permitted (the keys are named), 1 anything else.`,
		Example: `  perf tune list
  perf tune check load-generator
  sudo perf tune apply --dry-run server-latency
  sudo perf tune apply server-latency
  sudo perf tune revert`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.PersistentFlags().StringVar(&opts.Root, "root", "/", "`DIR` that holds proc/sys, sys and etc (a fixture tree in tests)")
	cmd.AddCommand(
		newTuneListCmd(opts),
		newTuneShowCmd(opts),
		newTuneCheckCmd(opts),
		newTuneApplyCmd(opts),
		newTuneRevertCmd(opts),
	)
	return cmd
}

// tuneOutputFlag adds --output with the formats a command supports.
func tuneOutputFlag(cmd *cobra.Command, out *string, formats ...string) {
	cmd.Flags().StringVarP(out, "output", "o", formats[0], "output `FORMAT`: "+strings.Join(formats, "|"))
}

// tuneCheckOutput rejects an --output the command does not support.
func tuneCheckOutput(out string, formats ...string) error {
	for _, f := range formats {
		if out == f {
			return nil
		}
	}
	return usageErr(fmt.Errorf("--output %q: want one of %s", out, strings.Join(formats, ", ")))
}

// tuneCheckRoot makes sure --root names a directory and makes it absolute,
// so the state file records a root that means the same from anywhere.
func tuneCheckRoot(root *string) error {
	fi, err := os.Stat(*root)
	if err != nil {
		return usageErr(fmt.Errorf("--root %s: %w", *root, err))
	}
	if !fi.IsDir() {
		return usageErr(fmt.Errorf("--root %s: not a directory", *root))
	}
	abs, err := filepath.Abs(*root)
	if err != nil {
		return fmt.Errorf("--root %s: %w", *root, err)
	}
	*root = abs
	return nil
}

// tuneErr maps tuning errors to exit codes.
func tuneErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, tuning.ErrNotPermitted):
		return withCode(exitNotPermitted, err)
	case errors.Is(err, tuning.ErrUnknownProfile), errors.Is(err, tuning.ErrInvalidProfile),
		errors.Is(err, tuning.ErrInvalidKey), errors.Is(err, tuning.ErrInvalidValue):
		return usageErr(err)
	}
	return err
}

// tuneStateFile is --state, or the default under root.
func tuneStateFile(root, flag string) string {
	if flag != "" {
		return flag
	}
	return filepath.Join(root, tuning.DefaultStatePath)
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // keep >= and <= readable
	return enc.Encode(v)
}
