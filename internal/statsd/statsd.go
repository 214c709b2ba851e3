package statsd

import (
	"errors"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	dogstatsd "github.com/DataDog/datadog-go/v5/statsd"
)

// Defaults for Options' zero values.
const (
	// DefaultSampleRate is the share of Timer.Observe calls that are sent:
	// all of them.
	DefaultSampleRate = 1.0
	// DefaultFlushInterval is how often counters and gauges are sent.
	DefaultFlushInterval = time.Second
	// DefaultQueueSize is how many timer samples wait to be sent at most:
	// a tenth of a FlushInterval's worth at 80,000 samples a second.
	DefaultQueueSize = 8192
)

const (
	// CloseTimeout bounds how long Close waits for the final flush.
	CloseTimeout = time.Second
	// DialTimeout bounds the resolution of the address when the flusher
	// first sends (and again, at most once a second, while it fails).
	DialTimeout = time.Second
	// MaxPayload is the most bytes of one datagram: below a 1500-byte MTU
	// with IP and UDP headers, as datadog-go's OptimalUDPPayloadSize.
	MaxPayload = dogstatsd.OptimalUDPPayloadSize
	// writeTimeout bounds one datagram's write: a UDP write does not
	// block unless the socket's send buffer is full.
	writeTimeout = 100 * time.Millisecond
	// drainsPerFlush is how many times per FlushInterval the timer queue
	// is sent.
	drainsPerFlush = 10
	// flushEvery is how many lines the flusher hands datadog-go before it
	// makes it write them, so that its sender queue (senderQueue
	// datagrams) never fills.
	flushEvery  = 256
	senderQueue = 64
	// minLine is the length of line for which datagrams leave room for
	// the rate.
	minLine = 32
	// logEvery bounds how often send errors are logged.
	logEvery = time.Minute
)

// Options configures a Client. Zero values take the Default* constants;
// Addr is required.
type Options struct {
	// Addr is the daemon's UDP address, HOST:PORT.
	Addr string
	// Prefix is prepended, with a dot, to every name: dot-separated parts
	// of letters, digits, '_' and '-' ("perf.serve"), or empty.
	Prefix string
	// SampleRate is the share of Timer.Observe calls sent, in (0, 1].
	// Counters and gauges are never sampled.
	SampleRate float64
	// FlushInterval is how often counters and gauges are sent; timer
	// samples are sent ten times as often.
	FlushInterval time.Duration
	// QueueSize bounds the timer samples waiting to be sent.
	QueueSize int
	// ErrorLog, when set, receives send errors, at most one line a minute.
	ErrorLog *log.Logger
}

// Client publishes metrics to one StatsD daemon. Its methods are safe for
// concurrent use.
type Client struct {
	o      Options
	prefix string
	// keep is the sampling threshold: a sample is kept when a uniform
	// 64-bit draw is below it; all keeps every sample without a draw.
	keep uint64
	all  bool

	queue   chan sample
	dropped atomic.Uint64

	mu       sync.Mutex
	counters map[string]*Counter
	order    []*Counter
	timers   map[string]*Timer
	gauges   []gauge

	dd *dogstatsd.Client
	tr *transport

	closeOnce sync.Once
	closing   chan struct{}
	done      chan struct{}
}

// Counter is a count aggregated in the process and sent as its delta each
// FlushInterval.
type Counter struct {
	n atomic.Int64
	// Padding keeps two counters' hot words on different cache lines.
	_    [56]byte
	name string
	sent int64 // the flusher's alone
}

// Timer sends sampled durations in milliseconds.
type Timer struct {
	c    *Client
	name string
}

type sample struct {
	t *Timer
	d time.Duration
}

type gauge struct {
	name string
	f    func() float64
}

// Stats is a Client's own health since New, for the caller to export.
type Stats struct {
	// Dropped counts the timer samples dropped because the queue was full.
	Dropped uint64
	// Datagrams and Lines count what was written to the socket.
	Datagrams, Lines uint64
	// SendErrors counts the datagrams that could not be written: the
	// address did not resolve, the write failed (a daemon that is down
	// on a local address refuses them), or datadog-go's queue was full.
	SendErrors uint64
}

