"""Pomona inside Apache Spark: the C++ core runs in each executor's Python worker.

    df = (spark.read.format("binaryFile").option("pathGlobFilter", "*.jpg")
          .option("recursiveFileLookup", "true").load("s3a://bucket/photos/"))
    rows = pomona.spark.featurize(df)                 # path, label, features, error
    pca = pomona.spark.PCA(k=50).fit(rows)            # a pomona.PCA, same model as `pomona pca fit`
    pomona.spark.transform(rows, pca).write.parquet("out/")

Both go through ``DataFrame.mapInArrow``: Arrow batches of at most
``spark.sql.execution.arrow.maxRecordsPerBatch`` rows reach the C++ core without copies, and each
Python worker loads the network once (cached per process, reused by every later task, as Spark
reuses its Python workers). Nothing is broadcast by hand: the weights file must be readable at the
same path on every executor, or be shipped with ``ship_weights=True`` (SparkContext.addFile).
"""
from __future__ import annotations

import hashlib
import os
import pickle
from typing import Iterator, Optional

import pyarrow as pa

import pomona

__all__ = ["featurize", "PCA", "transform", "hadoop_glob", "tune_for_images", "ROW_DDL"]

# The CLI's columns as Spark types.
ROW_DDL = "path string, label string, features array<float>, error string"


def hadoop_glob(patterns: str) -> str:
    """The CLI's --glob (comma-separated, case-insensitive: "*.jpg,*.png") as one pattern for
    binaryFile's case-sensitive pathGlobFilter: "{*.[jJ][pP][gG],*.[pP][nN][gG]}"."""
    def any_case(pattern: str) -> str:
        return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in pattern)
    parts = [any_case(p.strip()) for p in patterns.split(",") if p.strip()]
    return parts[0] if len(parts) == 1 else "{" + ",".join(parts) + "}"


# Spark's defaults assume big files: each file "costs" 4 MB when files are packed into input
# partitions, which cuts a folder of 5 kB photos into tasks of ~30 images, and the per-task
# start-up then idles the Python workers (Spark local[2] ran at 0.67 of the CLI's rate; with these
# settings 0.88, bench/spark_bench.py). Smaller Arrow batches bound a worker's memory (image bytes
# + features) and let the JVM read the next batch while Python computes this one.
IMAGE_SETTINGS = {
    "spark.sql.files.openCostInBytes": "131072",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "64",
}


def tune_for_images(spark) -> None:
    """Sets IMAGE_SETTINGS on the session, except those given when it was launched (--conf)."""
    launched_with = spark.sparkContext.getConf()
    for key, value in IMAGE_SETTINGS.items():
        if not launched_with.contains(key):
            spark.conf.set(key, value)


def _executor_path(path: str, shipped: bool) -> str:
    """Where a file the driver named is on this executor: SparkFiles' copy when it was shipped."""
    if shipped:
        from pyspark import SparkFiles
        return SparkFiles.get(os.path.basename(path))
    return path


def featurize(df, path_col: str = "path", content_col: str = "content", *,
              weights: Optional[str] = None, alpha: float = 1.0, size: int = 224,
              threads: Optional[int] = None, batch: int = 4, label_from: str = "parent",
              ship_weights: bool = False):
    """Featurizes a DataFrame of (path, content) rows, e.g. spark.read.format("binaryFile"),
    into the CLI's rows: path (as Spark lists it), label (parent folder), features
    array<float> (null on error), error (null when fine). Lazy, like every transformation.

    weights: a Keras MobileNetV2 .h5 (default: Keras' cache on the driver) readable by every
    executor at that path, or copied to them with ship_weights=True. threads: threads each task
    uses (default spark.task.cpus, so that executor cores are not oversubscribed). batch: images
    per network call. Corrupt images become error rows; the job goes on.
    """
    spark = df.sparkSession
    weights_path = pomona.resolve_weights(weights, alpha, size)
    if ship_weights:
        spark.sparkContext.addFile(weights_path)
    task_threads = int(threads or spark.conf.get("spark.task.cpus", "1"))

    def featurize_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        local_weights = _executor_path(weights_path, ship_weights)
        for input_batch in batches:
            yield pomona.featurize_batch(
                input_batch.column(content_col), paths=input_batch.column(path_col),
                weights=local_weights, alpha=alpha, size=size, threads=task_threads, batch=batch,
                label_from=label_from)

    return df.select(path_col, content_col).mapInArrow(featurize_batches, ROW_DDL)


class PCA:
    """Exact PCA over a DataFrame column of feature arrays: each partition accumulates its rows
    in the C++ accumulator, the driver merges the partial states and eigen-decomposes once. The
    result is a fitted pomona.PCA; its save() writes the file `pomona pca fit` writes, with the
    same model for the same rows. Null rows (error rows) are skipped."""

    def __init__(self, k: Optional[int] = None, variance: Optional[float] = None,
                 center: bool = False, features_col: str = "features"):
        pomona.PCA(k=k, variance=variance, center=center)  # validates the options here
        self.k, self.variance, self.center, self.features_col = k, variance, center, features_col

    def fit(self, df) -> pomona.PCA:
        k, variance, center, column = self.k, self.variance, self.center, self.features_col

        def partial_states(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            partial = pomona.PCA(k=k, variance=variance, center=center)
            for features in batches:
                partial.partial_fit(features.column(column))
            yield pa.RecordBatch.from_pydict({"state": [pickle.dumps(partial)]},
                                             schema=pa.schema([("state", pa.binary())]))

        states = df.select(column).mapInArrow(partial_states, "state binary").collect()
        merged = pomona.PCA(k=k, variance=variance, center=center)
        for row in states:
            merged.merge(pickle.loads(row.state))
        return merged.finalize()


_models_by_digest: dict = {}


def _cached_model(state: bytes) -> pomona.PCA:
    """The model of a pickled pomona.PCA, unpickled once per Python worker."""
    digest = hashlib.sha256(state).hexdigest()
    if digest not in _models_by_digest:
        _models_by_digest.clear()
        _models_by_digest[digest] = pickle.loads(state)
    return _models_by_digest[digest]


def transform(df, model: pomona.PCA, features_col: str = "features", output_col: str = "pca"):
    """df with one more column, output_col array<float>: each row's projection on the fitted
    model's k components (null where features is null)."""
    from pyspark.sql.types import ArrayType, FloatType, StructField, StructType

    state = pickle.dumps(model)
    schema = StructType(df.schema.fields + [StructField(output_col, ArrayType(FloatType()))])

    def project(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        pca = _cached_model(state)
        for rows in batches:
            projections = pca.transform(rows.column(features_col))
            yield pa.RecordBatch.from_arrays(rows.columns + [projections],
                                             names=rows.schema.names + [output_col])

    return df.mapInArrow(project, schema)
