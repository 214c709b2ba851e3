package results

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTimelineRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	tw := NewTimelineWriter(&buf)
	ivs := []Interval{
		testInterval(0, 100, 10*time.Millisecond, true),
		testInterval(1, 1000, time.Millisecond, false),
		// A partial last interval, half a second, with failures and hits
		// never sent.
		{Start: testStart.Add(2 * time.Second), End: testStart.Add(2500 * time.Millisecond), Intended: 500, Unsent: 490, Failures: 1, Errors: 2},
	}
	ivs[1].Intended = 1200
	ivs[1].Unsent = 200
	for i, iv := range ivs {
		if err := tw.WriteInterval(iv); err != nil {
			t.Fatalf("interval %d: %v", i, err)
		}
	}
	want := "second,length_s,intended,unsent,failures,errors,p50_ms,p99_ms,max_ms,lag_p99_ms,warmup\n" +
		"0,1,100,0,0,0,10.052,10.101,10.101,1.01,true\n" +
		"1,1,1200,200,0,0,1.499,1.99,2,0.199,false\n" +
		"2,0.5,500,490,1,2,0,0,0,0,false\n"
	if got := buf.String(); got != want {
		t.Fatalf("timeline.csv:\n%s\nwant:\n%s", got, want)
	}
	rows, err := ReadTimeline(strings.NewReader(buf.String()))
	if err != nil {
		t.Fatal(err)
	}
	wantRows := []TimelineRow{
		{Second: 0, LengthS: 1, Intended: 100, P50MS: 10.052, P99MS: 10.101, MaxMS: 10.101, LagP99MS: 1.01, Warmup: true},
		{Second: 1, LengthS: 1, Intended: 1200, Unsent: 200, P50MS: 1.499, P99MS: 1.99, MaxMS: 2, LagP99MS: 0.199},
		{Second: 2, LengthS: 0.5, Intended: 500, Unsent: 490, Failures: 1, Errors: 2},
	}
	if len(rows) != len(wantRows) {
		t.Fatalf("rows = %+v", rows)
	}
	for i := range rows {
		if rows[i] != wantRows[i] {
			t.Errorf("row %d = %+v, want %+v", i, rows[i], wantRows[i])
		}
	}
	// Rates are derived from the counts over each interval's own length, so
	// a short last interval is not a fall in rate.
	if r := rows[2]; r.IntendedRate() != 1000 || r.SentRate() != 20 {
		t.Errorf("partial interval: intended %v/s sent %v/s, want 1000 and 20", r.IntendedRate(), r.SentRate())
	}
	if r := rows[1]; r.IntendedRate() != 1200 || r.SentRate() != 1000 {
		t.Errorf("interval 1: intended %v/s sent %v/s, want 1200 and 1000", r.IntendedRate(), r.SentRate())
	}
}

func TestReadTimelineErrors(t *testing.T) {
	head := strings.Join(TimelineHeader, ",") + "\n"
	for _, tc := range []struct{ in, want string }{
		{"", "empty, expected the header"},
		{"second,rate\n", "wrong number of fields"},
		{"second,intended_rate,achieved_rate,errors,p50_ms,p99_ms,max_ms,warmup\n", "wrong number of fields"},
		{"second,length,intended,unsent,failures,errors,p50_ms,p99_ms,max_ms,lag_p99_ms,warmup\n", `line 1 column 2: expected "length_s", got "length"`},
		{head + "x,1,1,0,0,0,1,1,1,1,false\n", `line 2 column second: expected a non-negative number, got "x"`},
		{head + "0,1,1,0,0,-1,1,1,1,1,false\n", `line 2 column errors: expected a non-negative integer, got "-1"`},
		{head + "0,1,1.5,0,0,0,1,1,1,1,false\n", `line 2 column intended: expected a non-negative integer, got "1.5"`},
		{head + "0,1,1,0,0,0,1,1,1,1,maybe\n", `line 2 column warmup: expected true or false, got "maybe"`},
		{head + "0,1,1,0,0,0,1,NaN,1,1,false\n", `line 2 column p99_ms`},
		{head + "0,1,5,6,0,0,1,1,1,1,false\n", `line 2: unsent 6 is more than intended 5`},
		{head + "0,1,5,2,0,4,1,1,1,1,false\n", `line 2: errors 4 are more than the 3 requests sent`},
		{head + "0,1,5,0,2,1,1,1,1,1,false\n", `line 2: failures 2 are more than errors 1`},
	} {
		_, err := ReadTimeline(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrBadTimeline) {
			t.Errorf("ReadTimeline(%q) = %v, want ErrBadTimeline containing %q", tc.in, err, tc.want)
		}
	}
}

func FuzzReadTimeline(f *testing.F) {
	head := strings.Join(TimelineHeader, ",") + "\n"
	f.Add(head + "0,1,100,0,0,0,10.052,10.101,10.101,1.01,true\n1,1,1200,200,0,0,1.499,1.99,2,0.199,false\n")
	f.Add(head)
	f.Add("second\n")
	f.Add(head + "2,0.5,500,490,1,2,0,0,0,0,\"false\"\n")
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := ReadTimeline(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.Second < 0 || r.LengthS < 0 || r.Unsent > r.Intended || r.Failures > r.Errors || r.Errors > r.Intended-r.Unsent {
				t.Fatalf("accepted an impossible row: %+v", r)
			}
		}
	})
}

func TestReadFilesNameThePath(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		read func(string) error
		file string
	}{
		{func(p string) error { _, err := ReadHlogFile(p); return err }, HlogFile},
		{func(p string) error { _, err := ReadTimelineFile(p); return err }, TimelineFile},
	} {
		path := filepath.Join(dir, tc.file)
		if err := tc.read(path); err == nil || !strings.Contains(err.Error(), "read "+path+": ") {
			t.Errorf("reading missing %s: %v", tc.file, err)
		}
		os.WriteFile(path, []byte("garbage\n"), 0o644)
		if err := tc.read(path); err == nil || !strings.Contains(err.Error(), "read "+path+": ") {
			t.Errorf("reading bad %s: %v", tc.file, err)
		}
	}
}
