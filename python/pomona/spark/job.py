"""The Pomona Spark job: images under --input -> Parquet rows under --output [+ a PCA model].

    python -m pomona.spark.job --input photos/ --output out/ [--pca-k 50] [--master local[*]]
    spark-submit --master spark://host:7077 $(python -c 'import pomona.spark.job as j; print(j.__file__)') \
        --input photos/ --output out/

Writes, from the Python workers that compute the rows (pomona.spark.write_parquet, whose commit
protocol is Spark's: a retried task never duplicates rows):
  OUTPUT/features/          part-*.parquet + _SUCCESS: path, label, features, error [, pca]
  OUTPUT/pca_model.parquet  with --pca-k/--pca-variance: the model file `pomona pca fit` writes
and prints a summary. Corrupt images are error rows; the job succeeds.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import pyarrow as pa

import pomona
import pomona.spark


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m pomona.spark.job", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", required=True, help="folder (any Hadoop URI), listed recursively")
    parser.add_argument("--output", required=True, help="output folder (replaced)")
    parser.add_argument("--glob", default="*.jpg,*.jpeg,*.png",
                        help="file-name patterns, comma-separated, case-insensitive")
    parser.add_argument("--weights", help="Keras MobileNetV2 weights .h5 (default: Keras' cache)")
    parser.add_argument("--alpha", type=float, default=1.0)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=4, help="images per network call")
    parser.add_argument("--threads-per-task", type=int,
                        help="threads each task uses (default: spark.task.cpus)")
    parser.add_argument("--ship-weights", action="store_true",
                        help="copy the weights to the executors (SparkContext.addFile)")
    pca = parser.add_mutually_exclusive_group()
    pca.add_argument("--pca-k", type=int, help="fit a PCA with this many components")
    pca.add_argument("--pca-variance", type=float,
                     help="fit a PCA keeping this fraction of the variance (0-1]")
    parser.add_argument("--pca-center", action="store_true", help="project (x - mean)")
    parser.add_argument("--master", help="Spark master (default: spark-submit's, else local[*])")
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                        help="extra Spark setting, repeatable")
    return parser.parse_args(argv)


def spark_session(args):
    from pyspark.sql import SparkSession

    # Python workers run this interpreter (where pomona is installed) unless told otherwise.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("pomona")
    if args.master:
        builder = builder.master(args.master)
    elif "PYSPARK_GATEWAY_PORT" not in os.environ:  # not under spark-submit, which sets the master
        builder = builder.master("local[*]")
    for setting in args.conf:
        key, _, value = setting.partition("=")
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    pomona.spark.tune_for_images(spark)
    return spark


def run(args) -> int:
    spark = spark_session(args)
    start = time.monotonic()
    images = (spark.read.format("binaryFile")
              .option("pathGlobFilter", pomona.spark.hadoop_glob(args.glob))
              .option("recursiveFileLookup", "true")
              .load(args.input))
    options = dict(weights=args.weights, alpha=args.alpha, size=args.size,
                   threads=args.threads_per_task, batch=args.batch, ship_weights=args.ship_weights)
    features_dir = os.path.join(args.output, "features")
    model = None
    if args.pca_k is None and args.pca_variance is None:
        pomona.spark.featurize_to_parquet(images, features_dir, **options)
    else:
        from pyspark import StorageLevel
        # Featurized once, read by the fit and by the write.
        rows = pomona.spark.featurize(images, **options).persist(StorageLevel.MEMORY_AND_DISK)
        model = pomona.spark.PCA(k=args.pca_k, variance=args.pca_variance,
                                 center=args.pca_center).fit(rows)
        os.makedirs(args.output, exist_ok=True)
        model.save(os.path.join(args.output, "pca_model.parquet"))
        pomona.spark.write_parquet(rows, features_dir, pomona.spark.projector(model),
                                   pomona.ROW_SCHEMA.append(pa.field("pca", pa.list_(pa.float32()))))
    seconds = time.monotonic() - start

    from pyspark.sql import functions as F
    written = spark.read.parquet(features_dir)
    counts = written.agg(F.count("*").alias("images"), F.count("error").alias("errors"),
                         F.countDistinct("label").alias("labels")).first()
    print(f"pomona spark: {counts.images} images, {counts.errors} errors, {counts.labels} labels, "
          f"{seconds:.2f} s, {counts.images / seconds if seconds else 0:.1f} img/s -> {features_dir}")
    for row in written.where("error is not null").select("path", "error").limit(10).collect():
        print(f"  error: {row.path}: {row.error}")
    if model is not None:
        ratio = float(model.explained_variance_ratio_[: model.model.k].sum())
        print(f"pomona spark: PCA k={model.model.k} of {model.model.dim} from {model.count} rows, "
              f"explained variance {ratio:.4f} -> {os.path.join(args.output, 'pca_model.parquet')}")
    spark.stop()
    return 0


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run(args)
    except pomona.PomonaError as error:
        print(f"pomona spark: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
