package harness

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perf-tools/perf/results"
)

// startServer serves h on 127.0.0.1 port 0 for the test's lifetime.
func startServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestAttackCountsMatchServer(t *testing.T) {
	var served atomic.Int64
	srv := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("hello"))
	}))
	targets, err := NewURLTargets(srv.URL+"/items/{key}", mustKeys(t, "uniform:100"), RequestOptions{Method: "GET", KeepAlive: true})
	if err != nil {
		t.Fatal(err)
	}
	var intervals []results.Interval
	out, err := Attack(context.Background(), Options{
		Targets:  targets,
		Rate:     Rate{Freq: 200, Per: time.Second},
		Duration: 1500 * time.Millisecond,
		Warmup:   500 * time.Millisecond,
		OnInterval: func(iv results.Interval) error {
			intervals = append(intervals, iv)
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// 2s of plan at 200/s: hits 0..399; 100 of them in the warm-up.
	var logged, measured int64
	for _, iv := range intervals {
		logged += iv.Sent()
		if !iv.Warmup {
			measured += iv.Sent()
		}
	}
	if logged != 400 || served.Load() != 400 {
		t.Fatalf("logged %d, server served %d; want 400 each", logged, served.Load())
	}
	// Results belong to the interval of their intended send time, so the
	// measured window holds exactly the plan's 300 hits after the warm-up.
	if out.Requests != 300 || measured != 300 || out.Unsent != 0 {
		t.Errorf("measured requests = %d (intervals %d, unsent %d), want the plan's 300", out.Requests, measured, out.Unsent)
	}
	if out.StatusCodes["200"] != out.Requests || out.Errors != 0 || out.Retries != 0 {
		t.Errorf("status codes %v errors %d retries %d", out.StatusCodes, out.Errors, out.Retries)
	}
	if len(intervals) != 3 || !intervals[0].Warmup || intervals[1].Warmup {
		t.Errorf("%d intervals, first warm-up %v, second %v; want 3: true, false", len(intervals), intervals[0].Warmup, intervals[1].Warmup)
	}
	if n := out.Requests; out.Corrected.TotalCount() != n || out.Service.TotalCount() != n || out.Lag.TotalCount() != n {
		t.Errorf("histogram counts %d %d %d", out.Corrected.TotalCount(), out.Service.TotalCount(), out.Lag.TotalCount())
	}
	if out.Window != 1500*time.Millisecond || out.Achieved() != 200 {
		t.Errorf("window %v achieved %.1f/s, want 1.5s and exactly 200", out.Window, out.Achieved())
	}
}

func mustKeys(t *testing.T, spec string) *KeySpace {
	t.Helper()
	k, err := ParseKeys(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
