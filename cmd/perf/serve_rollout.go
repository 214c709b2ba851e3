package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/perf-tools/perf/results"
	"github.com/perf-tools/perf/service"
)

// rolloutOptions are perf serve's ramp-up settings (--rollout and its
// companions; the candidate is --candidate).
type rolloutOptions struct {
	Rollout         string
	RolloutSLO      []string
	RolloutFailures int

	// Parsed by validateRollout.
	rollout service.Rollout
}

// rolloutEnv hands a rollout over to the generation a live upgrade starts:
// JSON of service.RolloutHandover, kept current by every generation (so
// tableflip passes the latest to the child). The new generation continues
// at the step where the old one was, stays rolled back or aborted, and knows
// it runs the candidate's binary when the upgrade was a promote. A restart
// that is not a live upgrade starts a new rollout.
const rolloutEnv = "PERF_SERVE_ROLLOUT"

// rolloutOver reports whether a handed-over state ends the rollout.
func rolloutOver(state string) bool {
	switch state {
	case service.RolloutPromoting, service.RolloutPromoted, service.RolloutRolledBack, service.RolloutAborted:
		return true
	}
	return false
}

func addRolloutFlags(f *pflag.FlagSet, o *rolloutOptions) {
	f.StringVar(&o.Rollout, "rollout", "", "ramp users up to --candidate by steps WEIGHT%/HOLD,... such as 1%/30s,5%/30s,25%/1m,50%/1m,100%/1m, each gated by --rollout-slo (see above)")
	f.StringArrayVar(&o.RolloutSLO, "rollout-slo", nil, "gate of every rollout step, on the candidate's latency and errors over the hold, as perf attack --slo: p99<=25ms, errors<=0.1% (repeatable; all must hold)")
	f.IntVar(&o.RolloutFailures, "rollout-failures", service.DefaultRolloutFailures, "gate failures in a row that roll the rollout back to 0%")
}

// validateRollout checks the ramp-up settings and builds the rollout.
func (o *serveOptions) validateRollout(changed func(string) bool) error {
	r := &o.rolloutOptions
	if r.Rollout == "" {
		switch {
		case len(r.RolloutSLO) > 0 || changed("rollout-failures"):
			return errors.New("--rollout-slo and --rollout-failures gate a ramp-up: give --rollout STEPS too")
		}
		return nil
	}
	steps, err := service.ParseRolloutSteps(r.Rollout)
	if err != nil {
		return fmt.Errorf("--rollout: %w", err)
	}
	if o.Candidate == "" {
		return errors.New("--rollout ramps up to a candidate: give --candidate URL, the base URL of another perf serve")
	}
	if len(r.RolloutSLO) == 0 {
		return errors.New("--rollout needs a gate: give --rollout-slo at least once, such as --rollout-slo 'p99<=25ms' --rollout-slo 'errors<=0.1%'")
	}
	slos, err := results.ParseSLOs(r.RolloutSLO)
	if err != nil {
		return fmt.Errorf("--rollout-slo: %w", err)
	}
	if err := service.CheckRolloutSLOs(slos); err != nil {
		return fmt.Errorf("--rollout-slo: %w", err)
	}
	if r.RolloutFailures < 1 {
		return fmt.Errorf("--rollout-failures %d: want 1 or more", r.RolloutFailures)
	}
	if o.UserHeader == "" && o.UserCookie == "" {
		return errors.New("--rollout assigns users by their id: give --user-header (such as X-User-Id) or --user-cookie")
	}
	r.rollout = service.Rollout{Candidate: o.Candidate, Steps: steps, SLOs: slos, Failures: r.RolloutFailures}
	if err := r.rollout.Check(); err != nil {
		return fmt.Errorf("--candidate: %w", err)
	}
	if v := os.Getenv(rolloutEnv); v != "" {
		var h service.RolloutHandover
		if err := json.Unmarshal([]byte(v), &h); err != nil || h.State == "" || h.Step < 1 || h.Generation < 1 {
			return fmt.Errorf("environment %s=%q: want the JSON a live upgrade hands over, such as {\"state\":\"running\",\"step\":2,\"generation\":1}", rolloutEnv, v)
		}
		r.rollout.Handover = &h
	}
	return nil
}

// startRollout puts the rollout of opts in force, if there is one, and
// judges its holds until ctx is done; it returns a function that stops the
// judging and waits for it.
func startRollout(ctx context.Context, srv *service.Server, opts *serveOptions, gen uint64, logf func(string, ...any)) func() {
	if opts.Rollout == "" {
		return func() {}
	}
	cfg := opts.rollout
	cfg.Promote = srv.Upgrade
	cfg.Notify = func(st service.RolloutStatus) {
		// A rollout an earlier generation ended stays as that generation
		// said.
		var old service.RolloutHandover
		if json.Unmarshal([]byte(os.Getenv(rolloutEnv)), &old) == nil && old.Generation != gen && rolloutOver(old.State) {
			return
		}
		b, _ := json.Marshal(service.RolloutHandover{State: st.State, Step: st.Step, Reason: st.Reason, Generation: gen})
		if err := os.Setenv(rolloutEnv, string(b)); err != nil {
			logf("rollout: %v: the next generation would start a new rollout", err)
		}
	}
	if err := srv.StartRollout(cfg, logf); err != nil {
		// Unreachable: validateRollout checked it, and this is the only one.
		logf("rollout: %v", err)
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.RunRollout(ctx); err != nil {
			logf("rollout: %v", err)
		}
	}()
	return func() { cancel(); <-done }
}

// rolloutCtlOptions are the settings of perf serve rollout.
type rolloutCtlOptions struct {
	action    string
	admin     string
	tokenFile string
	output    string
	timeout   time.Duration
	stdout    io.Writer
}

