package results

import (
	"bytes"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// testStart is a fixed run start, so files written in tests are stable.
var testStart = time.Date(2026, 11, 27, 12, 34, 56, 789_000_000, time.UTC)

// testInterval returns interval i (one second each) of a run starting at
// testStart, with latencies base, base+1µs, ... for n requests.
func testInterval(i int, n int, base time.Duration, warmup bool) Interval {
	iv := Interval{
		Start:     testStart.Add(time.Duration(i) * time.Second),
		End:       testStart.Add(time.Duration(i+1) * time.Second),
		Warmup:    warmup,
		Corrected: NewHistogram(),
		Service:   NewHistogram(),
		Lag:       NewHistogram(),
		Intended:  int64(n),
	}
	for j := 0; j < n; j++ {
		d := base + time.Duration(j)*time.Microsecond
		Record(iv.Corrected, d)
		Record(iv.Service, d/2)
		Record(iv.Lag, d/10)
	}
	return iv
}

func writeTestHlog(t testing.TB, ivs ...Interval) []byte {
	t.Helper()
	var buf bytes.Buffer
	hw, err := NewHlogWriter(&buf, testStart)
	if err != nil {
		t.Fatal(err)
	}
	for _, iv := range ivs {
		if err := hw.WriteInterval(iv); err != nil {
			t.Fatal(err)
		}
	}
	if err := hw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// warmupMarkers returns the warm-up comment lines of a log and the index of
// each among the log's lines.
func warmupMarkers(data []byte) (markers []string, at []int) {
	for i, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, warmupComment) {
			markers = append(markers, l)
			at = append(at, i)
		}
	}
	return markers, at
}

// TestHlogWarmupMarkerOnce checks that the log holds one warm-up comment,
// after the last warm-up interval, also when the run ended during the
// warm-up, and none without a warm-up.
func TestHlogWarmupMarkerOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		warmup []bool // one interval each
		want   string // the one marker, or "" for none
		after  string // the line just before the marker
	}{
		{"warm-up then measured", []bool{true, true, true, false, false}, "#[perf warmup_end: 3.000]", "Tag=lag,2.000,"},
		{"interrupted during warm-up", []bool{true, true}, "#[perf warmup_end: 2.000]", "Tag=lag,1.000,"},
		{"no warm-up", []bool{false, false}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ivs []Interval
			for i, w := range tc.warmup {
				ivs = append(ivs, testInterval(i, 10, time.Millisecond, w))
			}
			data := writeTestHlog(t, ivs...)
			markers, at := warmupMarkers(data)
			if tc.want == "" {
				if len(markers) != 0 {
					t.Errorf("markers %q in a log without warm-up", markers)
				}
			} else if len(markers) != 1 || markers[0] != tc.want {
				t.Errorf("markers %q, want exactly [%s]\n%s", markers, tc.want, data)
			} else if prev := strings.Split(string(data), "\n")[at[0]-1]; !strings.HasPrefix(prev, tc.after) {
				t.Errorf("marker follows %.40q, want the last warm-up interval (%s...)", prev, tc.after)
			}

			lg, err := ReadHlog(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			var n int64
			for i, iv := range lg.Intervals[TagCorrected] {
				if iv.Warmup != tc.warmup[i] {
					t.Errorf("interval %d: Warmup = %v, want %v", i, iv.Warmup, tc.warmup[i])
				}
				if !tc.warmup[i] {
					n += 10
				}
			}
			if got := lg.Total(TagCorrected, false).TotalCount(); got != n {
				t.Errorf("Total without warm-up counts %d, want %d", got, n)
			}
		})
	}

	// Close twice, or after the marker, adds nothing.
	var buf bytes.Buffer
	hw, err := NewHlogWriter(&buf, testStart)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range []bool{true, false} {
		if err := hw.WriteInterval(testInterval(i, 1, time.Millisecond, w)); err != nil {
			t.Fatal(err)
		}
	}
	hw.Close()
	hw.Close()
	if m, _ := warmupMarkers(buf.Bytes()); len(m) != 1 {
		t.Errorf("markers after Close twice: %q", m)
	}
}

