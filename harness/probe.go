package harness

import (
	"context"
	"fmt"
	"time"
)

// Probe sends the targets' first request once, on a new connection, and
// returns how long the answer took: the check perf attack search makes
// between steps that the target has recovered from the last one. A
// transport failure, or a status outside 2xx and 3xx, is an error.
func Probe(ctx context.Context, t *Targets, timeout time.Duration) (time.Duration, error) {
	req, m := t.request(0, nil)
	start := time.Now()
	deadline := start.Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c, err := dial(t.endpoints[m.ep], time.Until(deadline))
	if err != nil {
		return 0, err
	}
	defer c.close()
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := c.nc.SetDeadline(deadline); err != nil {
		return 0, err
	}
	resp, err := c.roundTrip(req, m.head)
	took := time.Since(start)
	if err != nil {
		if ctx.Err() != nil {
			return took, ctx.Err()
		}
		return took, err
	}
	if resp.code < 200 || resp.code >= 400 {
		return took, fmt.Errorf("status %d", resp.code)
	}
	return took, nil
}
