package results

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// mergeSource is one run directory read for Merge, named by its
// directory (unique among the sources).
type mergeSource struct {
	*RunDir
	name string
}

// Merge combines the run directories dirs, written by load generators that
// attacked together, into one new run directory out, an ordinary run
// directory that report, compare and the HTML report read as any other.
//
// latency.hlog: the intervals of every source are placed on the wall clock
// (the log's StartTime plus the interval's offset), rounded to the nearest
// whole second, and the histograms of each second are added: no sample is
// lost or approximated. A merged second is warm-up when any source was
// warming up in it. timeline.csv is recomputed from the merged seconds
// (the counts of intended, unsent, failed and erroneous requests added;
// percentiles of the merged histograms).
//
// run.json: requests, unsent hits, retries, errors, status codes and error
// kinds are summed (the first message of each kind is kept), so
// are the target and achieved rates; the percentiles are those of the union
// of every source's measured (non-warm-up) samples; the run is valid when
// every source is, and each invalid reason and warning is kept, prefixed
// with its source directory; the SLOs are evaluated again on the merged
// summary. The segments of a rate schedule are merged the same way, one by
// one, when every source ran the same schedule (shards of one plan): the
// segments' histograms in run.json are added up. The variants of runs split
// by a response header are merged by name: counts from run.json, histograms
// from the variants' tags in latency.hlog. host.json keeps each source's samples under the source
// directory's base name (HostSamples.Parts); pprof/ keeps each source's
// profiles under pprof/NAME/.
//
// out must not exist or be an empty directory. Merge needs at least two
// sources; every source must be a run directory with run.json,
// latency.hlog and timeline.csv (one row per interval of the log).
func Merge(dirs []string, out string, opts WriterOptions) error {
	if len(dirs) < 2 {
		return fmt.Errorf("merge: %d run directories, expected at least 2", len(dirs))
	}
	if out == "" {
		return errors.New("merge: no output directory")
	}
	srcs := make([]*mergeSource, 0, len(dirs))
	names := map[string]int{}
	for _, dir := range dirs {
		s, err := readMergeSource(dir)
		if err != nil {
			return fmt.Errorf("merge: %w", err)
		}
		// Name each source by its directory, unique among the sources.
		base := filepath.Base(filepath.Clean(dir))
		names[base]++
		s.name = base
		if n := names[base]; n > 1 {
			s.name = fmt.Sprintf("%s-%d", base, n)
		}
		srcs = append(srcs, s)
	}
	created, err := prepareOut(out)
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	err = mergeInto(srcs, dirs, out, opts)
	if errors.Is(err, ErrRender) {
		return fmt.Errorf("merge: %w", err) // every file of the run is written
	}
	if err != nil {
		// Leave no half-written run directory behind.
		if created {
			os.RemoveAll(out)
		} else if ents, rerr := os.ReadDir(out); rerr == nil {
			for _, e := range ents {
				os.RemoveAll(filepath.Join(out, e.Name()))
			}
		}
		return fmt.Errorf("merge: %w", err)
	}
	return nil
}

// mergeInto writes the merged run of srcs into out, an empty directory.
func mergeInto(srcs []*mergeSource, dirs []string, out string, opts WriterOptions) error {
	intervals, err := mergeIntervals(srcs)
	if err != nil {
		return err
	}
	run := mergeRuns(srcs, dirs, out)
	for _, s := range srcs {
		if err := copyPprof(filepath.Join(s.Path, PprofDir), filepath.Join(out, PprofDir, s.name)); err != nil {
			run.Warnings = append(run.Warnings, fmt.Sprintf("%s: %v", s.Path, err))
		}
	}
	return WriteRunDir(out, run, intervals, mergeHosts(srcs), opts)
}

// readMergeSource reads one source run directory, refusing one whose
// intervals cannot be placed on the wall clock or matched with its
// timeline rows.
func readMergeSource(dir string) (*mergeSource, error) {
	d, err := LoadRunDir(dir)
	if err != nil {
		return nil, err
	}
	if d.Hlog.StartTime.IsZero() {
		return nil, fmt.Errorf("read %s: no #[StartTime: ...] line; expected a latency.hlog written by perf attack, whose intervals can be placed on the wall clock", filepath.Join(dir, HlogFile))
	}
	if n, m := len(d.Timeline), len(d.Hlog.Intervals[TagCorrected]); n != m {
		return nil, fmt.Errorf("%s: %s has %d rows but %s has %d %s intervals; expected one row per interval",
			dir, TimelineFile, n, HlogFile, m, TagCorrected)
	}
	return &mergeSource{RunDir: d}, nil
}

