"""Pomona inside Apache Spark: the C++ core runs in each executor's Python worker.

    df = (spark.read.format("binaryFile").option("pathGlobFilter", "*.jpg")
          .option("recursiveFileLookup", "true").load("s3a://bucket/photos/"))
    rows = pomona.spark.featurize(df)                 # path, label, features, error
    pca = pomona.spark.PCA(k=50).fit(rows)            # a PCAModel; .pca: `pomona pca fit`'s model
    pca.setOutputType("array").transform(rows).write.parquet("out/")
    pomona.spark.featurize_to_parquet(df, "out/")       # rows written by the Python workers

S3 without an S3 connector in Spark (no hadoop-aws): the driver lists with Arrow, the executors
read the objects and write the output through pomona.s3 (the same options as the pomona command):

    s3 = pomona.spark.S3Options(endpoint="http://minio:9000")   # or S3Options(): AWS defaults
    images = pomona.spark.list_images(spark, "s3://bucket/photos/", "*.jpg", s3)
    pomona.spark.featurize_to_parquet(images, "s3://bucket/features/", content_col=None, s3=s3)

Featurizer, PCA and PCAModel are pyspark.ml stages (pomona.spark.ml): Params, Pipelines, save and
load as Spark ML's own stages. They run the same code through Arrow UDFs, which leave the
DataFrame's other columns in the JVM.

The functions go through ``DataFrame.mapInArrow``: Arrow batches of at most
``spark.sql.execution.arrow.maxRecordsPerBatch`` rows reach the C++ core without copies, and each
Python worker loads the network once (cached per process, reused by every later task, as Spark
reuses its Python workers). Nothing is broadcast by hand: the weights file must be readable at the
same path on every executor, or be shipped with ``ship_weights=True`` (SparkContext.addFile).
"""
from __future__ import annotations

import concurrent.futures
import itertools
import json
import os
import uuid
from typing import Callable, Iterator, List, Optional

import pyarrow as pa
import pyarrow.fs
import pyarrow.parquet as pq

import pomona
import pomona.s3
from pomona.s3 import S3Options

__all__ = ["featurize", "featurizer", "featurize_to_parquet", "list_images", "task_count",
           "Featurizer", "PCA", "PCAModel", "transform", "projector", "write_parquet",
           "read_written", "hadoop_glob", "tune_for_images", "ROW_DDL", "S3Options"]

# pomona.spark.ml's names, imported when first used: it imports pyspark.ml, which the Python
# workers of featurize() and write_parquet() need not load.
_ML_NAMES = ("Featurizer", "PCA", "PCAModel", "transform", "projector")


