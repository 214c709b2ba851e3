package results

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Tags of the three histograms perf logs for every interval of
// latency.hlog.
const (
	// TagCorrected tags the coordinated-omission-safe latency: response end
	// minus the intended send time.
	TagCorrected = "corrected"
	// TagService tags the service time: response end minus actual send.
	TagService = "service"
	// TagLag tags the send lag: actual minus intended send time.
	TagLag = "lag"
)

// hlogFormatVersion is the interval log format version perf writes, the one
// the reference Java and C tools write and read.
const hlogFormatVersion = "1.3"

// hlogMaxRatio scales the recorded nanoseconds to the milliseconds of an
// interval line's max column, as the reference tools do by default.
const hlogMaxRatio = 1e6

// warmupComment starts the comment line that records the end of the warm-up,
// in seconds since the log's start. The reference tools ignore it as any
// other comment; ReadHlog uses it to tell warm-up intervals apart. perf
// writes it once, after the last warm-up interval; logs written before
// (up to perf's first releases) have one after each warm-up interval, each
// with that interval's end, and ReadHlog takes the latest.
const warmupComment = "#[perf warmup_end: "

// HlogWriter streams intervals to an HdrHistogram interval log (format 1.3,
// V2 compressed histograms), the file format of latency.hlog. Each interval
// becomes three lines tagged corrected, service and lag, and, in a run
// split by a response header, two more a variant that had responses in the
// interval, tagged corrected@NAME and service@NAME (see VariantTag: NAME
// escaped so that a tag holds no comma or whitespace). Interval start
// times are seconds since the log's start, which the header records as both
// StartTime and BaseTime, so the reference tools read absolute times.
//
// Warm-up intervals are logged like the others, and one comment
// "#[perf warmup_end: SECONDS]" after the last of them records where the
// warm-up ends, so that ReadHlog (and a person passing -start to
// HistogramLogProcessor) can leave them out. The writer cannot know an
// interval is the last of the warm-up until the next one comes: it writes
// the comment just before the first interval that is not warm-up, with the
// end of the warm-up interval before it; or, when the log ends during the
// warm-up (a run interrupted then), in Close. A warm-up interval written
// after the comment does not move it.
//
// An HlogWriter is not safe for concurrent use.
type HlogWriter struct {
	w     *bufio.Writer
	start time.Time
	enc   *v2Encoder
	// warmupEnd is the end of the latest warm-up interval written, zero
	// before the first; marked reports that the comment is written.
	warmupEnd time.Time
	marked    bool
}

// NewHlogWriter writes the log header to w and returns a writer whose
// interval times are relative to start, the start of the run.
func NewHlogWriter(w io.Writer, start time.Time) (*HlogWriter, error) {
	hw := &HlogWriter{w: bufio.NewWriter(w), start: start, enc: newV2Encoder()}
	secs := float64(start.UnixMilli()) / 1000
	fmt.Fprintf(hw.w, "#[Logged with perf (github.com/perf-tools/perf); values in nanoseconds, tags %s, %s, %s]\n",
		TagCorrected, TagService, TagLag)
	fmt.Fprintf(hw.w, "#[Histogram log format version %s]\n", hlogFormatVersion)
	fmt.Fprintf(hw.w, "#[StartTime: %.3f (seconds since epoch), %s]\n", secs, start.UTC().Format(time.RFC3339Nano))
	fmt.Fprintf(hw.w, "#[BaseTime: %.3f (seconds since epoch)]\n", secs)
	fmt.Fprintln(hw.w, `"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"`)
	if err := hw.w.Flush(); err != nil {
		return nil, fmt.Errorf("write hlog header: %w", err)
	}
	return hw, nil
}

// WriteInterval writes the three histograms of iv, each tagged, and flushes
// them to the underlying writer. A nil histogram is logged as an empty one,
// so every interval has all three tags.
func (hw *HlogWriter) WriteInterval(iv Interval) error {
	start := iv.Start.Sub(hw.start).Seconds()
	length := iv.End.Sub(iv.Start).Seconds()
	if start < 0 || length < 0 {
		return fmt.Errorf("write hlog interval %s..%s: expected an interval after the log's start %s, end after start",
			iv.Start.Format(time.RFC3339Nano), iv.End.Format(time.RFC3339Nano), hw.start.Format(time.RFC3339Nano))
	}
	if !iv.Warmup {
		hw.markWarmupEnd()
	}
	for _, th := range []struct {
		tag string
		h   *hdrhistogram.Histogram
	}{{TagCorrected, iv.Corrected}, {TagService, iv.Service}, {TagLag, iv.Lag}} {
		if err := hw.writeLine(th.tag, start, length, th.h); err != nil {
			return err
		}
		// Encoding a histogram takes about a tenth of a millisecond; a
		// one-core load generator writes this log while it sends, so let
		// its senders run between histograms.
		runtime.Gosched()
	}
	for _, v := range iv.Variants {
		for _, th := range []struct {
			tag string
			h   *hdrhistogram.Histogram
		}{{VariantTag(TagCorrected, v.Name), v.Corrected}, {VariantTag(TagService, v.Name), v.Service}} {
			if err := hw.writeLine(th.tag, start, length, th.h); err != nil {
				return err
			}
			runtime.Gosched()
		}
	}
	if iv.Warmup && iv.End.After(hw.warmupEnd) {
		hw.warmupEnd = iv.End
	}
	if err := hw.w.Flush(); err != nil {
		return fmt.Errorf("write hlog interval at %.3fs: %w", start, err)
	}
	return nil
}

