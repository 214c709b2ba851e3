package testenv

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// EnvRequire names the environment variable that lists the requirements a
// test must fail, not skip, without.
const EnvRequire = "PERF_TEST_REQUIRE"

// The requirements a test may name.
const (
	// Java is java with HdrHistogram's jar.
	Java = "java"
	// Chromium is a headless-capable Chromium.
	Chromium = "chromium"
	// Netns is root and a kernel that creates user and network namespaces.
	Netns = "netns"
	// Statsd is Etsy's StatsD daemon (the npm package statsd) and node
	// to run it.
	Statsd = "statsd"
)

// known are the names PERF_TEST_REQUIRE may hold, besides "all".
var known = []string{Java, Chromium, Netns, Statsd}

// SkipOrFail ends the test because what is absent: with t.Fatal when
// PERF_TEST_REQUIRE requires it, else with t.Skip. reason says what is
// missing and how to get it.
func SkipOrFail(t testing.TB, what, reason string) {
	t.Helper()
	req, err := Required(what)
	if err != nil {
		t.Fatal(err)
		return
	}
	if req {
		t.Fatalf("%s is required (%s=%s) but absent: %s", what, EnvRequire, os.Getenv(EnvRequire), reason)
		return
	}
	t.Skip(reason)
}

// Required reports whether PERF_TEST_REQUIRE requires what. It fails for
// a name, in the variable or in what, that the package does not know.
func Required(what string) (bool, error) {
	return required(os.Getenv(EnvRequire), what)
}

func required(env, what string) (bool, error) {
	if !slices.Contains(known, what) {
		return false, fmt.Errorf("testenv: unknown requirement %q (known: %s)", what, strings.Join(known, ", "))
	}
	req := false
	for _, name := range strings.Split(env, ",") {
		switch name = strings.TrimSpace(name); {
		case name == "":
		case name == "all" || name == what:
			req = true
		case !slices.Contains(known, name):
			return false, fmt.Errorf("%s=%s: unknown requirement %q (known: all, %s)", EnvRequire, env, name, strings.Join(known, ", "))
		}
	}
	return req, nil
}

// SkipUnderRace skips a test whose numbers depend on the generator keeping
// a rate when the race detector is on; make e2e runs it without.
func SkipUnderRace(t testing.TB) {
	t.Helper()
	if Race {
		t.Skip("measures against a rate the race detector's slowdown would not let the generator keep; make e2e runs it without -race")
	}
}
