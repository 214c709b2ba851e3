package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/perf-tools/perf/internal/testenv"
	"github.com/perf-tools/perf/results"
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
	// tailS is the length in seconds of a last, partial interval after
	// the measured seconds (a run's end cut by the window or an
	// interrupt); 0 for none.
	tailS float64
	// dead lists seconds (counted from the warm-up's start) in which every
	// request sent failed without a response: no latency in them.
	dead []int
	// noSLO leaves the run without SLOs.
	noSLO bool
	// hostCPU is the CPU use of the generator's cores in every host
	// sample (affinity_cpu_percent); 0 for a little above the generator's.
	hostCPU float64
	// lateAt lists seconds in which every request is sent 20ms late.
	lateAt []int
	// steps, when set, make the rate a schedule of steps (run.json's
	// segments): steps[k] requests per second for stepS seconds each,
	// latency growing with the rate as a target's near its knee. seconds
	// must be len(steps)*stepS.
	steps []int
	stepS int
}

// step returns the step of a run with steps at sec (counted from the
// warm-up's start; the warm-up is at the first step's rate), -1 without.
func (spec htmlTestRun) step(sec int) int {
	if len(spec.steps) == 0 {
		return -1
	}
	return min(max(sec-spec.warmup, 0)/spec.stepS, len(spec.steps)-1)
}

// rateAt returns the planned rate at sec.
func (spec htmlTestRun) rateAt(sec int) int {
	if k := spec.step(sec); k >= 0 {
		return spec.steps[k]
	}
	return spec.rate
}

