// Package resultstest holds test helpers for code that writes perf's run
// directory: it runs the reference Java HdrHistogram tools
// (HistogramLogProcessor from Debian's libhdrhistogram-java) over a
// latency.hlog so that tests check the file with a reader perf did not
// write.
//
// It must only be imported by tests. It does not import package results,
// so results' own tests may use it.
package resultstest
