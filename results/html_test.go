package results

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// htmlTestRun describes a synthetic run directory for the HTML tests.
type htmlTestRun struct {
	name    string
	scale   float64 // latency multiplier
	warmup  int     // seconds
	seconds int     // measured seconds
	rate    int     // requests per second
	stallAt int     // second with a 200ms stall (corrected only); -1 for none
	host    bool    // write host.json
	invalid string  // invalid reason, "" for a valid run
}

// writeHTMLTestRun writes a complete run directory with the package's own
// writers: latency.hlog, timeline.csv, host.json and run.json whose
// numbers come from the same histograms.
func writeHTMLTestRun(t testing.TB, dir string, spec htmlTestRun) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	var seed uint64
	for _, c := range spec.name {
		seed = seed*31 + uint64(c)
	}
	rng := rand.New(rand.NewPCG(seed, 42))
	var intervals []Interval
	corrected, service, lag := NewHistogram(), NewHistogram(), NewHistogram()
	var errs int64
	host := &HostSamples{Start: start, IntervalS: 1}
	for sec := 0; sec < spec.warmup+spec.seconds; sec++ {
		iv := Interval{
			Start:     start.Add(time.Duration(sec) * time.Second),
			End:       start.Add(time.Duration(sec+1) * time.Second),
			Warmup:    sec < spec.warmup,
			Corrected: NewHistogram(), Service: NewHistogram(), Lag: NewHistogram(),
			Intended: int64(spec.rate),
		}
		n := spec.rate - rng.IntN(spec.rate/50+1)
		for i := 0; i < n; i++ {
			// Log-normal service time around 2ms, a long tail.
			svc := time.Duration(spec.scale * 2e6 * math.Exp(0.6*rng.NormFloat64()))
			l := time.Duration(rng.IntN(200)) * time.Microsecond
			c := svc + l
			if sec == spec.stallAt && i < n/3 {
				c += 200 * time.Millisecond * time.Duration(n/3-i) / time.Duration(n/3)
			}
			Record(iv.Service, svc)
			Record(iv.Lag, l)
			Record(iv.Corrected, c)
		}
		iv.Unsent = iv.Intended - int64(n)
		if sec%4 == 3 {
			iv.Errors = int64(rng.IntN(3))
		}
		intervals = append(intervals, iv)
		host.Generator = append(host.Generator, HostSample{T: float64(sec) + 0.5, ProcCPUPercent: 20 + 10*spec.scale + float64(rng.IntN(10)), ProcCPUCores: 0.4})
		if !iv.Warmup {
			corrected.Merge(iv.Corrected)
			service.Merge(iv.Service)
			lag.Merge(iv.Lag)
			errs += iv.Errors
		}
	}
	if spec.host {
		if err := WriteHostSamples(filepath.Join(dir, HostFile), host); err != nil {
			t.Fatal(err)
		}
	}
	cpu := ProcessCPU(host.Generator)
	run := &Run{
		Name:        spec.name,
		ToolVersion: "test",
		StartedAt:   start,
		DurationS:   float64(spec.seconds),
		WarmupS:     float64(spec.warmup),
		Target:      "http://127.0.0.1:8080/v1/items/{key}",
		Rate:        Rate{Target: float64(spec.rate), Achieved: float64(corrected.TotalCount()) / float64(spec.seconds), Plan: strconv.Itoa(spec.rate) + "/s"},
		Requests:    corrected.TotalCount(),
		Errors:      errs,
		Latency:     Latency{Corrected: Summarize(corrected), Service: Summarize(service)},
		Lag:         SummarizeLag(lag),
		Valid:       spec.invalid == "",
		Generator:   Generator{CPUMeanPercent: cpu.MeanPercent, CPUMaxPercent: cpu.MaxPercent, Workers: 10, MaxLagMS: 10},
		Host:        Host{Kernel: "6.1.0-test", CPUs: 2, GOMAXPROCS: 2, GoVersion: "go1.26"},
	}
	if spec.invalid != "" {
		run.InvalidReasons = []string{spec.invalid}
	}
	slos, err := ParseSLOs([]string{"p50<=5ms", "p99<=25ms", "p999<=150ms", "errors<=1%"})
	if err != nil {
		t.Fatal(err)
	}
	run.SLO = EvaluateSLOs(slos, run)
	writeRunDir(t, dir, run, intervals)
}

