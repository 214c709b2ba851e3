package harness

import (
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/perf-tools/perf/results"
)

// maxStatus bounds the status codes counted by array index; anything else is
// counted as 0 (a malformed response).
const maxStatus = 600

// slot is what the recorder accumulates for one interval.
type slot struct {
	corrected, service, lag *hdrhistogram.Histogram
	completed, errors       int64
	codes                   [maxStatus]int64 // codes[0]: no HTTP status (transport error)
	kinds                   map[string]int64
}

func newSlot() *slot {
	return &slot{
		corrected: results.NewHistogram(),
		service:   results.NewHistogram(),
		lag:       results.NewHistogram(),
		kinds:     map[string]int64{},
	}
}

func (s *slot) reset() {
	s.corrected.Reset()
	s.service.Reset()
	s.lag.Reset()
	s.completed, s.errors = 0, 0
	s.codes = [maxStatus]int64{}
	clear(s.kinds)
}

// recorder takes every result from the workers. One mutex guards the current
// slot: recording is three histogram increments and a few counters, far
// shorter than anything else a request costs, and uncontended on the single
// core a generator is usually given. The interval loop swaps the slot once
// an interval, so the hot path never encodes or allocates.
type recorder struct {
	mu    sync.Mutex
	cur   *slot
	spare *slot
}

func newRecorder() *recorder { return &recorder{cur: newSlot(), spare: newSlot()} }

// record adds one request: intended and sent are its intended and actual
// send times, done when its response (or failure) ended.
func (r *recorder) record(intended, sent, done time.Time, code int, err error) {
	failed := err != nil || code < 200 || code >= 400
	r.mu.Lock()
	s := r.cur
	results.Record(s.corrected, done.Sub(intended))
	results.Record(s.service, done.Sub(sent))
	results.Record(s.lag, sent.Sub(intended))
	s.completed++
	if failed {
		s.errors++
	}
	if err != nil {
		s.kinds[errorKind(err)]++
	} else if code > 0 && code < maxStatus {
		s.codes[code]++
	} else {
		s.codes[0]++
	}
	r.mu.Unlock()
}

// swap closes the current slot and returns it; the caller must give it back
// with release once read.
func (r *recorder) swap() *slot {
	r.mu.Lock()
	s := r.cur
	r.cur = r.spare
	r.spare = nil
	r.mu.Unlock()
	return s
}

func (r *recorder) release(s *slot) {
	s.reset()
	r.mu.Lock()
	r.spare = s
	r.mu.Unlock()
}

// errorKind names a transport error for run.json's error_kinds, in words an
// operator searches for, without addresses or ports that would make every
// error distinct.
func errorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no free local port (EADDRNOTAVAIL)"
	case errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE):
		return "too many open files"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by server"
	case errors.Is(err, errMalformedStatus), errors.Is(err, errMalformedHeader),
		errors.Is(err, errHeaderTooLarge), errors.Is(err, errMalformedChunk):
		return "malformed response"
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op != "" {
		return oe.Op + " error"
	}
	return "other"
}

// statusKey is the status_codes key for code: "200", or "0" for none.
func statusKey(code int) string { return strconv.Itoa(code) }
