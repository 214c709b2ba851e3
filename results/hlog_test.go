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
	return buf.Bytes()
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

func FuzzReadHlog(f *testing.F) {
	f.Add(string(writeTestHlog(f, testInterval(0, 10, time.Millisecond, true), testInterval(1, 10, time.Millisecond, false))))
	f.Add("#[StartTime: 1441812279.474 (seconds since epoch)]\n0.1,1.0,1.0,HISTFAAAACF4nJNpmSzMwMDAxQABzFCaEUzOmWZuD2EJMAEAN+gDkA==\n")
	f.Add("Tag=a,0,1,1,HISTFAAAAA==\n")
	f.Add("# only a comment\n")
	f.Fuzz(func(t *testing.T, in string) {
		lg, err := ReadHlog(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, tag := range lg.Tags {
			_ = lg.Total(tag, false)
			_ = lg.Total(tag, true)
		}
	})
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
