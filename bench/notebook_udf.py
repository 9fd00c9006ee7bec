"""The notebook's Scalar-Iterator pandas UDF against pomona.spark, both on Spark local[2].

    .venv/bin/python bench/notebook_udf.py --build build [--images 2000] [--tf-threads 1]

The same folder of Fruits-like 100x100 JPEGs, read with `spark.read.format("binaryFile")`, goes
through each side and is written to Parquet:
  notebook  its code unchanged: a pandas UDF over an iterator of Series of image bytes that builds
            MobileNetV2 (tf_keras, the same seeded weights, cut at layers[-2]) once per iterator,
            then per Arrow batch Pillow open + convert('RGB') + resize((224, 224)) +
            preprocess_input and model.predict; Spark's Parquet writer. Its Python workers run the
            bench venv's interpreter (TensorFlow is never in .venv).
  pomona    pomona.spark.featurize_to_parquet, as the job runs it.
Each side runs in its own driver process and Spark session with the same settings
(pomona.spark.tune_for_images: small file open cost, Arrow batches of 64 rows): a first job on
200 other images starts the JVM, the Python workers and their imports, then the timed job.
TensorFlow gets --tf-threads intra- and inter-op threads in each worker (default 1: local[2]
runs two tasks at once, one core each, as pomona.spark's tasks use spark.task.cpus = 1; 0 keeps
TensorFlow's default of every core per worker). Peak RSS is each side's largest Python worker
(VmHWM), sampled as spark_bench.py does.
"""
import argparse
import json
import os
import pathlib
import sys
import time

from measure import (BENCH_PYTHON, ROOT, bench_data, command_text, fruits, json_line, run_measured, require_bench_venv,
                     save_result, seeded_weights)

WARM_UP_IMAGES = 200


def notebook_featurize_udf(weights, tf_threads):
    """The notebook's UDF, with the seeded weights file in place of weights='imagenet'."""
    from typing import Iterator

    import pandas as pd
    from pyspark.sql.functions import pandas_udf

    def model_fn():
        from tf_keras.applications.mobilenet_v2 import MobileNetV2
        from tf_keras.models import Model
        model = MobileNetV2(weights=None, include_top=True)
        model.load_weights(weights)
        return Model(inputs=model.input, outputs=model.layers[-2].output)

    def preprocess(content):
        import io

        import numpy as np
        from PIL import Image
        from tf_keras.applications.mobilenet_v2 import preprocess_input
        img = Image.open(io.BytesIO(content)).convert("RGB").resize((224, 224))
        return preprocess_input(np.asarray(img, dtype=np.float32))

    def featurize_series(model, content_series):
        import numpy as np
        input = np.stack(content_series.map(preprocess))
        preds = model.predict(input, verbose=0)
        output = [p.flatten() for p in preds]
        return pd.Series(output)

    def limit_tensorflow_threads():
        """Not the notebook's: the bench's thread budget (TensorFlow refuses once it has run)."""
        import os
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf
        if tf_threads:
            try:
                tf.config.threading.set_intra_op_parallelism_threads(tf_threads)
                tf.config.threading.set_inter_op_parallelism_threads(tf_threads)
            except RuntimeError:
                pass  # this reused worker set them for an earlier task

    @pandas_udf("array<float>")
    def featurize_udf(content_series_iter: Iterator[pd.Series]) -> Iterator[pd.Series]:
        limit_tensorflow_threads()
        model = model_fn()
        for content_series in content_series_iter:
            yield featurize_series(model, content_series)

    return featurize_udf


def notebook_job(spark, images, weights, output, tf_threads):
    from pyspark.sql.functions import col
    df = (spark.read.format("binaryFile").option("pathGlobFilter", "*.jpg")
          .option("recursiveFileLookup", "true").load(str(images)))
    featurize_udf = notebook_featurize_udf(str(weights), tf_threads)
    df.select(col("path"), featurize_udf("content").alias("features")).write.mode("overwrite").parquet(str(output))


def pomona_job(spark, images, weights, output, tf_threads):
    import pomona.spark
    df = (spark.read.format("binaryFile").option("pathGlobFilter", "*.jpg")
          .option("recursiveFileLookup", "true").load(str(images)))
    pomona.spark.featurize_to_parquet(df, str(output), weights=str(weights))


