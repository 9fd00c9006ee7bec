#!/usr/bin/env bash
# usage: debian_source.sh PACKAGE VERSION DEST
# Unpacks Debian 12's source package PACKAGE at exactly VERSION, with Debian's patches applied,
# into the new folder DEST (for what the project compiles itself from Debian's sources, e.g.
# scripts/build_hdf5.sh). apt fetches it from bookworm or bookworm-security and checks it against
# the signed Sources index, with its own source list and state in a temporary folder: the
# machine's apt configuration is untouched and root is not needed. Exits 3 when the mirror
# (DEBIAN_SOURCE_MIRROR) no longer has VERSION: update the caller's pin to bookworm's.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 PACKAGE VERSION DEST" >&2; exit 2; }
package=$1 version=$2 dest=$3
mirror=${DEBIAN_SOURCE_MIRROR:-http://deb.debian.org}
apt_dir=$(mktemp -d)
trap 'rm -rf "$apt_dir"' EXIT
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$apt_dir/src"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
cat >"$apt_dir/sources.list" <<SOURCES
deb-src [signed-by=$keyring] $mirror/debian bookworm main
deb-src [signed-by=$keyring] $mirror/debian-security bookworm-security main
SOURCES
apt=(apt-get -q -o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts=/nonexistent
     -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir" -o Debug::NoLocking=1
     -o APT::Sandbox::User="$(id -un)")
"${apt[@]}" update >&2
(cd "$apt_dir/src" && "${apt[@]}" source --download-only "$package=$version" >&2) || {
  echo "debian_source: $mirror has no $package $version (any more): pin bookworm's current version" >&2
  exit 3
}
# The files were checked against the signed index; the .dsc's own signature would need the
# uploader's key, which is not on the machine.
dpkg-source --no-check -x "$apt_dir/src/${package}_${version#*:}.dsc" "$dest" >&2
