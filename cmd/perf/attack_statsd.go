package main

import (
	"errors"
	"fmt"
	"io"
	"log"

	"github.com/spf13/pflag"

	"github.com/perf-tools/perf/harness"
	"github.com/perf-tools/perf/internal/statsd"
	"github.com/perf-tools/perf/results"
)

// defaultAttackPrefix is the default of --statsd-prefix.
const defaultAttackPrefix = "perf.attack"

// statsdFlags are perf attack's StatsD settings.
type statsdFlags struct {
	addr, prefix string
}

func (f *statsdFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.addr, "statsd", "", "publish the run live to a StatsD daemon at HOST:PORT (UDP): counters of requests, responses by status, failures by kind; per-second latency percentiles as timers; rates as gauges (see README)")
	fs.StringVar(&f.prefix, "statsd-prefix", defaultAttackPrefix, "prefix of the StatsD names (dot-separated)")
}

// start wires --statsd into the run: a client whose publisher receives every
// interval. The returned stop sends what is left, closes the client and
// says on stderr what was sent; call it once the run has ended.
func (f *statsdFlags) start(p *harness.RunOptions, stderr io.Writer) (stop func(), err error) {
	if f.addr == "" {
		if f.prefix != defaultAttackPrefix {
			return nil, errors.New("--statsd-prefix: give --statsd HOST:PORT too")
		}
		return func() {}, nil
	}
	c, err := statsd.New(statsd.Options{
		Addr:     f.addr,
		Prefix:   f.prefix,
		ErrorLog: log.New(stderr, "perf: warning: ", 0),
	})
	if err != nil {
		return nil, fmt.Errorf("--statsd: %w", err)
	}
	pub := harness.NewStatsd(c)
	prev := p.OnCounts
	p.OnCounts = func(iv results.Interval, n harness.IntervalCounts) {
		if prev != nil {
			prev(iv, n)
		}
		pub.Interval(iv, n)
	}
	return func() {
		err := c.Close()
		s := c.Stats()
		fmt.Fprintf(stderr, "perf: statsd: %d metrics in %d datagrams written to %s", s.Lines, s.Datagrams, f.addr)
		if s.SendErrors > 0 {
			fmt.Fprintf(stderr, "; %d datagrams not sent", s.SendErrors)
		}
		fmt.Fprintln(stderr)
		if err != nil {
			fmt.Fprintf(stderr, "perf: warning: %v\n", err)
		}
	}, nil
}
