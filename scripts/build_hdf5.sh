#!/usr/bin/env bash
# Prints the install prefix of the HDF5 C library the wheels link, building it when absent.
# Debian's libhdf5_serial.so.103 has the read-only S3 driver (ROS3), which needs libcurl and its
# chain of 27 more libraries; the wheels bundle what they link, so they get an HDF5 of their own:
# Debian 12's source package of the same version (pinned below; scripts/debian_source.sh fetches
# it with apt, which checks it against Debian's signed index), with Debian's patches, configured
# as Debian's serial flavour minus everything Pomona does not read: C library only (no HL, C++,
# Fortran, Java, tools, tests), no ROS3, no HDFS, no szip (Keras writes its weights
# uncompressed; zlib stays for a deflated file). `make build` keeps Debian's libhdf5-dev.
# The prefix is cached outside the repository (POMONA_CACHE, default ~/.cache/pomona), named after
# the version and this script's hash, so a fresh clone on the same machine reuses it; the first
# build takes about 2.5 CPU-minutes (configure, then 300 C files on all cores). A half-made
# prefix is never reused: it becomes valid by a final rename. Needs Debian's mirror the first time.
set -euo pipefail
SELF=$(realpath "$0")
cd "$(dirname "$SELF")/.."
VERSION=1.10.8+repack1-1
CACHE=${POMONA_CACHE:-$HOME/.cache/pomona}
PREFIX=$CACHE/hdf5-$VERSION-$(sha256sum "$SELF" | cut -c1-12)
if [ -f "$PREFIX/lib/libhdf5.so" ]; then echo "$PREFIX"; exit 0; fi

WORK=$PWD/build-wheel/hdf5
rm -rf "$WORK" && mkdir -p "$WORK"
echo "build_hdf5: HDF5 $VERSION from Debian's source package into $PREFIX (once)" >&2
start=$SECONDS
bash scripts/debian_source.sh hdf5 "$VERSION" "$WORK/hdf5"
cd "$WORK/hdf5"
./configure --prefix=/pomona-hdf5 --enable-shared --disable-static --enable-build-mode=production \
  --with-pthread --enable-threadsafe --enable-linux-lfs --disable-sharedlib-rpath \
  --with-default-api-version=v18 --with-zlib --without-szlib \
  --disable-ros3-vfd --without-libhdfs --disable-hl --disable-cxx --disable-fortran --disable-java \
  --disable-tools --disable-tests >"$WORK/configure.log" 2>&1 ||
  { tail -20 "$WORK/configure.log" >&2; exit 3; }
# src/ holds the library and its headers; the rest (examples, h5cc) is not needed. Installed
# into a folder and moved: the library records no path of this machine (it finds nothing by path).
make -C src -j"$(nproc)" install DESTDIR="$WORK/install" >"$WORK/make.log" 2>&1 ||
  { tail -20 "$WORK/make.log" >&2; exit 3; }
mkdir -p "$CACHE" && rm -rf "$PREFIX.partial" && mv "$WORK/install/pomona-hdf5" "$PREFIX.partial"
rm "$PREFIX.partial"/lib/libhdf5.la
strip --strip-unneeded "$PREFIX.partial"/lib/libhdf5.so.*.*.*  # as Debian's package (dh_strip)
# Its licence, and where it came from, for scripts/finish_wheel.py.
mkdir -p "$PREFIX.partial/share/doc/hdf5"
cp debian/copyright "$PREFIX.partial/share/doc/hdf5/copyright"
printf 'hdf5\t%s\n' "$VERSION" >"$PREFIX.partial/share/doc/hdf5/source"
rm -rf "$PREFIX" && mv "$PREFIX.partial" "$PREFIX"
echo "build_hdf5: built in $((SECONDS - start)) s" >&2
echo "$PREFIX"
