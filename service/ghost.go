package service

import (
	"bytes"
	"context"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/perf-tools/perf/internal/percentile"
)

// Defaults for the ghost options.
const (
	// DefaultGhostWorkers is how many goroutines send ghost requests to
	// the candidate, and so how many connections to it are open at most.
	DefaultGhostWorkers = 8
	// DefaultGhostQueue is how many ghost records wait for a worker before
	// the request path drops new ones.
	DefaultGhostQueue = 1024
	// DefaultGhostTimeout bounds one ghost request to the candidate, from
	// its send to its body's last byte.
	DefaultGhostTimeout = 2 * time.Second
	// DefaultGhostBaseline is the share, in percent, of the ghosted reads
	// that are also read again from the primary, for the baseline.
	DefaultGhostBaseline = 100
)

// Limits of a ghost record: a read whose path or user id is longer is not
// ghosted (an item path is at most 30 bytes), and counted as skipped.
const (
	ghostMaxPath = 64
	ghostMaxUser = 128
	// ghostFirst is how many first bytes of each body a mismatch example
	// shows.
	ghostFirst = 64
	// ghostExamples is how many mismatching examples GET /ghost keeps.
	ghostExamples = 10
	// ghostMaxBody bounds what is read of a candidate's body: a larger one
	// is a mismatch all the same, as the primary's documents are at most
	// MaxValueSize.
	ghostMaxBody = 2 * MaxValueSize
	// ghostZ is the z score of the one-sided two-proportion test beyond
	// which the candidate's mismatch rate exceeds the baseline's: 3, a
	// false alarm about once in 740 comparisons of equal rates.
	ghostZ = 3
	// ghostMinCompared is how many comparisons each side needs before the
	// verdict says anything.
	ghostMinCompared = 30
)

// ghostRecord is what the request path hands to the ghost workers: a
// fixed-size value, copied into the queue's buffer, so ghosting a read
// allocates nothing.
type ghostRecord struct {
	head      bool   // HEAD, else GET
	status    uint16 // the primary's
	pathLen   uint8
	userLen   uint8
	firstLen  uint8
	sum       uint32 // CRC-32C of the primary's body
	size      int32  // length of the primary's body
	path      [ghostMaxPath]byte
	user      [ghostMaxUser]byte
	firstBody [ghostFirst]byte
}

// ghost mirrors a share of item reads to a candidate and compares its
// answers with the primary's. The request path calls offer; Run starts the
// workers, which live until its context is done.
type ghost struct {
	s    *Server
	base string // the candidate, http://host:port
	// share and baseline are percentages; a read is picked when a uniform
	// 64-bit random number is below its threshold (or always, all).
	share, baseline        float64
	shareAt, baselineAt    uint64
	shareAll, baselineAll  bool
	workers                int
	timeout                time.Duration
	userHeader, userCookie string
	queue                  chan ghostRecord
	client                 *http.Client
	latency                prometheus.Histogram
	running                atomic.Bool
	// err is a bad option, which Run returns.
	err error
	// onResult, when set (by tests, before Run), is called once a ghost
	// request is counted as match, mismatch or candidate_error, and its
	// baseline, if any, too.
	onResult func()

	queued                   atomic.Uint64
	match, mismatch, candErr atomic.Uint64
	dropped, skipped         atomic.Uint64
	baseMatch, baseMismatch  atomic.Uint64

	mu        sync.Mutex // guards the fields below
	hdr       *hdrhistogram.Histogram
	examples  []GhostExample // the last ghostExamples, oldest first
	lastErr   string
	lastErrAt time.Time
}

// threshold turns a percentage into the bound a uniform 64-bit random
// number is compared with, and whether every request is taken.
func threshold(pct float64) (uint64, bool) {
	if pct >= 100 {
		return 0, true
	}
	if pct <= 0 {
		return 0, false
	}
	return uint64(pct / 100 * (1 << 64)), false
}

