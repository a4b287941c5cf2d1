# imgharden — see README.md. Every target runs on a fresh Debian 12 machine as root.
GO        ?= go
BIN       ?= bin/imgharden
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
PKGS      := ./...
E2E_ENV   := .cache/e2e/env

.PHONY: all build test test-unit test-e2e e2e-setup e2e-teardown demo bench lint vet fmt golden docs verify fuzz clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/imgharden

## test: unit tests and the end-to-end suite (installs and starts what it needs).
test:
	scripts/test.sh

## test-unit: unit tests only (no podman, no registry).
test-unit:
	$(GO) test -count=1 $(PKGS)

e2e-setup:
	scripts/e2e-setup.sh

e2e-teardown:
	scripts/e2e-teardown.sh

## demo: set up a fresh machine, build imgharden, build the fat builder fixture and scan it.
demo:
	scripts/demo.sh

## bench: performance figures (wall time, MB/s, peak RSS, ratio to the read floor).
bench:
	scripts/bench.sh

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet $(PKGS)
	$(GO) vet -tags e2e $(PKGS)

lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## golden: rewrite golden files from the current output.
golden:
	$(GO) test ./pkg/report -update
	$(GO) test -tags e2e ./e2e/... -update

docs:
	$(GO) run ./internal/cmd/gendocs -readme README.md

## verify: gofmt, go vet, go mod tidy and generated docs are clean.
verify: lint
	$(GO) mod tidy && git diff --exit-code go.mod go.sum
	$(GO) run ./internal/cmd/gendocs -readme README.md -check

fuzz:
	$(GO) test ./pkg/analyze -run XXX -fuzz FuzzWalkLayer -fuzztime 60s -fuzzminimizetime 5s

clean:
	rm -rf bin
