#!/usr/bin/env bash
# make fuzz: builds the fuzz targets (fuzz/CMakeLists.txt) with clang, writes the seed corpora,
# replays the committed crash reproducers, then runs each target for FUZZ_SECONDS and fails on
# the first crash, leak, sanitizer report, timeout (> 10 s per input) or RSS above 2 GiB.
# Usage: fuzz/run.sh [BUILD_DIR] [TARGET...]   (env FUZZ_SECONDS, default 60; FUZZ_JOBS)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(decode_fuzzer resize_fuzzer weights_fuzzer)
seconds=${FUZZ_SECONDS:-60}

cmake -S fuzz -B "$build" -G Ninja \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
cmake --build "$build" -j "${FUZZ_JOBS:-$(nproc)}"
.venv/bin/python tools/make_fuzz_corpus.py "$build/seed_corpus"
(cd "$build" && ctest --output-on-failure)

for target in "${targets[@]}"; do
  # The corpus grows across runs in the build dir; the seeds are read, never written.
  mkdir -p "$build/corpus/$target" "$build/artifacts/$target"
  echo "fuzz: $target for ${seconds}s"
  # The weights loader reads with HDF5 in a child process (src/model/weights_sandbox.h): HDF5's
  # allocations for a damaged size must fail there (its address space is capped). HDF5's own
  # bugs on a damaged global heap (H5HG_read: overlapping memcpy, bad free) draw ASan reports in
  # the child, which leave crash-* files in the artifacts folder while this process goes on and
  # reports the file as damaged: the verdict is this process's exit status.
  asan_options=""
  [ "$target" = weights_fuzzer ] && asan_options="allocator_may_return_null=1"
  if ! ASAN_OPTIONS=$asan_options "$build/$target" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 -artifact_prefix="$build/artifacts/$target/" \
      "$build/corpus/$target" "$build/seed_corpus/$target" 2>&1 | tee "$build/$target.log" |
      grep -E "INITED|DONE|ERROR|SUMMARY|stat::|oom/timeout/crash"; then
    echo "fuzz: $target failed, see $build/$target.log and $build/artifacts/$target/" >&2
    exit 1
  fi
done
