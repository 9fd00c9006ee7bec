"""Pomona inside Apache Spark: the C++ core runs in each executor's Python worker.

    df = (spark.read.format("binaryFile").option("pathGlobFilter", "*.jpg")
          .option("recursiveFileLookup", "true").load("s3a://bucket/photos/"))
    rows = pomona.spark.featurize(df)                 # path, label, features, error
    pca = pomona.spark.PCA(k=50).fit(rows)            # a pomona.PCA, same model as `pomona pca fit`
    pomona.spark.transform(rows, pca).write.parquet("out/")
    pomona.spark.featurize_to_parquet(df, "out/")       # rows written by the Python workers

All go through ``DataFrame.mapInArrow``: Arrow batches of at most
``spark.sql.execution.arrow.maxRecordsPerBatch`` rows reach the C++ core without copies, and each
Python worker loads the network once (cached per process, reused by every later task, as Spark
reuses its Python workers). Nothing is broadcast by hand: the weights file must be readable at the
same path on every executor, or be shipped with ``ship_weights=True`` (SparkContext.addFile).
"""
from __future__ import annotations

import hashlib
import os
import pickle
import re
from typing import Callable, Iterator, Optional

import pyarrow as pa
import pyarrow.fs
import pyarrow.parquet as pq

import pomona

__all__ = ["featurize", "featurizer", "featurize_to_parquet", "PCA", "transform", "projector",
           "write_parquet", "hadoop_glob", "tune_for_images", "ROW_DDL"]

BatchFunction = Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]

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


def featurizer(spark, path_col: str = "path", content_col: str = "content", *,
               weights: Optional[str] = None, alpha: float = 1.0, size: int = 224,
               threads: Optional[int] = None, batch: int = 4, label_from: str = "parent",
               ship_weights: bool = False) -> BatchFunction:
    """The function featurize() maps over Arrow batches of (path, content) rows, for
    write_parquet(). Options as featurize()'s; resolves (and ships) the weights now."""
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

    return featurize_batches


def featurize(df, path_col: str = "path", content_col: str = "content", **options):
    """Featurizes a DataFrame of (path, content) rows, e.g. spark.read.format("binaryFile"),
    into the CLI's rows: path (as Spark lists it), label (parent folder), features
    array<float> (null on error), error (null when fine). Lazy, like every transformation.

    Options: weights: a Keras MobileNetV2 .h5 (default: Keras' cache on the driver) readable by
    every executor at that path, or copied to them with ship_weights=True. alpha, size: the
    network. threads: threads each task uses (default spark.task.cpus, so that executor cores are
    not oversubscribed). batch: images per network call. label_from: "parent" or "none".
    Corrupt images become error rows; the job goes on.
    """
    function = featurizer(df.sparkSession, path_col, content_col, **options)
    return df.select(path_col, content_col).mapInArrow(function, ROW_DDL)


def featurize_to_parquet(df, output: str, path_col: str = "path", content_col: str = "content",
                         **options) -> int:
    """featurize(df, ...).write.parquet(output), faster: the Python workers that compute the rows
    write them (write_parquet), so 1280 floats a row never become Spark rows. Returns the rows
    written."""
    function = featurizer(df.sparkSession, path_col, content_col, **options)
    return write_parquet(df.select(path_col, content_col), output, function, pomona.ROW_SCHEMA)


def _output_filesystem(output: str):
    """(pyarrow filesystem, absolute path) of a Hadoop-style output URI or local path."""
    if "://" not in output and not output.startswith("file:"):
        return pyarrow.fs.LocalFileSystem(), os.path.abspath(output)
    # pyarrow names S3 's3'; Hadoop's connectors 's3a' and 's3n'.
    return pyarrow.fs.FileSystem.from_uri(re.sub(r"^s3[an]://", "s3://", output))


# The pomona command's Parquet settings (src/table/part_file.cc): row groups of 1024 rows (Arrow
# batches are small, row groups need not be), ZSTD level 1, dictionaries only for the columns of
# few distinct values (on the features they cost CPU and memory for nothing).
ROW_GROUP_ROWS = 1024
_WRITER_OPTIONS = dict(compression="zstd", compression_level=1, use_dictionary=["label", "error"])