// newGhost builds the ghost of s's options, or nil when ghost mode is off
// (no candidate or no share).
func newGhost(s *Server) *ghost {
	o := s.opts
	if o.Candidate == "" && o.GhostShare == 0 {
		return nil
	}
	g := &ghost{s: s, share: o.GhostShare, baseline: o.GhostBaseline, workers: o.GhostWorkers, timeout: o.GhostTimeout,
		userHeader: o.UserHeader, userCookie: o.UserCookie}
	var err error
	switch {
	case o.Candidate == "":
		err = fmt.Errorf("ghost share %v%% without a candidate: set Options.Candidate", o.GhostShare)
	case math.IsNaN(o.GhostShare) || o.GhostShare < 0 || o.GhostShare > 100:
		err = fmt.Errorf("ghost share %v: want a percentage from 0 to 100", o.GhostShare)
	case math.IsNaN(o.GhostBaseline) || o.GhostBaseline < 0 || o.GhostBaseline > 100:
		err = fmt.Errorf("ghost baseline %v: want a percentage from 0 to 100", o.GhostBaseline)
	default:
		g.base, err = ParseCandidate(o.Candidate)
	}
	if err != nil {
		g.err = err
		return g
	}
	if o.GhostShare == 0 {
		// A candidate for something else (ramp-up): nothing to mirror.
		return nil
	}
	g.shareAt, g.shareAll = threshold(g.share)
	g.baselineAt, g.baselineAll = threshold(g.baseline)
	g.queue = make(chan ghostRecord, o.GhostQueue)
	// A bounded pool: one connection per worker at most.
	g.client = newCandidateClient(g.timeout, g.workers)
	g.hdr = hdrhistogram.New(1, int64(time.Minute), 3)
	g.register(s.metrics.reg)
	return g
}

// register exposes the ghost's counters, read from its atomics, and the
// candidate's latency histogram.
func (g *ghost) register(reg *prometheus.Registry) {
	for _, c := range []struct {
		result string
		n      *atomic.Uint64
	}{{"match", &g.match}, {"mismatch", &g.mismatch}, {"candidate_error", &g.candErr}, {"dropped", &g.dropped}} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "perf_serve_ghost_requests_total",
			Help:        "Reads mirrored to the ghost candidate (perf serve --candidate --ghost-share), by result: match or mismatch (status and body hash against the primary's answer), candidate_error (transport error or timeout), dropped (the queue was full).",
			ConstLabels: prometheus.Labels{"result": c.result},
		}, func() float64 { return float64(c.n.Load()) }))
	}
	for _, c := range []struct {
		result string
		n      *atomic.Uint64
	}{{"match", &g.baseMatch}, {"mismatch", &g.baseMismatch}} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "perf_serve_ghost_baseline_total",
			Help:        "Ghosted reads read again from the primary's own store, compared with the primary's first answer (status and body hash), by result: the noise the candidate's mismatches are judged against.",
			ConstLabels: prometheus.Labels{"result": c.result},
		}, func() float64 { return float64(c.n.Load()) }))
	}
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "perf_serve_ghost_skipped_total",
		Help: "Reads picked for ghosting whose path or user id was too long for a ghost record, so not mirrored.",
	}, func() float64 { return float64(g.skipped.Load()) }))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "perf_serve_ghost_queue_length",
		Help: "Ghost records waiting for a worker.",
	}, func() float64 { return float64(len(g.queue)) }))
	g.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "perf_serve_ghost_candidate_duration_seconds",
		Help:    "Time from sending a ghost request to the candidate to having read its whole body, for answered ghost requests.",
		Buckets: append(latencyBuckets[:len(latencyBuckets):len(latencyBuckets)], 5, 10),
	})
	reg.MustRegister(g.latency)
}

// offer is the request path's part: it picks the read for ghosting with
// the share's probability, and hands a record of the primary's answer
// (resp: the status line, headers and body respond appended) to the
// workers without waiting. A read not picked costs a random number; one
// picked costs a CRC-32C of the body and a copy into the queue, and
// allocates nothing either way.
func (g *ghost) offer(method, path, user []byte, code int, resp []byte) {
	if !g.shareAll && rand.Uint64() >= g.shareAt {
		return
	}
	head := string(method) == http.MethodHead
	if !head && string(method) != http.MethodGet || !bytes.HasPrefix(path, itemsPath) {
		return
	}
	if len(path) > ghostMaxPath || len(user) > ghostMaxUser {
		g.skipped.Add(1)
		return
	}
	var body []byte
	if i := bytes.Index(resp, headEnd); i >= 0 {
		body = resp[i+len(headEnd):]
	}
	var rec ghostRecord
	rec.head, rec.status = head, uint16(code)
	rec.pathLen = uint8(copy(rec.path[:], path))
	rec.userLen = uint8(copy(rec.user[:], user))
	rec.firstLen = uint8(copy(rec.firstBody[:], body))
	rec.sum, rec.size = crc32.Checksum(body, castagnoli), int32(len(body))
	select {
	case g.queue <- rec:
		g.queued.Add(1)
	default:
		g.dropped.Add(1)
	}
}

