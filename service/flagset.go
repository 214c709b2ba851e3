package service

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/perf-tools/perf/internal/statsd"
	"github.com/perf-tools/perf/service/flags"
)

// MaxDelay is the largest "delay" a variant may add to a read.
const MaxDelay = 10 * time.Second

// Views of a document a variant may serve (its value's "view" field).
const (
	// ViewFull is the whole stored document.
	ViewFull = "full"
	// ViewCompact is the document without its payload: id, name and tags.
	ViewCompact = "compact"
)

// effect is what the variants a request is served with do to its read.
// Each field is set by at most one flag (compileFlags checks it), so the
// effects of a request's variants merge without a conflict.
type effect struct {
	compact bool
	etag    bool
	delay   time.Duration
}

func (e effect) merge(o effect) effect {
	return effect{compact: e.compact || o.compact, etag: e.etag || o.etag, delay: e.delay + o.delay}
}

// flagSet is a flags configuration as the read path uses it: every flag's
// variants with their effects, X-Variant fragments and metric children
// resolved once, at load. It is immutable; a reload builds a new one and
// swaps the Server's pointer.
type flagSet struct {
	cfg      *flags.Config
	source   string // the file it was read from
	gen      uint64
	loadedAt time.Time
	flags    []servedFlag // by key
	// splits: some enabled flag splits users, so a request without a user
	// id is served defaults it would not otherwise get, and counted.
	splits bool
}

// servedFlag is one flag of a flagSet.
type servedFlag struct {
	f        *flags.Flag
	variants []servedVariant // as f.Variants()
}

// servedVariant is one variant as the read path serves it.
type servedVariant struct {
	flag, name string
	// member is "flag=variant", its part of the X-Variant header.
	member []byte
	effect effect
	// requests holds the request counters by answerCodes index.
	requests [len(answerCodes)]prometheus.Counter
	latency  prometheus.Observer
	// sd is its StatsD instruments, nil without StatsD.
	sd *variantStatsd
}

// answerCodes are the status codes respond answers, whose per-variant
// counters are resolved at load.
var answerCodes = [...]int{200, 400, 404, 405, 500, 503}

// observe counts one request served with this variant.
func (v *servedVariant) observe(m *metrics, code int, d time.Duration) {
	i := slices.Index(answerCodes[:], code)
	if i >= 0 {
		v.requests[i].Inc()
	} else {
		m.variantRequests.WithLabelValues(v.flag, v.name, strconv.Itoa(code)).Inc()
	}
	v.latency.Observe(d.Seconds())
	if v.sd != nil {
		if i >= 0 {
			v.sd.requests[i].Add(1)
		} else {
			m.sd.c.Counter(statsd.Name("variant", v.flag, v.name, "requests", strconv.Itoa(code))).Add(1)
		}
		v.sd.time.Observe(d)
	}
}

// pick appends to sel the variant of every flag that user gets, and
// returns it with their merged effect. It does not allocate once sel has
// room for every flag.
func (fs *flagSet) pick(user []byte, sel []*servedVariant) ([]*servedVariant, effect) {
	var e effect
	for i := range fs.flags {
		sf := &fs.flags[i]
		v, _ := flags.Pick(sf.f, user)
		sv := &sf.variants[v]
		sel = append(sel, sv)
		e = e.merge(sv.effect)
	}
	return sel, e
}

// compileFlags builds the flagSet of cfg, or says why perf serve cannot
// serve it: a variant's value asks for an effect that does not exist, or
// two flags set the same effect.
func compileFlags(cfg *flags.Config, source string, m *metrics) (*flagSet, error) {
	fs := &flagSet{cfg: cfg, source: source}
	setBy := map[string]string{} // effect field -> the flag that sets it
	for _, key := range cfg.Flags() {
		if err := checkHeaderToken(key); err != nil {
			return nil, fmt.Errorf("%s: flag %q: the key %w", source, key, err)
		}
		f := cfg.Flag(key)
		sf := servedFlag{f: f}
		fields := map[string]bool{}
		for i, name := range f.Variants() {
			if err := checkHeaderToken(name); err != nil {
				return nil, fmt.Errorf("%s: flag %q: variant %q: the name %w", source, key, name, err)
			}
			e, set, err := parseEffect(f.Value(i))
			if err != nil {
				return nil, fmt.Errorf("%s: flag %q: variant %q: %w", source, key, name, err)
			}
			for _, field := range set {
				fields[field] = true
			}
			sv := servedVariant{flag: key, name: name, member: []byte(key + "=" + name), effect: e}
			for c, code := range answerCodes {
				sv.requests[c] = m.variantRequests.WithLabelValues(key, name, strconv.Itoa(code))
			}
			sv.latency = m.variantLatency.WithLabelValues(key, name)
			if m.sd != nil {
				sv.sd = m.sd.variant(key, name)
			}
			sf.variants = append(sf.variants, sv)
		}
		for _, field := range sortedFields(fields) {
			if other, ok := setBy[field]; ok {
				return nil, fmt.Errorf("%s: flags %q and %q both set %q: one flag at most may set each of a read's effects", source, other, key, field)
			}
			setBy[field] = key
		}
		if vs, _ := f.Split(); f.Enabled() && vs != nil {
			fs.splits = true
		}
		fs.flags = append(fs.flags, sf)
	}
	return fs, nil
}

// parseEffect reads what a variant's value does to a read. A JSON object
// may set "view" ("full" or "compact"), "delay" (a duration such as
// "250us", at most MaxDelay) and "etag" (true or false); its other fields,
// and values that are not objects (a toggle's true and false, a string),
// are the team's own and change nothing. It returns the fields it set.
func parseEffect(v any) (effect, []string, error) {
	var e effect
	obj, ok := v.(map[string]any)
	if !ok {
		return e, nil, nil
	}
	var set []string
	if raw, ok := obj["view"]; ok {
		switch raw {
		case ViewFull:
		case ViewCompact:
			e.compact = true
		default:
			return e, nil, fmt.Errorf("\"view\" is %s: want %q or %q", show(raw), ViewFull, ViewCompact)
		}
		set = append(set, "view")
	}
	if raw, ok := obj["delay"]; ok {
		s, isString := raw.(string)
		d, err := time.ParseDuration(s)
		if !isString || err != nil || d < 0 || d > MaxDelay {
			return e, nil, fmt.Errorf("\"delay\" is %s: want a duration from 0s to %v, such as \"2ms\"", show(raw), MaxDelay)
		}
		e.delay = d
		set = append(set, "delay")
	}
	if raw, ok := obj["etag"]; ok {
		b, isBool := raw.(bool)
		if !isBool {
			return e, nil, fmt.Errorf("\"etag\" is %s: want true or false", show(raw))
		}
		e.etag = b
		set = append(set, "etag")
	}
	return e, set, nil
}

// show prints a decoded JSON value in an error.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func sortedFields(m map[string]bool) []string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

// checkHeaderToken makes sure a flag key or variant name can go into the
// X-Variant header as it is, and be told apart from its neighbours there.
func checkHeaderToken(s string) error {
	if s == "" {
		return fmt.Errorf("is empty")
	}
	if i := strings.IndexFunc(s, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || r == ',' || r == '=' || r == ';' || r == '"'
	}); i >= 0 {
		return fmt.Errorf("has %q at byte %d: perf serve names variants in the X-Variant header, which needs printable ASCII without spaces, ',', '=', ';' or '\"'", s[i:i+1], i)
	}
	return nil
}
