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
		{Start: testStart.Add(2 * time.Second), End: testStart.Add(2500 * time.Millisecond), Completed: 10, Errors: 2},
	}
	ivs[1].Intended = 1200
	for i, iv := range ivs {
		if err := tw.WriteInterval(iv, 1000); err != nil {
			t.Fatalf("interval %d: %v", i, err)
		}
	}
	want := "second,intended_rate,achieved_rate,errors,p50_ms,p99_ms,max_ms,warmup\n" +
		"0,100,100,0,10.052,10.101,10.101,true\n" +
		"1,1200,1000,0,1.499,1.99,2,false\n" +
		"2,1000,20,2,0,0,0,false\n"
	if got := buf.String(); got != want {
		t.Fatalf("timeline.csv:\n%s\nwant:\n%s", got, want)
	}
	rows, err := ReadTimeline(strings.NewReader(buf.String()))
	if err != nil {
		t.Fatal(err)
	}
	wantRows := []TimelineRow{
		{Second: 0, IntendedRate: 100, AchievedRate: 100, P50MS: 10.052, P99MS: 10.101, MaxMS: 10.101, Warmup: true},
		{Second: 1, IntendedRate: 1200, AchievedRate: 1000, P50MS: 1.499, P99MS: 1.99, MaxMS: 2},
		{Second: 2, IntendedRate: 1000, AchievedRate: 20, Errors: 2},
	}
	if len(rows) != len(wantRows) {
		t.Fatalf("rows = %+v", rows)
	}
	for i := range rows {
		if rows[i] != wantRows[i] {
			t.Errorf("row %d = %+v, want %+v", i, rows[i], wantRows[i])
		}
	}
}

func TestReadTimelineErrors(t *testing.T) {
	head := strings.Join(TimelineHeader, ",") + "\n"
	for _, tc := range []struct{ in, want string }{
		{"", "empty, expected the header"},
		{"second,rate\n", "wrong number of fields"},
		{"second,intended,achieved_rate,errors,p50_ms,p99_ms,max_ms,warmup\n", `line 1 column 2: expected "intended_rate", got "intended"`},
		{head + "x,1,1,0,1,1,1,false\n", `line 2 column second: expected a non-negative number, got "x"`},
		{head + "0,1,1,-1,1,1,1,false\n", `line 2 column errors: expected a non-negative integer, got "-1"`},
		{head + "0,1,1,0,1,1,1,maybe\n", `line 2 column warmup: expected true or false, got "maybe"`},
		{head + "0,1,1,0,1,NaN,1,false\n", `line 2 column p99_ms`},
	} {
		_, err := ReadTimeline(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrBadTimeline) {
			t.Errorf("ReadTimeline(%q) = %v, want ErrBadTimeline containing %q", tc.in, err, tc.want)
		}
	}
}

func FuzzReadTimeline(f *testing.F) {
	head := strings.Join(TimelineHeader, ",") + "\n"
	f.Add(head + "0,100,100,0,10.051,10.1,10.101,true\n1,1200,1000,0,1.5,1.99,2,false\n")
	f.Add(head)
	f.Add("second\n")
	f.Add(head + "0,1,1,0,1,1,1,\"false\"\n")
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := ReadTimeline(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.Second < 0 || r.Errors < 0 {
				t.Fatalf("accepted a negative value: %+v", r)
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
