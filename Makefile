# The marketplace's commands. `make help` lists them.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
GO ?= go
# every module of the workspace, for repo-wide commands
MODULES := $(shell $(GO) list -m -f '{{.Dir}}' 2>/dev/null)
# the modules whose tests run without a mesh: all but the end-to-end suite
UNIT_MODULES := $(filter-out %/tools/e2e,$(MODULES))

.PHONY: help up test check-tree check-modules test-unit test-runtime test-e2e test-chaos load chaos fuzz runtime vet fmt clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

up: ## run the whole marketplace locally (http://localhost:8080); Ctrl-C stops it
	$(GO) run ./tools/mesh/cmd/mesh up

test: check-tree vet check-modules test-unit test-runtime test-e2e test-chaos ## every test: unit tests, the runtime's components, the real mesh end to end, a short fault run

check-tree: ## fail if git tracks an executable or a file over 1 MiB (report images under docs/ aside)
	@cd tools/k8scheck && $(GO) test -count=1 -run '^TestTrackedFile' .

check-modules: ## every module builds alone, as the images build the apps (GOWORK=off, -mod=readonly: go.mod and go.sum complete)
	@for m in $(MODULES); do (cd $$m && GOWORK=off GOFLAGS=-mod=readonly $(GO) vet ./... >/dev/null) || \
	  { echo "$$m does not build outside the workspace: cd $$m && GOWORK=off go mod tidy"; exit 1; }; done

runtime: ## build the pinned Dapr runtime (once per machine) and print where it is
	@$(GO) run ./tools/mesh/cmd/mesh runtime

vet: ## go vet every module
	@for m in $(MODULES); do (cd $$m && $(GO) vet ./...) || exit 1; done

test-unit: ## unit tests of every module but tools/e2e, with the race detector (no mesh)
	@for m in $(UNIT_MODULES); do (cd $$m && $(GO) test -race -count=1 ./...) || exit 1; done

test-runtime: runtime ## Dapr's conformance suites + our tests on the patched JetStream and PostgreSQL (own NATS and PostgreSQL, free ports)
	@cd tools/runtime && GOWORK=off $(GO) vet ./...
	@cd tools/runtime/conformance && GOWORK=off $(GO) vet . && GOWORK=off $(GO) test -count=1 -timeout 10m .

# the brokers the end-to-end suite runs on, one after another (BROKERS=redis make test-e2e runs one)
BROKERS ?= jetstream redis rabbitmq

test-e2e: runtime ## start a mesh on free ports, once per broker, and drive it through the public origin
	@cd tools/e2e && failed=; for b in $(BROKERS); do \
	  echo "e2e: broker $$b"; start=$$(date +%s); \
	  if E2E_BROKER=$$b $(GO) test -count=1 -timeout 30m .; then r=ok; else r=FAIL; failed="$$failed $$b"; fi; \
	  echo "e2e: broker $$b: $$r in $$(( $$(date +%s) - start )) s"; \
	done; \
	if [ -n "$$failed" ]; then echo "e2e: failed on:$$failed"; exit 1; fi

test-chaos: runtime ## a short fault run: one fault of each kind under a small crowd, every invariant checked
	$(GO) run ./tools/chaos -short -seed 1 -out out/chaos/short.md

load: ## drive the running mesh (make up) like a crowd for 60 s: report + chart in out/loadgen/
	$(GO) run ./tools/loadgen -duration 60s -out out/loadgen/report.md

chaos: runtime ## the full fault run (>= 10 kills of every process, 10 min of load): report + timeline in out/chaos/
	$(GO) run ./tools/chaos -out out/chaos/report.md

# how long `make fuzz` runs each fuzz target (FUZZTIME=1m make fuzz)
FUZZTIME ?= 20s

fuzz: ## run every fuzz target (request and event decoders) for FUZZTIME each, one at a time
	@set -o pipefail; failed=; n=0; \
	for m in $(UNIT_MODULES); do \
	  targets=$$(cd $$m && $(GO) test -list '^Fuzz' ./... | \
	    awk '/^Fuzz/ { names[c++] = $$1; next } /^ok/ { for (i = 0; i < c; i++) print $$2 "," names[i] } { c = 0 }') || exit 1; \
	  for t in $$targets; do \
	    pkg=$${t%,*}; name=$${t#*,}; n=$$((n + 1)); \
	    echo "fuzz: $$name ($$pkg) for $(FUZZTIME)"; \
	    if (cd $$m && $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg); then r=ok; else r=FAIL; failed="$$failed $$name($$pkg)"; fi; \
	    echo "fuzz: $$name ($$pkg): $$r"; \
	  done; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: failed:$$failed; the failing inputs are under the packages' testdata/fuzz/"; exit 1; fi; \
	echo "fuzz: all $$n targets passed, $(FUZZTIME) each"

fmt: ## gofmt every Go file
	gofmt -w $$(git ls-files '*.go')

clean: ## delete the local mesh's data (.mesh/), logs and built apps
	rm -rf .mesh
