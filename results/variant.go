package results

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// A run split by a response header (perf attack --split-by X-Variant) keeps,
// beside the run's own histograms, a corrected and a service histogram per
// variant: the value the header named for each response. Only responses
// belong to a variant: a request that got no response (a transport failure)
// has no header to read, and is counted in the run's errors and error kinds
// only. Every response belongs to exactly one variant, so the variants'
// responses add up to the run's.

// Names of the variants that hold the responses the header could not name.
const (
	// VariantNone holds the responses without the header (or without the
	// member --split-by names).
	VariantNone = "(none)"
	// VariantOther holds the responses of variants beyond the most a run
	// keeps apart (the attack's bound on distinct values).
	VariantOther = "(other)"
)

// Variant is the summary of the responses of one variant: run.json lists
// them under "variants", sorted by name with (none) and (other) last.
type Variant struct {
	Name string `json:"name"`
	// Responses counts the variant's responses, Errors those with a status
	// outside 2xx and 3xx.
	Responses   int64            `json:"responses"`
	Errors      int64            `json:"errors"`
	StatusCodes map[string]int64 `json:"status_codes"`
	// RateAchieved is the variant's responses per second of the measured
	// window.
	RateAchieved float64 `json:"rate_achieved"`
	Latency      Latency `json:"latency"`
	// SLO holds the verdicts of the SLOs that bound this variant
	// (p99[NAME]<=10ms); they are in the run's SLO list too.
	SLO []Verdict `json:"slo"`
}

// VariantTally is what was measured of one variant: its responses'
// histograms and counts.
type VariantTally struct {
	Corrected, Service *hdrhistogram.Histogram
	Responses, Errors  int64
	StatusCodes        map[string]int64
}

// NewVariantTally returns an empty variant tally.
func NewVariantTally() *VariantTally {
	return &VariantTally{Corrected: NewHistogram(), Service: NewHistogram(), StatusCodes: map[string]int64{}}
}

// VariantHistograms are one variant's histograms of one interval.
type VariantHistograms struct {
	Name               string
	Corrected, Service *hdrhistogram.Histogram
}

// Variant returns the tally of variant name, adding it when new.
func (t *Tally) Variant(name string) *VariantTally {
	if t.Variants == nil {
		t.Variants = map[string]*VariantTally{}
	}
	v := t.Variants[name]
	if v == nil {
		v = NewVariantTally()
		t.Variants[name] = v
	}
	return v
}

// fillVariants sets r.Variants from t's variant tallies, in variant order.
func (t *Tally) fillVariants(r *Run) {
	if len(t.Variants) == 0 {
		r.Variants = nil
		return
	}
	r.Variants = make([]Variant, 0, len(t.Variants))
	for name, vt := range t.Variants {
		v := Variant{
			Name: name, Responses: vt.Responses, Errors: vt.Errors, StatusCodes: vt.StatusCodes,
			Latency: Latency{Corrected: Summarize(vt.Corrected), Service: Summarize(vt.Service)},
			SLO:     []Verdict{},
		}
		if t.Window > 0 {
			v.RateAchieved = float64(vt.Responses) / t.Window.Seconds()
		}
		r.Variants = append(r.Variants, v)
	}
	SortVariants(r.Variants)
}

// SortVariants orders variants by name, (none) and (other) last.
func SortVariants(vs []Variant) {
	rank := func(n string) int {
		switch n {
		case VariantNone:
			return 1
		case VariantOther:
			return 2
		}
		return 0
	}
	slices.SortFunc(vs, func(a, b Variant) int {
		return cmp.Or(cmp.Compare(rank(a.Name), rank(b.Name)), cmp.Compare(a.Name, b.Name))
	})
}

// Variant returns the run's variant called name, or nil.
func (r *Run) Variant(name string) *Variant {
	for i := range r.Variants {
		if r.Variants[i].Name == name {
			return &r.Variants[i]
		}
	}
	return nil
}

// VariantNames lists the run's variants in order.
func (r *Run) VariantNames() []string {
	out := make([]string, len(r.Variants))
	for i, v := range r.Variants {
		out[i] = v.Name
	}
	return out
}

// Run returns the variant as a run of its own, within parent: its
// responses are the run's requests (a variant has no transport failures),
// so that reports, SLOs and comparisons read it as they read a run.
func (v *Variant) Run(parent *Run) *Run {
	r := *parent
	r.Name = parent.Name + " [" + v.Name + "]"
	r.Rate.Achieved = v.RateAchieved
	r.Requests, r.Unsent, r.Errors, r.Retries = v.Responses, 0, v.Errors, 0
	r.StatusCodes, r.ErrorKinds, r.ErrorMessages = v.StatusCodes, map[string]int64{}, nil
	r.Latency, r.SLO = v.Latency, v.SLO
	r.Segments, r.Variants = nil, nil
	return &r
}

