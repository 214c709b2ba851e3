package main

import (
	"errors"
	"fmt"
	"math"

	"github.com/spf13/pflag"

	"github.com/perf-tools/perf/service"
)

// defaultGhostBaseline is --ghost-baseline's default: every ghosted read
// is read again from the primary, which costs the primary one store read
// off the request path per ghosted read.
const defaultGhostBaseline = 100

// addGhostFlags adds ghost mode's flags to perf serve's (--candidate is
// serve.go's: ramp-up uses it too).
func addGhostFlags(f *pflag.FlagSet, opts *serveOptions) {
	f.Float64Var(&opts.GhostShare, "ghost-share", 0, "percentage of item reads (0 to 100, decimals allowed) also sent to --candidate and compared with the answer the user got; 0: off")
	f.Float64Var(&opts.GhostBaseline, "ghost-baseline", defaultGhostBaseline, "percentage of the ghosted reads also read again from this server's own store, to measure its noise (0 to 100)")
}

// validateGhost checks --candidate, --ghost-share and --ghost-baseline.
func (o *serveOptions) validateGhost() error {
	pct := func(name string, v float64) error {
		if math.IsNaN(v) || v < 0 || v > 100 {
			return fmt.Errorf("%s %v: want a percentage from 0 to 100, such as 5 or 0.5", name, v)
		}
		return nil
	}
	if err := pct("--ghost-share", o.GhostShare); err != nil {
		return err
	}
	if err := pct("--ghost-baseline", o.GhostBaseline); err != nil {
		return err
	}
	if o.Candidate == "" {
		if o.GhostShare != 0 || o.GhostBaseline != defaultGhostBaseline {
			return errors.New("--ghost-share and --ghost-baseline mirror reads to a candidate: give --candidate http://host:port too")
		}
		return nil
	}
	if _, err := service.ParseCandidate(o.Candidate); err != nil {
		return fmt.Errorf("--candidate: %w", err)
	}
	if o.GhostShare == 0 && o.Rollout == "" {
		return fmt.Errorf("--candidate %s: nothing sends to it: give --ghost-share PERCENT to mirror that share of reads to it, or --rollout STEPS to ramp users up to it", o.Candidate)
	}
	return nil
}

// ghostBaseline turns --ghost-baseline into service.Options.GhostBaseline,
// where 0 means the default and a negative share none.
func ghostBaseline(pct float64) float64 {
	if pct == 0 {
		return -1
	}
	return pct
}

// logGhost says on stderr where ghost mode sends reads, if anywhere.
func logGhost(o *serveOptions, logf func(string, ...any)) {
	if o.Candidate == "" || o.GhostShare == 0 {
		return
	}
	logf("ghost: mirroring %v%% of item reads to %s, %v%% of those also re-read here for the baseline; GET /ghost on the admin listener compares them",
		o.GhostShare, o.Candidate, o.GhostBaseline)
}