var headEnd = []byte("\r\n\r\n")

// run starts the workers and returns once ctx is done and they have all
// stopped; a ghost request under way is cancelled, and not counted.
func (g *ghost) run(ctx context.Context) {
	g.running.Store(true)
	defer g.running.Store(false)
	var wg sync.WaitGroup
	for range g.workers {
		wg.Go(func() { g.work(ctx) })
	}
	wg.Wait()
	g.client.CloseIdleConnections()
}

// ghostWorker holds one worker's reused buffers.
type ghostWorker struct {
	g     *ghost
	first []byte
	out   []byte
	sel   []*servedVariant
}

func (g *ghost) work(ctx context.Context) {
	w := &ghostWorker{g: g, first: make([]byte, 0, ghostFirst), out: make([]byte, 0, wireOutStart)}
	for {
		select {
		case <-ctx.Done():
			return
		case rec := <-g.queue:
			counted := w.candidate(ctx, &rec)
			if g.baselineAll || g.baselineAt > 0 && rand.Uint64() < g.baselineAt {
				w.baseline(&rec)
			}
			if counted && g.onResult != nil {
				g.onResult()
			}
		}
	}
}

// candidate sends rec's request to the candidate and compares its status
// and body hash with the primary's. Headers are not compared: the primary
// sets X-Serve-Generation and, by the user's variants, X-Variant and ETag,
// which may differ between versions without the answer doing so.
//
// It reports whether it counted the request: one cancelled by ctx is not.
func (w *ghostWorker) candidate(ctx context.Context, rec *ghostRecord) bool {
	g := w.g
	method := http.MethodGet
	if rec.head {
		method = http.MethodHead
	}
	req, err := http.NewRequestWithContext(ctx, method, g.base, nil)
	if err != nil {
		g.fail(err)
		return true
	}
	req.URL.Path = string(rec.path[:rec.pathLen])
	if user := rec.user[:rec.userLen]; len(user) > 0 {
		// The same user id, where the primary found it, so the candidate
		// serves the user the same variants.
		setUser(req, g.userHeader, g.userCookie, user)
	}
	start := time.Now()
	resp, err := g.client.Do(req)
	var sum uint32
	var size int64
	if err == nil {
		sum, size, err = w.readBody(resp.Body)
		resp.Body.Close()
	}
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		g.fail(err)
		return true
	}
	d := time.Since(start)
	g.latency.Observe(d.Seconds())
	g.mu.Lock()
	_ = g.hdr.RecordValue(min(d.Nanoseconds(), g.hdr.HighestTrackableValue()))
	g.mu.Unlock()
	if resp.StatusCode == int(rec.status) && sum == rec.sum && size == int64(rec.size) {
		g.match.Add(1)
		return true
	}
	g.mismatch.Add(1)
	g.example(rec, resp.StatusCode, sum, size, w.first)
	return true
}

// readBody reads a body whole (up to ghostMaxBody), keeping its first
// bytes, and returns its CRC-32C and length.
func (w *ghostWorker) readBody(r io.Reader) (uint32, int64, error) {
	h := crc32.New(castagnoli)
	w.first = w.first[:0]
	buf := w.out[:cap(w.out)]
	var n int64
	lr := io.LimitReader(r, ghostMaxBody+1)
	for {
		k, err := lr.Read(buf)
		if k > 0 {
			h.Write(buf[:k])
			if room := ghostFirst - len(w.first); room > 0 {
				w.first = append(w.first, buf[:min(k, room)]...)
			}
			n += int64(k)
		}
		if err == io.EOF {
			return h.Sum32(), n, nil
		}
		if err != nil {
			return 0, 0, err
		}
	}
}

// baseline reads rec's item again from the primary's store, with the
// variants the user gets now (without their delay), and compares status and
// body hash with the primary's first answer: what differs between two
// answers of the primary itself (a flags reload in between, a store
// swapped by SetStore) is noise, not the candidate's doing.
func (w *ghostWorker) baseline(rec *ghostRecord) {
	s := w.g.s
	var e effect
	w.sel = w.sel[:0]
	if fs := s.flags.Load(); fs != nil {
		w.sel, e = fs.pick(rec.user[:rec.userLen], w.sel)
	}
	e.delay = 0
	method := getMethod
	if rec.head {
		method = headMethod
	}
	var code int
	w.out, code = s.respond(w.out[:0], method, rec.path[:rec.pathLen], nil, e)
	var body []byte
	if i := bytes.Index(w.out, headEnd); i >= 0 {
		body = w.out[i+len(headEnd):]
	}
	if code == int(rec.status) && crc32.Checksum(body, castagnoli) == rec.sum && len(body) == int(rec.size) {
		w.g.baseMatch.Add(1)
	} else {
		w.g.baseMismatch.Add(1)
	}
	if cap(w.out) > wireOutKeep {
		w.out = make([]byte, 0, wireOutStart)
	}
}

