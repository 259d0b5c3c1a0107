#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fresh-debian-check.sh - runs the README's contract on a fresh Debian 12: debootstrap a
# minimal bookworm into a folder, add only make, git and ca-certificates (what the machine
# needs to clone the repository and type the command), clone this repository's committed
# HEAD into it and run `make test` (or the command given) as root inside a chroot. A green
# run here cannot hide a missing install step the way a run on a developer's machine can.
#
#   sudo scripts/fresh-debian-check.sh [DIR] [COMMAND]   (default DIR /var/tmp/rtkd-fresh,
#                                                         COMMAND "make test")
#
# Needs root, debootstrap (installed if missing), network access to Debian's mirror and the
# npm registry, and about 3 GB in DIR. The machine's CA bundle is copied in and
# NODE_EXTRA_CA_CERTS is passed on, so a TLS-inspecting proxy trusted here is trusted inside.
# Rerunning reuses DIR (packages the first run installed stay); delete it for a clean slate.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DIR=${1:-/var/tmp/rtkd-fresh}
CMD=${2:-make test}
[ "$(id -u)" -eq 0 ] || { echo "fresh-debian-check: run as root" >&2; exit 1; }

if ! command -v debootstrap >/dev/null; then
  apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null
fi
if [ ! -x "$DIR/usr/bin/apt-get" ]; then
  echo "fresh-debian-check: debootstrap bookworm into $DIR"
  debootstrap --variant=minbase bookworm "$DIR" http://deb.debian.org/debian >/dev/null
fi

mounts=()
cleanup() {
  local i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
for d in proc sys dev dev/pts; do
  mountpoint -q "$DIR/$d" || { mount --bind "/$d" "$DIR/$d"; mounts+=("$DIR/$d"); }
done
mkdir -p "$DIR/dev/shm" "$DIR/src"
mountpoint -q "$DIR/dev/shm" || { mount -t tmpfs tmpfs "$DIR/dev/shm"; mounts+=("$DIR/dev/shm"); }
mountpoint -q "$DIR/src" || { mount --bind -o ro "$ROOT" "$DIR/src"; mounts+=("$DIR/src"); }
cp /etc/resolv.conf "$DIR/etc/resolv.conf"

chroot "$DIR" bash -c 'command -v git >/dev/null && command -v make >/dev/null ||
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends make git ca-certificates >/dev/null; }'
[ -f /etc/ssl/certs/ca-certificates.crt ] &&
  cp /etc/ssl/certs/ca-certificates.crt "$DIR/etc/ssl/certs/ca-certificates.crt"

echo "fresh-debian-check: clean clone of $(git rev-parse --short HEAD), then: $CMD"
chroot "$DIR" env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  LANG=C.UTF-8 NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
  bash -c "git config --global --add safe.directory /src/.git && rm -rf /root/rtkd &&
           git clone -q /src /root/rtkd && cd /root/rtkd && $CMD"
echo "fresh-debian-check: ok"
