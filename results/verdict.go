package results

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// MostFailed reports whether more than half of the run's requests failed
// (no response, or an error status). The latency of such a run describes
// the few requests that succeeded, not the target, so every report says so
// first, and perf attack exits as for a failed gate.
func MostFailed(r *Run) bool { return r.Requests > 0 && 2*r.Errors > r.Requests }

// Headline is the run's verdict in words, the first line of every report:
// what a reader must know before any number. It names each thing that went
// wrong (interrupted, invalid, most requests failed, SLOs failed), or says
// the run passed.
func Headline(r *Run) string {
	var bad []string
	if r.Interrupted {
		bad = append(bad, "INTERRUPTED")
	}
	switch {
	case r.Valid:
	case r.Generator.LimitedBy == LimitedByTarget:
		bad = append(bad, "INVALID: the target could not keep up with the plan")
	default:
		bad = append(bad, "INVALID: the generator could not keep the plan")
	}
	if MostFailed(r) {
		bad = append(bad, fmt.Sprintf("MOST REQUESTS FAILED: %d of %d (%s%%): %s",
			r.Errors, r.Requests, FormatFloat(ErrorShare(r), 1), failureText(r)))
	}
	failed := 0
	for _, v := range r.SLO {
		if !v.OK {
			failed++
		}
	}
	if failed > 0 {
		bad = append(bad, fmt.Sprintf("%d of %d SLOs FAILED", failed, len(r.SLO)))
	}
	var segs []string
	for _, s := range r.Segments {
		for _, v := range s.SLO {
			if !v.OK {
				segs = append(segs, s.Label)
				break
			}
		}
	}
	if len(segs) > 0 {
		bad = append(bad, fmt.Sprintf("SLOs FAILED in %d of %d segments (%s)", len(segs), len(r.Segments), strings.Join(segs, ", ")))
	}
	var vars []string
	for _, v := range r.SLO {
		if b, err := ParseSLO(v.Expr); err == nil && b.Variant != "" && !v.OK {
			vars = append(vars, v.Expr)
		}
	}
	if len(vars) > 0 {
		bad = append(bad, fmt.Sprintf("variant SLOs FAILED: %s", strings.Join(vars, ", ")))
	}
	if r.EndedEarly != "" {
		bad = append(bad, "ENDED EARLY "+r.EndedEarly)
	}
	switch {
	case len(bad) > 0:
		return strings.Join(bad, "; ")
	case len(r.SLO) > 0:
		return "PASS: a valid run that met every SLO"
	}
	return "VALID: the generator kept the plan (no SLO given)"
}

// failureText lists what failed: transport failures by kind and error
// statuses, the most frequent first.
func failureText(r *Run) string {
	m := map[string]int64{}
	for k, n := range r.ErrorKinds {
		m[k] += n
	}
	for code, n := range r.StatusCodes {
		if c, err := strconv.Atoi(code); err != nil || c < 200 || c >= 400 {
			m["status "+code] += n
		}
	}
	return CountsText(m, true)
}

// CountsText formats counts as "k=v k=v", by key, or by count descending
// when byCount.
func CountsText(m map[string]int64, byCount bool) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if byCount && m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}