// prepareOut creates out, refusing a file or a directory with files in it.
// It reports whether it created out.
func prepareOut(out string) (bool, error) {
	fi, err := os.Stat(out)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(out, 0o755); err != nil {
			return false, fmt.Errorf("create %s: %w", out, err)
		}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("output %s: %w", out, err)
	case !fi.IsDir():
		return false, fmt.Errorf("output %s: not a directory; expected a new or empty directory", out)
	}
	ents, err := os.ReadDir(out)
	if err != nil {
		return false, fmt.Errorf("output %s: %w", out, err)
	}
	if len(ents) > 0 {
		return false, fmt.Errorf("output %s: directory not empty; expected a new or empty directory", out)
	}
	return false, nil
}

// mergeIntervals places every source interval on the wall clock and adds
// those of each second. It returns the merged intervals in time order.
func mergeIntervals(srcs []*mergeSource) ([]Interval, error) {
	// One interval a whole wall-clock second of the merged run.
	buckets := map[int64]*Interval{}
	bucket := func(sec int64) *Interval {
		b := buckets[sec]
		if b == nil {
			start := time.Unix(sec, 0).UTC()
			b = &Interval{Start: start, End: start,
				Corrected: NewHistogram(), Service: NewHistogram(), Lag: NewHistogram()}
			buckets[sec] = b
		}
		return b
	}
	for _, s := range srcs {
		corrected := s.Hlog.Intervals[TagCorrected]
		for i, iv := range corrected {
			abs := s.Hlog.StartTime.Add(iv.Start)
			b := bucket(int64(math.Round(float64(abs.UnixNano()) / 1e9)))
			length := iv.End - iv.Start
			if end := b.Start.Add(length); end.After(b.End) {
				b.End = end
			}
			b.Warmup = b.Warmup || iv.Warmup
			if err := addHistogram(b.Corrected, iv.Histogram); err != nil {
				return nil, fmt.Errorf("%s: %s interval %d: %w", s.Path, TagCorrected, i+1, err)
			}
			row := s.Timeline[i]
			b.Intended += row.Intended
			b.Unsent += row.Unsent
			b.Failures += row.Failures
			b.Errors += row.Errors
		}
		for _, tag := range s.Hlog.Tags {
			kind, name, ok := ParseVariantTag(tag)
			if !ok {
				continue
			}
			for i, iv := range s.Hlog.Intervals[tag] {
				abs := s.Hlog.StartTime.Add(iv.Start)
				b := bucket(int64(math.Round(float64(abs.UnixNano()) / 1e9)))
				j := slices.IndexFunc(b.Variants, func(v VariantHistograms) bool { return v.Name == name })
				if j < 0 {
					b.Variants = append(b.Variants, VariantHistograms{Name: name, Corrected: NewHistogram(), Service: NewHistogram()})
					j = len(b.Variants) - 1
				}
				dst := b.Variants[j].Corrected
				if kind == TagService {
					dst = b.Variants[j].Service
				}
				if err := addHistogram(dst, iv.Histogram); err != nil {
					return nil, fmt.Errorf("%s: %s interval %d: %w", s.Path, tag, i+1, err)
				}
			}
		}
		for _, tag := range []string{TagService, TagLag} {
			for i, iv := range s.Hlog.Intervals[tag] {
				abs := s.Hlog.StartTime.Add(iv.Start)
				b := bucket(int64(math.Round(float64(abs.UnixNano()) / 1e9)))
				dst := b.Service
				if tag == TagLag {
					dst = b.Lag
				}
				if err := addHistogram(dst, iv.Histogram); err != nil {
					return nil, fmt.Errorf("%s: %s interval %d: %w", s.Path, tag, i+1, err)
				}
			}
		}
	}
	if len(buckets) == 0 {
		return nil, errors.New("no intervals in any latency.hlog")
	}
	secs := make([]int64, 0, len(buckets))
	for sec := range buckets {
		secs = append(secs, sec)
	}
	slices.Sort(secs)
	out := make([]Interval, 0, len(secs))
	for _, sec := range secs {
		b := buckets[sec]
		slices.SortFunc(b.Variants, func(x, y VariantHistograms) int { return strings.Compare(x.Name, y.Name) })
		if b.End.Equal(b.Start) { // seconds with service or lag lines only
			b.End = b.Start.Add(time.Second)
		}
		out = append(out, *b)
	}
	return out, nil
}

