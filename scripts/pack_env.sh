#!/usr/bin/env bash
# Builds the packed environment that Spark executors receive (docs/deploy.md):
#   scripts/pack_env.sh pomona-env.tar.gz pomona-0.1.0-cp311-...whl [pip install options...]
# a venv of this machine's python3 (PYTHON=... for another) with the wheel, its pyarrow and numpy,
# packed by venv-pack. The archive holds no interpreter: bin/python links to the one that made it,
# so executors need the same Python at the same path (build it on their OS image).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 OUT.tar.gz WHEEL [pip install options...]" >&2; exit 2; }
out=$1 wheel=$2
shift 2
env=$(mktemp -d)/pomona-env
trap 'rm -rf "$(dirname "$env")"' EXIT
"${PYTHON:-python3}" -m venv "$env"
"$env/bin/pip" install -q "$@" "$wheel" venv-pack==0.2.0
"$env/bin/venv-pack" -q -p "$env" -o "$out"