def driver(args):
    """One side in one Spark session: the first job, then the timed one."""
    from spark_bench import WorkerRssSampler

    os.environ["PYSPARK_PYTHON"] = str(BENCH_PYTHON if args.side == "notebook" else sys.executable)
    from pyspark.sql import SparkSession

    import pomona.spark
    spark = (SparkSession.builder.master("local[2]").appName(f"bench-{args.side}")
             .config("spark.ui.enabled", "false").getOrCreate())
    pomona.spark.tune_for_images(spark)
    job = notebook_job if args.side == "notebook" else pomona_job
    output = args.output / args.side
    sampler = WorkerRssSampler()
    sampler.start()
    start = time.perf_counter()
    job(spark, args.warm_up_images, args.weights, output, args.tf_threads)
    warm_up_seconds = time.perf_counter() - start
    start = time.perf_counter()
    job(spark, args.images, args.weights, output, args.tf_threads)
    seconds = time.perf_counter() - start
    sampler.done.set()
    sampler.join()
    count = spark.read.parquet(str(output)).count()
    spark.stop()
    print("spark-side-json: " + json.dumps({
        "side": args.side, "images": count, "seconds": seconds, "img_per_s": count / seconds,
        "first_job_seconds": warm_up_seconds, "python_workers": len(sampler.peaks),
        "python_worker_peak_rss_mib": max(sampler.peaks.values(), default=0)}))


def max_difference(output):
    """Largest |notebook - pomona| over the features both sides wrote, rows matched by path."""
    import numpy as np
    import pyarrow.parquet as pq

    def features(side):
        table = pq.read_table(output / side, columns=["path", "features"]).to_pydict()
        return dict(zip(table["path"], table["features"]))
    notebook, pomona = features("notebook"), features("pomona")
    assert notebook.keys() == pomona.keys(), "the two sides featurized different images"
    return float(max(np.abs(np.asarray(notebook[p], np.float32) - np.asarray(pomona[p], np.float32)).max()
                     for p in notebook))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--images", default="2000", help="count (or, with --side, the folder)")
    parser.add_argument("--tf-threads", type=int, default=1)
    parser.add_argument("--side", choices=("notebook", "pomona"), help=argparse.SUPPRESS)
    for hidden in ("--weights", "--output", "--warm-up-images"):
        parser.add_argument(hidden, type=pathlib.Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        args.images = pathlib.Path(args.images)
        return driver(args)

    require_bench_venv("notebook_udf")
    build = (ROOT / args.build).resolve()
    data = bench_data(build)
    weights = seeded_weights(data)
    images = fruits(data, int(args.images))
    warm_up = fruits(data, WARM_UP_IMAGES)
    sides = {}
    for side in ("pomona", "notebook"):
        cmd = [sys.executable, pathlib.Path(__file__).resolve(), "--side", side, "--images", images, "--weights",
               weights, "--output", data / "spark-udf-out", "--warm-up-images", warm_up, "--tf-threads",
               args.tf_threads]
        out, wall, _ = run_measured(cmd)
        sides[side] = {**json_line(out, "spark-side-json"), "wall_s": wall, "command": command_text(cmd)}
        s = sides[side]
        print(f"{side:<9} Spark local[2], {s['images']} fruits 100x100: {s['img_per_s']:7.1f} img/s "
              f"(first job on {WARM_UP_IMAGES} images {s['first_job_seconds']:.1f} s), "
              f"{s['python_workers']} Python workers, largest peak RSS {s['python_worker_peak_rss_mib']:.0f} MiB")
    difference = max_difference(data / "spark-udf-out")
    speedup = sides["pomona"]["img_per_s"] / sides["notebook"]["img_per_s"]
    rss = sides["pomona"]["python_worker_peak_rss_mib"] / sides["notebook"]["python_worker_peak_rss_mib"]
    print(f"pomona.spark / notebook pandas UDF on local[2]: {speedup:.2f}x img/s (target >= 2); "
          f"Python worker peak RSS {rss:.2f} of the notebook's; features max |diff| {difference:.1e}")
    save_result(build, "notebook_udf", {"tf_threads": args.tf_threads, "sides": sides, "speedup": speedup,
                                        "worker_rss_ratio": rss, "max_abs_diff": difference})


if __name__ == "__main__":
    main()
