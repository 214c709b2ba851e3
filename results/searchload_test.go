package results

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleSearch() *Search {
	pass, fail := 12000.0, 12500.0
	return &Search{
		Schema:      SearchSchema,
		ToolVersion: "v0.4.0",
		Command:     []string{"perf", "attack", "search", "--slo", "p99<=25ms"},
		StartedAt:   time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC),
		ElapsedS:    612.5,
		Target:      "http://127.0.0.1:8080/v1/items/{key}",
		SLO:         []string{"p99<=25ms"},
		Settings:    SearchSettings{Min: 1000, Max: 100000, Growth: 2, Precision: 0.02, Confirmations: 2, StepS: 30},
		Outcome:     SearchFound,
		Message:     "12000/s is the highest rate meeting every SLO",
		HighestPass: &pass,
		LowestFail:  &fail,
		Steps: []SearchStep{
			{Index: 1, Phase: PhaseGrow, Offered: 1000, Achieved: 999.9, Dir: "step-01-1000", Requests: 29997,
				Latency: Percentiles{P50: 1, P99: 3, P999: 5}, Verdict: StepPass,
				SLO: []Verdict{{Expr: "p99<=25ms", OK: true, Observed: "p99 3ms"}}, DurationS: 30},
			{Index: 2, Phase: PhaseGrow, Offered: 16000, Achieved: 15800, Dir: "step-02-16000", Requests: 158000, Errors: 3,
				Latency: Percentiles{P50: 40, P99: 900, P999: 1500}, Verdict: StepFail, Reasons: []string{"p99<=25ms: p99 900ms"},
				EndedEarly: "p99 above its bound beyond doubt", DurationS: 10, RecoveryS: 4},
		},
	}
}

func TestSearchRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := sampleSearch()
	if err := WriteSearch(dir, s); err != nil {
		t.Fatal(err)
	}
	got, err := LoadSearch(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("LoadSearch = %+v\nwant %+v", got, s)
	}
	data, err := os.ReadFile(filepath.Join(dir, SearchFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "{\n  \"schema\": \"perf.search/v1\",\n") || !strings.HasSuffix(string(data), "}\n") {
		t.Errorf("search.json is not indented JSON ending in a newline:\n%s", data)
	}
	for _, key := range []string{`"highest_pass": 12000`, `"lowest_fail": 12500`, `"ended_early": "p99 above its bound beyond doubt"`, `"dir": "step-01-1000"`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("search.json lacks %s", key)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("search directory holds %v, want only %s (no temporary file left)", entries, SearchFile)
	}

	// A bare search is written with its schema, empty lists and null
	// answers, and reads back.
	if err := WriteSearch(dir, &Search{Outcome: SearchFailsAtMin}); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(filepath.Join(dir, SearchFile))
	for _, want := range []string{`"schema": "perf.search/v1"`, `"command": []`, `"slo": []`, `"steps": []`, `"highest_pass": null`, `"lowest_fail": null`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("bare search.json lacks %s:\n%s", want, data)
		}
	}
	if strings.Contains(string(data), "generator_bound_at") {
		t.Errorf("bare search.json has generator_bound_at:\n%s", data)
	}
	if got, err := LoadSearch(dir); err != nil || got.HighestPass != nil || got.Outcome != SearchFailsAtMin {
		t.Errorf("bare search reads back as %+v, %v", got, err)
	}
}

func TestLoadSearchErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, SearchFile)
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := LoadSearch(dir)
	if !errors.Is(err, ErrNotSearchDir) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "perf attack search") {
		t.Errorf("no search.json: %v, want ErrNotSearchDir naming %s", err, path)
	}
	if _, err := LoadSearch(filepath.Join(dir, "missing")); !errors.Is(err, ErrNotSearchDir) {
		t.Errorf("no directory: %v, want ErrNotSearchDir", err)
	}
	for _, tc := range []struct {
		content string
		is      error
		want    string
	}{
		{"{\n  \"schema\": \"perf.search/v1\",\n  oops\n}", nil, "line 3"},
		{`[1, 2]`, nil, "expected search.json's JSON object"},
		{`{"outcome": "found"}`, ErrSearchSchema, `no "schema" field; expected "perf.search/v1"`},
		{`{"schema": "perf.run/v1"}`, ErrSearchSchema, `"perf.run/v1"; this perf reads "perf.search/v1"`},
		{`{"schema": "perf.search/v2", "steps": "x"}`, ErrSearchSchema, `"perf.search/v2"`},
		{`{"schema": "perf.search/v1", "steps": "x"}`, nil, `field "steps": expected []results.SearchStep, got JSON string`},
	} {
		write(tc.content)
		_, err := LoadSearch(dir)
		if err == nil {
			t.Errorf("%s: no error", tc.content)
			continue
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%s: %v, want %v", tc.content, err, tc.is)
		}
		if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %q, want it to name %s and say %q", tc.content, err, path, tc.want)
		}
	}
}

func TestWriteSearchErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	err := WriteSearch(dir, sampleSearch())
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, SearchFile)) {
		t.Errorf("write into a missing directory: %v, want an error naming search.json", err)
	}
}
