# TinyWatcher. `make run` builds and replays the bundled sample log through
# the example config; `make test` runs every test (what .ci/run calls).

GO      ?= go
BIN     := bin/tinywatcher
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
# Packages whose tests are cheap under the race detector (go-re2's wasm
# backend is ~200x slower under -race, so match runs without it).
RACE_PKGS := ./config/... ./engine/... ./sink/... ./ingest/...

.PHONY: build run demo test test-short bench bench-cgo lint clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/tinywatcher

run: build
	$(BIN) test --config examples/basic.yaml
	$(BIN) watch --config examples/basic.yaml --replay

# demo follows a log that a script appends to, as in production; Ctrl-C stops it.
demo: build
	./scripts/demo.sh

test: lint
	$(GO) test -count=1 -timeout 10m ./...
	$(GO) test -count=1 -timeout 10m -race $(RACE_PKGS)

test-short:
	$(GO) test -short ./...

bench: build
	$(BIN) bench

# The cgo backend of go-re2 needs Debian's libre2-dev and pkg-config.
bench-cgo:
	$(GO) build -tags re2_cgo -trimpath -o bin/tinywatcher-cgo ./cmd/tinywatcher
	bin/tinywatcher-cgo bench

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go') $$(git ls-files --others --exclude-standard '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

clean:
	rm -rf bin
