package service

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The candidate is the new version, another perf serve, that ghost mode
// (ghost.go) mirrors reads to and a rollout (rollout.go) gives users to.
// This file holds what both say to it the same way: its URL, the client
// that reaches it, and the user id that goes along.

// ErrCandidate means a candidate URL is not one ghost mode or a rollout
// can send to.
var ErrCandidate = errors.New("invalid candidate URL")

// ParseCandidate checks a candidate's base URL and returns it as
// "http://host:port": the scheme must be http, the port explicit, and
// there must be no path beyond "/", query, fragment or user.
func ParseCandidate(raw string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("%w %q: %s: want http://host:port, such as http://10.0.0.7:8080", ErrCandidate, raw, why)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("it does not parse")
	}
	switch {
	case u.Scheme != "http":
		return bad("the scheme must be http")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return bad("it has more than a host and port")
	case u.Path != "" && u.Path != "/":
		return bad("it has a path")
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil || host == "" {
		return bad("it has no host:port")
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return bad("the port must be a number from 1 to 65535")
	}
	return "http://" + u.Host, nil
}

// newCandidateClient returns the HTTP client that reaches the candidate:
// at most maxConns connections, every step bounded by timeout, no
// compression, and redirects returned as answers rather than followed
// (ghost mode compares them, a rollout passes them on).
func newCandidateClient(timeout time.Duration, maxConns int) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	return &http.Client{
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			DialContext:           dialer.DialContext,
			MaxConnsPerHost:       maxConns,
			MaxIdleConns:          maxConns,
			MaxIdleConnsPerHost:   maxConns,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: timeout,
			DisableCompression:    true,
		},
	}
}

// setUser sends the user id the primary found along to the candidate, where
// the primary found it (the header, else the cookie), so the candidate
// serves the user the same variants.
func setUser(req *http.Request, header, cookie string, user []byte) {
	switch {
	case len(user) == 0:
	case header != "":
		req.Header.Set(header, string(user))
	case cookie != "":
		req.AddCookie(&http.Cookie{Name: cookie, Value: string(user)})
	}
}
