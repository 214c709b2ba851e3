package service

import (
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

func post(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestUpgradeEndpointNeedsTheToken(t *testing.T) {
	st := seededStore(t, 1, DefaultValueSize)
	var calls atomic.Int32
	fail := errors.New("child exited: exit status 3")
	var result atomic.Pointer[error]
	result.Store(&fail)
	_, pub, adm := startServer(t, st, Options{
		Generation: 4, ControlToken: "s3cret", ErrorLog: log.New(io.Discard, "", 0),
		Upgrade: func() error { calls.Add(1); return *result.Load() },
	})
	for _, tok := range []string{"", "wrong", "s3cre", "s3cret2", "S3CRET"} {
		if code, body := post(t, adm.URL+"/upgrade", tok); code != http.StatusUnauthorized || !strings.Contains(body, "Bearer") {
			t.Errorf("token %q: %d %s, want 401", tok, code, body)
		}
	}
	if calls.Load() != 0 {
		t.Fatalf("a request without the token upgraded %d times", calls.Load())
	}
	// With it: a failed upgrade says so and this generation serves on.
	if code, body := post(t, adm.URL+"/upgrade", "s3cret"); code != http.StatusBadGateway || !strings.Contains(body, "exit status 3") || !strings.Contains(body, "keeps serving") {
		t.Errorf("failed upgrade: %d %s", code, body)
	}
	var st1 upgradeStatus
	_, body := do(t, http.MethodGet, adm.URL+"/upgrade")
	if err := json.Unmarshal(body, &st1); err != nil || st1.Generation != 4 || st1.Attempts != 1 || !strings.Contains(st1.LastError, "exit status 3") || st1.Upgraded {
		t.Errorf("GET /upgrade after a failure: %s (%v)", body, err)
	}
	var ok error
	result.Store(&ok)
	if code, body := post(t, adm.URL+"/upgrade", "s3cret"); code != 200 || !strings.Contains(body, `"upgraded": true`) {
		t.Errorf("upgrade: %d %s", code, body)
	}
	_, body = do(t, http.MethodGet, adm.URL+"/upgrade")
	st1 = upgradeStatus{}
	if err := json.Unmarshal(body, &st1); err != nil || st1.Attempts != 2 || st1.LastError != "" || !st1.Upgraded {
		t.Errorf("GET /upgrade after a success: %s", body)
	}
	_, metrics := do(t, http.MethodGet, adm.URL+"/metrics")
	for _, want := range []string{`perf_serve_upgrades_total{result="failure"} 1`, `perf_serve_upgrades_total{result="success"} 1`, "perf_serve_generation 4"} {
		if !strings.Contains(string(metrics), want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	if resp, _ := do(t, http.MethodGet, pub.URL+ItemsPath+"0"); resp.Header.Get(GenerationHeader) != "4" {
		t.Errorf("%s: %q, want 4", GenerationHeader, resp.Header.Get(GenerationHeader))
	}
	// The public listener has no control endpoint.
	if code, _ := post(t, pub.URL+"/upgrade", "s3cret"); code != http.StatusNotFound {
		t.Errorf("POST /upgrade on the public listener: %d, want 404", code)
	}

	// Without a configured token, control is off (403), even with some token.
	st2 := seededStore(t, 1, DefaultValueSize)
	_, _, adm2 := startServer(t, st2, Options{Upgrade: func() error { calls.Add(1); return nil }})
	if code, body := post(t, adm2.URL+"/upgrade", "anything"); code != http.StatusForbidden || !strings.Contains(body, "PERF_CONTROL_TOKEN") {
		t.Errorf("no token configured: %d %s, want 403", code, body)
	}
	if calls.Load() != 2 {
		t.Errorf("Upgrade called %d times, want 2", calls.Load())
	}
}