// TestReadHlogSeveralWarmupMarkers reads a log as perf wrote it before:
// one marker after each warm-up interval, with that interval's end.
func TestReadHlogSeveralWarmupMarkers(t *testing.T) {
	data := writeTestHlog(t,
		testInterval(0, 10, time.Millisecond, false),
		testInterval(1, 10, time.Millisecond, false),
		testInterval(2, 10, time.Millisecond, false))
	var old []string
	for _, l := range strings.Split(string(data), "\n") {
		old = append(old, l)
		for _, end := range []string{"1.000", "2.000"} {
			start := map[string]string{"1.000": "0.000", "2.000": "1.000"}[end]
			if strings.HasPrefix(l, "Tag=lag,"+start+",") {
				old = append(old, "#[perf warmup_end: "+end+"]")
			}
		}
	}
	lg, err := ReadHlog(strings.NewReader(strings.Join(old, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	if lg.WarmupEnd != 2*time.Second {
		t.Errorf("WarmupEnd = %v, want 2s", lg.WarmupEnd)
	}
	for i, iv := range lg.Intervals[TagService] {
		if iv.Warmup != (i < 2) {
			t.Errorf("interval %d: Warmup = %v", i, iv.Warmup)
		}
	}
}

func TestHlogRoundTrip(t *testing.T) {
	ivs := []Interval{
		testInterval(0, 100, 50*time.Millisecond, true),
		testInterval(1, 100, 50*time.Millisecond, true),
		testInterval(2, 1000, time.Millisecond, false),
		testInterval(3, 1000, 2*time.Millisecond, false),
	}
	data := writeTestHlog(t, ivs...)
	lg, err := ReadHlog(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("ReadHlog: %v\n%s", err, data)
	}
	if !lg.StartTime.Equal(testStart) {
		t.Errorf("StartTime = %v, want %v", lg.StartTime, testStart)
	}
	if lg.WarmupEnd != 2*time.Second {
		t.Errorf("WarmupEnd = %v, want 2s", lg.WarmupEnd)
	}
	if got, want := strings.Join(lg.Tags, ","), "corrected,service,lag"; got != want {
		t.Errorf("Tags = %s, want %s", got, want)
	}
	for _, tag := range lg.Tags {
		got := lg.Intervals[tag]
		if len(got) != len(ivs) {
			t.Fatalf("%s: %d intervals, want %d", tag, len(got), len(ivs))
		}
		for i, iv := range got {
			if iv.Start != time.Duration(i)*time.Second || iv.End != time.Duration(i+1)*time.Second {
				t.Errorf("%s interval %d: %v..%v", tag, i, iv.Start, iv.End)
			}
			if iv.Warmup != ivs[i].Warmup {
				t.Errorf("%s interval %d: Warmup = %v", tag, i, iv.Warmup)
			}
		}
	}
	want := NewHistogram()
	want.Merge(ivs[2].Corrected)
	want.Merge(ivs[3].Corrected)
	if got := lg.Total(TagCorrected, false); !got.Equals(want) {
		t.Errorf("Total(corrected, false): count %d p99 %d, want count %d p99 %d",
			got.TotalCount(), got.ValueAtQuantile(99), want.TotalCount(), want.ValueAtQuantile(99))
	}
	if got := lg.Total(TagLag, true).TotalCount(); got != 2200 {
		t.Errorf("Total(lag, true) count = %d, want 2200", got)
	}
	if got := lg.Total("nope", true).TotalCount(); got != 0 {
		t.Errorf("Total(nope) count = %d, want 0", got)
	}
}

// TestReadHlogReference reads a log in the reference tools' own layout:
// untagged, with absolute times and no BaseTime line.
func TestReadHlogReference(t *testing.T) {
	h := NewHistogram()
	h.RecordValue(1_000_000)
	payload, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	log := "#[Histogram log format version 1.3]\n" +
		"#[StartTime: 1441812279.474 (seconds since epoch), Wed Sep 09 08:24:39 PDT 2015]\n" +
		"\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n" +
		"1441812279.601,1.000,1.000," + string(payload) + "\n" +
		"1441812280.601,1.000,1.000," + string(payload) + "\n"
	lg, err := ReadHlog(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	ivs := lg.Intervals[""]
	if len(ivs) != 2 || ivs[0].Start != 127*time.Millisecond || ivs[1].End != 2127*time.Millisecond {
		t.Fatalf("intervals = %+v", ivs)
	}
	if got := lg.Total("", false).TotalCount(); got != 2 {
		t.Errorf("total count = %d, want 2", got)
	}
}

func TestReadHlogErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "empty interval log"},
		{"#[StartTime: abc (seconds since epoch)]\n", "line 1: StartTime: expected seconds"},
		{"# comment\nTag=corrected\n", "line 2: expected Tag=NAME,START,LENGTH,MAX,HISTOGRAM"},
		{"0.0,1.0,2.0\n", "line 1: expected [Tag=NAME,]START,LENGTH,MAX,HISTOGRAM, got 3 fields"},
		{"x,1.0,2.0,HIST\n", "line 1: expected a start time and an interval length in seconds"},
		{"0,1.0,y,HIST\n", "line 1: expected the interval max as a number"},
		{"0,1.0,2.0,HISTnotbase64!\n", "line 1: expected a V2 compressed histogram"},
		{"0,1.0,2.0,\n", "line 1: expected a V2 compressed histogram"},
		{"#[perf warmup_end: -1]\n", "line 1: perf warmup_end: expected seconds"},
	} {
		_, err := ReadHlog(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ReadHlog(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

// FuzzReadHlog reads any log. What it accepts must hold together: each
// interval ends after it starts, a tag's total counts every interval's
// values, and each histogram decoded survives a round trip through perf's
// encoder and the decoder unchanged (a decoder that misreads a payload
// without failing shows here; its panics are errors, not passes).
func FuzzReadHlog(f *testing.F) {
	f.Add(string(writeTestHlog(f, testInterval(0, 10, time.Millisecond, true), testInterval(1, 10, time.Millisecond, false))))
	f.Add("#[StartTime: 1441812279.474 (seconds since epoch)]\n0.1,1.0,1.0,HISTFAAAACF4nJNpmSzMwMDAxQABzFCaEUzOmWZuD2EJMAEAN+gDkA==\n")
	f.Add("Tag=a,0,1,1,HISTFAAAAA==\n")
	f.Add("# only a comment\n")
	enc := newV2Encoder()
	f.Fuzz(func(t *testing.T, in string) {
		lg, err := ReadHlog(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, tag := range lg.Tags {
			var sum int64
			for _, iv := range lg.Intervals[tag] {
				if iv.End < iv.Start {
					t.Fatalf("tag %q: interval ends at %v before its start %v", tag, iv.End, iv.Start)
				}
				sum += iv.Histogram.TotalCount()
				payload, err := enc.encode(iv.Histogram)
				if err != nil {
					continue // values beyond what perf records: not ours to write
				}
				back, err := decodeHistogram(string(payload))
				if err != nil {
					t.Fatalf("tag %q: a histogram read back does not decode after encoding: %v", tag, err)
				}
				if !sameCounts(back, iv.Histogram) {
					t.Fatalf("tag %q: round trip changed the histogram: %v, want %v", tag, back.Distribution(), iv.Histogram.Distribution())
				}
			}
			if total := lg.Total(tag, true).TotalCount(); total != sum {
				t.Fatalf("tag %q: total of %d values, the intervals hold %d", tag, total, sum)
			}
		}
	})
}

// FuzzHlogRoundTrip writes intervals of fuzzed latencies with HlogWriter
// and reads them back: every value, interval time and the warm-up must
// survive.
func FuzzHlogRoundTrip(f *testing.F) {
	f.Add([]byte{1, 2, 3, 200, 255, 0, 17}, uint8(3), uint8(1))
	f.Add([]byte{}, uint8(1), uint8(0))
	f.Fuzz(func(t *testing.T, raw []byte, nIntervals, nWarm uint8) {
		n := int(nIntervals%8) + 1
		var ivs []Interval
		for i := range n {
			iv := testInterval(i, 0, 0, i < int(nWarm%9))
			for j, b := range raw {
				if j%n == i {
					// Latencies from 1µs to about 16s, spread over magnitudes.
					d := time.Duration(int64(b)*int64(b)*int64(b)) + time.Microsecond
					Record(iv.Corrected, d)
					Record(iv.Service, d/3)
					Record(iv.Lag, d/7)
				}
			}
			ivs = append(ivs, iv)
		}
		lg, err := ReadHlog(bytes.NewReader(writeTestHlog(t, ivs...)))
		if err != nil {
			t.Fatalf("reading back what HlogWriter wrote: %v", err)
		}
		for _, tag := range []string{TagCorrected, TagService, TagLag} {
			got := lg.Intervals[tag]
			if len(got) != n {
				t.Fatalf("tag %s: %d intervals, wrote %d", tag, len(got), n)
			}
			for i, iv := range ivs {
				want := map[string]*hdrhistogram.Histogram{TagCorrected: iv.Corrected, TagService: iv.Service, TagLag: iv.Lag}[tag]
				if !sameCounts(got[i].Histogram, want) {
					t.Fatalf("tag %s interval %d: %v, wrote %v", tag, i, got[i].Histogram.Distribution(), want.Distribution())
				}
				if got[i].Start != iv.Start.Sub(testStart).Round(time.Millisecond) || got[i].Warmup != iv.Warmup {
					t.Fatalf("tag %s interval %d: start %v warm-up %v, wrote %v %v", tag, i, got[i].Start, got[i].Warmup, iv.Start.Sub(testStart), iv.Warmup)
				}
			}
		}
	})
}

// sameCounts reports whether two histograms hold the same counts in the
// same buckets.
func sameCounts(a, b *hdrhistogram.Histogram) bool {
	if a.TotalCount() != b.TotalCount() {
		return false
	}
	da, db := nonEmpty(a.Distribution()), nonEmpty(b.Distribution())
	if len(da) != len(db) {
		return false
	}
	for i := range da {
		if da[i] != db[i] {
			return false
		}
	}
	return true
}

func nonEmpty(bars []hdrhistogram.Bar) []hdrhistogram.Bar {
	var out []hdrhistogram.Bar
	for _, b := range bars {
		if b.Count != 0 {
			out = append(out, b)
		}
	}
	return out
}

func TestHlogWriterRejectsIntervalBeforeStart(t *testing.T) {
	hw, err := NewHlogWriter(&bytes.Buffer{}, testStart)
	if err != nil {
		t.Fatal(err)
	}
	iv := testInterval(-1, 1, time.Millisecond, false)
	if err := hw.WriteInterval(iv); err == nil || !strings.Contains(err.Error(), "expected an interval after the log's start") {
		t.Errorf("WriteInterval before the start = %v", err)
	}
	iv = testInterval(0, 1, time.Millisecond, false)
	iv.End = iv.Start.Add(-time.Second)
	if err := hw.WriteInterval(iv); err == nil {
		t.Error("WriteInterval with its end before its start succeeded")
	}
}