// New returns a Client that sends to o.Addr, and starts its flusher. It
// fails only for options of the wrong form; it does no I/O, so an address
// that is down or does not resolve never fails it.
func New(o Options) (*Client, error) {
	if err := checkAddr(o.Addr); err != nil {
		return nil, err
	}
	if o.Prefix != "" {
		if err := checkDotted(o.Prefix); err != nil {
			return nil, fmt.Errorf("statsd prefix %q: %w", o.Prefix, err)
		}
	}
	if o.SampleRate == 0 {
		o.SampleRate = DefaultSampleRate
	}
	if !(o.SampleRate > 0 && o.SampleRate <= 1) {
		return nil, fmt.Errorf("statsd sample rate %v: want a share above 0, at most 1", o.SampleRate)
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.FlushInterval < 10*time.Millisecond {
		return nil, fmt.Errorf("statsd flush interval %s: want at least 10ms", o.FlushInterval)
	}
	if o.QueueSize == 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.QueueSize < 1 {
		return nil, fmt.Errorf("statsd queue size %d: want at least 1", o.QueueSize)
	}
	c := &Client{
		o:        o,
		queue:    make(chan sample, o.QueueSize),
		counters: map[string]*Counter{},
		timers:   map[string]*Timer{},
		closing:  make(chan struct{}),
		done:     make(chan struct{}),
	}
	if o.Prefix != "" {
		c.prefix = o.Prefix + "."
	}
	if o.SampleRate >= 1 {
		c.all = true
	} else {
		c.keep = uint64(o.SampleRate * (1 << 64))
	}
	rate := ""
	if !c.all {
		rate = "|@" + strconv.FormatFloat(o.SampleRate, 'f', -1, 64)
	}
	c.tr = &transport{addr: o.Addr, rate: []byte(rate), log: o.ErrorLog, dial: net.DialTimeout}
	// datadog-go fills datagrams to a size that leaves room for the rate
	// on timer lines of minLine bytes or more; the transport splits the
	// rare datagram of shorter lines that would grow past MaxPayload.
	dd, err := dogstatsd.NewWithWriter(c.tr,
		dogstatsd.WithoutTelemetry(),
		dogstatsd.WithoutClientSideAggregation(),
		dogstatsd.WithoutOriginDetection(),
		dogstatsd.WithCardinality(dogstatsd.CardinalityNotSet),
		dogstatsd.WithWorkersCount(1),
		dogstatsd.WithMaxBytesPerPayload(MaxPayload*minLine/(minLine+len(rate))),
		dogstatsd.WithBufferPoolSize(senderQueue),
		dogstatsd.WithSenderQueueSize(senderQueue),
		dogstatsd.WithBufferFlushInterval(o.FlushInterval),
		dogstatsd.WithErrorHandler(c.tr.handle),
	)
	if err != nil {
		return nil, fmt.Errorf("statsd client for %s: %w", o.Addr, err)
	}
	c.dd = dd
	go c.run()
	return c, nil
}

// checkAddr checks that addr has the form HOST:PORT, without resolving it.
func checkAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("statsd address %q: want HOST:PORT: %w", addr, err)
	}
	if host == "" || strings.ContainsAny(host, " \t\r\n/") {
		return fmt.Errorf("statsd address %q: want HOST:PORT with a host name or IP address", addr)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("statsd address %q: port %q: want a number from 1 to 65535", addr, port)
	}
	return nil
}

// Counter returns the counter name (after the prefix; sanitized as
// Name's parts are, dot by dot). Create counters at load time: the same
// name returns the same counter.
func (c *Client) Counter(name string) *Counter {
	name = c.prefix + sanitizeDotted(name)
	c.mu.Lock()
	defer c.mu.Unlock()
	k := c.counters[name]
	if k == nil {
		k = &Counter{name: name}
		c.counters[name] = k
		c.order = append(c.order, k)
	}
	return k
}

// Add adds n to the counter: one atomic add.
func (k *Counter) Add(n int64) { k.n.Add(n) }

// Timer returns the timer name, as Counter does.
func (c *Client) Timer(name string) *Timer {
	name = c.prefix + sanitizeDotted(name)
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.timers[name]
	if t == nil {
		t = &Timer{c: c, name: name}
		c.timers[name] = t
	}
	return t
}

// Observe records d, when it is sampled, for sending. It never blocks nor
// allocates: a sample that finds the queue full is dropped and counted.
func (t *Timer) Observe(d time.Duration) {
	c := t.c
	if !c.all && rand.Uint64() >= c.keep {
		return
	}
	select {
	case c.queue <- sample{t, d}:
	default:
		c.dropped.Add(1)
	}
}