// addHistogram adds src to dst, refusing histograms of other bounds: their
// sum would not be lossless.
func addHistogram(dst, src *hdrhistogram.Histogram) error {
	if src == nil {
		return nil
	}
	if src.LowestTrackableValue() != dst.LowestTrackableValue() ||
		src.HighestTrackableValue() != dst.HighestTrackableValue() ||
		src.SignificantFigures() != dst.SignificantFigures() {
		return fmt.Errorf("histogram bounds %d..%d at %d digits, expected perf's %d..%d at %d digits",
			src.LowestTrackableValue(), src.HighestTrackableValue(), src.SignificantFigures(),
			dst.LowestTrackableValue(), dst.HighestTrackableValue(), dst.SignificantFigures())
	}
	if dropped := dst.Merge(src); dropped != 0 {
		return fmt.Errorf("%d values out of range", dropped)
	}
	return nil
}

// mergeRuns sums the sources' run.json into the merged run's: their
// tallies added (the measured window is the longest source's), the rest
// joined or summed as Merge describes.
func mergeRuns(srcs []*mergeSource, dirs []string, out string) *Run {
	first := srcs[0].Run
	run := &Run{
		Schema:      Schema,
		ToolVersion: joinDistinct(srcs, func(r *Run) string { return r.ToolVersion }),
		Command:     append(append([]string{"perf", "report", "merge"}, dirs...), "--out", out),
		Name:        joinDistinct(srcs, func(r *Run) string { return r.Name }),
		StartedAt:   first.StartedAt,
		Target:      joinDistinct(srcs, func(r *Run) string { return r.Target }),
		Valid:       true,
		Host:        first.Host,
	}
	run.Rate.Plan = joinDistinct(srcs, func(r *Run) string { return r.Rate.Plan })
	run.Host.Hostname = joinDistinct(srcs, func(r *Run) string { return r.Host.Hostname })
	t := NewTally()
	var cpuSum, hostSum float64
	var exprs []string
	firstStart := srcs[0].Hlog.StartTime
	for _, s := range srcs {
		r := s.Run
		if r.StartedAt.Before(run.StartedAt) {
			run.StartedAt = r.StartedAt
		}
		run.WarmupS = math.Max(run.WarmupS, r.WarmupS)
		t.addCounts(r)
		// The union of the measured samples, whatever the wall clock.
		t.Corrected.Merge(s.Hlog.Total(TagCorrected, false))
		t.Service.Merge(s.Hlog.Total(TagService, false))
		t.Lag.Merge(s.Hlog.Total(TagLag, false))
		run.Rate.Target += r.Rate.Target
		run.Valid = run.Valid && r.Valid
		for _, reason := range r.InvalidReasons {
			run.InvalidReasons = append(run.InvalidReasons, s.Path+": "+reason)
		}
		if !r.Valid && len(r.InvalidReasons) == 0 {
			run.InvalidReasons = append(run.InvalidReasons, s.Path+": invalid")
		}
		for _, w := range r.Warnings {
			run.Warnings = append(run.Warnings, s.Path+": "+w)
		}
		run.Interrupted = run.Interrupted || r.Interrupted
		cpuSum += r.Generator.CPUMeanPercent
		run.Generator.CPUMaxPercent = math.Max(run.Generator.CPUMaxPercent, r.Generator.CPUMaxPercent)
		run.Generator.Workers += r.Generator.Workers
		run.Generator.MaxWorkers += r.Generator.MaxWorkers
		hostSum += r.Generator.HostCPUMeanPercent
		run.Generator.HostCPUMaxPercent = math.Max(run.Generator.HostCPUMaxPercent, r.Generator.HostCPUMaxPercent)
		run.Generator.MaxLagMS = math.Max(run.Generator.MaxLagMS, r.Generator.MaxLagMS)
		run.Generator.MaxCPUPercent = math.Max(run.Generator.MaxCPUPercent, r.Generator.MaxCPUPercent)
		for _, v := range r.SLO {
			if !slices.Contains(exprs, v.Expr) {
				exprs = append(exprs, v.Expr)
			}
		}
		if d := s.Hlog.StartTime.Sub(firstStart).Abs(); d >= time.Second {
			run.Warnings = appendOnce(run.Warnings, fmt.Sprintf(
				"generators started up to %s apart; in the merged latency.hlog and timeline.csv a second is warm-up when any generator was warming up in it",
				maxStartSpread(srcs).Round(time.Millisecond)))
		}
	}
	mergeVariants(&t, srcs)
	if run.SplitBy = joinDistinct(srcs, func(r *Run) string { return r.SplitBy }); run.SplitBy != "" {
		for _, s := range srcs {
			if s.Run.SplitBy != run.SplitBy {
				run.Warnings = appendOnce(run.Warnings, fmt.Sprintf(
					"the runs were split by different headers (%s); their variants are merged by name", run.SplitBy))
			}
		}
	}
	t.Fill(run)
	run.Generator.CPUMeanPercent = cpuSum / float64(len(srcs))
	run.Generator.HostCPUMeanPercent = hostSum / float64(len(srcs))
	run.SLO = []Verdict{}
	slos, err := ParseSLOs(exprs)
	if err == nil {
		run.SLO = EvaluateSLOs(slos, run)
	} else {
		run.Warnings = append(run.Warnings, fmt.Sprintf("SLOs not evaluated again: %v", err))
	}
	runs := make([]*Run, len(srcs))
	for i, s := range srcs {
		runs[i] = s.Run
	}
	if segs, warning, err := mergeSegments(runs, slos); err != nil {
		run.Warnings = append(run.Warnings, fmt.Sprintf("segments not merged: %v", err))
	} else {
		run.Segments = segs
		if warning != "" {
			run.Warnings = append(run.Warnings, warning)
		}
	}
	if run.InvalidReasons == nil {
		run.InvalidReasons = []string{}
	}
	return run
}

