package profiles_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/perf-tools/perf/profiles"
)

func TestNamesAndLoad(t *testing.T) {
	names := profiles.Names()
	if !slices.Equal(names, []string{"load-generator", "server-latency", "server-throughput"}) {
		t.Errorf("Names() = %v", names)
	}
	for _, n := range names {
		b, err := profiles.Load(n)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "name: "+n+"\n") {
			t.Errorf("%s.yaml does not name itself %s", n, n)
		}
	}
	for _, bad := range []string{"", "nope", "../profiles/server-latency", "server-latency.yaml", "/etc/passwd"} {
		if _, err := profiles.Load(bad); !errors.Is(err, profiles.ErrNotFound) || !strings.Contains(err.Error(), "load-generator") {
			t.Errorf("Load(%q) = %v, want ErrNotFound listing the names", bad, err)
		}
	}
}
