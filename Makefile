# perf — make targets. `make test` is the one test command; .ci/run calls it.
GO        ?= go
BIN       ?= bin/perf
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
DEMO_DIR  ?= $(CURDIR)/perf-demo
SEED      ?= 100000

.PHONY: all build test vet fmt-check unit e2e fuzz bench serve demo compare-peers clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/perf

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

STATICCHECK ?= $(shell command -v staticcheck 2>/dev/null || echo $(shell go env GOPATH)/bin/staticcheck)

vet:
	$(GO) vet ./...
	@if [ -x "$(STATICCHECK)" ]; then echo "$(STATICCHECK) ./..."; $(STATICCHECK) ./...; \
	else echo "staticcheck not installed: skipped (.ci/run installs it)"; fi

# unit: every package's tests with the race detector. go test hides why a
# test skipped unless -v, and -v buries everything else, so the verbose
# output goes to $(TESTLOG) and the terminal shows each package's ok/FAIL
# line, every skipped test with its reason (a missing java or chromium, say)
# and, for a failed package, the whole output of each failed test, as go test
# prints it without -v. The exit status is go test's. PKGS narrows it.
#
# Tests that need java (with HdrHistogram's jar), chromium, root and
# network namespaces (netns), or Etsy's StatsD daemon run by node (statsd,
# found at $$PERF_STATSD_JS or where .ci/run installs it) skip where those
# are missing. PERF_TEST_REQUIRE turns those skips into failures: a
# comma-separated list of java, chromium, netns, statsd, or all. .ci/run,
# which installs them, sets PERF_TEST_REQUIRE=all:
#   PERF_TEST_REQUIRE=all make test
TESTLOG ?= bin/test.log
PKGS    ?= ./...

# TESTFLAGS adds to go test's flags; make e2e sets them.
TESTFLAGS ?= -race

unit:
	@mkdir -p $(dir $(TESTLOG))
	@echo "$(GO) test $(TESTFLAGS) -count=1 -timeout 8m -v $(PKGS) > $(TESTLOG)"
	@{ $(GO) test $(TESTFLAGS) -count=1 -timeout 8m -v $(PKGS) 2>&1; echo $$? >$(TESTLOG).status; } | \
	  tee $(TESTLOG) | awk "$$TEST_SUMMARY_AWK"; \
	status=$$(cat $(TESTLOG).status 2>/dev/null); rm -f $(TESTLOG).status; \
	echo "full output: $(TESTLOG)"; exit $${status:-1}

# TEST_SUMMARY_AWK reads go test -v output. out[T] collects the lines test T
# printed (go test -v names the test before its output changes hands:
# === RUN, CONT or NAME); a package's ok/FAIL line prints what is kept.
# out[""] holds lines of no test, such as another package's build errors,
# until a package fails.
define TEST_SUMMARY_AWK
function reset() { split("", out); split("", done); nskip = 0; nfail = 0; nstart = 0; cur = "" }
function show(name, indent,   n, i, l) {
	n = split(out[name], l, "\n")
	for (i = 1; i < n; i++) print indent l[i]
}
BEGIN { reset() }
/^=== (RUN|PAUSE|CONT|NAME)/ { cur = $$3; if ($$2 == "RUN") started[++nstart] = cur; next }
/^ *--- (PASS|FAIL|SKIP): / {
	cur = $$3; done[cur] = 1
	if ($$2 == "SKIP:") { skip[++nskip] = cur; skipline[cur] = $$0 }
	if ($$2 == "FAIL:") { fail[++nfail] = cur; failline[cur] = $$0 }
	next
}
/^(ok|FAIL|\?) *\t/ {
	if ($$1 == "FAIL") {
		show("", "")
		for (i = 1; i <= nfail; i++) { print failline[fail[i]]; show(fail[i], "") }
		for (i = 1; i <= nstart; i++) if (!(started[i] in done)) { print "--- UNFINISHED: " started[i]; show(started[i], "") }
	}
	print
	for (i = 1; i <= nskip; i++) { l = skipline[skip[i]]; sub(/^ +/, "", l); print "    " l; show(skip[i], "    ") }
	fflush()
	keep = $$1 == "FAIL" ? "" : out[""]
	reset()
	out[""] = keep
	next
}
/^(PASS|FAIL)$$/ { next }
{ out[cur] = out[cur] $$0 "\n" }
endef
export TEST_SUMMARY_AWK

# e2e: the tests whose numbers depend on the generator keeping a rate
# (TestE2E*: a search's answer against servers of known capacity, a
# schedule's rate per second), without the race detector, whose slowdown
# would make the generator the bottleneck, and one package at a time, so
# that no other test takes their CPU. Under -race they skip.
e2e:
	@$(MAKE) --no-print-directory unit TESTFLAGS="-p 1 -run ^TestE2E" TESTLOG=bin/e2e.log

test: fmt-check vet unit e2e

# fuzz: every native fuzz test for FUZZTIME each (go test runs their seed
# corpora in make test; this explores beyond them).
FUZZTIME ?= 5s
fuzz:
	@for pkg in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -h '^func Fuzz' $$pkg/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "fuzz $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s $$pkg >/dev/null || \
	      { $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 1x $$pkg; exit 1; }; \
	  done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# serve: seed a store with $(SEED) items and run the read service in the foreground.
serve: build
	$(BIN) serve --data $(DEMO_DIR)/data --seed $(SEED)

clean:
	rm -rf bin perf-demo perf-results perf-data

# demo: the main job on embedded defaults: build, seed, serve, attack, report.
demo: build
	scripts/demo.sh $(BIN)

# compare-peers: perf beside wrk, nginx, vegeta, fortio and a Go
# hello-world, each side on one core, as the README's figures were
# measured (scripts/compare-peers.sh says how). COMPARE picks the
# measurements (serve, gen, cost); DURATION, RATES, ROUNDS and the other
# settings the script lists pass through the environment. The first run
# installs the peers (wrk, nginx, jq from apt as root; vegeta and fortio
# with go install into ~/.cache/perf-peers-compare).
COMPARE ?= serve gen cost
compare-peers: build
	PERF=$(BIN) scripts/compare-peers.sh $(COMPARE)
