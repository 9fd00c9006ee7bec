"""The notebook's own stack as a script, against `pomona featurize`, on the same images and threads.

    .venv/bin/python bench/reference_stack.py --build build [--images 2000] [--threads 1 2]

Per image, exactly the notebook's code path: Pillow `Image.open(bytes).convert('RGB')
.resize((224, 224))` (default filter), `np.asarray` as float32, tf_keras `preprocess_input`;
`MobileNetV2(weights=None, include_top=True)` with the same seeded weights Pomona reads, cut at
`layers[-2]`; `model.predict` on batches of 32 images (the notebook's Arrow batches went through
predict's default batch_size of 32), TensorFlow limited to the thread count (intra- and inter-op);
the features written to Parquet, as the notebook's job ends. It runs in the bench venv
(.venv-bench: TensorFlow is never in .venv) under run_measured, so peak RSS is that process's
alone. `pomona featurize` runs on the same folder with the same --threads just before it.

img/s of the reference counts its loop only (read, decode, resize, predict, write), not
TensorFlow's import nor the model's construction, which flatters it; its wall time counts all.
The first 8 features of a separate check set are compared with Pomona's (max |diff|).
"""
import argparse
import io
import json
import os
import pathlib
import time

from measure import (BENCH_PYTHON, ROOT, bench_data, check_set, command_text, featurize, fruits, json_line,
                     max_difference, require_bench_venv, run_measured, save_result, seeded_weights)

BATCH = 32


def notebook_preprocess(content):
    """The notebook's per-image step."""
    import numpy as np
    from PIL import Image
    from tf_keras.applications.mobilenet_v2 import preprocess_input

    image = Image.open(io.BytesIO(content)).convert("RGB").resize((224, 224))
    return preprocess_input(np.asarray(image, dtype=np.float32))


def notebook_model(weights):
    from tf_keras.applications.mobilenet_v2 import MobileNetV2
    from tf_keras.models import Model

    model = MobileNetV2(weights=None, include_top=True)
    model.load_weights(str(weights))
    return Model(inputs=model.input, outputs=model.layers[-2].output)


def notebook_features(model, paths):
    import numpy as np

    features = []
    for start in range(0, len(paths), BATCH):
        batch = np.stack([notebook_preprocess(p.read_bytes()) for p in paths[start:start + BATCH]])
        features.extend(model.predict(batch, verbose=0))
    return features


def worker(args):
    """Runs in the bench venv: the reference stack over args.images, then the check set."""
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import pyarrow as pa
    import pyarrow.parquet as pq
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    model = notebook_model(args.weights)
    paths = sorted(args.images.rglob("*.jpg"))
    start = time.perf_counter()
    features = notebook_features(model, paths)
    pq.write_table(pa.table({"path": [str(p) for p in paths],
                             "features": pa.array([f.tolist() for f in features], pa.list_(pa.float32()))}),
                   args.output)
    seconds = time.perf_counter() - start
    check_paths = sorted(args.check_images.rglob("*.jpg"))
    difference = max_difference(check_paths, notebook_features(model, check_paths), args.check_features)
    print("reference-json: " + json.dumps({"images": len(paths), "seconds": seconds,
                                           "img_per_s": len(paths) / seconds, "max_abs_diff_vs_pomona": difference,
                                           "tensorflow": tf.__version__}))


def reference_run(data, images, weights, threads, check):
    cmd = [BENCH_PYTHON, pathlib.Path(__file__).resolve(), "--worker", "--images", images, "--weights", weights,
           "--threads", threads, "--output", data / "reference-out.parquet", "--check-images", check[0],
           "--check-features", check[1]]
    out, seconds, rss = run_measured(cmd)
    return {**json_line(out, "reference-json"), "wall_s": seconds, "peak_rss_mib": rss,
            "command": command_text(cmd)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--images", default="2000", help="count (driver) or folder (--worker)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    for hidden in ("--weights", "--output", "--check-images", "--check-features"):
        parser.add_argument(hidden, type=pathlib.Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.images, args.threads = pathlib.Path(args.images), args.threads[0]
        return worker(args)

    require_bench_venv("reference_stack")
    build = (ROOT / args.build).resolve()
    data = bench_data(build)
    weights = seeded_weights(data)
    images = fruits(data, int(args.images))
    check = check_set(build, data, weights)
    runs = []
    print(f"{'what':<58} {'threads':>7} {'img/s':>8} {'wall s':>7} {'peak RSS MiB':>13}")
    for threads in args.threads:
        pomona = featurize(build, images, weights, threads, data / "reference-pomona-out.parquet")
        reference = reference_run(data, images, weights, threads, check)
        runs.append({"threads": threads, "pomona": pomona, "reference": reference,
                     "speedup": pomona["img_per_s"] / reference["img_per_s"],
                     "rss_ratio": pomona["peak_rss_mib"] / reference["peak_rss_mib"]})
        for name, r in ((f"pomona featurize, {pomona['images']} fruits 100x100", pomona),
                        (f"notebook stack (Pillow + tf_keras predict), {reference['images']} fruits", reference)):
            print(f"{name:<58} {threads:>7} {r['img_per_s']:>8.1f} {r['wall_s']:>7.1f} {r['peak_rss_mib']:>13.0f}")
        print(f"  pomona / notebook stack: {runs[-1]['speedup']:.2f}x img/s (target >= 2), peak RSS "
              f"{runs[-1]['rss_ratio']:.2f} of it (target <= 0.5); notebook stack's features vs Pomona's: max "
              f"|diff| {reference['max_abs_diff_vs_pomona']:.2e}")
    save_result(build, "reference_stack", {"runs": runs})


if __name__ == "__main__":
    main()