def __getattr__(name: str):
    if name in _ML_NAMES:
        from pomona.spark import ml
        return getattr(ml, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


def featurizer(spark, path_col: str = "path", content_col: Optional[str] = "content", *,
               weights: Optional[str] = None, alpha: float = 1.0, size: int = 224,
               threads: int = 0, batch: int = 1, label_from: str = "parent",
               ship_weights: bool = False, s3: Optional[S3Options] = None,
               io_threads: int = 8, precision: str = "fp32") -> BatchFunction:
    """The function featurize() maps over Arrow batches of (path, content) rows, for
    write_parquet(). Options as featurize()'s; resolves (and ships) the weights now."""
    weights_path = pomona.resolve_weights(weights, alpha, size)
    if ship_weights:
        spark.sparkContext.addFile(weights_path)
    pomona._pomona.check_batch(batch)  # a bad value fails here, with the CLI's words
    task_threads = (pomona._pomona.check_threads(threads)
                    or int(spark.conf.get("spark.task.cpus", "1")))

    def featurize_contents(contents, paths) -> pa.RecordBatch:
        return pomona.featurize_batch(
            contents, paths=paths, weights=_executor_path(weights_path, ship_weights), alpha=alpha,
            size=size, threads=task_threads, batch=batch, label_from=label_from,
            precision=precision)

    def featurize_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for input_batch in batches:
            yield featurize_contents(input_batch.column(content_col), input_batch.column(path_col))

    def fetch_and_featurize_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        # The next batch's objects download while this one is featurized.
        pending = None
        for input_batch in batches:
            fetching = _fetch_objects(input_batch.column(path_col).to_pylist(), s3, io_threads)
            if pending is not None:
                yield _featurize_fetched(*pending, featurize_contents)
            pending = (input_batch.column(path_col), fetching)
        if pending is not None:
            yield _featurize_fetched(*pending, featurize_contents)

    def featurize_listed_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        # Paths only (list_images()): the C++ core reads local files itself; S3 objects are
        # fetched here, with the options s3.
        batches = iter(batches)
        first = next(batches, None)
        if first is None:
            return
        batches = itertools.chain([first], batches)
        if pomona.s3.is_s3(first.column(path_col)[0].as_py()):
            yield from fetch_and_featurize_batches(batches)
        else:
            for input_batch in batches:
                yield featurize_contents(input_batch.column(path_col), None)

    return featurize_batches if content_col else featurize_listed_batches


_fetch_pools: dict = {}


def _fetch_objects(uris: List[str], s3: Optional[S3Options], io_threads: int):
    """Futures of each object's bytes (or the OSError that reading it ended with, after the
    retries), read with io_threads concurrent GETs shared by this Python worker's tasks."""
    if io_threads not in _fetch_pools:
        _fetch_pools[io_threads] = concurrent.futures.ThreadPoolExecutor(io_threads)

    def read(uri: str):
        try:
            filesystem, path = pomona.s3.filesystem_for(uri, s3)
            with filesystem.open_input_stream(path, compression=None) as stream:
                return stream.readall()
        except OSError as error:
            return error

    return [_fetch_pools[io_threads].submit(read, uri) for uri in uris]


def _featurize_fetched(paths: pa.Array, fetching, featurize_contents) -> pa.RecordBatch:
    """Rows for the fetched objects; one that could not be read is an error row saying why."""
    contents = [future.result() for future in fetching]
    failed = {i: f"cannot read {paths[i].as_py()}: {' '.join(str(content).split())}"
              for i, content in enumerate(contents) if isinstance(content, OSError)}
    # An unread object goes in empty, for the label and a row in its place; its error replaced.
    rows = featurize_contents(
        pa.array([b"" if i in failed else content for i, content in enumerate(contents)],
                 pa.binary()), paths)
    if not failed:
        return rows
    errors = [failed.get(i, error) for i, error in enumerate(rows.column("error").to_pylist())]
    return pa.RecordBatch.from_arrays(rows.columns[:3] + [pa.array(errors, pa.string())],
                                      schema=rows.schema)


def list_images(spark, uri: str, glob: str = "*.jpg,*.jpeg,*.png",
                s3: Optional[S3Options] = None):
    """The images under uri, listed by the driver as the pomona command lists (names starting
    with "." or "_" skipped, glob's comma-separated patterns case-insensitive as the CLI's --glob,
    byte-wise order), as a DataFrame of (path, size) rows for featurize(df, content_col=None,
    ...): the executors read the files
    themselves, so no image byte crosses the JVM, and Spark needs no S3 connector (hadoop-aws).
    uri: a local or shared folder (path or file://), listed by the C++ core, or an S3 prefix,
    listed with Arrow and the options s3. Tasks are sized as Spark's file sources size them
    (task_count). Raises pomona.PomonaError (local) or pomona.s3.S3Error when uri cannot be
    listed."""
    if pomona.s3.is_s3(uri):
        objects = pomona.s3.list_images(uri, glob, s3)
    else:
        objects = pomona._pomona.list_inputs(uri, glob)
    return spark.createDataFrame(
        spark.sparkContext.parallelize(objects, task_count(spark, [size for _, size in objects])),
        "path string, size long")


def task_count(spark, sizes: List[int]) -> int:
    """Tasks for files of these sizes, as Spark's file sources cut their input partitions (each
    file costs its size plus spark.sql.files.openCostInBytes, a partition holds at most
    spark.sql.files.maxPartitionBytes, and at least the cores get a share), rounded up to a
    multiple of the cores: equal tasks end together, no core idles through a lone last task."""
    conf = spark._jsparkSession.sessionState().conf()
    cores = spark.sparkContext.defaultParallelism
    open_cost = conf.filesOpenCostInBytes()
    total = sum(sizes) + open_cost * len(sizes)
    split = min(conf.filesMaxPartitionBytes(), max(open_cost, -(-total // cores)))
    tasks = -(-total // split)
    return max(1, min(len(sizes), cores * -(-tasks // cores)))


def featurize(df, path_col: str = "path", content_col: Optional[str] = "content", **options):
    """Featurizes a DataFrame of (path, content) rows, e.g. spark.read.format("binaryFile"),
    into the CLI's rows: path (as Spark lists it), label (parent folder), features
    array<float> (null on error), error (null when fine). Lazy, like every transformation.
    With content_col=None the rows hold only paths (list_images()) and the executors read each
    object themselves, io_threads GETs at a time, through pomona.s3 with the options s3.

    Options: weights: a Keras MobileNetV2 .h5 (default: Keras' cache on the driver) readable by
    every executor at that path, or copied to them with ship_weights=True. alpha, size: the
    network. threads: threads each task uses (0, the default: spark.task.cpus, all the cores a
    task has, so that executor cores are not oversubscribed). batch: images per network call (1,
    as the CLI's: fastest). label_from: "parent" or "none".
    precision: "fp32" or "bf16", as pomona.featurize_batch's.
    Corrupt images become error rows; the job goes on.
    """
    function = featurizer(df.sparkSession, path_col, content_col, **options)
    return df.select(*_input_columns(path_col, content_col)).mapInArrow(function, ROW_DDL)


def _input_columns(path_col: str, content_col: Optional[str]) -> List[str]:
    return [path_col, content_col] if content_col else [path_col]


def featurize_to_parquet(df, output: str, path_col: str = "path",
                         content_col: Optional[str] = "content", **options) -> int:
    """featurize(df, ...).write.parquet(output), faster: the Python workers that compute the rows
    write them (write_parquet), so 1280 floats a row never become Spark rows. Returns the rows
    written."""
    function = featurizer(df.sparkSession, path_col, content_col, **options)
    return write_parquet(df.select(*_input_columns(path_col, content_col)), output, function,
                         pomona.ROW_SCHEMA, s3=options.get("s3"))


def _output_filesystem(output: str, s3: Optional[S3Options] = None):
    """(pyarrow filesystem, absolute path) of a Hadoop-style output URI or local path; S3 (s3://,
    Hadoop's s3a:// and s3n://) with the options s3."""
    if pomona.s3.is_s3(output):
        return pomona.s3.filesystem_for(output, s3)
    if "://" not in output and not output.startswith("file:"):
        return pyarrow.fs.LocalFileSystem(), os.path.abspath(output)
    return pyarrow.fs.FileSystem.from_uri(output)


# The pomona command's Parquet settings (src/table/part_file.cc): row groups of 1024 rows (Arrow
# batches are small, row groups need not be), ZSTD level 1, dictionaries only for the columns of
# few distinct values (on the features they cost CPU and memory for nothing).
ROW_GROUP_ROWS = 1024
_WRITER_OPTIONS = dict(compression="zstd", compression_level=1, use_dictionary=["label", "error"])
# The pomona command's manifest of a folder output (src/table/resumable_output.cc).
MANIFEST_NAME = "_pomona_manifest.jsonl"


def write_parquet(df, output: str, map_batches: BatchFunction, schema: pa.Schema,
                  s3: Optional[S3Options] = None) -> int:
    """Writes map_batches(each partition's Arrow batches of df) as Parquet files with `schema`
    under output (replaced), from the Python workers: the rows never cross back into the JVM.
    Returns the rows written. The driver and executors must share the filesystem (local, NFS,
    HDFS, S3: any pyarrow.fs URI; s3a:// is read as s3://, with the options s3).

    Commits like Hadoop's FileOutputCommitter (v1), which Spark's own writer uses: a task attempt
    writes output/_temporary/0/_temporary/attempt_<id>/part-<partition>.parquet and, once
    complete, renames it to output/_temporary/0/task_<partition>.parquet; after the job, the
    driver moves the successful tasks' files to output/part-<partition>.parquet and writes
    _SUCCESS. Names are per partition, so a rerun task (lost executor, speculation) replaces its
    own rows and never adds a copy.

    On S3, where a rename is a copy, see _write_parquet_s3.
    """
    filesystem, root = _output_filesystem(output, s3)
    if isinstance(filesystem, pyarrow.fs.S3FileSystem):
        return _write_parquet_s3(df, output, map_batches, schema, s3)
    if filesystem.get_file_info(root).type != pyarrow.fs.FileType.NotFound:
        filesystem.delete_dir(root)
    job_dir = f"{root}/_temporary/0"
    filesystem.create_dir(f"{job_dir}/_temporary")

    def write_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext
        task = TaskContext.get()
        attempt_dir = f"{job_dir}/_temporary/attempt_{task.taskAttemptId()}"
        task_path = f"{job_dir}/task_{task.partitionId():05d}.parquet"
        attempt_filesystem, _ = _output_filesystem(output, s3)
        attempt_filesystem.create_dir(attempt_dir)
        part = _PartFile(attempt_filesystem, f"{attempt_dir}/part-{task.partitionId():05d}.parquet",
                         schema)
        if part.write(map_batches(batches)):
            attempt_filesystem.move(part.path, task_path)
        attempt_filesystem.delete_dir(attempt_dir)
        yield _task_result(task.partitionId(), part.rows, task_path)

    tasks = df.mapInArrow(write_partition, _TASK_RESULT_DDL).collect()
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


def _write_parquet_s3(df, output: str, map_batches: BatchFunction, schema: pa.Schema,
                      s3: Optional[S3Options]) -> int:
    """write_parquet on S3, where objects appear whole when their upload completes and nothing
    renames: each task attempt writes output/part-<partition>-<job>-<attempt>.parquet, names no
    other attempt or run uses. After the tasks the driver writes _pomona_manifest.jsonl (each
    successful attempt's file and rows, the pomona command's format), then _SUCCESS, and only
    then removes everything else under output: the previous result and the files of failed
    attempts. It removes the previous _SUCCESS first, so a run that fails leaves no _SUCCESS,
    and part files no manifest lists, which the next run removes."""
    filesystem, root = _output_filesystem(output, s3)
    job = uuid.uuid4().hex[:12]
    if _exists(filesystem, f"{root}/_SUCCESS"):
        filesystem.delete_file(f"{root}/_SUCCESS")

    def write_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext
        task = TaskContext.get()
        name = f"part-{task.partitionId():05d}-{job}-{task.taskAttemptId()}.parquet"
        attempt_filesystem, _ = _output_filesystem(output, s3)
        part = _PartFile(attempt_filesystem, f"{root}/{name}", schema)
        part.write(map_batches(batches))
        yield _task_result(task.partitionId(), part.rows, name)

    tasks = df.mapInArrow(write_partition, _TASK_RESULT_DDL).collect()
    parts = sorted((task.partition, task.file, task.rows) for task in tasks if task.rows)
    if not parts:  # readers need a file to know the columns
        name = f"part-00000-{job}.parquet"
        pq.write_table(schema.empty_table(), f"{root}/{name}", filesystem=filesystem,
                       **_WRITER_OPTIONS)
        parts = [(0, name, 0)]
    manifest = "".join(json.dumps({"file": name, "rows": rows}) + "\n" for _, name, rows in parts)
    with filesystem.open_output_stream(f"{root}/{MANIFEST_NAME}") as stream:
        stream.write(manifest.encode())
    with filesystem.open_output_stream(f"{root}/_SUCCESS"):
        pass
    published = {name for _, name, _ in parts} | {MANIFEST_NAME, "_SUCCESS"}
    leftovers = [entry for entry in
                 filesystem.get_file_info(pyarrow.fs.FileSelector(root, recursive=True))
                 if entry.path[len(root) + 1:].split("/")[0] not in published]
    for entry in leftovers:
        if entry.type == pyarrow.fs.FileType.File:
            filesystem.delete_file(entry.path)
    # Then the folders, deepest first: Arrow keeps an emptied folder as a marker object.
    for entry in sorted(leftovers, key=lambda entry: -len(entry.path)):
        if entry.type == pyarrow.fs.FileType.Directory and _exists(filesystem, entry.path):
            filesystem.delete_dir(entry.path)
    return sum(rows for _, _, rows in parts)


def _exists(filesystem, path: str) -> bool:
    return filesystem.get_file_info(path).type != pyarrow.fs.FileType.NotFound


def read_written(output: str, columns: Optional[List[str]] = None,
                 s3: Optional[S3Options] = None) -> pa.Table:
    """The rows write_parquet wrote under output: the files its manifest lists where there is
    one (S3), else the folder's Parquet files (names starting with "." or "_" skipped)."""
    import pyarrow.dataset as ds
    filesystem, root = _output_filesystem(output, s3)
    manifest = f"{root}/{MANIFEST_NAME}"
    if _exists(filesystem, manifest):
        with filesystem.open_input_stream(manifest) as stream:
            names = [json.loads(line)["file"] for line in stream.readall().decode().splitlines()]
        source = [f"{root}/{name}" for name in names]
    else:
        source = root
    return ds.dataset(source, filesystem=filesystem, format="parquet").to_table(columns=columns)


_TASK_RESULT_DDL = "partition int, rows long, file string"
_TASK_RESULT = pa.schema([("partition", pa.int32()), ("rows", pa.int64()), ("file", pa.string())])


def _task_result(partition: int, rows: int, file: str) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({"partition": [partition], "rows": [rows], "file": [file]},
                                      schema=_TASK_RESULT)


class _PartFile:
    """One task attempt's Parquet file at path, opened at its first row, in row groups of
    ROW_GROUP_ROWS rows."""

    def __init__(self, filesystem, path: str, schema: pa.Schema):
        self.filesystem, self.path, self.schema = filesystem, path, schema
        self.writer, self.pending, self.pending_rows, self.rows = None, [], 0, 0

    def write(self, batches: Iterator[pa.RecordBatch]) -> bool:
        """Writes every batch and completes the file; whether there was a row (and so a file)."""
        for batch in batches:
            self.pending.append(batch)
            self.pending_rows += batch.num_rows
            if self.pending_rows >= ROW_GROUP_ROWS:
                self._flush()
        self._flush()
        if self.writer is None:
            return False
        self.writer.close()
        return True

    def _flush(self) -> None:
        if self.pending_rows == 0:
            return
        if self.writer is None:
            # malloc's pool, not pyarrow's mimalloc: mimalloc keeps ~50 MiB of the writer's
            # freed buffers resident in every worker.
            self.writer = pq.ParquetWriter(self.path, self.schema, filesystem=self.filesystem,
                                           memory_pool=pa.system_memory_pool(), **_WRITER_OPTIONS)
        table = pa.Table.from_batches(self.pending).cast(self.schema)
        self.writer.write_table(table, row_group_size=table.num_rows)
        self.rows += table.num_rows
        self.pending, self.pending_rows = [], 0