// Gauge sends f's value as the gauge name each FlushInterval; f is called
// from the flusher's goroutine and must be safe for that. A name given
// again replaces the function; a value that is not finite is not sent. A
// negative value goes out as `name:0|g` then `name:-1.5|g`, because Etsy's
// daemon reads a signed value as a change to the gauge.
func (c *Client) Gauge(name string, f func() float64) {
	name = c.prefix + sanitizeDotted(name)
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.gauges {
		if c.gauges[i].name == name {
			c.gauges[i].f = f
			return
		}
	}
	c.gauges = append(c.gauges, gauge{name, f})
}

// Dropped returns how many timer samples were dropped because the queue
// was full.
func (c *Client) Dropped() uint64 { return c.dropped.Load() }

// Stats returns the client's own health.
func (c *Client) Stats() Stats {
	return Stats{
		Dropped:    c.dropped.Load(),
		Datagrams:  c.tr.datagrams.Load(),
		Lines:      c.tr.lines.Load(),
		SendErrors: c.tr.errors.Load(),
	}
}

// ErrCloseTimeout is returned by Close when the final flush did not end
// within CloseTimeout.
var ErrCloseTimeout = errors.New("final flush did not end in time")

// Close sends what is left (counters' deltas, gauges, queued samples) and
// stops the flusher, waiting at most CloseTimeout; past that, the flusher
// ends by itself once its writes (each bounded) are done. Metrics used
// after Close are not sent. Close may be called more than once.
func (c *Client) Close() error {
	c.closeOnce.Do(func() { close(c.closing) })
	select {
	case <-c.done:
		return nil
	case <-time.After(CloseTimeout):
		return fmt.Errorf("statsd %s: close: %w (%s)", c.o.Addr, ErrCloseTimeout, CloseTimeout)
	}
}

// run is the flusher: it sends the timer queue drainsPerFlush times per
// FlushInterval and everything else each FlushInterval, until Close.
func (c *Client) run() {
	defer close(c.done)
	tick := time.NewTicker(c.o.FlushInterval / drainsPerFlush)
	defer tick.Stop()
	for n := 1; ; n++ {
		select {
		case <-tick.C:
			if n%drainsPerFlush == 0 {
				c.flush()
			} else {
				c.drain()
				_ = c.dd.Flush()
			}
		case <-c.closing:
			c.flush()
			_ = c.dd.Close()
			c.tr.close()
			return
		}
	}
}

// flush sends the counters' deltas, the gauges and the timer queue.
func (c *Client) flush() {
	c.mu.Lock()
	counters := c.order[:len(c.order):len(c.order)]
	gauges := slices.Clone(c.gauges) // Gauge may replace a function meanwhile
	c.mu.Unlock()
	lines := 0
	for _, k := range counters {
		n := k.n.Load()
		if d := n - k.sent; d != 0 {
			k.sent = n
			_ = c.dd.Count(k.name, d, nil, 1)
			lines = c.written(lines)
		}
	}
	for _, g := range gauges {
		v := g.f()
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		if v == 0 {
			v = 0 // not -0, which Etsy's daemon would add
		}
		// Etsy's daemon reads a signed gauge value as a change, not a
		// value: a negative one is sent after a zero.
		if v < 0 {
			_ = c.dd.Gauge(g.name, 0, nil, 1)
			lines = c.written(lines)
		}
		_ = c.dd.Gauge(g.name, v, nil, 1)
		lines = c.written(lines)
	}
	c.drain()
	_ = c.dd.Flush()
}

// drain sends the samples queued now (not those that arrive meanwhile).
func (c *Client) drain() {
	lines := 0
	for range len(c.queue) {
		s := <-c.queue
		// datadog-go prints milliseconds with six decimals: to the
		// nanosecond.
		_ = c.dd.TimeInMilliseconds(s.t.name, float64(s.d)/float64(time.Millisecond), nil, 1)
		lines = c.written(lines)
	}
}

// written counts a line handed to datadog-go and makes it write its
// datagrams every flushEvery lines, so its sender queue never fills.
func (c *Client) written(lines int) int {
	if lines++; lines%flushEvery == 0 {
		_ = c.dd.Flush()
	}
	return lines
}
