#!/usr/bin/env bash
# make demo: featurize an embedded default with the freshly built pomona and show the result.
#  - images: ../shared/fruits-sample when present, else synthetic fruit photos generated here;
#  - weights: Keras' published ImageNet file when it is in Keras' cache, else generated seeded
#    weights (features are then not ImageNet features: said below).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
demo=$build/demo
mkdir -p "$demo"
py=.venv/bin/python

if [ -d ../shared/fruits-sample ]; then
  input=../shared/fruits-sample
  echo "demo: images from $input (real Fruits-360 sample)"
else
  input=$demo/images
  [ -d "$input" ] || $py tools/make_demo_images.py "$input"
  echo "demo: ../shared/fruits-sample not found; using synthetic images in $input"
fi

cache=${KERAS_HOME:-$HOME/.keras}/models
real=$cache/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5
if [ -f "$real" ]; then
  weights=$real
  echo "demo: ImageNet weights from Keras' cache: $weights"
else
  weights=$demo/seeded_mobilenet_v2_1.0_224.h5
  [ -f "$weights" ] || $py tools/make_test_weights.py --alpha 1.0 --size 224 "$weights"
  echo "demo: no ImageNet weights in $cache (get them with: $build/pomona weights fetch);"
  echo "      using generated seeded weights $weights — features are real MobileNetV2 outputs, not ImageNet ones"
fi

output=$demo/features.parquet
"$build/pomona" featurize "$input" "$output" --weights "$weights"
$py - "$output" <<'PY'
import sys
import pyarrow.parquet as pq
table = pq.read_table(sys.argv[1])
print(f"\n{sys.argv[1]}: {table.num_rows} rows, schema:")
print(table.schema.to_string(show_schema_metadata=False))
print("\nfirst rows:")
for row in table.slice(0, 5).to_pylist():
    f = row["features"]
    shown = "null" if f is None else f"[{', '.join(f'{v:.4f}' for v in f[:4])}, ...] ({len(f)} floats)"
    print(f"  {row['label']:<20} {row['path'].split('/')[-1]:<14} {shown}  error={row['error']}")
PY
