#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# example.sh - `make example`: runs examples/quickstart.mjs against a server it starts (dev
# mode, a free loopback port, a temporary data folder), exactly as the README tells a newcomer
# to: paste the `export …` line the server prints, then `node quickstart.mjs`.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${RTKD_BIN:-build/rtkd}
dir=$(mktemp -d)
"$bin" serve --dev --listen 127.0.0.1:0 --data "$dir/data" >"$dir/stdout" 2>"$dir/stderr" &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
line=
for _ in $(seq 300); do
  line=$(grep '^export ACCOUNT=' "$dir/stdout" || true)
  [ -n "$line" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "example: rtkd exited:" >&2
    cat "$dir/stderr" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$line" ]; then
  echo "example: rtkd printed no export line within 30 s" >&2
  exit 1
fi
echo "example: $line"
eval "$line"
(cd examples && node quickstart.mjs)
