// Package profiles holds perf's built-in tuning profiles as YAML files
// embedded in the binary with go:embed.
//
// It only stores and names them; parsing, include resolution and everything
// that touches a host belong to package tuning. Each file is NAME.yaml, and
// NAME is the profile's name.
package profiles
