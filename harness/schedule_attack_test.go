package harness

import (
	"context"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/perf-tools/perf/internal/testenv"
	"github.com/perf-tools/perf/results"
)

// TestE2EAttackFollowsSchedule runs a schedule on loopback: every interval
// holds the hits the plan's integral puts in it, no interval straddles a
// segment, each segment's tally holds exactly its hits, and at up to
// 5,000/s what was sent each second is within 1% of the plan.
func TestE2EAttackFollowsSchedule(t *testing.T) {
	testenv.SkipUnderRace(t)
	srv := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	targets := urlTargets(t, srv.URL+"/", RequestOptions{Method: "GET", KeepAlive: true})
	plan, err := ParsePlan("steps:1000,2000/1s;ramp:2000..5000/1500ms;5000/500ms")
	if err != nil {
		t.Fatal(err)
	}
	const warmup = 500 * time.Millisecond
	full := plan.WithWarmup(warmup)
	var intervals []results.Interval
	out, err := Attack(context.Background(), Options{
		Targets: targets, Plan: plan, Warmup: warmup,
		OnInterval: func(iv results.Interval) error { intervals = append(intervals, iv); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Window != plan.Duration() {
		t.Fatalf("window %v, want the schedule's %v", out.Window, plan.Duration())
	}
	segs := plan.Segments()
	if len(out.Segments) != len(segs) || len(segs) != 4 {
		t.Fatalf("%d segment outcomes for %d segments, want 4", len(out.Segments), len(segs))
	}
	start := out.Started
	for _, iv := range intervals {
		from, to := iv.Start.Sub(start), iv.End.Sub(start)
		want := full.Hits(from, to)
		if math.Abs(float64(iv.Intended)-want) > 1 {
			t.Errorf("interval %v..%v intends %d hits, the plan's integral is %.2f", from, to, iv.Intended, want)
		}
		if iv.Unsent > 0 || iv.Sent() != iv.Intended {
			t.Errorf("interval %v..%v sent %d of %d (unsent %d)", from, to, iv.Sent(), iv.Intended, iv.Unsent)
		}
		if !iv.Warmup {
			for _, s := range segs {
				if from < warmup+s.End && to > warmup+s.Start && (from < warmup+s.Start || to > warmup+s.End) {
					t.Errorf("interval %v..%v straddles segment %q (%v..%v)", from, to, s.Label, s.Start, s.End)
				}
			}
		}
	}
	var total int64
	for i, s := range out.Segments {
		want := plan.Hits(s.Start, s.End)
		if got := s.Requests + s.Unsent; math.Abs(float64(got)-want) > 1 {
			t.Errorf("segment %q holds %d hits, its integral is %.2f", s.Label, got, want)
		}
		if s.Window != s.End-s.Start {
			t.Errorf("segment %d window %v, want %v", i, s.Window, s.End-s.Start)
		}
		if s.Corrected.TotalCount() != s.Requests-failures(s.ErrorKinds) {
			t.Errorf("segment %q: %d latencies for %d requests", s.Label, s.Corrected.TotalCount(), s.Requests)
		}
		total += s.Requests
	}
	if total != out.Requests {
		t.Errorf("segments hold %d requests, the run %d", total, out.Requests)
	}
}

// TestAttackGivesUp shows an attack ending early once its latency limit is
// exceeded beyond doubt, with the verdict failed and the target blamed.
func TestAttackGivesUp(t *testing.T) {
	srv := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(30 * time.Millisecond)
		w.Write([]byte("slow"))
	}))
	targets := urlTargets(t, srv.URL+"/", RequestOptions{Method: "GET", KeepAlive: true})
	slos, err := results.ParseSLOs([]string{"p99<=5ms"})
	if err != nil {
		t.Fatal(err)
	}
	run, dir, err := Run(context.Background(), RunOptions{
		Options: Options{
			Targets: targets, Rate: Rate{Freq: 200, Per: time.Second}, Duration: 20 * time.Second,
			GiveUp: []Limit{{Over: 5 * time.Millisecond, Allowed: 40, Expr: "p99<=5ms"}},
		},
		Name: "giveup", OutDir: t.TempDir(), SLOs: slos,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ended early: %s; verdict %+v", run.EndedEarly, run.SLO)
	if run.EndedEarly == "" || run.DurationS >= 20 {
		t.Fatalf("ended_early %q after %.1fs; want it to give up well before 20s", run.EndedEarly, run.DurationS)
	}
	if len(run.SLO) != 1 || run.SLO[0].OK {
		t.Errorf("verdicts %+v, want p99<=5ms failed", run.SLO)
	}
	if run.Generator.LimitedBy != results.LimitedByTarget {
		t.Errorf("limited by %q (%s), want the target", run.Generator.LimitedBy, run.Generator.LimitedWhy)
	}
	loaded, err := results.LoadRunDir(dir)
	if err != nil || loaded.Run.EndedEarly != run.EndedEarly {
		t.Errorf("run.json: %v, ended_early %q", err, loaded.Run.EndedEarly)
	}
}

// TestGeneratorBoundByWorkers caps the pool below what the rate needs
// against a target that could answer far more in parallel: the run is
// limited by the generator, not the target.
func TestGeneratorBoundByWorkers(t *testing.T) {
	srv := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		w.Write([]byte("ok"))
	}))
	targets := urlTargets(t, srv.URL+"/", RequestOptions{Method: "GET", KeepAlive: true})
	run, _, err := Run(context.Background(), RunOptions{
		Options: Options{Targets: targets, Rate: Rate{Freq: 400, Per: time.Second}, Duration: 2 * time.Second, Workers: 2, MaxWorkers: 2},
		Name:    "capped", OutDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if run.Valid || run.Generator.LimitedBy != results.LimitedByGenerator {
		t.Fatalf("valid %v, limited by %q (%s); want invalid, by the generator", run.Valid, run.Generator.LimitedBy, run.Generator.LimitedWhy)
	}
}

func failures(kinds map[string]int64) int64 {
	var n int64
	for _, c := range kinds {
		n += c
	}
	return n
}
