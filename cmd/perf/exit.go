package main

import (
	"errors"
	"strings"
)

// Exit codes, as DESIGN.md lists them. Only this package maps errors to them.
const (
	exitOK           = 0
	exitRuntime      = 1
	exitUsage        = 2
	exitGate         = 3
	exitNotPermitted = 4
	exitInvalid      = 5

	// perf attack search's outcomes other than found (0).
	exitSearchFailsAtMin     = 10
	exitSearchPassesAtMax    = 11
	exitSearchGeneratorBound = 12
	exitSearchNotConfirmed   = 13
	exitSearchTimeLimit      = 14
)

// exitError carries the exit code a failure maps to.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErr marks err as a usage error: a bad flag, argument or expression.
func usageErr(err error) error { return &exitError{code: exitUsage, err: err} }

// withCode marks err with an explicit exit code.
func withCode(code int, err error) error { return &exitError{code: code, err: err} }

// silentError is a failure whose explanation the command already printed
// (a failed gate shown in the report, say); run prints nothing more.
type silentError struct{ exitError }

// silent returns an error that exits with code and prints nothing more.
func silent(code int, err error) error {
	return &silentError{exitError{code: code, err: err}}
}

// exitCode maps an error to the process exit code.
func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var se *silentError
	if errors.As(err, &se) {
		return se.code
	}
	// cobra reports unknown commands and flags as plain errors.
	msg := err.Error()
	if strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "unknown flag") ||
		strings.HasPrefix(msg, "unknown shorthand flag") || strings.Contains(msg, "accepts ") ||
		strings.HasPrefix(msg, "requires at least") || strings.HasPrefix(msg, "invalid argument") {
		return exitUsage
	}
	return exitRuntime
}
