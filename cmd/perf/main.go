package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() { os.Exit(Main()) }

// Main runs perf with the process's arguments and streams and returns the
// exit code. It is the whole program apart from os.Exit, so tests run it
// in-process.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}

// run builds the command tree, executes it and maps the error to an exit
// code. It is the one place where errors become exit codes.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
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
		fmt.Fprintf(stderr, "perf: %v\n", err)
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
failed, 4 tune: not permitted or not supported here, 5 run invalid (the
generator was saturated).

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
