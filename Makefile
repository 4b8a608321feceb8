# The marketplace's commands. `make help` lists them.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
GO ?= go
# every module of the workspace, for repo-wide commands
MODULES := $(shell $(GO) list -m -f '{{.Dir}}' 2>/dev/null)

.PHONY: help up test test-unit test-e2e runtime vet fmt clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

up: ## run the whole marketplace locally (http://localhost:8080); Ctrl-C stops it
	$(GO) run ./tools/mesh/cmd/mesh up

test: vet test-unit test-e2e ## every test: unit tests, then the real mesh end to end

runtime: ## build the pinned Dapr runtime (once per machine) and print where it is
	@$(GO) run ./tools/mesh/cmd/mesh runtime

vet: ## go vet every module
	@for m in $(MODULES); do (cd $$m && $(GO) vet ./...) || exit 1; done

test-unit: ## unit tests of every module, with the race detector (no mesh)
	@for m in $(MODULES); do (cd $$m && $(GO) test -race -count=1 $$( $(GO) list ./... | grep -v /e2e) ) || exit 1; done

# the brokers the end-to-end suite runs on, one after another (BROKERS=redis make test-e2e runs one)
BROKERS ?= jetstream redis rabbitmq

test-e2e: runtime ## start a mesh on free ports, once per broker, and drive it through the public origin
	@cd tools/mesh && failed=; for b in $(BROKERS); do \
	  echo "e2e: broker $$b"; start=$$(date +%s); \
	  if E2E_BROKER=$$b $(GO) test -count=1 -timeout 30m ./e2e/; then r=ok; else r=FAIL; failed="$$failed $$b"; fi; \
	  echo "e2e: broker $$b: $$r in $$(( $$(date +%s) - start )) s"; \
	done; \
	if [ -n "$$failed" ]; then echo "e2e: failed on:$$failed"; exit 1; fi

fmt: ## gofmt every Go file
	gofmt -w $$(git ls-files '*.go')

clean: ## delete the local mesh's data (.mesh/), logs and built apps
	rm -rf .mesh
