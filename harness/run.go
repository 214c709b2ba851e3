package harness

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"time"

	"golang.org/x/sys/unix"

	"github.com/perf-tools/perf/harness/capture"
	"github.com/perf-tools/perf/hostmetrics"
	"github.com/perf-tools/perf/results"
)

// RunOptions are the settings of Run: the attack's own, and what the run
// records beside it.
type RunOptions struct {
	Options
	// Name labels the run (its directory is <UTC start>-<Name>); OutDir
	// is the parent of run directories.
	Name, OutDir string
	// Command is the command line run.json records; ToolVersion the
	// version of the tool that ran it.
	Command     []string
	ToolVersion string
	// Health judges the generator; zero takes DefaultHealth.
	Health Health
	// SLOs are evaluated on the run's summary.
	SLOs []results.Bound
	// PprofURL, when set, is the target's net/http/pprof address: a CPU
	// profile of the measured window and heap, allocs, goroutine, mutex
	// and block profiles at its end go to pprof/.
	PprofURL string
	// SelfProfile profiles the generator itself into pprof/self/.
	SelfProfile bool
	// TargetHostURL, when set, is a perf serve admin address whose host
	// metrics are polled into host.json beside the generator's.
	TargetHostURL string
	// Tuning records the host's tuning against a profile in run.json.
	Tuning *results.Tuning
	// Writer renders the run's pages when it closes (report.html).
	Writer results.WriterOptions
	// Log, when set, receives messages for people (and ends the line of an
	// OnProgress display when the attack ends).
	Log io.Writer
}

// Run attacks as o says and records the run in a new directory under
// o.OutDir through a results.Writer: every interval as it closes, then
// host.json (the host sampled over the run), the profiles of the measured
// window, run.json (the summary, the generator's health and the SLO
// verdicts) and the pages. It returns the run and its directory; an error
// only when the run could not be made or recorded (a page that could not
// be drawn matches results.ErrRender, with the run and its files written).
//
// While it runs, the garbage collector's target is raised (GOGC=400)
// unless GOGC is set: a generator's live heap is a few MB, and each
// collection is a millisecond in which a one-core generator sends nothing.
func Run(ctx context.Context, o RunOptions) (*results.Run, string, error) {
	started := time.Now()
	w, err := results.CreateRun(o.OutDir, o.Name, started, o.Writer)
	if err != nil {
		return nil, "", err
	}
	dir := w.Dir()
	logf(o.Log, "attacking %s at %s for %s (warm-up %s); results in %s\n",
		o.Targets, o.planText(), o.duration(), o.Warmup, dir)
	ev, err := startEvidence(ctx, o, dir)
	if err != nil {
		w.Abort()
		return nil, dir, err
	}
	opts := o.Options
	opts.OnInterval = chain(opts.OnInterval, w.WriteInterval)
	opts.OnMeasureStart = func() { ev.measureStart(ctx) }

	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	out, err := Attack(ctx, opts)
	if o.OnProgress != nil && o.Log != nil {
		fmt.Fprintln(o.Log) // end the progress line
	}
	if o.PprofURL != "" {
		logf(o.Log, "fetching the target's profiles from %s\n", o.PprofURL)
	}
	host, warnings := ev.stop()
	if err != nil {
		w.Abort()
		return nil, dir, fmt.Errorf("attack: %w", err)
	}
	// The generator's CPU, and that of its cores, over the measured
	// window, for its health: from the same samples host.json keeps.
	window := host.GeneratorSince(out.MeasureStart)
	out.CPU, out.HostCPU = results.ProcessCPU(window), results.AffinityCPU(window)

	run := newRun(o, out)
	run.Warnings = append(run.Warnings, warnings...)
	return run, dir, w.Close(run, host)
}

// planText is the rate plan as given: the rate, or the schedule.
func (o Options) planText() string {
	if o.Plan != nil {
		return o.Plan.String()
	}
	return o.Rate.String()
}

// duration is the measured window's planned length.
func (o Options) duration() time.Duration {
	if o.Plan != nil {
		return o.Plan.Duration()
	}
	return o.Duration
}

