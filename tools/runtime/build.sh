#!/usr/bin/env bash
# Builds the pinned Dapr runtime (daprd with this project's components, placement,
# scheduler) plus the pinned nats-server and stripe-mock, once per machine and
# version. Prints the directory that holds the binaries on its last line.
#
#   tools/runtime/build.sh            build if needed, print the bin directory
#   TIXMESH_CACHE=dir tools/runtime/build.sh   cache somewhere else
#
# The cache directory is dapr-<version>-<hash of this module's go.mod, go.sum,
# sources and the tool versions>: two Dapr versions never share binaries (a
# 1.16.5 build stays where it is, for before/after comparisons), a change to the
# component list rebuilds, and a second run costs nothing.
set -euo pipefail

DAPR_VERSION=1.18.3
NATS_SERVER_VERSION=v2.12.15
STRIPE_MOCK_VERSION=v0.203.0

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
cache=${TIXMESH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tixmesh}
key=$( (cat "$here/go.mod" "$here/go.sum"; find "$here" -path "$here/conformance" -prune -o -name '*.go' -print | LC_ALL=C sort | xargs cat
  echo "$NATS_SERVER_VERSION $STRIPE_MOCK_VERSION") | sha256sum | cut -c1-12)
# <dir>/.dapr/bin is the layout the Dapr CLI expects of DAPR_RUNTIME_PATH=<dir>.
bin=$cache/runtime/dapr-$DAPR_VERSION-$key/.dapr/bin
say() { printf 'runtime: %s\n' "$*" >&2; }

mkdir -p "$bin"
exec 9>"$bin/.lock"
flock 9 # a second build on this machine waits for the first instead of racing it

export GOWORK=off GOFLAGS=-mod=readonly CGO_ENABLED=0
ldflags="-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=$DAPR_VERSION -X github.com/dapr/kit/logger.DaprVersion=$DAPR_VERSION"

build() { # name, what to build (package path), in the runtime module
  local name=$1 pkg=$2 t0=$SECONDS
  [[ -x $bin/$name ]] && return 0
  say "building $name $DAPR_VERSION (first time on this machine: several minutes; later runs reuse $bin)"
  (cd "$here" && go build -trimpath -ldflags "$ldflags" -o "$bin/$name.tmp" "$pkg")
  mv "$bin/$name.tmp" "$bin/$name"
  say "built $name in $((SECONDS - t0)) s"
}

install() { # name, module@version: a standalone Go command from the module proxy
  local name=$1 mod=$2 t0=$SECONDS
  [[ -x $bin/$name ]] && return 0
  say "building $name ${mod#*@}"
  GOBIN=$bin.tmp-$name GOFLAGS= go install -trimpath -ldflags "-s -w" "$mod"
  mv "$bin.tmp-$name/$name" "$bin/$name"
  rmdir "$bin.tmp-$name"
  say "built $name in $((SECONDS - t0)) s"
}

if [[ ! -x $bin/daprd || ! -x $bin/placement || ! -x $bin/scheduler ]]; then
  # Only the modules the three commands import (not `go mod download`, which
  # fetches every module of the graph, test-only ones included, and fails on
  # the first one the proxy serves only in part). go.sum is committed, so
  # nothing is resolved anew: -mod=readonly fails rather than change it.
  say "downloading modules for dapr $DAPR_VERSION (first time: a few GB, minutes)"
  t0=$SECONDS
  (cd "$here" && go list -deps ./cmd/daprd github.com/dapr/dapr/cmd/placement github.com/dapr/dapr/cmd/scheduler >/dev/null)
  say "modules ready in $((SECONDS - t0)) s"
fi
build daprd ./cmd/daprd
build placement github.com/dapr/dapr/cmd/placement
build scheduler github.com/dapr/dapr/cmd/scheduler
install nats-server "github.com/nats-io/nats-server/v2@$NATS_SERVER_VERSION"
install stripe-mock "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION"
"$bin/daprd" --version >/dev/null
echo "$bin"
