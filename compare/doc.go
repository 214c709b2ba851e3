// Package compare compares candidate runs with base runs, as a CI
// regression gate does: metric by metric (results.Metrics), each change
// tested for significance with the two-sided Mann–Whitney U test when
// both sides hold at least two runs (as benchstat does), and gates checked
// (results.Bound, absolute or relative to the base).
//
// Runs returns a Comparison, which writes itself as an aligned text table,
// JSON, GitHub Markdown (for a pull request comment or
// $GITHUB_STEP_SUMMARY) and JUnit XML (one test case a gate, plus one for
// the runs' validity).
//
// The package never reads files: the caller finds and reads run
// directories (results.FindRunDirs, results.ReadRun). It knows nothing of
// the command line.
package compare
