package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func main() { os.Exit(Main()) }

// Main runs perf with the process's arguments and streams and returns the
// exit code. It is the whole program apart from os.Exit, so tests run it
// in-process.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runAs(ctx, programName(os.Args[0]), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}

// defaultName is the program's name in help when it is run in-process.
const defaultName = "perf"

// programName is the name the binary was invoked as (perf, or perf-budget
// where Linux's perf(1) holds the name), which help and hints show so that
// what they tell users to run works.
func programName(arg0 string) string {
	name := strings.TrimSuffix(filepath.Base(arg0), ".exe")
	if name == "" || name == "." || name == string(filepath.Separator) {
		return defaultName
	}
	return name
}

// run is runAs with the name perf.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runAs(ctx, defaultName, args, stdin, stdout, stderr)
}

// runAs builds the command tree with name as its root, executes it and maps
// the error to an exit code. It is the one place where errors become exit
// codes.
func runAs(ctx context.Context, name string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
	renameRoot(root, name)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code := exitCode(err)
	var quiet *silentError
	if !errors.As(err, &quiet) {
		fmt.Fprintf(stderr, "%s: %v\n", root.Name(), err)
		if code == exitUsage {
			fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", commandPath(root, args))
		}
	}
	return code
}

// commandPath names the command the arguments selected, for the usage hint.
func commandPath(root *cobra.Command, args []string) string {
	cmd, _, err := root.Find(args)
	if err != nil || cmd == nil {
		return root.CommandPath()
	}
	return cmd.CommandPath()
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "perf",
		Short: "Prove and keep a latency budget: serve, attack, report, tune",
		Long: `perf proves and keeps a latency budget such as "non-cached HTTP reads,
p99 <= 25 ms at 50,000 requests/s".

  perf serve    the read service under test (embedded store, metrics, pprof)
  perf attack   open-model load, every latency in HdrHistograms, SLO gates
  perf report   print run directories as text, JSON, Markdown or HTML
  perf compare  baseline vs candidate regression gates for CI
  perf tune     list, check, apply and revert host tuning profiles

Exit codes: 0 ok, 1 runtime error, 2 usage error, 3 an SLO or regression gate
failed (or most of an attack's requests failed), 4 tune: not permitted or not
supported here, 5 run invalid (the
generator could not keep the plan: saturated CPU, send lag, rate not
achieved, plan not sent) or interrupted.

This is not Linux's perf(1) profiler; see 'perf version'.`,
		Example: `  perf serve --seed 100000
  perf attack --url 'http://127.0.0.1:8080/v1/items/{key}' --keys uniform:100000 --rate 1000 --duration 10s
  perf report perf-results/*`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr(err) })
	root.AddCommand(
		newVersionCmd(),
		newServeCmd(),
		newAttackCmd(),
		newReportCmd(),
		newCompareCmd(),
		newTuneCmd(),
	)
	for _, c := range root.Commands() {
		propagateFlagErrors(c)
	}
	return root
}

// propagateFlagErrors makes every subcommand report bad flags as usage
// errors (exit 2), as the root does.
func propagateFlagErrors(c *cobra.Command) {
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr(err) })
	if c.Args == nil {
		c.Args = cobra.NoArgs
	}
	args := c.Args
	c.Args = func(cmd *cobra.Command, a []string) error {
		if err := args(cmd, a); err != nil {
			return usageErr(err)
		}
		return nil
	}
	for _, sub := range c.Commands() {
		propagateFlagErrors(sub)
	}
}

// commandRef matches "perf" where help names this binary: before one of
// its commands ("perf attack", "sudo perf tune revert"), not in perf(1),
// perf-results, the product's name in prose, or what Linux's perf prints
// (the double-quoted "perf version 6.x").
var commandRef = regexp.MustCompile("(^|[\\s'(`])perf( (?:attack|compare|completion|help|report|serve|tune|version)\\b)")

// renameRoot names the root command name, and every command line in the
// help, usage and examples of the tree after it, so that a binary installed
// as perf-budget tells users to run perf-budget attack, not perf attack.
func renameRoot(root *cobra.Command, name string) {
	if name == root.Name() {
		return
	}
	root.Use = name
	repl := "${1}" + name + "${2}"
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Short = commandRef.ReplaceAllString(c.Short, repl)
		c.Long = commandRef.ReplaceAllString(c.Long, repl)
		c.Example = commandRef.ReplaceAllString(c.Example, repl)
		c.Flags().VisitAll(func(f *pflag.Flag) { f.Usage = commandRef.ReplaceAllString(f.Usage, repl) })
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