// maxStartSpread is the largest difference between the sources' log starts.
func maxStartSpread(srcs []*mergeSource) time.Duration {
	lo, hi := srcs[0].Hlog.StartTime, srcs[0].Hlog.StartTime
	for _, s := range srcs[1:] {
		if t := s.Hlog.StartTime; t.Before(lo) {
			lo = t
		} else if t.After(hi) {
			hi = t
		}
	}
	return hi.Sub(lo)
}

func appendOnce(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// joinDistinct joins the distinct non-empty values of f over the sources,
// in order, with ", ".
func joinDistinct(srcs []*mergeSource, f func(*Run) string) string {
	var vals []string
	for _, s := range srcs {
		if v := f(s.Run); v != "" && !slices.Contains(vals, v) {
			vals = append(vals, v)
		}
	}
	return strings.Join(vals, ", ")
}

// mergeHosts keeps each source's host samples under its name; a merged
// source's parts are kept as "NAME/PART". Every part is rebased onto the
// earliest start, so that the T of all samples count from the merged
// HostSamples.Start. It returns nil when no source has host samples.
func mergeHosts(srcs []*mergeSource) *HostSamples {
	var h *HostSamples
	for _, s := range srcs {
		if s.Host == nil {
			continue
		}
		if h == nil {
			h = &HostSamples{Schema: HostSchema, Start: s.Host.Start, IntervalS: s.Host.IntervalS,
				Generator: []HostSample{}, Parts: map[string]*HostSamples{}}
		}
		if s.Host.Start.Before(h.Start) {
			h.Start = s.Host.Start
		}
	}
	if h == nil {
		return nil
	}
	for _, s := range srcs {
		if s.Host == nil {
			continue
		}
		parts := s.Host.Parts
		own := *s.Host
		own.Parts = nil
		if len(own.Generator) > 0 || len(own.Target) > 0 || len(parts) == 0 {
			h.Parts[s.name] = rebaseHost(&own, h.Start)
		}
		keys := make([]string, 0, len(parts))
		for k := range parts {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p := parts[k]; p != nil {
				h.Parts[s.name+"/"+k] = rebaseHost(p, h.Start)
			}
		}
	}
	return h
}

// rebaseHost returns a copy of h whose sample times count from start.
func rebaseHost(h *HostSamples, start time.Time) *HostSamples {
	c := *h
	shift := h.Start.Sub(start).Seconds()
	c.Start = start
	c.Generator = rebaseSamples(h.Generator, shift)
	c.Target = rebaseSamples(h.Target, shift)
	return &c
}

func rebaseSamples(samples []HostSample, shift float64) []HostSample {
	if samples == nil {
		return nil
	}
	out := slices.Clone(samples)
	for i := range out {
		out[i].T += shift
	}
	return out
}

// copyPprof copies the profiles of a source's pprof directory (and its
// subdirectories) to dst. A source without profiles is no error.
func copyPprof(src, dst string) error {
	if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("copy profiles: %w", err)
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return fmt.Errorf("copy profiles: %w", err)
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return fmt.Errorf("copy profiles: %w", err)
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return copyFile(path, target)
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return nil
}
