#!/usr/bin/env bash
# Prints the path of a minimal Debian 12 root (debootstrap --variant=minbase bookworm, plus only
# python3 and python3-venv), creating it when absent, in build-root/ of the project. A pristine copy
# is also kept as a tarball outside the repository (POMONA_CACHE, default ~/.cache/pomona), so a
# fresh clone on the same machine unpacks it in seconds; without it, debootstrap runs (minutes).
# A half-made root is never reused: it becomes valid by a final rename. Needs root and Debian's
# mirror (CLEAN_ROOT_MIRROR) the first time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD/build-root/bookworm
CACHE=${POMONA_CACHE:-$HOME/.cache/pomona}/bookworm-minbase-python3.tar
MIRROR=${CLEAN_ROOT_MIRROR:-http://deb.debian.org/debian}
if [ ! -x "$ROOT/usr/bin/python3" ]; then
  [ "$(id -u)" -eq 0 ] || { echo "clean_root: debootstrap and chroot need root" >&2; exit 2; }
  rm -rf "$ROOT.partial" && mkdir -p "$ROOT.partial"
  if ! tar -xf "$CACHE" -C "$ROOT.partial" 2>/dev/null; then
    command -v debootstrap >/dev/null || { echo "clean_root: debootstrap missing: run scripts/bootstrap.sh" >&2; exit 2; }
    echo "clean_root: debootstrap --variant=minbase bookworm into $ROOT (a few minutes, once)" >&2
    rm -rf "$ROOT.partial"
    debootstrap --variant=minbase --include=python3,python3-venv bookworm "$ROOT.partial" "$MIRROR" >&2
    rm -rf "$ROOT.partial"/var/cache/apt/archives/*.deb
    mkdir -p "$(dirname "$CACHE")" && tar -cf "$CACHE.partial" -C "$ROOT.partial" . && mv "$CACHE.partial" "$CACHE"
  fi
  rm -rf "$ROOT" && mv "$ROOT.partial" "$ROOT"
fi
echo "$ROOT"
