package results

import (
	"strings"
	"testing"
)

func TestHeadlineNamesWhatWentWrong(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  Run
		want string
	}{
		{"generator", Run{Requests: 10, Generator: Generator{LimitedBy: LimitedByGenerator}}, "INVALID: the generator could not keep the plan"},
		{"target", Run{Requests: 10, Generator: Generator{LimitedBy: LimitedByTarget}}, "INVALID: the target could not keep up with the plan"},
		{"unknown", Run{Requests: 10}, "INVALID: the generator could not keep the plan"},
		{"segment", Run{Valid: true, Requests: 10, SLO: []Verdict{{Expr: "p99<=25ms", OK: true}},
			Segments: []Segment{{Label: "step 1/2: 100/s", SLO: []Verdict{{OK: true}}}, {Label: "step 2/2: 200/s", SLO: []Verdict{{OK: false}}}}},
			"SLOs FAILED in 1 of 2 segments (step 2/2: 200/s)"},
		{"ended early", Run{Valid: true, Requests: 10, EndedEarly: "after 1.0s of the planned 10s: too slow"}, "ENDED EARLY after 1.0s"},
	} {
		if got := Headline(&tc.run); !strings.Contains(got, tc.want) {
			t.Errorf("%s: headline %q, want it to say %q", tc.name, got, tc.want)
		}
	}
}

func TestLatencyBoundWithoutResponsesFails(t *testing.T) {
	b, err := ParseSLO("p99<=25ms")
	if err != nil {
		t.Fatal(err)
	}
	v := b.Evaluate(&Run{Requests: 5, Errors: 5, ErrorKinds: map[string]int64{"connection refused": 5}})
	if v.OK || !strings.Contains(v.Observed, "no response") {
		t.Errorf("verdict %+v: a latency bound on a run without a response must fail and say why", v)
	}
}
