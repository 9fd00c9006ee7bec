#!/usr/bin/env bash
# Installs what Pomona needs and is missing, idempotently: Debian packages, then the project's
# .venv with the pinned PyPI packages of requirements.txt. Safe to run on every make.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libdnnl-dev libjpeg62-turbo-dev libpng-dev libdeflate-dev libhdf5-dev
  libcli11-dev libgtest-dev libbenchmark-dev libeigen3-dev
  libopenblas-dev liblapacke-dev libcurl4-openssl-dev
  libssl-dev libhnswlib-dev  # SHA-256; classify/ (kNN)
  dpkg-dev  # dpkg-source: unpacks cpp-httplib's Debian source package (below)
  chromium-driver  # tests/test_serve_page.py drives the page with Selenium
  wrk hey  # tests/test_serve.py (reload under load), bench/serve_bench.py
  debootstrap  # scripts/clean_root.sh: the clean Debian root the wheel is tested in
  python3 python3-venv python3-dev
  openjdk-17-jre-headless  # pyspark (tests/test_pca_spark.py compares with Spark ML's PCA)
  chromium  # tests/test_report_html.py renders the HTML report headless
)

# `bootstrap.sh fuzz` (make fuzz) also installs clang with libFuzzer and its sanitizer runtimes.
[ "${1:-}" = fuzz ] && APT_PACKAGES+=(clang-14 libclang-rt-14-dev)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# serve/ compiles cpp-httplib's header-only httplib.h from Debian's source package of the version
# Debian 12 ships (Debian's compiled libcpp-httplib.so needs GLIBCXX_3.4.30, above manylinux_2_34),
# fetched and checked by scripts/debian_source.sh, cached in ~/.cache/pomona; CMake takes it from
# .deps/cpp-httplib/.
HTTPLIB_VERSION=0.11.4+ds-1+deb12u1
if [ "$(cat .deps/cpp-httplib/VERSION 2>/dev/null)" != "$HTTPLIB_VERSION" ]; then
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/pomona/cpp-httplib_$HTTPLIB_VERSION
  if [ ! -f "$cache/httplib.h" ]; then
    echo "bootstrap: fetching Debian's source of cpp-httplib $HTTPLIB_VERSION"
    source_dir=$(mktemp -d)
    bash scripts/debian_source.sh cpp-httplib "$HTTPLIB_VERSION" "$source_dir/cpp-httplib"
    mkdir -p "$cache"
    cp "$source_dir/cpp-httplib/httplib.h" "$source_dir/cpp-httplib/debian/copyright" "$cache/"
    rm -rf "$source_dir"
  fi
  mkdir -p .deps/cpp-httplib
  cp "$cache/httplib.h" "$cache/copyright" .deps/cpp-httplib/
  echo "$HTTPLIB_VERSION" > .deps/cpp-httplib/VERSION
fi

stamp=.venv/.requirements.sha
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: preparing .venv from requirements.txt"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install -q -r requirements.txt
  # Arrow C++ ships inside the pyarrow wheel; give its libraries the unversioned names a linker wants.
  .venv/bin/python -c "import pyarrow; pyarrow.create_library_symlinks()"
  echo "$want" > "$stamp"
fi
