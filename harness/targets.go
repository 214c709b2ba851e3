package harness

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// KeyPlaceholder in a --url is replaced per request by a key drawn from the
// key space.
const KeyPlaceholder = "{key}"

// userAgent identifies perf's requests in servers' logs.
const userAgent = "perf-attack"

// Targets is what an attack sends: a finite list of requests taken round
// robin (vegeta's target files), or one URL template whose {key} is filled
// per request from a key space. Build one with NewURLTargets or ReadTargets.
type Targets struct {
	endpoints []*endpoint
	// list: requests encoded once, taken round robin.
	list []encoded
	// template: the request split around each {key}.
	parts [][]byte
	tmpl  meta // the template's endpoint and kind
	keys  *KeySpace
	desc  string
	// keepAlive reports whether connections are reused: the requests ask
	// for it, and the attack keeps connections open.
	keepAlive bool
}

// encoded is one request, ready to write.
type encoded struct {
	meta
	raw []byte
}

// meta is what the worker needs to know of a request besides its bytes.
type meta struct {
	ep   int  // the endpoint to send it to
	head bool // a HEAD: its response has no body
	// replayable: the request may be sent again when a kept-alive
	// connection turns out closed before any response arrived. As net/http
	// decides: GET, HEAD, OPTIONS and TRACE, or a request that carries an
	// Idempotency-Key or X-Idempotency-Key header.
	replayable bool
}

func newMeta(ep int, method string, h http.Header) meta {
	replayable := false
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		replayable = true
	}
	for k := range h {
		if strings.EqualFold(k, "Idempotency-Key") || strings.EqualFold(k, "X-Idempotency-Key") {
			replayable = true
		}
	}
	return meta{ep: ep, head: method == http.MethodHead, replayable: replayable}
}

// String describes the targets for run.json's "target" field.
func (t *Targets) String() string { return t.desc }

// request appends the bytes of hit n to buf and returns them with what
// else sending them needs. It allocates nothing.
func (t *Targets) request(n uint64, buf []byte) ([]byte, meta) {
	if t.list != nil {
		e := &t.list[n%uint64(len(t.list))]
		return e.raw, e.meta
	}
	buf = buf[:0]
	key := t.keys.Key(n)
	for i, p := range t.parts {
		if i > 0 {
			buf = strconv.AppendUint(buf, key, 10)
		}
		buf = append(buf, p...)
	}
	return buf, t.tmpl
}

// RequestOptions are what --method, --header and --body add to requests.
type RequestOptions struct {
	Method   string
	Header   http.Header
	Body     []byte
	Insecure bool // skip TLS certificate verification
	// KeepAlive reuses connections; false sends "Connection: close" and
	// uses a new connection for every request.
	KeepAlive bool
}

// NewURLTargets returns targets that send every request to rawURL, with each
// {key} in it and in the values of o.Header replaced by the key drawn from
// keys for the request (the same key in every place), so that one key
// space drives both the items read and the users reading them
// (-H 'X-User-Id: {key}'). keys may be nil when there is no placeholder.
func NewURLTargets(rawURL string, keys *KeySpace, o RequestOptions) (*Targets, error) {
	n := strings.Count(rawURL, KeyPlaceholder)
	if n > 0 && keys == nil {
		return nil, fmt.Errorf("url %q has %s but no key space was given (--keys uniform:N)", rawURL, KeyPlaceholder)
	}
	if name, value, ok := keyHeader(o.Header); ok {
		if keys == nil {
			return nil, fmt.Errorf("header %q has %s but no key space was given (--keys uniform:N)", name+": "+value, KeyPlaceholder)
		}
		n++
	}
	u, err := parseURL(rawURL, strings.ReplaceAll(rawURL, KeyPlaceholder, "0"))
	if err != nil {
		return nil, fmt.Errorf("url %q: %w", rawURL, err)
	}
	// The request target is the raw text after the authority, so that the
	// placeholder keeps its place; url.Parse validated it.
	rest := rawURL[strings.Index(rawURL, "://")+3:]
	path := "/"
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		path = rest[i:]
		if path[0] == '?' {
			path = "/" + path
		}
	}
	if i := strings.IndexByte(path, '#'); i >= 0 {
		path = path[:i]
	}
	t := &Targets{keys: keys, desc: rawURL, keepAlive: o.KeepAlive}
	ep := t.endpointFor(u, o.Insecure)
	whole := encodeRequest(o.Method, path, hostHeader(u, o.Header), o.Header, o.Body, o.KeepAlive)
	t.tmpl = newMeta(ep, o.Method, o.Header)
	if n == 0 {
		t.list = []encoded{{meta: t.tmpl, raw: whole}}
		return t, nil
	}
	// Only the head is split: a {key} in the body is the body's own text
	// (its length is fixed).
	head := bytes.Index(whole, []byte("\r\n\r\n")) + 4
	t.parts = bytes.Split(whole[:head], []byte(KeyPlaceholder))
	last := len(t.parts) - 1
	t.parts[last] = append(t.parts[last][:len(t.parts[last]):len(t.parts[last])], whole[head:]...)
	if keys != nil {
		t.desc = rawURL + " keys " + keys.String()
	}
	return t, nil
}

