package search

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/perf-tools/perf/harness"
	"github.com/perf-tools/perf/results"
)

func TestLimits(t *testing.T) {
	slos, err := results.ParseSLOs([]string{"p99<=25ms", "max<=1s", "p999<10ms", "mean<=5ms", "errors<=5", "errors<1", "errors<=0.1%", "rate>=100"})
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(Limits(slos, 10000))
	want := fmt.Sprint([]harness.Limit{
		{Over: 25 * time.Millisecond, Allowed: 100, Expr: "p99<=25ms"},
		{Over: time.Second, Allowed: 0, Expr: "max<=1s"},
		{Over: 10 * time.Millisecond, Allowed: 10, Expr: "p999<10ms"},
		{Allowed: 5, Expr: "errors<=5"},
		{Allowed: 0, Expr: "errors<1"},
		{Allowed: 10, Expr: "errors<=0.1%"},
	})
	if got != want {
		t.Errorf("limits\n got %s\nwant %s", got, want)
	}
}

func TestJudge(t *testing.T) {
	ok := []results.Verdict{{Expr: "p99<=25ms", OK: true, Observed: "p99 3ms"}}
	for _, tc := range []struct {
		name string
		run  results.Run
		want string
	}{
		{"pass", results.Run{Valid: true, Requests: 100, SLO: ok}, results.StepPass},
		{"slo", results.Run{Valid: true, Requests: 100, SLO: []results.Verdict{{Expr: "p99<=25ms", Observed: "p99 30ms"}}}, results.StepFail},
		{"generator", results.Run{Requests: 100, SLO: ok, Generator: results.Generator{LimitedBy: results.LimitedByGenerator, LimitedWhy: "cpu"}}, results.StepGeneratorBound},
		// Send lag the target caused is in corrected latency, which the
		// SLO judged; unsent requests have none, so they fail the step.
		{"target lag", results.Run{Requests: 100, SLO: ok, InvalidReasons: []string{"send lag"}, Generator: results.Generator{LimitedBy: results.LimitedByTarget}}, results.StepPass},
		{"target unsent", results.Run{Requests: 90, Unsent: 10, SLO: ok, InvalidReasons: []string{"unsent"}, Generator: results.Generator{LimitedBy: results.LimitedByTarget}}, results.StepFail},
		{"most failed", results.Run{Valid: true, Requests: 100, Errors: 60, SLO: ok}, results.StepFail},
	} {
		var step results.SearchStep
		judge(&step, &tc.run, harness.DefaultHealth())
		if step.Verdict != tc.want {
			t.Errorf("%s: verdict %s (%v), want %s", tc.name, step.Verdict, step.Reasons, tc.want)
		}
	}
}

// TestTrialPageFailureIsNotAStepFailure: a report page that could not be
// drawn leaves the step's files written and its verdict standing.
func TestTrialPageFailureIsNotAStepFailure(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	targets, err := harness.NewURLTargets(srv.URL+"/", nil, harness.RequestOptions{Method: "GET", KeepAlive: true})
	if err != nil {
		t.Fatal(err)
	}
	slos, _ := results.ParseSLOs([]string{"p99<=1s"})
	o := harness.RunOptions{Options: harness.Options{Targets: targets}, SLOs: slos, Health: harness.DefaultHealth()}
	o.Health.MaxLag = time.Second
	o.Writer.Render = func(string) error { return errors.New("no page today") }
	st := &Steps{Run: o, Dir: t.TempDir(), Step: 300 * time.Millisecond}
	step, err := st.Trial(context.Background(), results.SearchStep{Index: 1, Phase: results.PhaseGrow, Offered: 50})
	if err != nil || step.Verdict != results.StepPass || step.Dir == "" {
		t.Fatalf("step %+v, error %v; want a pass with its directory", step, err)
	}
	if _, err := results.LoadRunDir(filepath.Join(st.Dir, step.Dir)); err != nil {
		t.Errorf("the step's run directory: %v", err)
	}
}
