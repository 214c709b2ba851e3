package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/perf-tools/perf/profiles"
	"github.com/perf-tools/perf/tuning"
)

// tuneOptions are the flags every tune subcommand shares.
type tuneOptions struct {
	Root   string
	Output string
}

// tuneCheckOptions configures perf tune check.
type tuneCheckOptions struct {
	tuneOptions
	Profile string
}

// tuneApplyOptions configures perf tune apply.
type tuneApplyOptions struct {
	tuneOptions
	Profile string
	State   string
	DryRun  bool
	// prog is the name perf runs as, for the revert hint.
	prog string
}

// tuneRevertOptions configures perf tune revert.
type tuneRevertOptions struct {
	tuneOptions
	State string
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
		return tuneWriteJSON(stdout, list)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSETTINGS\tDESCRIPTION")
	for _, e := range list {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", e.Name, e.Settings, e.Description)
	}
	return tw.Flush()
}

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
		return tuneWriteJSON(stdout, p)
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
		err = tuneWriteJSON(stdout, tuneCheckReport{Profile: p.Name, Root: opts.Root, Results: results, Drift: sum.Drift, Warnings: warnings, Summary: sum})
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
		return tuneWriteJSON(stdout, struct {
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

// tuneStateFile is --state, or the default under root.
func tuneStateFile(root, flag string) string {
	if flag != "" {
		return flag
	}
	return filepath.Join(root, tuning.DefaultStatePath)
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

// tuneWriteJSON writes v as indented JSON.
func tuneWriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // keep >= and <= readable
	return enc.Encode(v)
}
