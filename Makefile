# perf — make targets. `make test` is the one test command; .ci/run calls it.
GO        ?= go
BIN       ?= bin/perf
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
DEMO_DIR  ?= $(CURDIR)/perf-demo
SEED      ?= 100000

.PHONY: all build test vet fmt-check unit fuzz bench serve demo clean

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

unit:
	$(GO) test -race -count=1 -timeout 8m ./...

test: fmt-check vet unit

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