// scaleAt returns the latency multiplier at sec: with steps, it grows as
// the rate's ratio to the first step to the power 1.5.
func (spec htmlTestRun) scaleAt(sec int) float64 {
	if k := spec.step(sec); k >= 0 {
		return spec.scale * math.Pow(float64(spec.steps[k])/float64(spec.steps[0]), 1.5)
	}
	return spec.scale
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
	var intervals []results.Interval
	corrected, service, lag := results.NewHistogram(), results.NewHistogram(), results.NewHistogram()
	var errs, failures, unsent, sent int64
	var measured []results.Interval
	host := &results.HostSamples{Start: start, IntervalS: 1}
	total := spec.warmup + spec.seconds
	if spec.tailS > 0 {
		total++
	}
	for sec := 0; sec < total; sec++ {
		length := time.Second
		if sec == spec.warmup+spec.seconds {
			length = time.Duration(spec.tailS * float64(time.Second))
		}
		iv := results.Interval{
			Start:     start.Add(time.Duration(sec) * time.Second),
			End:       start.Add(time.Duration(sec)*time.Second + length),
			Warmup:    sec < spec.warmup,
			Corrected: results.NewHistogram(), Service: results.NewHistogram(), Lag: results.NewHistogram(),
			Intended: int64(math.Round(float64(spec.rateAt(sec)) * length.Seconds())),
		}
		n := int(iv.Intended) - rng.IntN(int(iv.Intended)/50+1)
		// Failures get no response, hence no latency; error statuses do.
		var failed, statuses int
		switch {
		case slices.Contains(spec.dead, sec):
			failed = n
		case sec%4 == 3 && len(spec.steps) == 0: // steps fail by latency alone
			failed, statuses = rng.IntN(3), 1+rng.IntN(3)
		}
		for i := 0; i < n; i++ {
			// Log-normal service time around 2ms, a long tail.
			svc := time.Duration(spec.scaleAt(sec) * 2e6 * math.Exp(0.6*rng.NormFloat64()))
			l := time.Duration(rng.IntN(200)) * time.Microsecond
			if slices.Contains(spec.lateAt, sec) {
				l += 20 * time.Millisecond
			}
			c := svc + l
			if sec == spec.stallAt && i < n/3 {
				c += 200 * time.Millisecond * time.Duration(n/3-i) / time.Duration(n/3)
			}
			results.Record(iv.Lag, l)
			if i < failed {
				continue
			}
			results.Record(iv.Service, svc)
			results.Record(iv.Corrected, c)
		}
		iv.Unsent = iv.Intended - int64(n)
		iv.Failures = int64(failed)
		iv.Errors = int64(failed + statuses)
		intervals = append(intervals, iv)
		if length == time.Second {
			cpu := 20 + 10*spec.scale + float64(rng.IntN(10))
			busy := spec.hostCPU
			if busy == 0 {
				busy = cpu + 5
			}
			host.Generator = append(host.Generator, results.HostSample{T: float64(sec) + 1, ProcCPUPercent: cpu, ProcCPUCores: 0.4, AffinityCPUPercent: busy})
		}
		if !iv.Warmup {
			measured = append(measured, iv)
			corrected.Merge(iv.Corrected)
			service.Merge(iv.Service)
			lag.Merge(iv.Lag)
			errs += iv.Errors
			failures += iv.Failures
			unsent += iv.Unsent
			sent += iv.Sent()
		}
	}
	if spec.host {
		if err := results.WriteHostSamples(filepath.Join(dir, results.HostFile), host); err != nil {
			t.Fatal(err)
		}
	}
	cpu, hostCPU := results.ProcessCPU(host.Generator), results.AffinityCPU(host.Generator)
	run := &results.Run{
		Name:        spec.name,
		ToolVersion: "test",
		StartedAt:   start,
		DurationS:   float64(spec.seconds),
		WarmupS:     float64(spec.warmup),
		Target:      "http://127.0.0.1:8080/v1/items/{key}",
		Rate:        results.Rate{Target: float64(spec.rate), Achieved: float64(sent) / float64(spec.seconds), Plan: strconv.Itoa(spec.rate) + "/s"},
		Requests:    sent,
		Unsent:      unsent,
		Errors:      errs,
		StatusCodes: map[string]int64{"200": sent - errs},
		ErrorKinds:  map[string]int64{},
		Latency:     results.Latency{Corrected: results.Summarize(corrected), Service: results.Summarize(service)},
		Lag:         results.SummarizeLag(lag),
		Valid:       spec.invalid == "",
		Generator: results.Generator{CPUMeanPercent: cpu.MeanPercent, CPUMaxPercent: cpu.MaxPercent,
			HostCPUMeanPercent: hostCPU.MeanPercent, HostCPUMaxPercent: hostCPU.MaxPercent, Workers: 10, MaxLagMS: 10},
		Host: results.Host{Kernel: "6.1.0-test", CPUs: 2, GOMAXPROCS: 2, GoVersion: "go1.26"},
	}
	if errs > failures {
		run.StatusCodes["503"] = errs - failures
	}
	if failures > 0 {
		run.ErrorKinds["connection refused"] = failures
		run.ErrorMessages = map[string]string{"connection refused": "dial tcp 127.0.0.1:8080: connect: connection refused"}
	}
	if spec.invalid != "" {
		run.InvalidReasons = []string{spec.invalid}
	}
	slos, err := results.ParseSLOs([]string{"p50<=5ms", "p99<=25ms", "p999<=150ms", "errors<=1%"})
	if err != nil {
		t.Fatal(err)
	}
	if !spec.noSLO {
		run.SLO = results.EvaluateSLOs(slos, run)
	} else {
		slos = nil
	}
	if len(spec.steps) > 0 {
		var planned int64
		for _, iv := range measured {
			planned += iv.Intended
		}
		run.Rate.Target = float64(planned) / float64(spec.seconds)
		run.Rate.Plan = fmt.Sprintf("steps:%d..%d+%d/%ds", spec.steps[0], spec.steps[len(spec.steps)-1], spec.steps[min(1, len(spec.steps)-1)]-spec.steps[0], spec.stepS)
		for k, rate := range spec.steps {
			tally := results.NewTally()
			tally.Window = time.Duration(spec.stepS) * time.Second
			for _, iv := range measured[k*spec.stepS : (k+1)*spec.stepS] {
				tally.AddInterval(iv)
				tally.StatusCodes["200"] += iv.Sent() - iv.Errors
				if iv.Errors > iv.Failures {
					tally.StatusCodes["503"] += iv.Errors - iv.Failures
				}
				if iv.Failures > 0 {
					tally.AddError("connection refused", iv.Failures, "dial tcp 127.0.0.1:8080: connect: connection refused")
				}
			}
			label := fmt.Sprintf("step %d/%d: %d/s", k+1, len(spec.steps), rate)
			seg, err := results.NewSegment(label, run.Rate.Plan, time.Duration(k*spec.stepS)*time.Second, float64(rate), &tally, slos)
			if err != nil {
				t.Fatal(err)
			}
			run.Segments = append(run.Segments, seg)
		}
	}
	writeRunDir(t, dir, run, intervals)
}

func loadHTMLTestRuns(t testing.TB, dirs ...string) []*results.RunDir {
	t.Helper()
	var out []*results.RunDir
	for _, d := range dirs {
		rd, err := results.LoadRunDir(d)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rd)
	}
	return out
}

var (
	polylineRE = regexp.MustCompile(`<polyline class="series ([a-z0-9]+) run-(\d+)(?: partial)?"[^>]* data-points="(\d+)"[^>]* stroke="([^"]+)"`)
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
		out[m[1]+" "+m[2]] += n // a series with gaps is several polylines
	}
	return out
}

func TestHTMLOneRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "20261127T120000Z-smoke")
	writeHTMLTestRun(t, dir, htmlTestRun{name: "smoke", scale: 1, warmup: 2, seconds: 10, rate: 500, stallAt: 6, host: true})
	if err := WriteRunHTML(dir); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, results.HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	page := string(data)

	var ids []string
	for _, m := range svgRE.FindAllStringSubmatch(page, -1) {
		ids = append(ids, m[1])
	}
	if strings.Join(ids, " ") != "spectrum latency lag rate errors cpu" {
		t.Errorf("plots %q, want spectrum latency lag rate errors cpu", ids)
	}
	spec := seriesIn(t, page, "spectrum")
	if spec["corrected 0"] < 100 || spec["service 0"] < 100 {
		t.Errorf("spectrum series %v, want corrected and service with >= 100 points", spec)
	}
	for id, kinds := range map[string][]string{"latency": {"p50", "p99", "max"}, "lag": {"lag"}, "rate": {"intended", "sent"}, "errors": {"failures", "statuses"}, "cpu": {"cpu", "hostcpu"}} {
		got := seriesIn(t, page, id)
		for _, k := range kinds {
			if got[k+" 0"] != 24 {
				t.Errorf("%s: series %s has %d points, want 24 (a step a second, warm-up included)", id, k, got[k+" 0"])
			}
		}
	}
	// The SLO bounds are drawn on the spectrum: p50, p99 and p99.9.
	if n := strings.Count(page, `<g class="mark" id="spectrum-mark-`); n != 3 {
		t.Errorf("%d SLO marks on the spectrum, want 3", n)
	}
	for _, want := range []string{
		`<section id="headlines">`, `<td>p99&lt;=25ms</td>`, `<span class="pass">PASS</span>`, "warm-up",
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
		`class="headline fail" id="headline-1"><span class="swatch" style="background: #D55E00"></span>slow: INVALID: the generator could not keep the plan`,
		`<li>generator CPU saturated: max 100% of GOMAXPROCS</li>`,
		`<span class="invalid-text">INVALID</span>`,
		`<text x="`, `fast: corrected`, `slow: service`,
		`id="note-cpu">No host.json for slow: generator CPU was not sampled.`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if got := seriesIn(t, page, "cpu"); len(got) != 2 || got["cpu 0"] != 14 || got["hostcpu 0"] != 14 {
		t.Errorf("cpu series %v, want the fast run's only", got)
	}
}

