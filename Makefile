# envbuild: `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
PREFIX ?= /usr/local
BIN := bin
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
# The wheels' version (PEP 440): 0.1.0 plus the commit, as a local label.
WHEEL_VERSION ?= 0.1.0+g$(shell git rev-parse --short HEAD 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/envbuild/envbuild/cmd/envbuild/app.Version=$(VERSION)
export CGO_ENABLED := 0
# pip installs the test tools (uv) into the user scheme on some machines.
export PATH := $(HOME)/.local/bin:$(PATH)

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build bin/envbuild (static: it is also the installer that runs inside BuildKit)
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/envbuild ./cmd/envbuild

.PHONY: dist
dist: ## envbuild for linux and macOS (amd64, arm64), each carrying static Linux installers for both architectures, and a pip wheel of each, in dist/
	mkdir -p builder/build/installers dist
	GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o builder/build/installers/envbuild-linux-amd64 ./cmd/envbuild
	GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o builder/build/installers/envbuild-linux-arm64 ./cmd/envbuild
	for p in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64; do \
	  GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) build -trimpath -tags embedinstaller -ldflags '$(LDFLAGS)' -o dist/envbuild-$${p%/*}-$${p#*/} ./cmd/envbuild || exit 1; \
	  python3 packaging/wheel.py --binary dist/envbuild-$${p%/*}-$${p#*/} --platform $$p --version $(WHEEL_VERSION) --out dist || exit 1; \
	done

# Stamped with its version, as BuildKit's releases are: envbuild compares it
# with its own BuildKit version.
$(BIN)/buildkitd: go.mod
	CGO_ENABLED=1 $(GO) build -ldflags "-X github.com/moby/buildkit/version.Version=$$($(GO) list -m -f '{{.Version}}' github.com/moby/buildkit)" -o $(BIN)/buildkitd github.com/moby/buildkit/cmd/buildkitd

.PHONY: buildkitd
buildkitd: $(BIN)/buildkitd ## build a buildkitd of go.mod's BuildKit version

.PHONY: install
install: build buildkitd ## install envbuild and a buildkitd of the same BuildKit version side by side in $(PREFIX)/bin
	install -d $(PREFIX)/bin
	install -m 0755 $(BIN)/envbuild $(BIN)/buildkitd $(PREFIX)/bin/

.PHONY: setup
setup: ## install what the test bed needs (runc, registry, debootstrap, docker.io; Debian packages) and build buildkitd and buildctl
	bash scripts/setup.sh

.PHONY: demo
demo: setup build ## start the test bed and build examples/quickstart onto a real Debian base, pushed to a local registry
	bash scripts/demo.sh

.PHONY: test
test: setup ## unit tests, then integration tests on the real test bed (buildkitd, registries, base images, the index)
	$(MAKE) --no-print-directory tidy-check
	$(GO) vet ./...
	$(MAKE) --no-print-directory python-check
	GO=$(GO) bash scripts/with-testbed.sh env ENVBUILD_TEST_UV=1 ENVBUILD_REQUIRE_METAFLOW=1 $(GO) test -count=1 -timeout 45m ./...

.PHONY: python-check
python-check: ## ruff and pytest on the Metaflow helper (frontends/metaflow/python; scripts/setup.sh installs both)
	cd frontends/metaflow/python && python3 -m ruff check --no-cache . && python3 -m ruff format --no-cache --check . && python3 -m pytest -q -p no:cacheprovider .

.PHONY: tidy-check
tidy-check: ## fail when `go mod tidy` would change go.mod or go.sum (prints the diff)
	@$(GO) mod tidy -diff || { echo 'go.mod/go.sum are not tidy: run `go mod tidy` and commit the result' >&2; exit 1; }

.PHONY: unit
unit: ## unit tests only (no daemon, no network)
	ENVBUILD_SKIP_INTEGRATION=1 $(GO) test -count=1 ./...

.PHONY: integration
integration: setup ## integration tests only
	$(GO) test -count=1 -timeout 45m -v ./integration/...

.PHONY: bench
bench: bench-build bench-lock bench-conda ## every benchmark (not run in CI); tables go to docs/BENCH-*.md

.PHONY: bench-build
bench-build: setup build ## builds: envbuild vs Dockerfiles with pip and with uv, on the same buildkitd, base and packages
	bash scripts/bench.sh

.PHONY: bench-torch-layercache
bench-torch-layercache: setup build ## the team layer cache on torch with its CUDA wheels (about 3 GB, one run each; not in CI)
	bash scripts/bench-torch-layercache.sh

.PHONY: bench-big
bench-big: setup build ## torch with its CUDA wheels (about 3 GB) vs a uv Dockerfile and the physical floor, gzip and zstd, pull and import (about an hour; not in CI)
	bash scripts/bench-big.sh

.PHONY: bench-lock
bench-lock: ## locking: envbuild lock vs uv pip compile, cold and warm
	$(GO) run ./bench/lock -runs 5 -out docs/BENCH-lock.md

.PHONY: bench-conda
bench-conda: ## conda solves vs py-rattler on a defaults-channel subset kept outside the repository (skips without it); writes docs/BENCH-conda.md
	$(GO) test -count=1 -tags bench -run CompareRattler -v ./bench/conda -args -doc $(CURDIR)/docs/BENCH-conda.md

.PHONY: conformance
conformance: ## lock and solve results compared with uv and py-rattler (outside CI)
	ENVBUILD_CONFORMANCE=1 $(GO) test -count=1 -tags conformance -timeout 60m ./lock/... ./bench/...

.PHONY: testbed-up testbed-down
testbed-up: setup ## start the test bed and leave it running (prints its variables)
	$(GO) run ./integration/testbed/cmd/testbed up
testbed-down: ## stop the test bed
	$(GO) run ./integration/testbed/cmd/testbed down

.PHONY: fuzz
fuzz: ## run every go fuzz target for FUZZTIME each (default 30s; not in CI); prints executions per target
	bash scripts/fuzz.sh

.PHONY: reliability
reliability: setup ## the fault suite on the test bed, the concurrency and bad-input tests and every fuzz target; writes docs/RELIABILITY.md
	bash scripts/reliability.sh

.PHONY: fmt
fmt: ## gofmt the tree
	gofmt -w $$(git ls-files '*.go')

.PHONY: clean
clean: ## remove built binaries
	rm -rf $(BIN)/envbuild
