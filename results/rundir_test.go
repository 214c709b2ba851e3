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

func TestNewRunDir(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "perf-results")
	started := time.Date(2026, 11, 27, 13, 34, 56, 0, time.FixedZone("CET", 3600))
	for _, tc := range []struct{ name, want string }{
		{"smoke", "20261127T123456Z-smoke"},
		{"smoke", "20261127T123456Z-smoke-2"},
		{"smoke", "20261127T123456Z-smoke-3"},
		{"../../etc/p99 <= 25ms!", "20261127T123456Z-etc-p99-25ms"},
		{"", "20261127T123456Z-run"},
		{"...", "20261127T123456Z-run-2"},
		{strings.Repeat("x", 100), "20261127T123456Z-" + strings.Repeat("x", maxNameLen)},
	} {
		dir, err := NewRunDir(parent, tc.name, started)
		if err != nil {
			t.Fatalf("NewRunDir(%q): %v", tc.name, err)
		}
		if got := filepath.Base(dir); got != tc.want {
			t.Errorf("NewRunDir(%q) = %s, want %s", tc.name, got, tc.want)
		}
		if filepath.Dir(dir) != parent {
			t.Errorf("NewRunDir(%q) = %s, not under %s", tc.name, dir, parent)
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			t.Errorf("NewRunDir(%q) did not create %s: %v", tc.name, dir, err)
		}
	}
}

func TestRunRoundTrip(t *testing.T) {
	dir := t.TempDir()
	r := sampleRun()
	if err := WriteRun(dir, r); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Errorf("ReadRun = %+v\nwant %+v", got, r)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != RunFile {
		t.Errorf("run directory holds %v, want only %s (no temporary file left)", entries, RunFile)
	}

	// A run with nil collections is written with empty ones and the schema.
	if err := WriteRun(dir, &Run{Name: "bare"}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, RunFile))
	for _, want := range []string{`"schema": "perf.run/v1"`, `"status_codes": {}`, `"error_kinds": {}`, `"invalid_reasons": []`, `"slo": []`, `"command": []`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("run.json lacks %s:\n%s", want, data)
		}
	}
}

func TestReadRunErrors(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	empty := filepath.Join(tmp, "empty")
	os.Mkdir(empty, 0o755)
	write := func(name, content string) string {
		d := filepath.Join(tmp, name)
		os.Mkdir(d, 0o755)
		os.WriteFile(filepath.Join(d, RunFile), []byte(content), 0o644)
		return d
	}
	for _, tc := range []struct {
		dir  string
		want string
		is   error
	}{
		{filepath.Join(tmp, "missing"), "missing: no such directory", nil},
		{file, "file: not a directory; expected a run directory", nil},
		{empty, empty + " is not a perf run directory: run.json missing", ErrNotRunDir},
		{write("notjson", "{\n  \"schema\": \"perf.run/v1\",\n  oops\n}"), "notjson/run.json: expected run.json's JSON object: line 3: invalid character 'o'", nil},
		{write("noschema", `{"name": "x"}`), `noschema/run.json: unsupported run.json schema: no "schema" field; expected "perf.run/v1"`, ErrSchema},
		{write("v9", `{"schema": "perf.run/v9"}`), `v9/run.json: unsupported run.json schema "perf.run/v9"; this perf reads "perf.run/v1"`, ErrSchema},
		{write("types", "{\"schema\": \"perf.run/v1\",\n\"requests\": \"many\"}"), `types/run.json: expected run.json's fields: line 2: field "requests": expected int64, got JSON string`, nil},
	} {
		_, err := ReadRun(tc.dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ReadRun(%s) = %v, want an error containing %q", tc.dir, err, tc.want)
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("ReadRun(%s) = %v, want errors.Is %v", tc.dir, err, tc.is)
		}
	}
}

func FuzzDecodeRun(f *testing.F) {
	data, err := MarshalRun(sampleRun())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(data))
	f.Add(`{"schema": "perf.run/v1"}`)
	f.Add(`{"schema": "perf.run/v2"}`)
	f.Add(`{"schema": "perf.run/v1", "latency": {"corrected": {"p99_ms": "x"}}}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, in string) {
		r, err := DecodeRun(strings.NewReader(in), "run.json")
		if err != nil {
			if !strings.Contains(err.Error(), "run.json") {
				t.Fatalf("error %q does not name the input", err)
			}
			return
		}
		if r.Schema != Schema {
			t.Fatalf("accepted schema %q", r.Schema)
		}
		if _, err := MarshalRun(r); err != nil {
			t.Fatalf("a decoded run does not encode: %v", err)
		}
	})
}

// sampleRun is a complete run as perf attack writes it.
func sampleRun() *Run {
	return &Run{
		Schema:      Schema,
		ToolVersion: "v0.3.0",
		Command:     []string{"perf", "attack", "--url", "http://127.0.0.1:8080/v1/items/{key}", "--rate", "1000", "--duration", "10s", "--slo", "p99 <= 25ms"},
		Name:        "smoke",
		StartedAt:   time.Date(2026, 11, 27, 12, 34, 56, 0, time.UTC),
		DurationS:   10,
		WarmupS:     2,
		Target:      "http://127.0.0.1:8080/v1/items/{key}",
		Rate:        Rate{Target: 1000, Achieved: 998.7, Plan: "1000/s"},
		Requests:    9987,
		Errors:      3,
		StatusCodes: map[string]int64{"200": 9984, "503": 2},
		ErrorKinds:  map[string]int64{"timeout": 1},
		Latency: Latency{
			Corrected: Percentiles{P50: 1.234, P90: 3.456, P95: 4.567, P99: 12.345, P999: 30.001, Max: 41.2, Mean: 1.9},
			Service:   Percentiles{P50: 1.1, P90: 3.001, P95: 4.002, P99: 9.876, P999: 20.5, Max: 40.96, Mean: 1.7},
		},
		Lag:            LagSummary{P50: 0.012, P99: 0.25, Max: 3.1},
		Valid:          true,
		InvalidReasons: []string{},
		SLO: []Verdict{
			{Expr: "p99 <= 25ms", OK: true, Observed: "p99 12.345ms"},
			{Expr: "errors <= 0.01%", OK: false, Observed: "errors 0.03% (3 of 9987)"},
		},
		Generator: Generator{CPUMeanPercent: 21.5, CPUMaxPercent: 34, Workers: 10, MaxLagMS: 10},
		Host:      Host{Hostname: "gen-1", Kernel: "6.1.0-18-amd64", CPUs: 2, GOMAXPROCS: 2, GoVersion: "go1.26.0"},
	}
}
