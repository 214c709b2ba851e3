package testenv

import (
	"fmt"
	"strings"
	"testing"
)

func TestRequired(t *testing.T) {
	for _, tc := range []struct {
		env, what string
		want      bool
		err       string
	}{
		{"", Java, false, ""},
		{"all", Java, true, ""},
		{"all", Netns, true, ""},
		{"java", Java, true, ""},
		{"java", Chromium, false, ""},
		{" java , netns ", Netns, true, ""},
		{"java,netns", Chromium, false, ""},
		{"statsd", Statsd, true, ""},
		{"all", Statsd, true, ""},
		{"java,,", Java, true, ""},
		{"jave", Chromium, false, `unknown requirement "jave"`},
		{"jave", Java, false, `unknown requirement "jave"`},
		{"", "ruby", false, `unknown requirement "ruby"`},
	} {
		got, err := required(tc.env, tc.what)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("required(%q, %q) = %v, %v; want %v, error containing %q", tc.env, tc.what, got, err, tc.want, tc.err)
		}
	}
}

func TestSkipOrFail(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want string
	}{
		{"", "skip: no java here"},
		{"chromium", "skip: no java here"},
		{"all", "fatal: java is required (PERF_TEST_REQUIRE=all) but absent: no java here"},
		{"java", "fatal: java is required (PERF_TEST_REQUIRE=java) but absent: no java here"},
		{"jav", `fatal: PERF_TEST_REQUIRE=jav: unknown requirement "jav" (known: all, java, chromium, netns, statsd)`},
	} {
		t.Setenv(EnvRequire, tc.env)
		var r recorder
		SkipOrFail(&r, Java, "no java here")
		if r.got != tc.want {
			t.Errorf("%s=%q: got %q, want %q", EnvRequire, tc.env, r.got, tc.want)
		}
	}
}

// recorder is a testing.TB that records how the test would have ended.
// SkipOrFail must return after Fatal, as the real one never returns.
type recorder struct {
	testing.TB
	got string
}

func (r *recorder) Helper()                   {}
func (r *recorder) Skip(args ...any)          { r.end("skip: " + fmt.Sprint(args...)) }
func (r *recorder) Fatal(args ...any)         { r.end("fatal: " + fmt.Sprint(args...)) }
func (r *recorder) Fatalf(f string, a ...any) { r.end("fatal: " + fmt.Sprintf(f, a...)) }

func (r *recorder) end(s string) {
	if r.got != "" {
		panic("ended twice: " + r.got + ", then " + s)
	}
	r.got = s
}