// ReadTargets reads every target from src in vegeta's target formats,
// "http" or "json", so that users' vegeta target files work unchanged. The
// request options' header and body are defaults each target may override,
// as in vegeta. name is used in errors.
func ReadTargets(src io.Reader, name, format string, o RequestOptions) (*Targets, error) {
	if h, v, ok := keyHeader(o.Header); ok {
		return nil, fmt.Errorf("header %q: %s is filled only in requests built from a URL (--url with --keys), not in a targets file's", h+": "+v, KeyPlaceholder)
	}
	var tr vegeta.Targeter
	switch format {
	case "", "http":
		tr = vegeta.NewHTTPTargeter(src, o.Body, o.Header)
	case "json":
		tr = vegeta.NewJSONTargeter(src, o.Body, o.Header)
	default:
		return nil, fmt.Errorf("targets format %q: want http or json", format)
	}
	t := &Targets{desc: name, keepAlive: o.KeepAlive}
	for i := 1; ; i++ {
		var tgt vegeta.Target
		err := tr(&tgt)
		if errors.Is(err, vegeta.ErrNoTargets) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("targets %s: target %d: %w", name, i, err)
		}
		u, err := parseURL(tgt.URL, tgt.URL)
		if err != nil {
			return nil, fmt.Errorf("targets %s: target %d: url %q: %w", name, i, tgt.URL, err)
		}
		if tgt.Method == "" {
			return nil, fmt.Errorf("targets %s: target %d: %w", name, i, vegeta.ErrNoMethod)
		}
		ep := t.endpointFor(u, o.Insecure)
		raw := encodeRequest(tgt.Method, u.RequestURI(), hostHeader(u, tgt.Header), tgt.Header, tgt.Body, o.KeepAlive)
		t.list = append(t.list, encoded{meta: newMeta(ep, tgt.Method, tgt.Header), raw: raw})
	}
	if len(t.list) == 0 {
		return nil, fmt.Errorf("targets %s: no targets (want lines like \"GET http://host/path\", or JSON objects with method and url)", name)
	}
	if len(t.list) == 1 {
		t.desc = strings.SplitN(string(t.list[0].raw), "\r\n", 2)[0] + " (" + name + ")"
	}
	return t, nil
}

// keyHeader returns the first header, in name order, whose value holds
// the key placeholder.
func keyHeader(h http.Header) (name, value string, ok bool) {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		for _, v := range h[k] {
			if strings.Contains(v, KeyPlaceholder) {
				return k, v, true
			}
		}
	}
	return "", "", false
}

// parseURL parses text, the URL raw with any placeholder filled in, as an
// absolute http or https URL. A URL typed without its scheme, such as
// localhost:8080/v1/items/1 or 127.0.0.1:8080/v1/items/1, is not what
// url.Parse makes of it (scheme "localhost"; a colon in the first path
// segment): the error suggests raw with http:// before it.
func parseURL(raw, text string) (*url.URL, error) {
	u, err := url.Parse(text)
	if err == nil {
		err = checkURL(u)
	}
	if err == nil {
		return u, nil
	}
	if !strings.Contains(text, "://") && (u == nil || (u.Scheme != "http" && u.Scheme != "https")) {
		if h, herr := url.Parse("http://" + text); herr == nil && checkURL(h) == nil {
			return nil, fmt.Errorf("no scheme; did you mean http://%s?", raw)
		}
	}
	return nil, err
}

// checkURL accepts an absolute http or https URL with a host.
func checkURL(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme %q: want http or https", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("no host")
	}
	return nil
}

// endpointFor returns the index of u's endpoint, adding it when new.
func (t *Targets) endpointFor(u *url.URL, insecure bool) int {
	host := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	var tc *tls.Config
	if u.Scheme == "https" {
		tc = &tls.Config{ServerName: u.Hostname(), InsecureSkipVerify: insecure, NextProtos: []string{"http/1.1"}}
	}
	for i, ep := range t.endpoints {
		if ep.addr == host && (ep.tls == nil) == (tc == nil) {
			return i
		}
	}
	t.endpoints = append(t.endpoints, &endpoint{addr: host, tls: tc})
	return len(t.endpoints) - 1
}

func hostHeader(u *url.URL, h http.Header) string {
	if v := h.Get("Host"); v != "" {
		return v
	}
	return u.Host
}

// encodeRequest renders one HTTP/1.1 request. Header names are written as
// given (vegeta's targets keep case) in sorted order.
func encodeRequest(method, target, host string, h http.Header, body []byte, keepAlive bool) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, target, host)
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	hasUA := false
	for _, k := range names {
		if strings.EqualFold(k, "Host") || strings.EqualFold(k, "Content-Length") || strings.EqualFold(k, "Connection") {
			continue
		}
		if strings.EqualFold(k, "User-Agent") {
			hasUA = true
		}
		for _, v := range h[k] {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	if !hasUA {
		b.WriteString("User-Agent: " + userAgent + "\r\n")
	}
	if len(body) > 0 || method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	if !keepAlive {
		b.WriteString("Connection: close\r\n")
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}
