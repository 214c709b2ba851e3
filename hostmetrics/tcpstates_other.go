//go:build !linux

package hostmetrics

import "errors"

// countTCPStatesNetlink needs Linux's sock_diag; elsewhere the caller falls
// back to procfs.
func countTCPStatesNetlink([]byte) (map[string]int64, error) {
	return nil, errors.ErrUnsupported
}
