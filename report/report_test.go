package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/perf-tools/perf/internal/golden"
	"github.com/perf-tools/perf/results"
)

// candidateRun is a second, worse run: invalid, interrupted, failing SLOs.
func candidateRun() *results.Run {
	r := sampleRun()
	r.Name = "candidate | v2"
	r.StartedAt = r.StartedAt.Add(time.Hour)
	r.Rate = results.Rate{Target: 50000, Achieved: 41234.5, Plan: "linear 1000->50000/s"}
	r.Requests, r.Errors = 412345, 4123
	r.StatusCodes = map[string]int64{"200": 408222, "500": 4000}
	r.ErrorKinds = map[string]int64{"timeout": 100, "connection refused": 23}
	r.Latency.Corrected.P99, r.Latency.Corrected.Max = 250.5, 1234.567
	r.Valid = false
	r.InvalidReasons = []string{"achieved rate 82.5% of the plan (under 98%)", "send lag p99 45ms above the 10ms bound"}
	r.SLO = []results.Verdict{
		{Expr: "p99 <= 25ms", OK: false, Observed: "p99 250.5ms"},
		{Expr: "rate >= 49000", OK: false, Observed: "rate 41234.5/s"},
	}
	r.Interrupted = true
	r.WarmupS = 0
	r.Unsent, r.Retries = 1234, 7
	r.Warnings = []string{"pprof cpu: get http://127.0.0.1:6060/debug/pprof/profile: 404 Not Found"}
	return r
}

// refusedRun is a run against a closed port: every request failed.
func refusedRun() *results.Run {
	r := sampleRun()
	r.Name = "refused"
	r.Requests, r.Errors = 2500, 2500
	r.StatusCodes = map[string]int64{}
	r.ErrorKinds = map[string]int64{"connection refused": 2500}
	r.ErrorMessages = map[string]string{"connection refused": "dial tcp 127.0.0.1:9: connect: connection refused"}
	r.Latency = results.Latency{}
	r.SLO = nil
	return r
}

// TestReportSaysWhatWentWrong checks that the verdict opens every text and
// Markdown report, in words, with or without SLOs, and that warnings,
// never-sent hits, retries and the first error messages are shown.
func TestReportSaysWhatWentWrong(t *testing.T) {
	for _, format := range []string{FormatText, FormatMarkdown} {
		var buf bytes.Buffer
		if err := Write(&buf, format, refusedRun()); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		first := strings.SplitN(out, "verdict", 2)
		if len(first) != 2 || strings.Contains(first[0], "p50") || !strings.Contains(first[1], "MOST REQUESTS FAILED: 2500 of 2500 (100%): connection refused=2500") {
			t.Errorf("%s report does not open with the failure:\n%s", format, out)
		}
		if !strings.Contains(out, "connection refused: dial tcp 127.0.0.1:9: connect: connection refused") {
			t.Errorf("%s report lacks the first error message:\n%s", format, out)
		}
		buf.Reset()
		if err := Write(&buf, format, candidateRun()); err != nil {
			t.Fatal(err)
		}
		out = buf.String()
		for _, want := range []string{"404 Not Found", "1234 planned never sent", "7 (sent again", "INTERRUPTED; INVALID"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s report lacks %q:\n%s", format, want, out)
			}
		}
	}
	pass := sampleRun()
	pass.SLO = pass.SLO[:1]
	if h := results.Headline(pass); !strings.HasPrefix(h, "PASS") {
		t.Errorf("headline of a passing run: %q", h)
	}
	// No response, no latency: the table shows none rather than zeros.
	var buf bytes.Buffer
	if err := Write(&buf, FormatText, refusedRun()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\np99                   -        -\n") {
		t.Errorf("latency of a run without responses:\n%s", buf.String())
	}
}

func TestReportGolden(t *testing.T) {
	one := sampleRun()
	same := sampleRun() // same name as one: labels fall back to time-name
	same.StartedAt = same.StartedAt.Add(90 * time.Second)
	for _, tc := range []struct {
		name string
		runs []*results.Run
	}{
		{"one", []*results.Run{one}},
		{"two", []*results.Run{one, candidateRun()}},
		{"same-name", []*results.Run{one, same}},
		{"empty", []*results.Run{{Name: "empty"}}},
		{"refused", []*results.Run{refusedRun()}},
	} {
		for _, format := range Formats {
			ext := map[string]string{FormatText: "txt", FormatJSON: "json", FormatMarkdown: "md"}[format]
			t.Run(tc.name+"."+ext, func(t *testing.T) {
				var buf bytes.Buffer
				if err := Write(&buf, format, tc.runs...); err != nil {
					t.Fatal(err)
				}
				golden.Check(t, filepath.Join("report", tc.name+"."+ext), buf.Bytes())
			})
		}
	}
}

// TestReportJSONIsRunJSON checks that the JSON report of one run is
// exactly its run.json, and of several an array of them.
func TestReportJSONIsRunJSON(t *testing.T) {
	dir := t.TempDir()
	if err := results.WriteRun(dir, sampleRun()); err != nil {
		t.Fatal(err)
	}
	file, _ := os.ReadFile(filepath.Join(dir, results.RunFile))
	var buf bytes.Buffer
	if err := Write(&buf, FormatJSON, sampleRun()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), file) {
		t.Errorf("json report differs from run.json:\n%s\nrun.json:\n%s", buf.Bytes(), file)
	}
	buf.Reset()
	if err := Write(&buf, FormatJSON, sampleRun(), candidateRun()); err != nil {
		t.Fatal(err)
	}
	var runs []*results.Run
	if err := json.Unmarshal(buf.Bytes(), &runs); err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || !reflect.DeepEqual(runs[0], sampleRun()) || !reflect.DeepEqual(runs[1], candidateRun()) {
		t.Errorf("json report of two runs reads back as %+v", runs)
	}
}

func TestReportUnknownFormat(t *testing.T) {
	err := Write(&bytes.Buffer{}, "yaml", sampleRun())
	if !errors.Is(err, ErrUnknownFormat) || err.Error() != `unknown report format "yaml": expected one of text, json, markdown` {
		t.Errorf("Report(yaml) = %v", err)
	}
}
