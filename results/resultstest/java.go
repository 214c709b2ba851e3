package resultstest

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/perf-tools/perf/internal/testenv"
)

// JarPaths are the places HdrHistogram's jar is looked for, after the
// PERF_HDRHISTOGRAM_JAR environment variable. Debian's libhdrhistogram-java
// installs the second.
var JarPaths = []string{
	"/usr/share/java/HdrHistogram.jar",
	"/usr/share/java/hdrhistogram.jar",
}

// Totals are the cumulative figures the reference HistogramLogProcessor
// prints on the last line of its CSV interval log, in milliseconds (the
// tool's default output ratio of 1e6 over nanosecond values).
type Totals struct {
	Count                           int64
	P50, P90, P99, P999, P9999, Max float64
}

// Jar returns the path of HdrHistogram's jar and whether java and the jar
// are both present.
func Jar() (string, bool) {
	if _, err := exec.LookPath("java"); err != nil {
		return "", false
	}
	paths := JarPaths
	if p := os.Getenv("PERF_HDRHISTOGRAM_JAR"); p != "" {
		paths = append([]string{p}, paths...)
	}
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, true
		}
	}
	return "", false
}

// JavaTotals runs the reference HistogramLogProcessor over the interval log
// at hlog for the histograms tagged tag whose start is at least startSec
// seconds after the log's StartTime, and returns its cumulative totals. It
// skips the test when java or the jar is absent, and fails it when the tool
// cannot read the log (the tool exits 0 even then, so its output is
// checked).
func JavaTotals(t testing.TB, hlog, tag string, startSec float64) Totals {
	t.Helper()
	jar, ok := Jar()
	if !ok {
		testenv.SkipOrFail(t, testenv.Java, "java or HdrHistogram's jar is absent (install default-jre-headless and libhdrhistogram-java, or set PERF_HDRHISTOGRAM_JAR)")
	}
	out := filepath.Join(t.TempDir(), "processed")
	args := []string{"-cp", jar, "org.HdrHistogram.HistogramLogProcessor",
		"-i", hlog, "-csv", "-o", out, "-start", strconv.FormatFloat(startSec, 'f', 3, 64)}
	if tag != "" {
		args = append(args, "-tag", tag)
	}
	cmd := exec.Command("java", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("java HistogramLogProcessor on %s: %v\n%s", hlog, err, stderr.String())
	}
	if strings.Contains(stderr.String(), "Exception") || strings.Contains(stderr.String(), "failed") {
		t.Fatalf("java HistogramLogProcessor could not read %s:\n%s", hlog, stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("java HistogramLogProcessor wrote no output: %v\n%s", err, stderr.String())
	}
	tot, err := parseTotals(data)
	if err != nil {
		t.Fatalf("java HistogramLogProcessor output for %s: %v\n%s\n%s", hlog, err, data, stderr.String())
	}
	return tot
}

// parseTotals reads the last data line of the tool's CSV interval log:
// Timestamp, Int_Count, Int_50%, Int_90%, Int_Max, Total_Count, Total_50%,
// Total_90%, Total_99%, Total_99.9%, Total_99.99%, Total_Max.
func parseTotals(data []byte) (Totals, error) {
	var last []string
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || line[0] == '#' || line[0] == '"' {
			continue
		}
		rec, err := csv.NewReader(strings.NewReader(line)).Read()
		if err != nil {
			return Totals{}, err
		}
		last = rec
	}
	if last == nil {
		return Totals{}, fmt.Errorf("no interval lines")
	}
	if len(last) != 12 {
		return Totals{}, fmt.Errorf("expected 12 columns, got %d: %v", len(last), last)
	}
	var tot Totals
	n, err := strconv.ParseInt(last[5], 10, 64)
	if err != nil {
		return Totals{}, fmt.Errorf("Total_Count %q: %w", last[5], err)
	}
	tot.Count = n
	for i, dst := range []*float64{&tot.P50, &tot.P90, &tot.P99, &tot.P999, &tot.P9999, &tot.Max} {
		v, err := strconv.ParseFloat(last[6+i], 64)
		if err != nil {
			return Totals{}, fmt.Errorf("column %d %q: %w", 7+i, last[6+i], err)
		}
		*dst = v
	}
	return tot, nil
}