// markWarmupEnd writes the warm-up comment, once, when warm-up intervals
// were written.
func (hw *HlogWriter) markWarmupEnd() {
	if hw.marked || hw.warmupEnd.IsZero() {
		return
	}
	fmt.Fprintf(hw.w, "%s%.3f]\n", warmupComment, hw.warmupEnd.Sub(hw.start).Seconds())
	hw.marked = true
}

// Close ends the log: when every interval written was warm-up, it writes
// the warm-up comment, which would otherwise come with the first measured
// interval. Call it after the last interval. It does not close the
// underlying writer; calling it again does nothing more.
func (hw *HlogWriter) Close() error {
	hw.markWarmupEnd()
	if err := hw.w.Flush(); err != nil {
		return fmt.Errorf("write hlog: %w", err)
	}
	return nil
}

func (hw *HlogWriter) writeLine(tag string, start, length float64, h *hdrhistogram.Histogram) error {
	if h == nil {
		h = NewHistogram()
	}
	payload, err := hw.enc.encode(h)
	if err != nil {
		return fmt.Errorf("encode %s histogram at %.3fs: %w", tag, start, err)
	}
	fmt.Fprintf(hw.w, "Tag=%s,%.3f,%.3f,%.3f,%s\n", tag, start, length, float64(h.Max())/hlogMaxRatio, payload)
	return nil
}

// Hlog is an interval log read back by ReadHlog.
type Hlog struct {
	// StartTime is the log's start (its "#[StartTime: ...]" line); zero
	// when the log has none.
	StartTime time.Time
	// WarmupEnd is the end of the warm-up, from the log's start; zero when
	// the log records no warm-up.
	WarmupEnd time.Duration
	// Tags lists the tags in order of first appearance; untagged lines
	// have the tag "".
	Tags []string
	// Intervals holds the intervals of each tag in log order.
	Intervals map[string][]HlogInterval
}

// HlogInterval is one histogram line of an interval log.
type HlogInterval struct {
	Tag string
	// Start and End are offsets from the log's start time.
	Start, End time.Duration
	// Warmup reports whether the interval lies inside the warm-up.
	Warmup    bool
	Histogram *hdrhistogram.Histogram
}

