package servicetest_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/perf-tools/perf/service"
	"github.com/perf-tools/perf/service/servicetest"
)

func TestStart(t *testing.T) {
	pub, adm := servicetest.Start(t, 10)
	resp, err := http.Get(pub + "/v1/items/7")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want, _ := service.AppendDocument(nil, 7, service.DefaultValueSize)
	if resp.StatusCode != 200 || !bytes.Equal(body, want) {
		t.Fatalf("GET item 7: %d %q, want 200 %q", resp.StatusCode, body, want)
	}
	resp, err = http.Get(adm + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("readyz: %d, want 200", resp.StatusCode)
	}
	resp, err = http.Get(pub + "/v1/items/10")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("GET item 10 of 10: %d, want 404", resp.StatusCode)
	}
}
