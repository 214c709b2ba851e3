// Command perf proves and keeps a latency budget: it serves the read service
// under test (perf serve), drives open-model load at it (perf attack), turns
// run directories into reports and regression gates (perf report, perf
// compare) and manages host tuning profiles (perf tune).
//
// This package holds the cobra commands only, one file per verb, and is the
// one place where errors become exit codes (exit.go). The work itself lives
// in the service, harness, results and tuning packages.
package main
