package harness

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/perf-tools/perf/internal/http1"
	"github.com/perf-tools/perf/results"
)

// maxStatus bounds the status codes counted by array index; a status at or
// above it is a malformed response.
const maxStatus = 600

// Error kinds: the keys of run.json's error_kinds, in words an operator
// searches for, without addresses or ports that would make every error
// distinct. Each counts requests that got no response.
const (
	KindTimeout        = "timeout"
	KindRefused        = "connection refused"
	KindReset          = "connection reset"
	KindClosed         = "connection closed before response"
	KindTruncatedHead  = "truncated response"
	KindTruncatedBody  = "truncated body"
	KindBrokenPipe     = "broken pipe"
	KindNoPort         = "no free local port (EADDRNOTAVAIL)"
	KindNoFiles        = "too many open files"
	KindMalformed      = "malformed response"
	KindTLSCertificate = "tls certificate"
	KindTLSPlainHTTP   = "tls: server speaks plain HTTP"
	KindTLS            = "tls handshake"
	KindInterrupted    = "cut off by the interrupt"
	KindEndCut         = "cut off at the end of the run"
	KindGaveUp         = "cut off when the attack gave up"
	KindOther          = "other"
)

// plainHTTPRecordHead is how a TLS record header looks when the server
// answered a ClientHello in plain HTTP, as net/http's client tells it.
const plainHTTPRecordHead = "HTTP/"

// errInterrupted and errEndCut replace the error of a request in flight
// that the attack cut off, when it was interrupted or when the request
// outlived the run's end and its own timeout: the target is not to blame.
var (
	errInterrupted = errors.New("request cut off: the attack was interrupted")
	errEndCut      = errors.New("request cut off: still in flight after the run's end and its timeout")
	errGaveUp      = errors.New("request cut off: the attack gave up, its SLO had already failed")
)

// slot is what the recorder accumulates for one interval of the plan: the
// results of the hits whose intended send time lies in it.
type slot struct {
	corrected, service, lag *hdrhistogram.Histogram
	// done counts the interval's hits that were sent and finished, with a
	// response or a failure.
	done            int64
	errors, retries int64
	codes           [maxStatus]int64
	// kinds counts the failures (requests without a response) by kind.
	kinds map[string]int64
	// messages holds the first message of each kind seen in the interval.
	messages map[string]string
	// variants holds the responses of each variant (by id, see variants)
	// when the attack splits them; an entry stays allocated across reuse.
	variants []*variantSlot
}

// variantSlot is what a slot holds of one variant's responses.
type variantSlot struct {
	corrected, service *hdrhistogram.Histogram
	responses, errors  int64
	// codes counts the responses by status; an existing key is counted
	// without allocating.
	codes map[int]int64
}

// variant returns the slot's record of variant id, adding it when new.
func (s *slot) variant(id int) *variantSlot {
	for len(s.variants) <= id {
		s.variants = append(s.variants, nil)
	}
	v := s.variants[id]
	if v == nil {
		v = &variantSlot{corrected: results.NewHistogram(), service: results.NewHistogram(), codes: map[int]int64{}}
		s.variants[id] = v
	}
	return v
}

func newSlot() *slot {
	return &slot{
		corrected: results.NewHistogram(),
		service:   results.NewHistogram(),
		lag:       results.NewHistogram(),
		kinds:     map[string]int64{},
		messages:  map[string]string{},
	}
}

func (s *slot) reset() {
	s.corrected.Reset()
	s.service.Reset()
	s.lag.Reset()
	s.done, s.errors, s.retries = 0, 0, 0
	s.codes = [maxStatus]int64{}
	clear(s.kinds)
	clear(s.messages)
	for _, v := range s.variants {
		if v != nil && v.responses > 0 {
			v.corrected.Reset()
			v.service.Reset()
			v.responses, v.errors = 0, 0
			clear(v.codes)
		}
	}
}

// recorder takes every result from the workers into the slot of the
// interval the hit was intended in. Intervals stay open until every one of
// their hits has finished, so a slow answer is counted where it was due,
// never in a later interval; normally that is the current interval and the
// one before it. One mutex guards the open slots: recording is three
// histogram increments and a few counters, far shorter than anything else
// a request costs, and uncontended on the single core a generator is
// usually given. Closed slots are reused, so the hot path never allocates.
type recorder struct {
	mu    sync.Mutex
	first int     // the interval of open[0]
	open  []*slot // the open intervals, first onwards
	free  []*slot
	// split says the responses are split by variant: each response is
	// also recorded under its variant (see record).
	split bool
}

func newRecorder(split bool) *recorder { return &recorder{split: split} }