def write_parquet(df, output: str, map_batches: BatchFunction, schema: pa.Schema) -> int:
    """Writes map_batches(each partition's Arrow batches of df) as Parquet files with `schema`
    under output (replaced), from the Python workers: the rows never cross back into the JVM.
    Returns the rows written.

    Commits like Hadoop's FileOutputCommitter (v1), which Spark's own writer uses: a task attempt
    writes output/_temporary/0/_temporary/attempt_<id>/part-<partition>.parquet and, once
    complete, renames it to output/_temporary/0/task_<partition>.parquet; after the job, the
    driver moves the successful tasks' files to output/part-<partition>.parquet and writes
    _SUCCESS. Names are per partition, so a rerun task (lost executor, speculation) replaces its
    own rows and never adds a copy. The driver and executors must share the filesystem (local,
    NFS, S3, HDFS: any pyarrow.fs URI; s3a:// is read as s3://).
    """
    filesystem, root = _output_filesystem(output)
    if filesystem.get_file_info(root).type != pyarrow.fs.FileType.NotFound:
        filesystem.delete_dir(root)
    job_dir = f"{root}/_temporary/0"
    filesystem.create_dir(f"{job_dir}/_temporary")

    def write_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext
        task = TaskContext.get()
        part = _PartFile(output, f"{job_dir}/_temporary/attempt_{task.taskAttemptId()}",
                         f"part-{task.partitionId():05d}.parquet", schema)
        for batch in map_batches(batches):
            part.add(batch)
        part.commit(f"{job_dir}/task_{task.partitionId():05d}.parquet")
        yield pa.RecordBatch.from_pydict({"partition": [task.partitionId()], "rows": [part.rows]},
                                         schema=_TASK_RESULT)

    tasks = df.mapInArrow(write_partition, "partition int, rows long").collect()
    written = [task.partition for task in tasks if task.rows]
    for partition in written:
        filesystem.move(f"{job_dir}/task_{partition:05d}.parquet",
                        f"{root}/part-{partition:05d}.parquet")
    if not written:  # readers need a file to know the columns
        pq.write_table(schema.empty_table(), f"{root}/part-00000.parquet", filesystem=filesystem,
                       **_WRITER_OPTIONS)
    filesystem.delete_dir(f"{root}/_temporary")
    with filesystem.open_output_stream(f"{root}/_SUCCESS"):
        pass
    return sum(task.rows for task in tasks)


_TASK_RESULT = pa.schema([("partition", pa.int32()), ("rows", pa.int64())])


class _PartFile:
    """One task attempt's Parquet file, opened at its first row, in row groups of
    ROW_GROUP_ROWS rows."""

    def __init__(self, output: str, attempt_dir: str, name: str, schema: pa.Schema):
        self.filesystem, _ = _output_filesystem(output)
        self.attempt_dir, self.path, self.schema = attempt_dir, f"{attempt_dir}/{name}", schema
        self.writer, self.pending, self.pending_rows, self.rows = None, [], 0, 0

    def add(self, batch: pa.RecordBatch) -> None:
        self.pending.append(batch)
        self.pending_rows += batch.num_rows
        if self.pending_rows >= ROW_GROUP_ROWS:
            self._flush()

    def commit(self, task_path: str) -> None:
        """Completes the file and publishes it as the task's output (when it has rows)."""
        self._flush()
        if self.writer is not None:
            self.writer.close()
            self.filesystem.move(self.path, task_path)
            self.filesystem.delete_dir(self.attempt_dir)

    def _flush(self) -> None:
        if self.pending_rows == 0:
            return
        if self.writer is None:
            self.filesystem.create_dir(self.attempt_dir)
            # malloc's pool, not pyarrow's mimalloc: mimalloc keeps ~50 MiB of the writer's
            # freed buffers resident in every worker.
            self.writer = pq.ParquetWriter(self.path, self.schema, filesystem=self.filesystem,
                                           memory_pool=pa.system_memory_pool(), **_WRITER_OPTIONS)
        table = pa.Table.from_batches(self.pending).cast(self.schema)
        self.writer.write_table(table, row_group_size=table.num_rows)
        self.rows += table.num_rows
        self.pending, self.pending_rows = [], 0


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


def projector(model: pomona.PCA, features_col: str = "features",
              output_col: str = "pca") -> BatchFunction:
    """The function transform() maps over Arrow batches, for write_parquet()."""
    state = pickle.dumps(model)

    def project(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        pca = _cached_model(state)
        for rows in batches:
            projections = pca.transform(rows.column(features_col))
            yield pa.RecordBatch.from_arrays(rows.columns + [projections],
                                             names=rows.schema.names + [output_col])

    return project


def transform(df, model: pomona.PCA, features_col: str = "features", output_col: str = "pca"):
    """df with one more column, output_col array<float>: each row's projection on the fitted
    model's k components (null where features is null)."""
    from pyspark.sql.types import ArrayType, FloatType, StructField, StructType

    schema = StructType(df.schema.fields + [StructField(output_col, ArrayType(FloatType()))])
    return df.mapInArrow(projector(model, features_col, output_col), schema)