var (
	getMethod  = []byte(http.MethodGet)
	headMethod = []byte(http.MethodHead)
)

// fail counts a ghost request the candidate did not answer.
func (g *ghost) fail(err error) {
	g.candErr.Add(1)
	g.mu.Lock()
	g.lastErr, g.lastErrAt = err.Error(), time.Now()
	g.mu.Unlock()
}

// GhostAnswer is one side of a mismatching example.
type GhostAnswer struct {
	Status int    `json:"status"`
	CRC32C string `json:"crc32c"`
	Bytes  int64  `json:"bytes"`
	// First is the body's first bytes (at most 64).
	First string `json:"first"`
}

// GhostExample is a read the candidate answered otherwise than the
// primary.
type GhostExample struct {
	At        time.Time   `json:"at"`
	Method    string      `json:"method"`
	Path      string      `json:"path"`
	User      string      `json:"user,omitempty"`
	Primary   GhostAnswer `json:"primary"`
	Candidate GhostAnswer `json:"candidate"`
}

func crcString(sum uint32) string { return fmt.Sprintf("%08x", sum) }

// example keeps a mismatching read for GET /ghost, dropping the oldest
// beyond ghostExamples.
func (g *ghost) example(rec *ghostRecord, status int, sum uint32, size int64, first []byte) {
	method := http.MethodGet
	if rec.head {
		method = http.MethodHead
	}
	ex := GhostExample{
		At: time.Now().UTC(), Method: method, Path: string(rec.path[:rec.pathLen]), User: string(rec.user[:rec.userLen]),
		Primary:   GhostAnswer{Status: int(rec.status), CRC32C: crcString(rec.sum), Bytes: int64(rec.size), First: string(rec.firstBody[:rec.firstLen])},
		Candidate: GhostAnswer{Status: status, CRC32C: crcString(sum), Bytes: size, First: string(first)},
	}
	g.mu.Lock()
	if len(g.examples) == ghostExamples {
		copy(g.examples, g.examples[1:])
		g.examples = g.examples[:ghostExamples-1]
	}
	g.examples = append(g.examples, ex)
	g.mu.Unlock()
}

// GhostStatus is what GET /ghost answers.
type GhostStatus struct {
	Enabled bool `json:"enabled"`
	// Running: Run's workers are sending to the candidate.
	Running         bool    `json:"running"`
	Candidate       string  `json:"candidate,omitempty"`
	SharePercent    float64 `json:"share_percent"`
	BaselinePercent float64 `json:"baseline_percent"`
	Workers         int     `json:"workers,omitempty"`
	Timeout         string  `json:"timeout,omitempty"`
	QueueCapacity   int     `json:"queue_capacity,omitempty"`
	QueueLength     int     `json:"queue_length"`
	// Mirrored counts the reads queued for the candidate.
	Mirrored uint64 `json:"mirrored"`
	// Requests counts the ghosted reads by result: match, mismatch,
	// candidate_error, dropped; Skipped the picked reads too long to
	// mirror.
	Requests map[string]uint64 `json:"requests"`
	Skipped  uint64            `json:"skipped"`
	// MismatchRate is mismatch / (match + mismatch); ErrorRate is
	// candidate_error / (match + mismatch + candidate_error).
	MismatchRate float64 `json:"mismatch_rate"`
	ErrorRate    float64 `json:"candidate_error_rate"`
	// CandidateLatencyMS holds the candidate's latency percentiles of
	// answered ghost requests, in milliseconds (the one percentile rule,
	// nearest rank).
	CandidateLatencyMS map[string]float64 `json:"candidate_latency_ms"`
	Baseline           GhostBaseline      `json:"baseline"`
	Verdict            GhostVerdict       `json:"verdict"`
	LastError          string             `json:"last_error,omitempty"`
	LastErrorAt        *time.Time         `json:"last_error_at,omitempty"`
	Mismatches         []GhostExample     `json:"mismatches"`
	// Compared says what was compared, for a person reading the JSON.
	Compared string `json:"compared"`
}

