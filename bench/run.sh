#!/usr/bin/env bash
# make bench: every figure taken in this one run on this machine, compared as ratios (timings on
# shared machines swing between minutes). Each script prints its table and says what it measured.
#   bench.py        sgemm ideal, network alone, `pomona featurize` end to end, peak RSS
#   image_bench.py  decode/resize of 12 MP photos and big PNGs against Pillow
#   spark_bench.py  pomona.spark on Spark local[2] against the CLI at 2 threads, Python workers' RSS
#   pca_bench.py    `pomona pca fit` on 1,000,000 x 1280 rows: time and peak RSS (< 1 GiB)
#   s3_bench.py     `pomona featurize` s3:// (moto on 127.0.0.1) -> local against local -> local
#   serve_bench.py  `pomona serve` under load (hey): latency/throughput, saturation, shedding, vs FastAPI+ONNX Runtime
#   layer_profile.py where the time goes: each layer group (oneDNN timing) against its FLOP share, decode, the rest
#   precision_bench.py --precision bf16 against fp32: fidelity (Keras fixtures, photos, PCA, 1-NN) and speed
#                   against the GEMM ideals (where the CPU has native bf16)
# Against the notebook's stack and the peer runtimes, from the bench venv (.venv-bench, made on
# first use by bench/bench_venv.py from bench/requirements.txt; never part of .venv):
#   peers.py            the network alone in PyTorch, ONNX Runtime, OpenVINO vs Pomona, 1 and 2 threads,
#                       fp32, then bf16 against OpenVINO's bf16 (where the CPU has native bf16)
#   reference_stack.py  the notebook's Pillow + tf_keras predict path vs `pomona featurize`, 2,000 JPEGs
#   notebook_udf.py     the notebook's pandas UDF vs pomona.spark, both on Spark local[2]
# Then summary.py prints one table of this run's figures, each with its command, and the issue's
# targets, and writes bench/results/<date>-<host>.json and .svg.
# BENCH=bench.py (or a space-separated list) runs only those (summary.py then also shows earlier
# results of the others, with their times).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
results=$build/bench-data/results
scripts=${BENCH:-bench.py layer_profile.py precision_bench.py peers.py reference_stack.py notebook_udf.py spark_bench.py image_bench.py pca_bench.py s3_bench.py serve_bench.py}
if [[ -z ${BENCH:-} ]]; then
  rm -rf "$results"  # a full run: the summary shows this run's figures only
fi
mkdir -p "$results"
if [[ " $scripts " =~ \ (peers|reference_stack|notebook_udf|serve_bench)\.py\  ]]; then
  .venv/bin/python bench/bench_venv.py
fi
for script in $scripts; do
  echo "== bench/$script"
  PYTHONUNBUFFERED=1 .venv/bin/python "bench/$script" --build "$build" | tee "$results/${script%.py}.log"
done
.venv/bin/python bench/summary.py --build "$build"