// ReadHlog reads an HdrHistogram interval log: perf's latency.hlog, or any
// log in the reference format (untagged lines, absolute or relative times).
// Malformed input is an error naming the line and what was expected.
//
// hdrhistogram-go has a reader (HistogramLogReader); this one is ours
// because that one cannot serve a measuring tool's input checks: it skips
// a line it cannot parse without a word (so a damaged log loses intervals
// silently), its errors name no line, it truncates interval times to the
// millisecond below, and it does not know perf's warm-up marker.
func ReadHlog(r io.Reader) (*Hlog, error) {
	lg := &Hlog{Intervals: map[string][]HlogInterval{}}
	var (
		baseTime     float64
		haveBase     bool
		startSec     float64
		haveStart    bool
		firstStamp   = true
		warmupEndSec float64
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case strings.TrimSpace(line) == "":
			continue
		case strings.HasPrefix(line, "#[StartTime: "):
			v, err := leadingFloat(line[len("#[StartTime: "):])
			if err != nil {
				return nil, fmt.Errorf("hlog line %d: StartTime: expected seconds since the epoch: %w", n, err)
			}
			startSec, haveStart = v, true
			lg.StartTime = time.UnixMilli(int64(math.Round(v * 1000))).UTC()
			continue
		case strings.HasPrefix(line, "#[BaseTime: "):
			v, err := leadingFloat(line[len("#[BaseTime: "):])
			if err != nil {
				return nil, fmt.Errorf("hlog line %d: BaseTime: expected seconds since the epoch: %w", n, err)
			}
			baseTime, haveBase = v, true
			continue
		case strings.HasPrefix(line, warmupComment):
			v, err := leadingFloat(line[len(warmupComment):])
			if err != nil {
				return nil, fmt.Errorf("hlog line %d: perf warmup_end: expected seconds since the start: %w", n, err)
			}
			warmupEndSec = math.Max(warmupEndSec, v)
			continue
		case line[0] == '#', strings.HasPrefix(line, `"StartTimestamp"`):
			continue
		}
		tag := ""
		rest := line
		if strings.HasPrefix(line, "Tag=") {
			i := strings.IndexByte(line, ',')
			if i < 0 {
				return nil, fmt.Errorf("hlog line %d: expected Tag=NAME,START,LENGTH,MAX,HISTOGRAM", n)
			}
			tag, rest = line[len("Tag="):i], line[i+1:]
		}
		f := strings.SplitN(rest, ",", 4)
		if len(f) != 4 {
			return nil, fmt.Errorf("hlog line %d: expected [Tag=NAME,]START,LENGTH,MAX,HISTOGRAM, got %d fields", n, len(f))
		}
		stamp, err1 := strconv.ParseFloat(f[0], 64)
		length, err2 := strconv.ParseFloat(f[1], 64)
		if err1 != nil || err2 != nil || !finite(stamp) || !finite(length) || stamp < 0 || length < 0 {
			return nil, fmt.Errorf("hlog line %d: expected a start time and an interval length in seconds, got %q and %q", n, f[0], f[1])
		}
		if _, err := strconv.ParseFloat(f[2], 64); err != nil {
			return nil, fmt.Errorf("hlog line %d: expected the interval max as a number, got %q", n, f[2])
		}
		h, err := decodeHistogram(f[3])
		if err != nil {
			return nil, fmt.Errorf("hlog line %d: expected a V2 compressed histogram: %w", n, err)
		}
		if firstStamp {
			firstStamp = false
			if !haveStart {
				startSec, haveStart = stamp, true
			}
			// As the reference reader does: without a BaseTime, stamps more
			// than a year before the start time are relative to it.
			if !haveBase {
				if stamp < startSec-365*24*3600 {
					baseTime = startSec
				}
				haveBase = true
			}
		}
		off := stamp + baseTime - startSec
		iv := HlogInterval{
			Tag:       tag,
			Start:     secondsToDuration(off),
			End:       secondsToDuration(off + length),
			Histogram: h,
		}
		if _, ok := lg.Intervals[tag]; !ok {
			lg.Tags = append(lg.Tags, tag)
		}
		lg.Intervals[tag] = append(lg.Intervals[tag], iv)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read hlog after line %d: %w", n, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("read hlog: %w", ErrEmptyHlog)
	}
	lg.WarmupEnd = secondsToDuration(warmupEndSec)
	if lg.WarmupEnd > 0 {
		// Compare at the log's millisecond precision.
		for _, ivs := range lg.Intervals {
			for i := range ivs {
				ivs[i].Warmup = ivs[i].Start < lg.WarmupEnd-time.Millisecond/2
			}
		}
	}
	return lg, nil
}

// ReadHlogFile reads the interval log at path, such as a run directory's
// latency.hlog; errors name the path.
func ReadHlogFile(path string) (*Hlog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	lg, err := ReadHlog(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return lg, nil
}

// Total merges the intervals of tag into one histogram, leaving out the
// warm-up unless includeWarmup is set. It returns an empty histogram when
// the log has no such tag.
func (lg *Hlog) Total(tag string, includeWarmup bool) *hdrhistogram.Histogram {
	total := NewHistogram()
	for _, iv := range lg.Intervals[tag] {
		if iv.Warmup && !includeWarmup {
			continue
		}
		total.Merge(iv.Histogram)
	}
	return total
}

// decodeHistogram decodes a V2 compressed payload, turning a panic of the
// decoder on hostile input into an error.
func decodeHistogram(payload string) (h *hdrhistogram.Histogram, err error) {
	defer func() {
		if r := recover(); r != nil {
			h, err = nil, fmt.Errorf("corrupt histogram: %v", r)
		}
	}()
	if payload == "" {
		return nil, fmt.Errorf("empty payload")
	}
	return hdrhistogram.Decode([]byte(payload))
}

// leadingFloat parses the number at the start of s, up to a space, comma or
// closing bracket.
func leadingFloat(s string) (float64, error) {
	end := strings.IndexAny(s, " ,]")
	if end < 0 {
		end = len(s)
	}
	v, err := strconv.ParseFloat(s[:end], 64)
	if err != nil {
		return 0, fmt.Errorf("got %q", s[:end])
	}
	if !finite(v) || v < 0 {
		return 0, fmt.Errorf("got %q", s[:end])
	}
	return v, nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// secondsToDuration converts seconds to a Duration, rounded to the
// microsecond so that the log's decimal stamps compare exactly.
func secondsToDuration(s float64) time.Duration {
	if s > float64(math.MaxInt64)/1e9 {
		return time.Duration(math.MaxInt64)
	}
	if s < float64(math.MinInt64)/1e9 {
		return time.Duration(math.MinInt64)
	}
	return time.Duration(math.Round(s*1e6)) * time.Microsecond
}
