package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/perf-tools/perf/harness/search"
	"github.com/perf-tools/perf/report"
	"github.com/perf-tools/perf/results"
)

// searchOptions are the settings of perf attack search: those of an attack
// (targets, connections, SLOs, health) and the search's own.
type searchOptions struct {
	attackOptions
	min, max      float64
	growth        float64
	precision     string
	confirm       int
	step          time.Duration
	cooldown      time.Duration
	recover       time.Duration
	timeLimit     time.Duration
	maxLowerings  int
	warmupPerStep time.Duration
}

func newSearchCmd() *cobra.Command {
	o := &searchOptions{}
	cmd := &cobra.Command{
		Use:   "search (--url URL | --targets FILE) --slo EXPR --min RATE --max RATE [flags]",
		Short: "Find the highest rate at which the target meets its SLOs",
		Long: `Find the highest request rate at which the target still meets every --slo,
with the open-model attack of perf attack at each step.

The search grows the rate geometrically from --min (x --growth) until a step
fails, then bisects in log space until the bracket is within --precision,
then repeats the highest passing rate --confirm times; a failed confirmation
lowers the answer and the search goes on below it. Each step is a whole run
(--warmup, then --step measured), judged by the SLOs on corrected latency.
A step whose SLO has already failed beyond doubt (more requests over a
latency bound, or failed, than the SLO allows of the whole step) ends early,
so that an overloaded target is not buried; after a failed step the search
waits until the target answers within the SLO again (at most --recover),
then --cooldown.

The generator checks itself at every step: when it, not the target, could
not keep a step's plan (its CPU saturated, every worker allowed busy while
requests waited, it sent late), the search stops with "generator-bound at R",
never a capacity figure.

The search writes a directory under --out-dir: one ordinary run directory per
step (perf report, compare and merge read them), search.json (every step, and
the answer as highest_pass and lowest_fail, requests/s), and report.html with
the knee plot: corrected p50, p99 and p99.9 and the achieved rate against the
offered rate, with the SLO bounds drawn. --output json prints search.json.

Exit codes: 0 found, 1 runtime error, 2 bad flags, 5 interrupted,
10 fails already at --min, 11 passes at --max, 12 generator-bound,
13 not confirmed, 14 time limit reached.`,
		Example: `  # the highest rate at which a perf serve keeps p99 within 25ms and no errors
  perf attack search --url 'http://127.0.0.1:8080/v1/items/{key}' --keys uniform:100000 \
    --slo 'p99<=25ms' --slo 'errors<=0.1%' --min 1000 --max 200000

  # shorter steps, 5% precision, at most ten minutes
  perf attack search --url http://127.0.0.1:8080/ --slo 'p99<=10ms' --min 500 --max 50000 \
    --step 5s --warmup 1s --precision 5% --time-limit 10m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.setCommon(cmd)
			if !cmd.Flags().Changed("name") {
				o.name = "search"
			}
			return runSearch(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	o.addCommonFlags(f)
	f.Float64Var(&o.min, "min", 0, "lowest rate to try, requests/s (the first step)")
	f.Float64Var(&o.max, "max", 0, "highest rate to try, requests/s")
	f.Float64Var(&o.growth, "growth", 2, "factor between steps until one fails")
	f.StringVar(&o.precision, "precision", "2%", "stop bisecting when the highest pass and lowest fail are this close (percent)")
	f.IntVar(&o.confirm, "confirm", 2, "trials repeating the answer before it counts as found")
	f.IntVar(&o.maxLowerings, "max-lowerings", 3, "how often a failed confirmation may lower the answer before the search gives up as not confirmed")
	f.DurationVar(&o.step, "step", 10*time.Second, "measured length of each step")
	f.DurationVar(&o.warmupPerStep, "warmup", 2*time.Second, "warm-up of each step, at its rate, excluded from its verdict")
	f.DurationVar(&o.cooldown, "cooldown", 2*time.Second, "pause after each step")
	f.DurationVar(&o.recover, "recover", search.DefaultRecover, "longest wait after a failed step for the target to answer within the SLO again")
	f.DurationVar(&o.timeLimit, "time-limit", time.Hour, "stop the search after this long (0: no limit)")
	return cmd
}

// config validates the search's own settings and returns its config.
func (o *searchOptions) config() (search.Config, error) {
	c := search.Config{
		Min: o.min, Max: o.max, Growth: o.growth,
		Confirmations: o.confirm, MaxLowerings: o.maxLowerings,
		TimeLimit: o.timeLimit,
		StepTime:  o.warmupPerStep + o.step + o.cooldown,
	}
	if o.min <= 0 || o.max <= 0 {
		return c, errors.New("--min and --max: give both, as requests/s above 0 (e.g. --min 1000 --max 200000)")
	}
	p := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(o.precision), "%"))
	v, err := strconv.ParseFloat(p, 64)
	if err != nil || !(v > 0 && v < 100) || math.IsNaN(v) {
		return c, fmt.Errorf("--precision %q: want a percentage above 0 and below 100, e.g. 2%%", o.precision)
	}
	c.Precision = v / 100
	if o.step <= 0 {
		return c, fmt.Errorf("--step %s: must be above 0", o.step)
	}
	if o.warmupPerStep < 0 || o.cooldown < 0 || o.recover < 0 || o.timeLimit < 0 {
		return c, errors.New("--warmup, --cooldown, --recover and --time-limit must not be negative")
	}
	if len(o.slos) == 0 {
		return c, errors.New("--slo: a search needs at least one SLO to meet, e.g. --slo 'p99<=25ms'")
	}
	return c, c.Validate()
}

func runSearch(ctx context.Context, o *searchOptions, stdout, stderr io.Writer) error {
	if o.output != "text" && o.output != "json" && o.output != "markdown" {
		return usageErr(fmt.Errorf("--output %q: want text, json or markdown", o.output))
	}
	cfg, err := o.config()
	if err != nil {
		return usageErr(err)
	}
	// The step template is an attack's plan at --min, validated as perf
	// attack validates it; each step sets its own rate and length.
	output := o.output
	o.output, o.rate, o.duration, o.warmup = "text", strconv.FormatFloat(o.min, 'f', -1, 64), o.step, o.warmupPerStep
	p, err := o.plan()
	if err != nil {
		return usageErr(err)
	}
	p.Tuning = hostTuning(o.tuneProfile)
	started := time.Now()
	dir, err := results.NewRunDir(o.outDir, o.name, started)
	if err != nil {
		return err
	}
	steps := &search.Steps{Run: *p, Dir: dir, Step: o.step, Warmup: o.warmupPerStep, Cooldown: o.cooldown, Recover: o.recover}
	fmt.Fprintf(stderr, "searching %s for the highest rate meeting %s, from %s/s to %s/s; results in %s\n",
		p.Targets, strings.Join(o.slos, ", "), results.FormatFloat(o.min, 0), results.FormatFloat(o.max, 0), dir)
	cfg.OnStep = func(s results.SearchStep, lo, hi *float64) { searchProgress(stderr, s, lo, hi) }
	res, err := search.Run(ctx, cfg, steps.Trial)
	if res == nil {
		return err
	}
	res.Schema, res.ToolVersion, res.Command = results.SearchSchema, p.ToolVersion, o.command
	res.StartedAt, res.Target, res.SLO = started.UTC(), p.Targets.String(), o.slos
	res.Settings.StepS, res.Settings.WarmupS, res.Settings.CooldownS = o.step.Seconds(), o.warmupPerStep.Seconds(), o.cooldown.Seconds()
	if werr := results.WriteSearch(dir, res); werr != nil {
		return errors.Join(err, werr)
	}
	if herr := report.WriteSearchHTML(dir); herr != nil {
		fmt.Fprintf(stderr, "perf: warning: %s: %v\n", filepath.Join(dir, "report.html"), herr)
	}
	if err != nil {
		return err
	}
	switch output {
	case "json":
		// Exactly the document written, byte for byte.
		var b []byte
		if b, err = os.ReadFile(filepath.Join(dir, results.SearchFile)); err == nil {
			_, err = stdout.Write(b)
		}
	case "markdown":
		err = report.SearchMarkdown(stdout, res)
	default:
		err = report.SearchText(stdout, res)
	}
	if err != nil {
		return err
	}
	if code := searchExit[res.Outcome]; code != exitOK {
		return silent(code, errors.New(res.Message))
	}
	return nil
}

// searchExit maps a search's outcome to the exit code.
var searchExit = map[string]int{
	results.SearchFound:          exitOK,
	results.SearchFailsAtMin:     exitSearchFailsAtMin,
	results.SearchPassesAtMax:    exitSearchPassesAtMax,
	results.SearchGeneratorBound: exitSearchGeneratorBound,
	results.SearchNotConfirmed:   exitSearchNotConfirmed,
	results.SearchTimeLimit:      exitSearchTimeLimit,
	results.SearchInterrupted:    exitInvalid,
}

// searchProgress prints a step as it starts (no verdict yet) and as it
// ends, with the bracket so far.
func searchProgress(w io.Writer, s results.SearchStep, lo, hi *float64) {
	if s.Verdict == "" {
		fmt.Fprintf(w, "step %d (%s): %s/s ...\n", s.Index, s.Phase, results.FormatFloat(s.Offered, 0))
		return
	}
	bracket := func(p *float64) string {
		if p == nil {
			return "-"
		}
		return results.FormatFloat(*p, 0) + "/s"
	}
	line := fmt.Sprintf("step %d (%s): %s/s %s: achieved %s/s, p99 %sms, errors %d; highest pass %s, lowest fail %s",
		s.Index, s.Phase, results.FormatFloat(s.Offered, 0), strings.ToUpper(s.Verdict),
		results.FormatFloat(s.Achieved, 1), results.FormatFloat(s.Latency.P99, 3), s.Errors, bracket(lo), bracket(hi))
	if s.EndedEarly != "" {
		line += "; ended early " + s.EndedEarly
	}
	fmt.Fprintln(w, line)
}