func newServeRolloutCmd() *cobra.Command {
	o := &rolloutCtlOptions{}
	cmd := &cobra.Command{
		Use:   "rollout status|pause|resume|promote|abort",
		Short: "Show or control the ramp-up of a running perf serve",
		Long: `perf serve rollout talks to the admin listener of a perf serve started with
--candidate and --rollout.

  status   the state, the step, the weight and every judged hold: the
           candidate's requests, errors and p99, and the gate's verdict
  pause    keep the weight: gates are still judged and a failure still rolls
           back, but a pass no longer advances
  resume   advance again after the next passed hold
  promote  end the rollout with a live upgrade to the binary now at perf
           serve's path (put the candidate's binary there first); if the new
           generation does not become ready, the old one keeps serving and
           the rollout is paused
  abort    every user back to the primary, and the rollout is over

The control actions need the control token: --token-file, or
PERF_CONTROL_TOKEN. Exit 0 when the request was done, 1 when it was refused
(no token, a rollout in a state the action does not apply to, a failed
promote) or the admin listener could not be reached.`,
		Example: `  perf serve rollout status --admin http://127.0.0.1:6060
  perf serve rollout pause --admin http://127.0.0.1:6060 --token-file /etc/perf/control-token
  PERF_CONTROL_TOKEN=... perf serve rollout promote --admin http://10.0.0.7:6060`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.action = args[0]
			if o.action != "status" && !slices.Contains(service.RolloutActions, o.action) {
				return usageErr(fmt.Errorf("perf serve rollout %q: want status, %s", o.action, strings.Join(service.RolloutActions, ", ")))
			}
			if o.output != "text" && o.output != "json" {
				return usageErr(fmt.Errorf("--output %q: want text or json", o.output))
			}
			if !strings.HasPrefix(o.admin, "http://") && !strings.HasPrefix(o.admin, "https://") {
				return usageErr(fmt.Errorf("--admin %q: want the admin listener's URL, such as http://127.0.0.1:6060", o.admin))
			}
			o.stdout = cmd.OutOrStdout()
			return runServeRollout(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.admin, "admin", "http://127.0.0.1:6060", "URL of perf serve's admin listener")
	f.StringVar(&o.tokenFile, "token-file", "", "file whose first line is the control token (else PERF_CONTROL_TOKEN)")
	f.StringVar(&o.output, "output", "text", "text or json (GET /rollout's answer as it is)")
	f.DurationVar(&o.timeout, "timeout", 2*time.Minute, "how long to wait for the answer (a promote waits for the live upgrade)")
	return cmd
}

func runServeRollout(ctx context.Context, o *rolloutCtlOptions) error {
	token := os.Getenv("PERF_CONTROL_TOKEN")
	if o.tokenFile != "" {
		b, err := os.ReadFile(o.tokenFile)
		if err != nil {
			return usageErr(fmt.Errorf("--token-file: %w", err))
		}
		token, _, _ = strings.Cut(string(b), "\n")
		if token = strings.TrimSpace(token); token == "" {
			return usageErr(fmt.Errorf("--token-file %s: the file is empty: want the token on its first line", o.tokenFile))
		}
	}
	method, url := http.MethodGet, strings.TrimSuffix(o.admin, "/")+"/rollout"
	if o.action != "status" {
		method, url = http.MethodPost, url+"/"+o.action
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return usageErr(fmt.Errorf("--admin %q: %w", o.admin, err))
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read the answer: %w", method, url, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error, Message string
		}
		msg := strings.TrimSpace(string(body))
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			msg = e.Error
			if e.Message != "" {
				msg += " (" + e.Message + ")"
			}
		}
		if resp.StatusCode == http.StatusUnauthorized {
			msg += "; give --token-file or PERF_CONTROL_TOKEN"
		}
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, msg)
	}
	if o.output == "json" {
		_, err := o.stdout.Write(body)
		return err
	}
	var st service.RolloutStatus
	if err := json.Unmarshal(body, &st); err != nil {
		return fmt.Errorf("%s %s: the answer is not a rollout status: %w", method, url, err)
	}
	return writeRolloutStatus(o.stdout, &st)
}

// writeRolloutStatus prints a rollout's status for a person.
func writeRolloutStatus(w io.Writer, st *service.RolloutStatus) error {
	step := ""
	if st.Step >= 1 && st.Step <= len(st.Steps) {
		step = " (" + st.Steps[st.Step-1] + ")"
	}
	fmt.Fprintf(w, "rollout: %s, step %d of %d%s, %d%% of users on the candidate %s\n", st.State, st.Step, len(st.Steps), step, st.Weight, st.Candidate)
	if st.Reason != "" {
		fmt.Fprintf(w, "reason: %s\n", st.Reason)
	}
	fmt.Fprintf(w, "gate: %s; rolled back after %d failure(s) in a row (now %d)\n", strings.Join(st.SLO, ", "), st.RollBackAfter, st.Failures)
	if st.PromoteError != "" {
		fmt.Fprintf(w, "last promote failed: %s\n", st.PromoteError)
	}
	if len(st.History) == 0 {
		fmt.Fprintln(w, "no hold judged yet")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "step\tweight\tholds\trequests\terrors\tp99\tverdict\tnote")
	for _, h := range st.History {
		p99 := "-"
		if h.Requests > 0 {
			p99 = results.UnitMS.Format(h.P99)
		}
		fmt.Fprintf(tw, "%d\t%d%%\t%d\t%d\t%d\t%s\t%s\t%s\n", h.Step, h.Weight, h.Holds, h.Requests, h.Errors, p99, h.Verdict, h.Note)
	}
	return tw.Flush()
}
