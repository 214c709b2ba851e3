// Package servicetest starts a real, seeded perf read service in-process for
// tests in other packages: a bbolt store in the test's temporary directory,
// the public and admin listeners on 127.0.0.1 port 0, and a shutdown when
// the test ends. Nothing is mocked.
//
// It must only be imported from tests.
package servicetest
