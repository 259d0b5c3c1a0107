#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bootstrap.sh - installs what rtkd needs to build, test and benchmark on Debian 12.
# Idempotent and quiet when everything is already there. Needs root (or sudo) only when a
# Debian package is missing.
#   scripts/bootstrap.sh          build + test dependencies (Debian packages incl. chromium, npm)
#   scripts/bootstrap.sh build    only what `make` needs
#   scripts/bootstrap.sh bench    build dependencies plus wrk, nginx (+ nchan), gnuplot, PostgreSQL
#                                 for `make bench`
#   scripts/bootstrap.sh example  build dependencies plus Node.js and examples/' npm packages
#   scripts/bootstrap.sh cluster  build dependencies plus PostgreSQL and Redis for `make cluster`
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-test}
# curl + jq: the README's curl example (after `make run`) runs curl and captures ids with jq;
# a minimal Debian has neither.
pkgs=(build-essential cmake pkg-config libuv1-dev libhttp-parser-dev libjansson-dev curl
      # libcurl4-openssl-dev: webhook deliveries (libcurl's multi interface on the loop).
      libsqlite3-dev libssl-dev libpq-dev jq libcurl4-openssl-dev
      # libhiredis-dev: the cluster's bus (Redis, on the loop; docs/cluster.md).
      libhiredis-dev)
if [ "$what" = test ]; then
  # chromium: Debian's browser, driven headless by playwright-core in the browser e2e tests.
  # clang + libclang-rt-14-dev: libFuzzer for the fuzz smoke run.
  pkgs+=(libcmocka-dev clang-tidy cppcheck sqlite3 chromium clang libclang-rt-14-dev)
  # postgresql-15: the store's second backend; the tests start their own server (initdb).
  # redis-server: the cluster tests start their own (--save '', a free loopback port).
  pkgs+=(postgresql-15 redis-server)
  # systemd: systemd-analyze verifies the service unit; man-db: its Documentation=man: check.
  pkgs+=(systemd man-db)
  # nginx-light, haproxy + openssl: the TLS test puts nginx, then HAProxy (a self-signed
  # certificate) in front of rtkd, each configured as docs/deploy.md says.
  pkgs+=(nginx-light haproxy openssl)
  # prometheus: the metrics test (86-metrics) runs a real Prometheus scraping rtkd with
  # docs/deploy.md's scrape configuration, on a free port with its own storage folder (the
  # package's own service, if systemd starts it, is left alone).
  pkgs+=(prometheus)
  # libnginx-mod-nchan: bench/test_loadgen_nchan.sh runs the load generator's nchan mode
  # against a real nginx + nchan (skipped without it).
  pkgs+=(libnginx-mod-nchan)
fi
if [ "$what" = test ] || [ "$what" = cluster ]; then
  # python3: tests/support/pgtmp.sh and scripts/cluster.sh ask the kernel for a free port
  # with it (a minimal Debian has none).
  pkgs+=(python3)
fi
if [ "$what" = cluster ]; then
  # postgresql-15 + redis-server (with redis-cli): `make cluster` (scripts/cluster.sh) starts
  # a private server of each in a temporary folder, on free loopback ports.
  pkgs+=(postgresql-15 redis-server redis-tools)
fi
if [ "$what" = bench ]; then
  # postgresql-15: the durable-write benchmarks run on both backends (a private server).
  pkgs+=(wrk nginx-light gnuplot-nox postgresql-15)
  # libnginx-mod-nchan: nginx + nchan, the pub/sub server the poll fan-out is measured
  # against in the same run (bench/nchan.sh); also the load generator's nchan-mode test.
  pkgs+=(libnginx-mod-nchan)
  # redis-server + redis-tools, python3: the cluster rows (bench/cluster.sh: its own Redis,
  # PostgreSQL and 3 nodes on free loopback ports).
  pkgs+=(redis-server redis-tools python3)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Node.js >= 20 for the end-to-end tests (playwright-core needs 20; Debian 12 ships 18). When
# the machine has no node, or an older one, Debian's npm installs the pinned Node 20 binary
# package from the npm registry into tools/node (committed lock file); the Makefile puts
# tools/node/node_modules/.bin first on PATH.
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
local_node=0
if [ "$what" = test ] || [ "$what" = example ]; then
  if ! command -v node >/dev/null 2>&1 || [ "$(node_major)" -lt 20 ]; then
    local_node=1
  fi
  if ! command -v npm >/dev/null 2>&1; then
    missing+=(npm)
  fi
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$local_node" = 1 ]; then
  stamp=tools/node/node_modules/.rtkd-lock
  if [ ! -f "$stamp" ] || ! cmp -s tools/node/package-lock.json "$stamp"; then
    echo "bootstrap: installing Node.js 20 from the npm registry into tools/node"
    (cd tools/node && npm ci --no-audit --no-fund --loglevel=error)
    cp tools/node/package-lock.json "$stamp"
  fi
  export PATH="$PWD/tools/node/node_modules/.bin:$PATH"
fi

# npm packages, exactly as pinned in the committed lock files: the end-to-end tests', and the
# examples' (the e2e suite runs examples/quickstart.mjs too).
npm_ci() {
  local stamp=$1/node_modules/.rtkd-lock
  if [ ! -f "$stamp" ] || ! cmp -s "$1/package-lock.json" "$stamp"; then
    echo "bootstrap: npm ci in $1"
    (cd "$1" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$1/package-lock.json" "$stamp"
  fi
}
if [ "$what" = test ]; then
  npm_ci tests/e2e
fi
if [ "$what" = test ] || [ "$what" = example ]; then
  npm_ci examples
fi
