package harness

import (
	"context"
	"fmt"
	"hash/fnv"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/perf-tools/perf/results"
)

// abVariant is the variant an A/B test server gives a user: a hash of the
// user id picks A or B; every fifth user is in no experiment (no header).
func abVariant(user string) string {
	h := fnv.New32a()
	h.Write([]byte(user))
	switch h.Sum32() % 10 {
	case 0, 1:
		return ""
	case 2, 3, 4, 5:
		return "A"
	}
	return "B"
}

// TestAttackSplitsByVariant attacks a server that names each response's
// variant from the user id header, and checks that the attack's variants
// hold exactly the responses the server gave each variant, with their
// status codes, and that the intervals carry the same histograms.
func TestAttackSplitsByVariant(t *testing.T) {
	var mu sync.Mutex
	served := map[string]int64{}
	srv := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := r.Header.Get("X-User-Id")
		v := abVariant(user)
		code := http.StatusOK
		if !strings.HasSuffix(r.URL.Path, "/"+user) {
			code = http.StatusBadRequest // the header's key is not the URL's
		} else if v == "B" && strings.HasSuffix(user, "7") {
			code = http.StatusServiceUnavailable
		}
		if v != "" {
			w.Header().Set("X-Variant", "exp="+v+", etag=off")
		}
		mu.Lock()
		served[v+" "+http.StatusText(code)]++
		mu.Unlock()
		w.WriteHeader(code)
	}))
	targets, err := NewURLTargets(srv.URL+"/items/{key}", mustKeys(t, "uniform:1000"), RequestOptions{
		Method: "GET", KeepAlive: true, Header: http.Header{"X-User-Id": {"{key}"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	split, err := ParseSplit("X-Variant:exp")
	if err != nil {
		t.Fatal(err)
	}
	perInterval := map[string]int64{}
	out, err := Attack(context.Background(), Options{
		Targets: targets, Rate: Rate{Freq: 400, Per: time.Second}, Duration: time.Second, Split: split,
		OnInterval: func(iv results.Interval) error {
			for _, v := range iv.Variants {
				perInterval[v.Name] += v.Corrected.TotalCount()
				if v.Service.TotalCount() != v.Corrected.TotalCount() {
					t.Errorf("interval %v variant %s: %d service, %d corrected", iv.Start, v.Name, v.Service.TotalCount(), v.Corrected.TotalCount())
				}
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Requests != 400 || len(out.ErrorKinds) != 0 {
		t.Fatalf("%d requests, failures %v; want 400 answered", out.Requests, out.ErrorKinds)
	}
	if served[" "+http.StatusText(http.StatusBadRequest)]+served["A "+http.StatusText(http.StatusBadRequest)]+served["B "+http.StatusText(http.StatusBadRequest)] > 0 {
		t.Fatalf("the server saw user ids that are not the URL's key: %v", served)
	}
	var sum int64
	for name, want := range map[string]string{"A": "A", "B": "B", results.VariantNone: ""} {
		vt := out.Variants[name]
		ok, busy := served[want+" OK"], served[want+" "+http.StatusText(http.StatusServiceUnavailable)]
		if vt == nil {
			t.Fatalf("no variant %q in %v (server: %v)", name, out.Variants, served)
		}
		if vt.Responses != ok+busy || vt.StatusCodes["200"] != ok || vt.StatusCodes["503"] != busy || vt.Errors != busy {
			t.Errorf("variant %s: %d responses %v, %d errors; the server gave it %d OK and %d 503", name, vt.Responses, vt.StatusCodes, vt.Errors, ok, busy)
		}
		if vt.Corrected.TotalCount() != vt.Responses || perInterval[name] != vt.Responses {
			t.Errorf("variant %s: %d in its histogram, %d in the intervals, want %d", name, vt.Corrected.TotalCount(), perInterval[name], vt.Responses)
		}
		sum += vt.Responses
	}
	if len(out.Variants) != 3 || sum != out.Requests {
		t.Errorf("variants %v hold %d responses, want the run's %d in A, B and (none)", out.Variants, sum, out.Requests)
	}
}

// TestRunVariantsOverflow runs an attack whose every user is a variant of
// its own, far more than MaxVariants: the first MaxVariants keep their
// names, every further response counts under (other), none is lost, and
// run.json warns; variant SLOs are judged, one on a variant that never
// answered failing.
func TestRunVariantsOverflow(t *testing.T) {
	srv := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Variant", "user-"+r.Header.Get("X-User-Id"))
	}))
	targets, err := NewURLTargets(srv.URL+"/", mustKeys(t, "uniform:100000"), RequestOptions{
		Method: "GET", KeepAlive: true, Header: http.Header{"X-User-Id": {"{key}"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	split, _ := ParseSplit("X-Variant")
	slos, err := results.ParseSLOs([]string{"p99[(other)]<=1h", "p99[user-none]<=1h"})
	if err != nil {
		t.Fatal(err)
	}
	run, _, err := Run(context.Background(), RunOptions{
		Options: Options{Targets: targets, Rate: Rate{Freq: 300, Per: time.Second}, Duration: time.Second, Split: split},
		Name:    "many", OutDir: t.TempDir(), SLOs: slos,
	})
	if err != nil {
		t.Fatal(err)
	}
	if run.SplitBy != "X-Variant" || len(run.Variants) != MaxVariants+1 || run.Variants[MaxVariants].Name != results.VariantOther {
		t.Fatalf("split %q, %d variants, last %q; want %d named and (other)", run.SplitBy, len(run.Variants), run.Variants[len(run.Variants)-1].Name, MaxVariants)
	}
	var sum int64
	for _, v := range run.Variants {
		sum += v.Responses
	}
	other := run.Variant(results.VariantOther).Responses
	if sum != run.Responses() || other < run.Responses()-MaxVariants {
		t.Errorf("variants hold %d responses, (other) %d; want the run's %d, all but at most %d in (other)", sum, other, run.Responses(), MaxVariants)
	}
	warned := false
	for _, w := range run.Warnings {
		warned = warned || strings.Contains(w, "more than 64 distinct variants") && strings.Contains(w, fmt.Sprintf("the %d responses", other))
	}
	if !warned {
		t.Errorf("warnings %q do not say that variants overflowed into (other)", run.Warnings)
	}
	if len(run.SLO) != 2 || !run.SLO[0].OK || run.SLO[1].OK {
		t.Errorf("verdicts %+v; want (other)'s to pass, user-none's (no response) to fail", run.SLO)
	}
}