// slotLocked returns the slot of interval k, opening it (and any before it)
// when new. r.mu must be held.
func (r *recorder) slotLocked(k int) *slot {
	// A hit's interval is never closed before its result is in (close
	// waits for every hit), so k >= r.first.
	i := max(k-r.first, 0)
	for len(r.open) <= i {
		var s *slot
		if n := len(r.free); n > 0 {
			s, r.free = r.free[n-1], r.free[:n-1]
		} else {
			s = newSlot()
		}
		r.open = append(r.open, s)
	}
	return r.open[i]
}

// record adds the result of one hit of interval k: intended and sent are
// its intended and actual send times, done when its response (or failure)
// ended. A request that failed has no latency: only its send lag is kept.
// When the recorder splits, a response is recorded under its variant too
// (a negative variant, a response without the header, under (none)); a
// failure has no variant.
func (r *recorder) record(k int, intended, sent, done time.Time, code, variant int, retried bool, err error) {
	if err == nil && (code <= 0 || code >= maxStatus) {
		err = http1.ErrMalformedStatus
	}
	r.mu.Lock()
	s := r.slotLocked(k)
	s.done++
	results.Record(s.lag, sent.Sub(intended))
	if retried {
		s.retries++
	}
	if err != nil {
		s.errors++
		kind := errorKind(err)
		s.kinds[kind]++
		if _, ok := s.messages[kind]; !ok {
			s.messages[kind] = err.Error()
		}
	} else {
		results.Record(s.corrected, done.Sub(intended))
		results.Record(s.service, done.Sub(sent))
		s.codes[code]++
		bad := code < 200 || code >= 400
		if bad {
			s.errors++
		}
		if r.split {
			v := s.variant(max(variant, variantNone))
			results.Record(v.corrected, done.Sub(intended))
			results.Record(v.service, done.Sub(sent))
			v.responses++
			v.codes[code]++
			if bad {
				v.errors++
			}
		}
	}
	r.mu.Unlock()
}

// closeFirst closes the first open interval when ready(done) says all its
// hits are in, and returns its slot (nil when not ready), which the caller
// must give back with release once read.
func (r *recorder) closeFirst(ready func(done int64) bool) *slot {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.slotLocked(r.first)
	if !ready(s.done) {
		return nil
	}
	r.open = r.open[1:]
	r.first++
	return s
}

// failures counts the slot's requests that got no response.
func (s *slot) failures() int64 {
	var n int64
	for _, c := range s.kinds {
		n += c
	}
	return n
}

func (r *recorder) release(s *slot) {
	s.reset()
	r.mu.Lock()
	r.free = append(r.free, s)
	r.mu.Unlock()
}

// errorKind names a failure for run.json's error_kinds.
func errorKind(err error) string {
	var (
		ne    net.Error
		we    *wireError
		cve   *tls.CertificateVerificationError
		uae   x509.UnknownAuthorityError
		he    x509.HostnameError
		cie   x509.CertificateInvalidError
		rhe   tls.RecordHeaderError
		alert tls.AlertError
	)
	switch {
	case errors.Is(err, errInterrupted):
		return KindInterrupted
	case errors.Is(err, errEndCut):
		return KindEndCut
	case errors.Is(err, errGaveUp):
		return KindGaveUp
	case errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return KindTimeout
	case errors.As(err, &cve) || errors.As(err, &uae) || errors.As(err, &he) || errors.As(err, &cie):
		return KindTLSCertificate
	case errors.As(err, &rhe) && string(rhe.RecordHeader[:]) == plainHTTPRecordHead:
		return KindTLSPlainHTTP
	case errors.As(err, &rhe) || errors.As(err, &alert):
		return KindTLS
	case malformed(err):
		return KindMalformed
	case errors.As(err, &we) && we.stage == stageHead:
		return KindTruncatedHead
	case errors.As(err, &we) && we.stage == stageBody:
		return KindTruncatedBody
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindRefused
	case errors.Is(err, syscall.ECONNRESET):
		return KindReset
	case errors.Is(err, syscall.EPIPE):
		return KindBrokenPipe
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return KindNoPort
	case errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE):
		return KindNoFiles
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return KindClosed
	}
	if tlsHandshake(err) {
		return KindTLS
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op != "" {
		return oe.Op + " error"
	}
	return KindOther
}

// tlsHandshake reports whether err came out of a TLS handshake that failed
// for a reason the tls package has no type for ("tls: ..." errors).
func tlsHandshake(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if s := e.Error(); len(s) > 5 && s[:5] == "tls: " {
			return true
		}
	}
	return false
}

// statusKey is the status_codes key for code: "200".
func statusKey(code int) string { return strconv.Itoa(code) }
