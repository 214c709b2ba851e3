package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/perf-tools/perf/internal/http1"
	"github.com/perf-tools/perf/results"
	"github.com/perf-tools/perf/service/flags"
)

// toCandidate returns the rollout and the item id when r is an item read
// (GET or HEAD of a valid id) of a user the rollout gives to the candidate,
// and nil otherwise. It counts the item reads that stay on the primary.
func (s *Server) toCandidate(r *http1.Request) (*rollout, uint64) {
	ro := s.rollout.Load()
	if ro == nil {
		return nil, 0
	}
	f := ro.assign.Load()
	if f == nil || !bytes.HasPrefix(r.Path, itemsPath) ||
		(string(r.Method) != http.MethodGet && string(r.Method) != http.MethodHead) {
		return nil, 0
	}
	id, ok := parseID(r.Path[len(itemsPath):])
	if !ok {
		return nil, 0
	}
	if len(r.Captured) == 0 {
		ro.win.Load().noUser.Add(1)
		return nil, 0
	}
	if v, _ := flags.Pick(f, r.Captured); v != ro.candidate {
		ro.win.Load().primaryUsers.Add(1)
		return nil, 0
	}
	return ro, id
}

// Pieces of proxied answers.
var (
	hdrCandidate      = []byte(VersionHeader + ": candidate\r\n")
	bodyCandidateDown = canned(`{"error":"the candidate version failed to answer (perf serve rollout): counted against its gate"}`)
	bodyCandidateSlow = canned(`{"error":"the candidate version did not answer in time (perf serve rollout): counted against its gate"}`)
	passHeaders       = []string{"ETag", VariantHeader}
)

// proxy asks the candidate for item id on behalf of user, and appends its
// answer to dst, with the candidate's status, Content-Type, ETag, X-Variant
// and body, VersionHeader and extra. A request that gets no answer (refused,
// reset, timed out, too large) is the candidate's error, answered 502 and
// never retried. It returns dst and the status code.
func (ro *rollout) proxy(dst, method []byte, id uint64, user, extra []byte) ([]byte, int) {
	head := string(method) == http.MethodHead
	ctx, cancel := context.WithTimeout(context.Background(), ro.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, string(method), ro.base+ItemsPath+strconv.FormatUint(id, 10), nil)
	if err != nil {
		// Unreachable: the base URL was checked at start.
		panic(err)
	}
	setUser(req, ro.userHeader, ro.userCookie, user)
	// Go's transport sends a GET again, on another connection, when the
	// kept-alive one it used was closed before an answer came; it cannot be
	// told not to, so it is counted: a second connection for one request.
	var conns atomic.Int64
	req = req.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { conns.Add(1) },
	}))
	start := time.Now()
	resp, err := ro.client.Do(req)
	if n := conns.Load(); n > 1 {
		ro.recordRetries(n - 1)
	}
	var body []byte
	if err == nil {
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxCandidateBody+1))
		resp.Body.Close()
		if err == nil && len(body) > maxCandidateBody {
			err = fmt.Errorf("answer larger than %d bytes", maxCandidateBody)
		}
	}
	d := time.Since(start)
	if err != nil {
		timeout := ctx.Err() != nil || isTimeout(err)
		ro.recordFailure(timeout)
		b := bodyCandidateDown
		if timeout {
			b = bodyCandidateSlow
		}
		dst = append(dst, statusLine(http.StatusBadGateway)...)
		dst = appendFields(append(dst, hdrCandidate...), len(b.body), extra)
		if !head {
			dst = append(dst, b.body...)
		}
		return dst, http.StatusBadGateway
	}
	ro.record(resp.StatusCode, d)
	dst = append(dst, statusLine(resp.StatusCode)...)
	dst = append(dst, hdrCandidate...)
	for _, k := range passHeaders {
		if v := resp.Header.Get(k); v != "" {
			dst = append(append(append(append(dst, k...), ": "...), v...), crlf...)
		}
	}
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/json"
	}
	n := int64(len(body))
	if head {
		n = max(resp.ContentLength, 0)
	}
	dst = append(append(append(dst, "Content-Type: "...), ct...), crlf...)
	dst = strconv.AppendInt(append(dst, "Content-Length: "...), n, 10)
	dst = append(append(append(dst, crlf...), extra...), crlf...)
	if !head {
		dst = append(dst, body...)
	}
	return dst, resp.StatusCode
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// record counts one answer of the candidate in the current hold and in
// Prometheus.
func (ro *rollout) record(code int, d time.Duration) {
	bad := code < 200 || code >= 400
	w := ro.win.Load()
	w.mu.Lock()
	w.requests++
	if bad {
		w.errors++
	}
	results.Record(w.hist, d)
	w.mu.Unlock()
	m := &ro.metrics
	c, ok := m.byCode.Load(code)
	if !ok {
		c, _ = m.byCode.LoadOrStore(code, m.requests.WithLabelValues(strconv.Itoa(code)))
	}
	c.(prometheus.Counter).Inc()
	if bad {
		m.errors.Inc()
	}
	m.latency.Observe(d.Seconds())
}

// recordRetries counts requests the transport sent again.
func (ro *rollout) recordRetries(n int64) {
	w := ro.win.Load()
	w.mu.Lock()
	w.retries += n
	w.mu.Unlock()
	ro.metrics.retries.Add(float64(n))
}

// recordFailure counts a candidate request that got no answer.
func (ro *rollout) recordFailure(timeout bool) {
	w := ro.win.Load()
	w.mu.Lock()
	w.requests++
	w.errors++
	if timeout {
		w.timeouts++
	} else {
		w.transport++
	}
	w.mu.Unlock()
	m := &ro.metrics
	m.errors.Inc()
	if timeout {
		m.timeouts.Inc()
	} else {
		m.transport.Inc()
	}
}