// Tags of a variant's histograms in latency.hlog: "corrected@NAME" and
// "service@NAME", NAME escaped by EscapeTag.
const variantTagSep = "@"

// VariantTag returns the latency.hlog tag of kind (TagCorrected or
// TagService) for variant name.
func VariantTag(kind, name string) string { return kind + variantTagSep + EscapeTag(name) }

// ParseVariantTag splits a variant's tag into its kind and variant name;
// ok is false for any other tag.
func ParseVariantTag(tag string) (kind, name string, ok bool) {
	kind, esc, found := strings.Cut(tag, variantTagSep)
	if !found || (kind != TagCorrected && kind != TagService) {
		return "", "", false
	}
	name, err := UnescapeTag(esc)
	if err != nil {
		return "", "", false
	}
	return kind, name, true
}

// EscapeTag makes s a valid HdrHistogram tag: a tag may not hold a comma or
// whitespace (the reference readers split lines on them), so every byte
// outside printable ASCII, and ',' and '%' themselves, become %XX, as in a
// URL: "doc-view=compact, etag=off" is "doc-view=compact%2C%20etag=off".
func EscapeTag(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == ',' || c == '%' {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// UnescapeTag reverses EscapeTag.
func UnescapeTag(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) || !isHexDigit(s[i+1]) || !isHexDigit(s[i+2]) {
			return "", fmt.Errorf("tag %q: expected two hex digits after %% at byte %d", s, i)
		}
		b.WriteByte(unhexDigit(s[i+1])<<4 | unhexDigit(s[i+2]))
		i += 2
	}
	return b.String(), nil
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhexDigit(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// variantVerdicts evaluates the bounds on a variant against run's
// variants, and sets each variant's SLO list. A bound on a variant that
// got no response fails, as a latency bound on a run without responses
// does: there is nothing to judge, and the name may be mistyped.
func variantVerdict(b Bound, run *Run) Verdict {
	v := run.Variant(b.Variant)
	if v == nil || v.Responses == 0 {
		known := "none"
		if len(run.Variants) > 0 {
			known = strings.Join(run.VariantNames(), ", ")
		}
		return Verdict{Expr: b.Expr, OK: false, Observed: fmt.Sprintf("variant %q got no response (variants: %s)", b.Variant, known)}
	}
	whole := b
	whole.Variant = ""
	vd := whole.Evaluate(v.Run(run))
	vd.Expr = b.Expr
	vd.Observed = "[" + v.Name + "] " + vd.Observed
	return vd
}

// mergeVariants adds the variants of merged runs: counts from their
// run.json, histograms from their latency.hlog (the measured intervals of
// each variant's tags).
func mergeVariants(t *Tally, srcs []*mergeSource) {
	for _, s := range srcs {
		for _, v := range s.Run.Variants {
			vt := t.Variant(v.Name)
			vt.Responses += v.Responses
			vt.Errors += v.Errors
			for k, n := range v.StatusCodes {
				vt.StatusCodes[k] += n
			}
			vt.Corrected.Merge(s.Hlog.Total(VariantTag(TagCorrected, v.Name), false))
			vt.Service.Merge(s.Hlog.Total(VariantTag(TagService, v.Name), false))
		}
	}
}

// VariantRuns returns variant name of each of runs as a run of its own (see
// Variant.Run), for comparing two variants as two runs are compared. A run
// without the variant, or in which it got no response, is an error naming
// the run (by labels[i], or its name) and the variants it has.
func VariantRuns(runs []*Run, labels []string, name string) ([]*Run, error) {
	out := make([]*Run, 0, len(runs))
	for i, r := range runs {
		label := r.Name
		if i < len(labels) {
			label = labels[i]
		}
		if len(r.Variants) == 0 {
			return nil, fmt.Errorf("run %s: no variants (expected a run of perf attack --split-by HEADER)", label)
		}
		v := r.Variant(name)
		if v == nil || v.Responses == 0 {
			return nil, fmt.Errorf("run %s: variant %q got no response (expected one of: %s)", label, name, strings.Join(r.VariantNames(), ", "))
		}
		out = append(out, v.Run(r))
	}
	return out, nil
}