func loadHTMLTestRuns(t testing.TB, dirs ...string) []*RunData {
	t.Helper()
	var out []*RunData
	for _, d := range dirs {
		rd, err := LoadRunData(d)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rd)
	}
	return out
}

var (
	polylineRE = regexp.MustCompile(`<polyline class="series ([a-z0-9]+) run-(\d+)"[^>]* data-points="(\d+)"[^>]* stroke="([^"]+)"`)
	svgRE      = regexp.MustCompile(`<svg id="([a-z]+)" class="plot"`)
)

// seriesIn returns, for the SVG with id in page, the polylines' "kind run"
// and their point counts.
func seriesIn(t *testing.T, page, id string) map[string]int {
	t.Helper()
	i := strings.Index(page, `<svg id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no <svg id=%q> in the page", id)
	}
	j := strings.Index(page[i:], "</svg>")
	out := map[string]int{}
	for _, m := range polylineRE.FindAllStringSubmatch(page[i:i+j], -1) {
		n, _ := strconv.Atoi(m[3])
		out[m[1]+" "+m[2]] = n
	}
	return out
}

func TestHTMLOneRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "20261127T120000Z-smoke")
	writeHTMLTestRun(t, dir, htmlTestRun{name: "smoke", scale: 1, warmup: 2, seconds: 10, rate: 500, stallAt: 6, host: true})
	if err := WriteRunHTML(dir); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	page := string(data)

	var ids []string
	for _, m := range svgRE.FindAllStringSubmatch(page, -1) {
		ids = append(ids, m[1])
	}
	if strings.Join(ids, " ") != "spectrum latency rate errors cpu" {
		t.Errorf("plots %q, want spectrum latency rate errors cpu", ids)
	}
	spec := seriesIn(t, page, "spectrum")
	if spec["corrected 0"] < 100 || spec["service 0"] < 100 {
		t.Errorf("spectrum series %v, want corrected and service with >= 100 points", spec)
	}
	for id, kinds := range map[string][]string{"latency": {"p50", "p99", "max"}, "rate": {"intended", "sent"}, "errors": {"errors"}, "cpu": {"cpu"}} {
		got := seriesIn(t, page, id)
		for _, k := range kinds {
			if got[k+" 0"] != 12 {
				t.Errorf("%s: series %s has %d points, want 12 (one a second, warm-up included)", id, k, got[k+" 0"])
			}
		}
	}
	// The SLO bounds are drawn on the spectrum: p50, p99 and p99.9.
	if n := strings.Count(page, `<g class="mark" id="spectrum-mark-`); n != 3 {
		t.Errorf("%d SLO marks on the spectrum, want 3", n)
	}
	for _, want := range []string{
		`id="validity">VALID`, `<td>p99&lt;=25ms</td>`, `<span class="pass">PASS</span>`, "warm-up",
		">0%<", ">90%<", ">99%<", ">99.9%<", ">99.99%<", ">99.999%<", "percentile", "latency (ms)",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Self-contained: nothing is fetched.
	for _, bad := range []string{"<link", " src=", "@import", "url(", "<iframe"} {
		if strings.Contains(page, bad) {
			t.Errorf("page holds %q: it must not load anything", bad)
		}
	}
}

func TestHTMLRunsOverlaidAndInvalid(t *testing.T) {
	root := t.TempDir()
	fast, slow := filepath.Join(root, "fast"), filepath.Join(root, "slow")
	writeHTMLTestRun(t, fast, htmlTestRun{name: "fast", scale: 1, warmup: 1, seconds: 6, rate: 300, stallAt: -1, host: true})
	writeHTMLTestRun(t, slow, htmlTestRun{name: "slow", scale: 3, warmup: 1, seconds: 8, rate: 300, stallAt: -1, invalid: "generator CPU saturated: max 100% of GOMAXPROCS"})
	var buf bytes.Buffer
	if err := WriteHTML(&buf, loadHTMLTestRuns(t, fast, slow)...); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	spec := seriesIn(t, page, "spectrum")
	if spec["corrected 0"] == 0 || spec["corrected 1"] == 0 || spec["service 1"] == 0 {
		t.Errorf("spectrum series %v, want both runs", spec)
	}
	colors := map[string]string{}
	for _, m := range polylineRE.FindAllStringSubmatch(page, -1) {
		if prev, ok := colors[m[2]]; ok && prev != m[4] {
			t.Errorf("run %s drawn in %s and %s: one colour a run", m[2], prev, m[4])
		}
		colors[m[2]] = m[4]
	}
	if len(colors) != 2 || colors["0"] == colors["1"] {
		t.Errorf("run colours %v, want two distinct", colors)
	}
	for _, want := range []string{
		`class="status invalid" id="validity">INVALID`,
		`<li>slow: generator CPU saturated: max 100% of GOMAXPROCS</li>`,
		`<span class="invalid-text">INVALID</span>`,
		`<text x="`, `fast: corrected`, `slow: service`,
		`id="note-cpu">No host.json for slow: generator CPU was not sampled.`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if got := seriesIn(t, page, "cpu"); len(got) != 1 || got["cpu 0"] != 7 {
		t.Errorf("cpu series %v, want the fast run's only", got)
	}
}

func TestLoadRunDataErrors(t *testing.T) {
	root := t.TempDir()
	if _, err := LoadRunData(root); !errors.Is(err, ErrNotRunDir) {
		t.Errorf("empty dir: %v, want ErrNotRunDir", err)
	}
	dir := filepath.Join(root, "run")
	writeHTMLTestRun(t, dir, htmlTestRun{name: "x", scale: 1, seconds: 2, rate: 100, stallAt: -1})
	if d, err := LoadRunData(dir); err != nil || d.Host != nil {
		t.Errorf("run without host.json: %v, host %v", err, d)
	}
	if err := os.WriteFile(filepath.Join(dir, HostFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadRunData(dir); err == nil || !strings.Contains(err.Error(), HostFile) {
		t.Errorf("broken host.json: %v, want an error naming it", err)
	}
	if err := os.Remove(filepath.Join(dir, HlogFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadRunData(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, HlogFile)) {
		t.Errorf("no latency.hlog: %v, want an error naming it", err)
	}
	if err := WriteHTML(&bytes.Buffer{}); err == nil {
		t.Error("WriteHTML of no runs: no error")
	}
}

func TestNiceTicks(t *testing.T) {
	for _, tt := range []struct {
		lo, hi float64
		want   string
	}{
		{0, 12, "0 5 10 15"},
		{0, 1, "0 0.2 0.4 0.6 0.8 1"},
		{0, 103, "0 50 100 150"},
		{0, 0.013, "0 0.005 0.01 0.015"},
	} {
		var got []string
		for _, tk := range niceTicks(tt.lo, tt.hi, 5) {
			got = append(got, tk.label)
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("niceTicks(%v, %v) = %q, want %q", tt.lo, tt.hi, got, tt.want)
		}
	}
}

// chromium returns the path of a headless-capable Chromium, or skips.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium on PATH (Debian: apt-get install chromium; .ci/run installs it)")
	return ""
}

// runChromium runs headless Chromium with args after the common flags.
func runChromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	common := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--hide-scrollbars", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(common, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.Bytes())
	}
	return out
}

// TestHTMLInChromium renders a report of two overlaid runs in headless
// Chromium and checks the rendered DOM: the page's inline script records,
// after load, each plot's rendered points, polyline length and width, so
// the DOM dump proves the browser drew them. A screenshot must not be blank.
func TestHTMLInChromium(t *testing.T) {
	bin := chromium(t)
	root := t.TempDir()
	a, b := filepath.Join(root, "20261127T120000Z-fast"), filepath.Join(root, "20261127T121000Z-slow")
	writeHTMLTestRun(t, a, htmlTestRun{name: "fast", scale: 1, warmup: 2, seconds: 10, rate: 400, stallAt: 6, host: true})
	writeHTMLTestRun(t, b, htmlTestRun{name: "slow", scale: 1.6, warmup: 2, seconds: 10, rate: 400, stallAt: -1, host: true})
	page := filepath.Join(root, "report.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(f, loadHTMLTestRuns(t, a, b)...); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	src, _ := os.ReadFile(page)
	url := "file://" + page

	dom := string(runChromium(t, bin, "--dump-dom", url))
	rendered := regexp.MustCompile(`<svg id="([a-z]+)"[^>]*data-rendered-points="(\d+)" data-rendered-length="(\d+)" data-rendered-width="(\d+)"`)
	got := map[string][3]int{}
	for _, m := range rendered.FindAllStringSubmatch(dom, -1) {
		var v [3]int
		for i := range v {
			v[i], _ = strconv.Atoi(m[i+2])
		}
		got[m[1]] = v
	}
	for _, id := range []string{"spectrum", "latency", "rate", "errors", "cpu"} {
		v, ok := got[id]
		if !ok {
			t.Errorf("rendered DOM: <svg id=%q> without data-rendered-* (the page's script did not run on it)", id)
			continue
		}
		// The points the browser parsed equal the points written.
		want := 0
		for _, n := range seriesIn(t, string(src), id) {
			want += n
		}
		if v[0] != want || v[0] == 0 || v[1] <= 0 || v[2] < 300 {
			t.Errorf("%s rendered %d points (want %d), length %d, width %d", id, v[0], want, v[1], v[2])
		}
	}
	if !regexp.MustCompile(`<body data-rendered-points="[1-9]\d*"`).MatchString(dom) {
		t.Error("rendered DOM: body has no data-rendered-points")
	}

	shot := filepath.Join(root, "report.png")
	runChromium(t, bin, "--screenshot="+shot, "--window-size=1024,3400", url)
	if dst := os.Getenv("PERF_HTML_SCREENSHOT"); dst != "" { // to look at it
		data, _ := os.ReadFile(shot)
		_ = os.WriteFile(dst, data, 0o644)
	}
	pf, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	img, err := png.Decode(pf)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if frac, colours := inkedFraction(img); frac < 0.02 || colours < 8 {
		t.Errorf("screenshot looks blank: %.3f of pixels not white, %d colours", frac, colours)
	}
}

// inkedFraction returns the share of non-white pixels and the number of
// distinct colours (up to 1000) in img.
func inkedFraction(img image.Image) (float64, int) {
	b := img.Bounds()
	inked, total := 0, 0
	colours := map[[3]uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			total++
			if r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				inked++
			}
			if len(colours) < 1000 {
				colours[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
			}
		}
	}
	return float64(inked) / float64(total), len(colours)
}

// TestHTMLEmptyRun draws a run stopped before its first interval ended: an
// interval log with its header only and an empty timeline.csv.
func TestHTMLEmptyRun(t *testing.T) {
	dir := t.TempDir()
	hf, err := os.Create(filepath.Join(dir, HlogFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewHlogWriter(hf, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	hf.Close()
	if err := os.WriteFile(filepath.Join(dir, TimelineFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteRun(dir, &Run{Name: "stopped", Interrupted: true, Valid: false, InvalidReasons: []string{"interrupted before the first interval"}}); err != nil {
		t.Fatal(err)
	}
	if err := WriteRunHTML(dir); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="note-spectrum">No latency recorded`, `id="note-latency">No timeline rows for`, `<svg id="cpu"`, "(interrupted)"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("page lacks %q", want)
		}
	}
	if bytes.Contains(page, []byte("NaN")) || bytes.Contains(page, []byte("Inf")) {
		t.Error("page holds NaN or Inf coordinates")
	}
}