func TestLoadRunDirErrors(t *testing.T) {
	root := t.TempDir()
	if _, err := results.LoadRunDir(root); !errors.Is(err, results.ErrNotRunDir) {
		t.Errorf("empty dir: %v, want ErrNotRunDir", err)
	}
	dir := filepath.Join(root, "run")
	writeHTMLTestRun(t, dir, htmlTestRun{name: "x", scale: 1, seconds: 2, rate: 100, stallAt: -1})
	if d, err := results.LoadRunDir(dir); err != nil || d.Host != nil {
		t.Errorf("run without host.json: %v, host %v", err, d)
	}
	if err := os.WriteFile(filepath.Join(dir, results.HostFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := results.LoadRunDir(dir); err == nil || !strings.Contains(err.Error(), results.HostFile) {
		t.Errorf("broken host.json: %v, want an error naming it", err)
	}
	if err := os.Remove(filepath.Join(dir, results.HlogFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := results.LoadRunDir(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, results.HlogFile)) {
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
	testenv.SkipOrFail(t, testenv.Chromium, "no chromium on PATH (Debian: apt-get install chromium; .ci/run installs it)")
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
	for _, id := range []string{"spectrum", "latency", "lag", "rate", "errors", "cpu"} {
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
	hf, err := os.Create(filepath.Join(dir, results.HlogFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := results.NewHlogWriter(hf, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	hf.Close()
	if err := os.WriteFile(filepath.Join(dir, results.TimelineFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := results.WriteRun(dir, &results.Run{Name: "stopped", Interrupted: true, Valid: false, InvalidReasons: []string{"interrupted before the first interval"}}); err != nil {
		t.Fatal(err)
	}
	if err := WriteRunHTML(dir); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, results.HTMLFile))
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

// plotLine is one polyline of a plot: its series kind and run, whether it
// draws a partial interval, and its data values.
type plotLine struct {
	kind    string
	run     int
	partial bool
	values  []pt
}

var lineRE = regexp.MustCompile(`<polyline class="series ([a-z0-9]+) run-(\d+)( partial)?"[^>]*data-values="([^"]*)"`)

// svgOf returns the <svg> element with id in page.
func svgOf(t *testing.T, page, id string) string {
	t.Helper()
	i := strings.Index(page, `<svg id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no <svg id=%q> in the page", id)
	}
	return page[i : i+strings.Index(page[i:], "</svg>")]
}

// linesIn returns the polylines of the plot id, of kind when kind is not
// empty.
func linesIn(t *testing.T, page, id, kind string) []plotLine {
	t.Helper()
	var out []plotLine
	for _, m := range lineRE.FindAllStringSubmatch(svgOf(t, page, id), -1) {
		if kind != "" && m[1] != kind {
			continue
		}
		run, _ := strconv.Atoi(m[2])
		l := plotLine{kind: m[1], run: run, partial: m[3] != ""}
		for _, xy := range strings.Fields(m[4]) {
			x, y, _ := strings.Cut(xy, ",")
			fx, err1 := strconv.ParseFloat(x, 64)
			fy, err2 := strconv.ParseFloat(y, 64)
			if err1 != nil || err2 != nil {
				t.Fatalf("%s: bad data value %q", id, xy)
			}
			l.values = append(l.values, pt{fx, fy})
		}
		out = append(out, l)
	}
	return out
}

// svgAttr returns the numeric attribute attr of the plot id.
func svgAttr(t *testing.T, page, id, attr string) float64 {
	t.Helper()
	m := regexp.MustCompile(` ` + attr + `="([^"]*)"`).FindStringSubmatch(svgOf(t, page, id))
	if m == nil {
		t.Fatalf("<svg id=%q> has no %s", id, attr)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("<svg id=%q> %s=%q: %v", id, attr, m[1], err)
	}
	return v
}

// TestHTMLRunEnd draws the end of a run as what happened: the last interval
// lasts 4ms and holds 2 of the plan's 500/s hits, which is 500/s, not a
// fall to 2/s; it is drawn apart and marked; second 6, in which no request
// got a response, has no latency (a gap, not 0); and the time axis ends
// with the data, at 12.004s.
func TestHTMLRunEnd(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "end")
	writeHTMLTestRun(t, dir, htmlTestRun{name: "end", scale: 1, warmup: 2, seconds: 10, rate: 500, stallAt: -1, host: true, tailS: 0.004, dead: []int{6}})
	var buf bytes.Buffer
	if err := WriteHTML(&buf, loadHTMLTestRuns(t, dir)...); err != nil {
		t.Fatal(err)
	}
	page := buf.String()

	for _, id := range []string{"latency", "rate", "errors", "cpu"} {
		if got := svgAttr(t, page, id, "data-x-max"); got != 12.004 {
			t.Errorf("%s: time axis ends at %vs, want 12.004s (the last interval's end)", id, got)
		}
	}
	for _, kind := range []string{"intended", "sent"} {
		var partial []plotLine
		for _, l := range linesIn(t, page, "rate", kind) {
			if l.partial {
				partial = append(partial, l)
				continue
			}
			for _, q := range l.values {
				if q.y < 450 || q.x > 12 {
					t.Errorf("rate %s: full-interval point %v, want >= 450/s and before 12s", kind, q)
				}
			}
		}
		if len(partial) != 1 {
			t.Fatalf("rate %s: %d partial lines, want 1 (the last 4ms)", kind, len(partial))
		}
		v := partial[0].values
		if len(v) != 2 || v[0].x != 12 || v[1].x != 12.004 || v[0].y != 500 || v[1].y != 500 {
			t.Errorf("rate %s: partial interval drawn as %v, want 500/s over [12, 12.004]", kind, v)
		}
	}
	rate := svgOf(t, page, "rate")
	if !strings.Contains(rate, `<circle class="partial-marker run-0"`) || !strings.Contains(rate, "partial interval (shorter than 1s)") {
		t.Error("rate: the partial interval has no hollow marker or no legend note")
	}

	p99 := linesIn(t, page, "latency", "p99")
	if len(p99) < 2 {
		t.Fatalf("latency p99: %d lines, want a gap at second 6", len(p99))
	}
	for _, l := range p99 {
		for _, q := range l.values {
			if q.x > 6 && q.x < 7 || q.y <= 0 {
				t.Errorf("latency p99: point %v; second 6 had no response and must be a gap, not %v", q, q.y)
			}
		}
	}
}

// TestHTMLEmptyLastInterval: a last interval too short for the plan to
// place a hit in it (0.8ms at 500/s) holds no rate: nothing is drawn for
// it, not a fall to 0.
func TestHTMLEmptyLastInterval(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "empty-end")
	writeHTMLTestRun(t, dir, htmlTestRun{name: "empty-end", scale: 1, warmup: 1, seconds: 4, rate: 500, stallAt: -1, tailS: 0.0008})
	d := loadHTMLTestRuns(t, dir)
	if last := d[0].Timeline[len(d[0].Timeline)-1]; last.Intended != 0 || last.LengthS == 0 {
		t.Fatalf("fixture: last row %+v, want an empty interval of some length", last)
	}
	var buf bytes.Buffer
	if err := WriteHTML(&buf, d...); err != nil {
		t.Fatal(err)
	}
	for _, l := range linesIn(t, buf.String(), "rate", "") {
		for _, q := range l.values {
			if q.y < 450 {
				t.Errorf("rate %s: point %v, want none below 450/s", l.kind, q)
			}
		}
	}
}

// TestHTMLErrorsOverTime checks the errors plot against timeline.csv's
// counts: per interval, failures (no response) and error statuses (errors
// less failures), each per second of the interval, a partial one too.
// Second 6 fails entirely without a response.
func TestHTMLErrorsOverTime(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "errors")
	// The partial last interval (second 11, 250ms) holds error statuses,
	// so a count not divided by its length shows.
	writeHTMLTestRun(t, dir, htmlTestRun{name: "errors", scale: 1, warmup: 2, seconds: 9, rate: 500, stallAt: -1, tailS: 0.25, dead: []int{6}})
	d := loadHTMLTestRuns(t, dir)
	if last := d[0].Timeline[len(d[0].Timeline)-1]; last.LengthS != 0.25 || last.Errors == last.Failures {
		t.Fatalf("fixture: last row %+v, want 250ms with error statuses", last)
	}
	var buf bytes.Buffer
	if err := WriteHTML(&buf, d...); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	// got maps a kind to its value at each interval's start.
	got := map[string]map[float64]float64{}
	for _, l := range linesIn(t, page, "errors", "") {
		if got[l.kind] == nil {
			got[l.kind] = map[float64]float64{}
		}
		for i := 0; i+1 < len(l.values); i += 2 {
			got[l.kind][l.values[i].x] = l.values[i].y
		}
	}
	if len(got) != 2 {
		t.Fatalf("errors plot series %v, want failures and statuses", got)
	}
	var statuses int64
	for _, r := range d[0].Timeline {
		want := map[string]float64{
			"failures": float64(r.Failures) / r.LengthS,
			"statuses": float64(r.Errors-r.Failures) / r.LengthS,
		}
		for kind, w := range want {
			if v, ok := got[kind][r.Second]; !ok || math.Abs(v-w) > 1e-6 {
				t.Errorf("errors %s at %vs: %v (drawn %v), want %v from %+v", kind, r.Second, v, ok, w, r)
			}
		}
		statuses += r.Errors - r.Failures
	}
	if got["failures"][6] < 450 || got["statuses"][6] != 0 {
		t.Errorf("second 6: failures %v/s, statuses %v/s; want every request failed without a response", got["failures"][6], got["statuses"][6])
	}
	if statuses == 0 {
		t.Error("fixture: no error statuses")
	}
}

// TestHTMLVerdictFirst: the page opens with each run's verdict in words,
// before any table or plot, red unless it is a PASS or a VALID. A run in
// which most requests failed says so there.
func TestHTMLVerdictFirst(t *testing.T) {
	root := t.TempDir()
	down, ok := filepath.Join(root, "down"), filepath.Join(root, "ok")
	writeHTMLTestRun(t, down, htmlTestRun{name: "down", scale: 1, warmup: 1, seconds: 6, rate: 200, stallAt: -1, dead: []int{1, 2, 3, 4, 5}, noSLO: true})
	writeHTMLTestRun(t, ok, htmlTestRun{name: "ok", scale: 1, warmup: 1, seconds: 6, rate: 200, stallAt: -1, noSLO: true})
	d := loadHTMLTestRuns(t, down, ok)
	var buf bytes.Buffer
	if err := WriteHTML(&buf, d...); err != nil {
		t.Fatal(err)
	}
	page := buf.String()

	first := len(page)
	for _, tag := range []string{"<table", "<svg", "<h2"} {
		if i := strings.Index(page, tag); i >= 0 {
			first = min(first, i)
		}
	}
	for i, want := range []struct{ class, prefix string }{
		{"fail", "MOST REQUESTS FAILED: "},
		{"ok", "VALID: the generator kept the plan"},
	} {
		h := results.Headline(d[i].Run)
		if !strings.HasPrefix(h, want.prefix) {
			t.Fatalf("fixture: run %d headline %q, want it to start with %q", i, h, want.prefix)
		}
		div := fmt.Sprintf(`<div class="headline %s" id="headline-%d">`, want.class, i)
		at := strings.Index(page, div)
		if at < 0 {
			t.Errorf("page lacks %s", div)
			continue
		}
		text := template.HTMLEscapeString(h)
		if j := strings.Index(page[at:], text); j < 0 || at+j > first {
			t.Errorf("run %d: headline %q not at the top of the page (before any table or plot)", i, h)
		}
	}
	if !regexp.MustCompile(`\.headline\.fail \{[^}]*color: #b00020`).MatchString(page) {
		t.Error("failing headlines are not styled red")
	}
}

// TestHTMLSummaryFacts: the summary shows unsent hits, retries, the host
// CPU of the generator's cores, the worker ceiling, warnings, and the first
// message of each error kind, escaped.
func TestHTMLSummaryFacts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "facts")
	writeHTMLTestRun(t, dir, htmlTestRun{name: "facts", scale: 1, warmup: 1, seconds: 4, rate: 200, stallAt: -1, dead: []int{2}})
	run, err := results.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	run.Unsent, run.Retries = 17, 7
	run.Generator.HostCPUMeanPercent, run.Generator.HostCPUMaxPercent = 91.25, 97.5
	run.Generator.Workers, run.Generator.MaxWorkers = 12, 64
	run.ErrorMessages["tls handshake"] = `remote error: <script>alert("x")</script> & more`
	run.Warnings = []string{"pprof fetch failed: 404"}
	if err := results.WriteRun(dir, run); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteHTML(&buf, loadHTMLTestRuns(t, dir)...); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		`<td id="unsent-0"><span class="fail">17</span></td>`,
		`<td id="retries-0">7</td>`,
		`<td id="host-cpu-0">91.2 / 97.5</td>`,
		`<td id="workers-0">12 (64)</td>`,
		`<li><b>connection refused</b>: dial tcp 127.0.0.1:8080: connect: connection refused</li>`,
		`<li><b>tls handshake</b>: remote error: &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; more</li>`,
		`facts: warning: pprof fetch failed: 404`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, `<script>alert`) {
		t.Error("an error message is not escaped")
	}
}

// TestHTMLHostCPU: the CPU plot draws, beside each generator's own CPU, the
// CPU of every process on its cores, from host.json's samples: for a plain
// run and for each part of a merged one. A host.json without the field
// draws no host series and says so.
func TestHTMLHostCPU(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "crowded")
	writeHTMLTestRun(t, dir, htmlTestRun{name: "crowded", scale: 1, warmup: 1, seconds: 5, rate: 200, stallAt: -1, host: true, hostCPU: 97})
	page := func() string {
		t.Helper()
		var buf bytes.Buffer
		if err := WriteHTML(&buf, loadHTMLTestRuns(t, dir)...); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	// valuesOf returns the values drawn for kind by label, one a step.
	valuesOf := func(page, kind string) map[string][]float64 {
		out := map[string][]float64{}
		re := regexp.MustCompile(`<polyline class="series ` + kind + ` run-\d+"[^>]*data-label="([^"]*)"[^>]*data-values="([^"]*)"`)
		for _, m := range re.FindAllStringSubmatch(svgOf(t, page, "cpu"), -1) {
			f := strings.Fields(m[2])
			for i := 0; i < len(f); i += 2 {
				_, y, _ := strings.Cut(f[i], ",")
				v, _ := strconv.ParseFloat(y, 64)
				out[m[1]] = append(out[m[1]], v)
			}
		}
		return out
	}

	p := page()
	gen, host := valuesOf(p, "cpu")["generator CPU"], valuesOf(p, "hostcpu")["host CPU of its cores"]
	if len(gen) != 6 || len(host) != 6 {
		t.Fatalf("cpu plot: %d generator and %d host steps, want 6 each (one a sample)", len(gen), len(host))
	}
	for i := range host {
		if host[i] != 97 || gen[i] >= 50 {
			t.Errorf("step %d: generator %v%%, its cores %v%%; want the cores at 97%% (host.json), the generator below 50%%", i, gen[i], host[i])
		}
	}
	if y := svgAttr(t, p, "cpu", "data-y-max"); y != 110 || !strings.Contains(svgOf(t, p, "cpu"), `>100</text>`) || strings.Contains(svgOf(t, p, "cpu"), `>150</text>`) {
		t.Errorf("cpu: y axis to %v%%, want ticks to 100%% (no sample above it) and room for labels to 110%%", y)
	}

	// A merged run: each part has its generator and its cores.
	h, err := results.ReadHostSamples(filepath.Join(dir, results.HostFile))
	if err != nil {
		t.Fatal(err)
	}
	a, b := *h, *h
	a.Generator, b.Generator = slices.Clone(h.Generator), slices.Clone(h.Generator)
	for i := range b.Generator {
		b.Generator[i].AffinityCPUPercent = 40
	}
	merged := &results.HostSamples{Start: h.Start, IntervalS: 1, Parts: map[string]*results.HostSamples{"a": &a, "b": &b}}
	if err := results.WriteHostSamples(filepath.Join(dir, results.HostFile), merged); err != nil {
		t.Fatal(err)
	}
	p = page()
	gens, hosts := valuesOf(p, "cpu"), valuesOf(p, "hostcpu")
	if len(gens) != 2 || len(gens["crowded a: generator CPU"]) != 6 || len(gens["crowded b: generator CPU"]) != 6 {
		t.Errorf("merged run: generator series %v, want parts a and b", gens)
	}
	if got := hosts["crowded a: host CPU of its cores"]; len(got) != 6 || got[0] != 97 {
		t.Errorf("merged run: part a's cores %v, want 97%% a sample", got)
	}
	if got := hosts["crowded b: host CPU of its cores"]; len(got) != 6 || got[0] != 40 {
		t.Errorf("merged run: part b's cores %v, want 40%% a sample", got)
	}

	// A host.json from before affinity_cpu_percent.
	for i := range h.Generator {
		h.Generator[i].AffinityCPUPercent = 0
	}
	if err := results.WriteHostSamples(filepath.Join(dir, results.HostFile), h); err != nil {
		t.Fatal(err)
	}
	p = page()
	if got := valuesOf(p, "hostcpu"); len(got) != 0 {
		t.Errorf("old host.json: host series %v, want none", got)
	}
	if !strings.Contains(p, "The host CPU of the generator&#39;s cores was not recorded for crowded") {
		t.Error("old host.json: no note that the host CPU was not recorded")
	}
}

// TestHTMLCPUBound: the CPU plot marks saturation at the bound each run was
// judged by (generator.max_cpu_percent), 95% for a run that did not record
// it, never at 100%.
func TestHTMLCPUBound(t *testing.T) {
	root := t.TempDir()
	old, strict := filepath.Join(root, "old"), filepath.Join(root, "strict")
	writeHTMLTestRun(t, old, htmlTestRun{name: "old", scale: 1, warmup: 1, seconds: 3, rate: 100, stallAt: -1, host: true})
	writeHTMLTestRun(t, strict, htmlTestRun{name: "strict", scale: 1, warmup: 1, seconds: 3, rate: 100, stallAt: -1, host: true})
	run, err := results.ReadRun(strict)
	if err != nil {
		t.Fatal(err)
	}
	run.Generator.MaxCPUPercent = 80
	if err := results.WriteRun(strict, run); err != nil {
		t.Fatal(err)
	}
	marks := func(dirs ...string) []string {
		t.Helper()
		var buf bytes.Buffer
		if err := WriteHTML(&buf, loadHTMLTestRuns(t, dirs...)...); err != nil {
			t.Fatal(err)
		}
		var out []string
		re := regexp.MustCompile(`<g class="mark" id="cpu-mark-\d+" data-y="([^"]*)">.*?<text[^>]*>([^<]*)</text>`)
		for _, m := range re.FindAllStringSubmatch(svgOf(t, buf.String(), "cpu"), -1) {
			out = append(out, m[1]+" "+m[2])
		}
		return out
	}
	for _, tt := range []struct {
		dirs []string
		want string
	}{
		{[]string{old}, "95 saturated (95%)"},
		{[]string{strict}, "80 saturated (80%)"},
		{[]string{old, strict}, "95 old saturated (95%)|80 strict saturated (80%)"},
	} {
		if got := strings.Join(marks(tt.dirs...), "|"); got != tt.want {
			t.Errorf("%d runs: cpu marks %q, want %q", len(tt.dirs), got, tt.want)
		}
	}
}

// TestHTMLLagOverTime: the lag plot draws each interval's send lag p99 from
// timeline.csv, second 4's 20ms late sends above the run's 10ms bound,
// which is drawn as a mark.
func TestHTMLLagOverTime(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "late")
	writeHTMLTestRun(t, dir, htmlTestRun{name: "late", scale: 1, warmup: 1, seconds: 5, rate: 200, stallAt: -1, lateAt: []int{4}})
	d := loadHTMLTestRuns(t, dir)
	var buf bytes.Buffer
	if err := WriteHTML(&buf, d...); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	drawn := map[float64]float64{}
	for _, l := range linesIn(t, page, "lag", "lag") {
		for i := 0; i+1 < len(l.values); i += 2 {
			drawn[l.values[i].x] = l.values[i].y
		}
	}
	if len(drawn) != len(d[0].Timeline) {
		t.Errorf("lag: %d steps, want %d (one an interval)", len(drawn), len(d[0].Timeline))
	}
	for _, r := range d[0].Timeline {
		if drawn[r.Second] != r.LagP99MS {
			t.Errorf("lag at %vs: %v, want lag_p99_ms %v", r.Second, drawn[r.Second], r.LagP99MS)
		}
	}
	if drawn[4] < 20 || drawn[3] > 1 {
		t.Errorf("lag: second 3 %vms, second 4 %vms; want 4 late by 20ms, 3 on time", drawn[3], drawn[4])
	}
	if !strings.Contains(svgOf(t, page, "lag"), `<g class="mark" id="lag-mark-0" data-y="10">`) {
		t.Error("lag: no mark at the run's 10ms bound")
	}
	if y := svgAttr(t, page, "lag", "data-y-max"); y < drawn[4] {
		t.Errorf("lag: y axis ends at %v, below the data", y)
	}

	// On time throughout, lag stays far below the bound: the axis still
	// reaches the bound, so the mark is seen.
	onTime := filepath.Join(t.TempDir(), "on-time")
	writeHTMLTestRun(t, onTime, htmlTestRun{name: "on-time", scale: 1, warmup: 1, seconds: 3, rate: 200, stallAt: -1})
	buf.Reset()
	if err := WriteHTML(&buf, loadHTMLTestRuns(t, onTime)...); err != nil {
		t.Fatal(err)
	}
	if y := svgAttr(t, buf.String(), "lag", "data-y-max"); y < 10 {
		t.Errorf("lag of a run on time: y axis ends at %vms, below the 10ms bound", y)
	}
}

// TestHTMLSpectrumIsTheTablesPercentiles draws 1,800 latencies, where the
// reference percentile rule (run.json's) and hdrhistogram-go's
// ValueAtQuantile disagree at p99.9 (the 1,799th value, 100ms, against
// the 1,798th, 10ms): the spectrum must plot the table's p99.9.
func TestHTMLSpectrumIsTheTablesPercentiles(t *testing.T) {
	start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	iv := results.Interval{Start: start, End: start.Add(time.Second), Intended: 1800,
		Corrected: results.NewHistogram(), Service: results.NewHistogram(), Lag: results.NewHistogram()}
	for i := 1; i <= 1800; i++ {
		d := time.Millisecond
		switch {
		case i == 1798:
			d = 10 * time.Millisecond
		case i > 1798:
			d = 100 * time.Millisecond
		}
		results.Record(iv.Corrected, d)
		results.Record(iv.Service, d)
	}
	tally := results.NewTally()
	tally.Window = time.Second
	tally.AddInterval(iv)
	run := &results.Run{Name: "spectrum", StartedAt: start, Valid: true}
	tally.Fill(run)
	if lib := float64(iv.Corrected.ValueAtQuantile(99.9)) / 1e6; lib == run.Latency.Corrected.P999 {
		t.Fatalf("the library's p99.9 %v equals the reference one: the test shows nothing", lib)
	}
	dir := filepath.Join(t.TempDir(), "run")
	writeRunDir(t, dir, run, []results.Interval{iv})
	var page bytes.Buffer
	if err := WriteHTML(&page, loadHTMLTestRuns(t, dir)...); err != nil {
		t.Fatal(err)
	}
	for _, l := range linesIn(t, page.String(), "spectrum", "corrected") {
		for _, p := range l.values {
			if math.Abs(p.x-3) < 1e-9 { // x = 3 is p99.9
				if math.Abs(p.y-run.Latency.Corrected.P999) > 0.01 { // the page keeps 6 digits
					t.Errorf("spectrum p99.9 %v ms, want run.json's %v ms", p.y, run.Latency.Corrected.P999)
				}
				return
			}
		}
	}
	t.Fatal("no point at p99.9 in the corrected spectrum")
}

// TestHTMLEscapesPlotText names a run with markup: in the plots its label
// is text (escaped by the template), never markup.
func TestHTMLEscapesPlotText(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, `<b>"x"&y`), filepath.Join(root, "plain")
	for _, d := range []string{a, b} {
		writeHTMLTestRun(t, d, htmlTestRun{name: "esc", scale: 1, warmup: 1, seconds: 2, rate: 100, stallAt: -1, host: true})
	}
	var buf bytes.Buffer
	if err := WriteHTML(&buf, loadHTMLTestRuns(t, a, b)...); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, id := range []string{"spectrum", "latency", "lag", "rate", "errors", "cpu"} {
		svg := svgOf(t, page, id)
		if strings.Contains(svg, "<b>") || strings.Contains(svg, "ZgotmplZ") {
			t.Errorf("%s: the run's label is markup in the SVG", id)
		}
	}
	const label = `&lt;b&gt;&#34;x&#34;&amp;y: corrected`
	svg := svgOf(t, page, "spectrum")
	for _, want := range []string{`data-label="` + label + `"`, `<title>` + label + `</title>`, `<text x="30" y="0">` + label + `</text>`} {
		if !strings.Contains(svg, want) {
			t.Errorf("spectrum lacks %s", want)
		}
	}
}