// GhostBaseline is the primary against itself.
type GhostBaseline struct {
	Match        uint64  `json:"match"`
	Mismatch     uint64  `json:"mismatch"`
	MismatchRate float64 `json:"mismatch_rate"`
}

// GhostVerdict says whether the candidate's mismatch rate exceeds the
// baseline's beyond noise: a one-sided two-proportion z test, exceeding at
// z >= 3, once each side has 30 comparisons.
type GhostVerdict struct {
	ExceedsBaseline bool    `json:"exceeds_baseline"`
	Z               float64 `json:"z"`
	Says            string  `json:"says"`
}

// ghostVerdict compares mc mismatches of nc candidate comparisons with mb
// of nb baseline ones.
func ghostVerdict(mc, nc, mb, nb uint64) GhostVerdict {
	if nc < ghostMinCompared || nb < ghostMinCompared {
		return GhostVerdict{Says: fmt.Sprintf("not enough comparisons yet: %d of the candidate and %d of the baseline, want %d each", nc, nb, ghostMinCompared)}
	}
	pc, pb := float64(mc)/float64(nc), float64(mb)/float64(nb)
	p := float64(mc+mb) / float64(nc+nb)
	se := math.Sqrt(p * (1 - p) * (1/float64(nc) + 1/float64(nb)))
	var z float64
	if se > 0 {
		z = (pc - pb) / se
	}
	v := GhostVerdict{Z: math.Round(z*100) / 100, ExceedsBaseline: z >= ghostZ}
	if v.ExceedsBaseline {
		v.Says = fmt.Sprintf("the candidate mismatches %.2f%% of reads, the primary against itself %.2f%%: beyond noise (z %.1f >= %d)", pc*100, pb*100, z, ghostZ)
	} else {
		v.Says = fmt.Sprintf("the candidate mismatches %.2f%% of reads, the primary against itself %.2f%%: within noise (z %.1f < %d)", pc*100, pb*100, z, ghostZ)
	}
	return v
}

func rate(n, of uint64) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

// status reads the ghost's counters and examples.
func (g *ghost) status() GhostStatus {
	match, mismatch, candErr := g.match.Load(), g.mismatch.Load(), g.candErr.Load()
	bm, bmm := g.baseMatch.Load(), g.baseMismatch.Load()
	st := GhostStatus{
		Enabled: true, Running: g.running.Load(), Candidate: g.base, SharePercent: g.share, BaselinePercent: g.baseline,
		Workers: g.workers, Timeout: g.timeout.String(), QueueCapacity: cap(g.queue), QueueLength: len(g.queue),
		Requests: map[string]uint64{"match": match, "mismatch": mismatch, "candidate_error": candErr, "dropped": g.dropped.Load()},
		Mirrored: g.queued.Load(), Skipped: g.skipped.Load(), MismatchRate: rate(mismatch, match+mismatch), ErrorRate: rate(candErr, match+mismatch+candErr),
		Baseline: GhostBaseline{Match: bm, Mismatch: bmm, MismatchRate: rate(bmm, bm+bmm)},
		Verdict:  ghostVerdict(mismatch, match+mismatch, bmm, bm+bmm),
		Compared: "status code and CRC-32C of the body; headers are not compared (X-Serve-Generation, X-Variant and ETag may differ)",
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	v := percentile.Values(g.hdr, 50, 90, 99, 99.9)
	st.CandidateLatencyMS = map[string]float64{"count": float64(g.hdr.TotalCount()),
		"p50": ms(v[0]), "p90": ms(v[1]), "p99": ms(v[2]), "p99.9": ms(v[3]), "max": ms(g.hdr.Max())}
	if g.hdr.TotalCount() == 0 {
		st.CandidateLatencyMS["max"] = 0
	}
	st.Mismatches = append([]GhostExample{}, g.examples...)
	st.LastError = g.lastErr
	if !g.lastErrAt.IsZero() {
		at := g.lastErrAt.UTC()
		st.LastErrorAt = &at
	}
	return st
}

func ms(ns int64) float64 { return float64(ns) / 1e6 }

// GhostStatus reports ghost mode's counts, rates, verdict and mismatching
// examples, as GET /ghost does; Enabled is false without ghost mode.
func (s *Server) GhostStatus() GhostStatus {
	if s.ghost == nil || s.ghost.err != nil {
		return GhostStatus{Requests: map[string]uint64{}, Mismatches: []GhostExample{}}
	}
	return s.ghost.status()
}

func (s *Server) handleGhost(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.GhostStatus())
}