// chain returns a sink that calls each non-nil sink in turn.
func chain(sinks ...func(results.Interval) error) func(results.Interval) error {
	return func(iv results.Interval) error {
		for _, s := range sinks {
			if s != nil {
				if err := s(iv); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format, args...)
	}
}

// evidence is what a run captures beside its latencies: host samples over
// the whole run, and profiles of the target and of the generator over the
// measured window.
type evidence struct {
	o        RunOptions
	pprofDir string
	host     *hostmetrics.Recorder
	// profiles hands the target profiles' warnings from the goroutine
	// that fetches them; it holds nil until a fetch starts.
	profiles chan []string
	self     *capture.SelfProfile
	warnings []string
}

func startEvidence(ctx context.Context, o RunOptions, dir string) (*evidence, error) {
	host, err := hostmetrics.Start(ctx, hostmetrics.Options{TargetURL: o.TargetHostURL})
	if err != nil {
		return nil, err
	}
	ev := &evidence{o: o, pprofDir: filepath.Join(dir, results.PprofDir), host: host, profiles: make(chan []string, 1)}
	ev.profiles <- nil
	return ev, nil
}

// measureStart starts the profiles of the measured window. The attack
// calls it once, when the warm-up ends; the target's profiles are fetched
// in a goroutine that ends with ctx or the window, and that stop waits for.
func (ev *evidence) measureStart(ctx context.Context) {
	if ev.o.PprofURL != "" {
		<-ev.profiles
		go func() {
			w, err := capture.Profiles(ctx, ev.o.PprofURL, ev.pprofDir, ev.o.Duration, capture.ProfileOptions{})
			if err != nil {
				w = append(w, err.Error())
			}
			ev.profiles <- w
		}()
	}
	if ev.o.SelfProfile {
		var err error
		if ev.self, err = capture.StartSelfProfile(filepath.Join(ev.pprofDir, "self")); err != nil {
			ev.warnings = append(ev.warnings, err.Error())
		}
	}
}

// stop ends every capture, waiting for the target's profiles, and returns
// the host samples and what went wrong on the way.
func (ev *evidence) stop() (*results.HostSamples, []string) {
	if ev.self != nil {
		ev.warnings = append(ev.warnings, ev.self.Stop()...)
	}
	ev.warnings = append(ev.warnings, <-ev.profiles...)
	samples := ev.host.Stop()
	return samples, append(ev.warnings, samples.Warnings...)
}

// newRun is the summary of an attack's outcome: the content of run.json.
func newRun(o RunOptions, out *Outcome) *results.Run {
	health := o.Health
	if health == (Health{}) {
		health = DefaultHealth()
	}
	run := &results.Run{
		Schema:      results.Schema,
		ToolVersion: o.ToolVersion,
		Command:     o.Command,
		Name:        o.Name,
		StartedAt:   out.Started.UTC(),
		WarmupS:     o.Warmup.Seconds(),
		Target:      o.Targets.String(),
		Rate:        results.Rate{Target: out.Planned, Plan: o.planText()},
		Interrupted: out.Interrupted,
		Generator: results.Generator{
			CPUMeanPercent:     out.CPU.MeanPercent,
			CPUMaxPercent:      out.CPU.MaxPercent,
			HostCPUMeanPercent: out.HostCPU.MeanPercent,
			HostCPUMaxPercent:  out.HostCPU.MaxPercent,
			Workers:            out.Workers,
			MaxWorkers:         out.MaxWorkers,
			MaxLagMS:           float64(health.MaxLag) / 1e6,
			MaxCPUPercent:      health.MaxCPU,
		},
		Host: hostFacts(),
	}
	out.Fill(run)
	run.Host.Tuning = o.Tuning
	if o.Shard.Count > 1 {
		run.Rate.Plan = fmt.Sprintf("%s shard %d/%d", run.Rate.Plan, o.Shard.Index+1, o.Shard.Count)
	}
	run.InvalidReasons = health.Check(out)
	switch {
	case out.Interrupted && out.Window == 0:
		run.InvalidReasons = append(run.InvalidReasons, "interrupted during the warm-up: the measured window is empty")
	case out.Interrupted:
		run.InvalidReasons = append(run.InvalidReasons,
			fmt.Sprintf("interrupted after %.1fs of the planned %s", run.DurationS, o.duration()))
	}
	run.Valid = len(run.InvalidReasons) == 0
	if (!run.Valid || out.GaveUp != "") && !out.Interrupted {
		run.Generator.LimitedBy = results.LimitedByTarget
		if gen, why := health.GeneratorBound(out); gen {
			run.Generator.LimitedBy, run.Generator.LimitedWhy = results.LimitedByGenerator, why
		}
	}
	if o.Split != nil {
		run.SplitBy = o.Split.String()
		if v := run.Variant(results.VariantOther); v != nil {
			run.Warnings = append(run.Warnings, fmt.Sprintf(
				"%s named more than %d distinct variants: the %d responses of the variants beyond the first %d are counted under %s",
				run.SplitBy, MaxVariants, v.Responses, MaxVariants, results.VariantOther))
		}
	}
	run.SLO = results.EvaluateSLOs(o.SLOs, run)
	if out.GaveUp != "" {
		run.EndedEarly = fmt.Sprintf("after %.1fs of the planned %s: %s", run.DurationS, o.duration(), out.GaveUp)
		failVerdict(run.SLO, out.GaveUpOn.Expr, out.GaveUp)
	}
	for _, s := range out.Segments {
		seg, err := results.NewSegment(s.Label, s.Spec, s.Start, s.Planned, &s.Tally, o.SLOs)
		if err != nil {
			run.Warnings = append(run.Warnings, fmt.Sprintf("segment %q: histograms: %v", s.Label, err))
		}
		if out.GaveUp != "" && seg.DurationS > 0 && s.End > out.Window {
			failVerdict(seg.SLO, out.GaveUpOn.Expr, out.GaveUp)
		}
		run.Segments = append(run.Segments, seg)
	}
	return run
}

// failVerdict marks the verdict of expr failed, for an attack that gave up
// on it: the verdict failed beyond doubt, whatever the requests answered
// before the end say.
func failVerdict(vs []results.Verdict, expr, why string) {
	for i := range vs {
		if vs[i].Expr == expr && vs[i].OK {
			vs[i].OK = false
			vs[i].Observed += "; ended early: " + why
		}
	}
}

// hostFacts describes the generator host for run.json.
func hostFacts() results.Host {
	h := results.Host{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version()}
	h.Hostname, _ = os.Hostname()
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		h.Kernel = string(bytes.TrimRight(u.Release[:], "\x00"))
	}
	return h
}
