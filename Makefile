# Dossier. Two commands do everything on a fresh machine:
#   make demo   build, then run the main job end to end under out/demo/
#   make test   the whole test suite, installing what it needs
SHELL := /bin/bash
export GOTOOLCHAIN := local
GO       ?= go
BIN      := $(CURDIR)/bin
# Independent tools (cosign, ...) are installed here on first use.
TOOLS    ?= $(HOME)/.cache/dossier-tools
COSIGN_VERSION ?= v3.1.3
# Optional: comma-separated host:port list of NTP servers for the demo.
NTP_SERVERS ?=
# Optional: HOST:PORT/REPO of a registry the demo pushes to (plain HTTP).
REGISTRY ?=
TEST_TIMEOUT ?= 20m

.PHONY: all build test test-deps bench demo lint interop conformance clean

all: build

# Static, reproducible binaries: the same commit gives the same bytes.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags=-buildid= -o $(BIN)/ ./cmd/...

# test-deps installs the real peers the tests start: chrony (time checks)
# and Debian's Chromium (the review console's browser test).
test-deps:
	@bash scripts/ci-install-chrony.sh
	@bash scripts/ci-install-chromium.sh

test: test-deps build
	$(GO) vet ./...
	$(GO) test -timeout $(TEST_TIMEOUT) ./...
	@BIN="$(BIN)" DOSSIERD="$(BIN)/dossierd" DOSSIER="$(BIN)/dossier" bash scripts/test-python.sh

bench: build
	@bash scripts/bench.sh

demo: build
	@NTP_SERVERS="$(NTP_SERVERS)" REGISTRY="$(REGISTRY)" BIN="$(BIN)" bash scripts/demo.sh

lint: cross
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# cross: the laptop binaries of the release keep building (reviewers and
# examiners run dossier and dossier-verify on Windows and macOS).
.PHONY: cross
cross:
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 $(GO) build -o /dev/null ./cmd/dossier ./cmd/dossier-verify
	CGO_ENABLED=0 GOOS=darwin GOARCH=arm64 $(GO) build -o /dev/null ./cmd/dossier ./cmd/dossier-verify

# Both verifiers against every test vector: ours, and the independent
# Python one written from SPEC.md (standard library + openssl).
conformance: build
	@bash scripts/conformance.sh
	@bash scripts/conformance-python.sh

interop: build
	@TOOLS="$(TOOLS)" COSIGN_VERSION="$(COSIGN_VERSION)" BIN="$(BIN)" bash scripts/interop.sh

clean:
	rm -rf $(BIN) out

# Offline release (scripts/dist*.sh; docs/operator-guide.md): the bundle
# dist/dossier-<version>-offline.tar built reproducibly from the committed HEAD,
# its proof of reproducibility, its signed SLSA provenance beside it, and the
# archival kit dist/dossier-verify-kit-<version>.tar.
.PHONY: dist dist-check dist-attest archival-kit

dist:
	@bash scripts/dist.sh bundle

dist-check:
	@bash scripts/dist-reproducible.sh

dist-attest: build
	@BIN="$(BIN)" TOOLS="$(TOOLS)" COSIGN_VERSION="$(COSIGN_VERSION)" bash scripts/dist-attest.sh

archival-kit:
	@bash scripts/dist.sh kit
