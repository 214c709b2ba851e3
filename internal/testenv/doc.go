// Package testenv decides what a test does when something it needs from
// the machine is absent: skip, on a developer's machine, or fail, in CI.
//
// A few tests need more than Go: java with HdrHistogram's jar (the
// reference reader of our .hlog files), a headless Chromium (the HTML
// report in a browser), root with user and network namespaces (the
// real-kernel tuning tests), and Etsy's StatsD daemon run by node (what
// perf's StatsD client sends, as the daemon aggregates it). Where those are missing the tests skip, so
// `make test` passes on any machine. But .ci/run installs them, and there a
// skip means the check silently did not happen: a broken install, a renamed
// binary or a kernel that refuses namespaces would leave CI green.
//
// The environment variable PERF_TEST_REQUIRE lists what must be present:
// comma-separated names from java, chromium, netns and statsd, or "all". A test
// whose requirement is listed fails, with the reason it would have skipped
// for, instead of skipping. .ci/run sets PERF_TEST_REQUIRE=all.
//
//	PERF_TEST_REQUIRE=java make test    # a missing java fails the run
//
// A name the package does not know fails the test that reads it, so a typo
// in CI does not turn the switch off.
//
// The package is for tests and test helpers only; it knows nothing of what
// the tests check.
package testenv
