#!/usr/bin/env bash
# make bench: every figure taken in this one run on this machine, compared as ratios (timings on
# shared machines swing between minutes). Each script prints its table and says what it measured.
#   bench.py        sgemm ideal, network alone, `pomona featurize` end to end, peak RSS
#   image_bench.py  decode/resize of 12 MP photos and big PNGs against Pillow
#   spark_bench.py  pomona.spark on Spark local[2] against the CLI at 2 threads, Python workers' RSS
#   pca_bench.py    `pomona pca fit` on 1,000,000 x 1280 rows: time and peak RSS (< 1 GiB)
# BENCH=bench.py (or a space-separated list) runs only those.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
for script in ${BENCH:-bench.py image_bench.py spark_bench.py pca_bench.py}; do
  echo "== bench/$script"
  .venv/bin/python "bench/$script" --build "$build"
done
