#!/usr/bin/env bash
# make bench: one table from one run (see bench/bench.py). Timings swing between minutes on
# shared machines, so every figure is taken in this one run and compared as ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python bench/bench.py --build "${1:-build}"
