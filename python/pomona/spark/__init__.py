"""Pomona inside Apache Spark: the C++ core runs in each executor's Python worker.

    df = (spark.read.format("binaryFile").option("pathGlobFilter", "*.jpg")
          .option("recursiveFileLookup", "true").load("s3a://bucket/photos/"))
    rows = pomona.spark.featurize(df)                 # path, label, features, error
    pca = pomona.spark.PCA(k=50).fit(rows)            # a PCAModel; .pca: `pomona pca fit`'s model
    pca.setOutputType("array").transform(rows).write.parquet("out/")
    pomona.spark.featurize_to_parquet(df, "out/")       # rows written by the Python workers

S3 without an S3 connector in Spark (no hadoop-aws): the driver lists with the C++ core, the
executors read the objects and write the output through it, with the pomona command's options:

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
What is Spark's stays here (task attempts, the driver's final moves); listing, S3 settings, reads,
the Parquet layout and the manifest are the C++ core's (pomona._pomona).
"""
from __future__ import annotations

import itertools
import os
import shutil
import uuid
from typing import Callable, Iterator, List, Optional, Tuple

import pyarrow as pa
import pyarrow.parquet as pq

import pomona
from pomona import _pomona
from pomona._pomona import S3Options

__all__ = ["featurize", "featurizer", "featurize_to_parquet", "list_images", "list_objects",
           "images_dataframe", "task_count", "Featurizer", "PCA", "PCAModel", "transform",
           "projector", "write_parquet", "read_written", "hadoop_glob", "tune_for_images", "is_s3",
           "ROW_DDL", "S3Options"]

# pomona.spark.ml's names, imported when first used: it imports pyspark.ml, which the Python
# workers of featurize() and write_parquet() need not load.
_ML_NAMES = ("Featurizer", "PCA", "PCAModel", "transform", "projector")


def __getattr__(name: str):
    if name in _ML_NAMES:
        from pomona.spark import ml
        return getattr(ml, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> List[str]:
    """The API (__all__) and the submodules, not the modules this one imports."""
    return sorted(set(__all__) | {"job", "ml", "session"})


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


def _core_uri(uri: str) -> str:
    """uri as the C++ core names it: Hadoop's s3a:// and s3n:// are its s3://."""
    return "s3://" + uri[6:] if uri[:6].lower() in ("s3a://", "s3n://") else uri


def is_s3(uri: str) -> bool:
    """Whether uri is an S3 URI (s3://, or Hadoop's s3a:// and s3n://)."""
    return _core_uri(uri)[:5].lower() == "s3://"


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


# Each task's read-ahead holds at most this many bytes fetched and not yet featurized (one Python
# worker per task slot, so an executor holds this times its slots); the command's holds 256 MiB.
TASK_BYTES_AHEAD = 64 << 20


def featurizer(spark, path_col: str = "path", content_col: Optional[str] = "content", *,
               weights: Optional[str] = None, alpha: float = 1.0, size: int = 224,
               threads: int = 0, batch: int = 1, label_from: str = "parent",
               ship_weights: bool = False, s3: Optional[S3Options] = None,
               io_threads: int = _pomona.READ_AHEAD_MAX_THREADS,
               precision: str = "fp32") -> BatchFunction:
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

    def fetch_and_featurize_batches(batches: List[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        # One read-ahead over the task's objects (their paths and sizes are small): as many GETs
        # in flight as the latency needs, up to io_threads, the bytes ahead bounded.
        paths = [path for b in batches for path in b.column(path_col).to_pylist()]
        sizes = [size for b in batches for size in b.column("size").to_pylist()]
        with _pomona.using_s3(s3):
            fetcher = _pomona.ReadAhead([_core_uri(p) for p in paths], sizes, io_threads,
                                        TASK_BYTES_AHEAD)
        for input_batch in batches:
            contents, errors = fetcher.take(input_batch.num_rows)
            yield _featurize_fetched(input_batch.column(path_col), pa.array(contents), errors,
                                     featurize_contents)

    def featurize_listed_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        # Paths only (list_images()): the C++ core reads local files itself; S3 objects are
        # fetched here, with the options s3.
        batches = iter(batches)
        first = next(batches, None)
        if first is None:
            return
        if is_s3(first.column(path_col)[0].as_py()):
            yield from fetch_and_featurize_batches([first, *batches])
            return
        for input_batch in itertools.chain([first], batches):
            yield featurize_contents(input_batch.column(path_col), None)

    return featurize_batches if content_col else featurize_listed_batches


def _featurize_fetched(paths: pa.Array, contents: pa.Array, errors: List[Optional[str]],
                       featurize_contents) -> pa.RecordBatch:
    """Rows for the fetched objects; one that could not be read (errors[i]) is an error row
    saying why."""
    rows = featurize_contents(contents, paths)
    if not any(errors):
        return rows
    # An unread object went in empty, for the label and a row in its place; its error replaced.
    merged = [read_error or error for read_error, error in
              zip(errors, rows.column("error").to_pylist())]
    return pa.RecordBatch.from_arrays(rows.columns[:3] + [pa.array(merged, pa.string())],
                                      schema=rows.schema)


def list_objects(uri: str, glob: str = "*.jpg,*.jpeg,*.png",
                 s3: Optional[S3Options] = None) -> List[Tuple[str, int]]:
    """(path, size) of the images under uri, listed as the pomona command lists (the C++ core:
    names starting with "." or "_" skipped, glob's comma-separated patterns case-insensitive as
    the CLI's --glob, byte-wise order). uri: a local or shared folder (path or file://) or an S3
    prefix (s3://, s3a://, s3n://: paths keep the scheme given), listed with the options s3.
    Raises pomona.PomonaError (exit_code 3) when uri cannot be listed."""
    core = _core_uri(uri)
    with _pomona.using_s3(s3):
        listed = _pomona.list_inputs(core, glob)
    if core == uri:
        return listed
    return [(uri[:6] + path[5:], size) for path, size in listed]


def images_dataframe(spark, objects: List[Tuple[str, int]]):
    """A DataFrame of (path, size) rows for featurize(df, content_col=None, ...), in tasks sized
    as Spark's file sources size them (task_count)."""
    # Sent as one Arrow table and dealt out by Spark (repartition, no Python): a parallelized list
    # of tuples made every task start a second Python worker just to unpickle its rows (1.7 s on
    # the driver and ~3 s of tasks for 10,000 paths on local[2], bench/spark_bench.py).
    sizes = [size for _, size in objects]
    paths = pa.table({"path": pa.array([path for path, _ in objects], pa.string()),
                      "size": pa.array(sizes, pa.int64())})
    return spark.createDataFrame(paths).repartition(task_count(spark, sizes))


def list_images(spark, uri: str, glob: str = "*.jpg,*.jpeg,*.png",
                s3: Optional[S3Options] = None):
    """images_dataframe(spark, list_objects(uri, glob, s3)): the images under uri, listed by the
    driver, for the executors to read themselves, so that no image byte crosses the JVM and
    Spark needs no S3 connector (hadoop-aws)."""
    return images_dataframe(spark, list_objects(uri, glob, s3))


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
    With content_col=None the rows hold paths and sizes (list_images()) and the executors read
    the files themselves: local ones in the C++ core, S3 objects through the command's
    read-ahead (as many GETs in flight as the latency needs, at most io_threads a task) with
    the options s3.

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
    return [path_col, content_col] if content_col else [path_col, "size"]


def featurize_to_parquet(df, output: str, path_col: str = "path",
                         content_col: Optional[str] = "content", **options) -> int:
    """featurize(df, ...).write.parquet(output), faster: the Python workers that compute the rows
    write them (write_parquet), so 1280 floats a row never become Spark rows. Returns the rows
    written."""
    function = featurizer(df.sparkSession, path_col, content_col, **options)
    return write_parquet(df.select(*_input_columns(path_col, content_col)), output, function,
                         s3=options.get("s3"))


def _local_path(output: str) -> str:
    """The local (or shared) folder of a path or file: URI; ValueError for other URIs."""
    if output.startswith("file:"):
        return "/" + output[len("file:"):].lstrip("/")
    if "://" in output:
        raise ValueError(f"cannot write {output}: Pomona writes to a local or shared path, file:// "
                         "or s3:// (s3a://)")
    return os.path.abspath(output)


def _write_part(uri: str, batches: Iterator[pa.RecordBatch], s3: Optional[S3Options]) -> int:
    """Writes the batches as one part file at uri (the C++ core's writer, the command's
    layout), published whole once complete; none when there is no row. Returns the rows."""
    with _pomona.using_s3(s3):
        writer = _pomona.PartFileWriter(uri)
    for batch in batches:
        with _pomona.using_s3(s3):
            writer.append(batch)
    if writer.rows:
        with _pomona.using_s3(s3):
            writer.publish()
    return writer.rows


def write_parquet(df, output: str, map_batches: BatchFunction,
                  s3: Optional[S3Options] = None) -> int:
    """Writes map_batches(each partition's Arrow batches of df), batches of the row columns
    (path, label, features, error[, pca]), as Parquet part files under output (replaced), from
    the Python workers: the rows never cross back into the JVM. Returns the rows written. Files
    are the pomona command's (the C++ core writes them). output: a path or file:// that the
    driver and executors share, or S3 (s3://, s3a://, with the options s3).

    Commits like Hadoop's FileOutputCommitter (v1), which Spark's own writer uses: a task attempt
    writes output/_temporary/0/_temporary/attempt_<id>/part-<partition>.parquet and, once
    complete, renames it to output/_temporary/0/task_<partition>.parquet; after the job, the
    driver moves the successful tasks' files to output/part-<partition>.parquet and writes
    _SUCCESS. Names are per partition, so a rerun task (lost executor, speculation) replaces its
    own rows and never adds a copy.

    On S3, where a rename is a copy, see _write_parquet_s3.
    """
    if is_s3(output):
        return _write_parquet_s3(df, _core_uri(output), map_batches, s3)
    root = _local_path(output)
    shutil.rmtree(root, ignore_errors=True)
    job_dir = f"{root}/_temporary/0"
    os.makedirs(f"{job_dir}/_temporary")

    def write_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext
        task = TaskContext.get()
        attempt_dir = f"{job_dir}/_temporary/attempt_{task.taskAttemptId()}"
        part = f"{attempt_dir}/part-{task.partitionId():05d}.parquet"
        task_path = f"{job_dir}/task_{task.partitionId():05d}.parquet"
        os.makedirs(attempt_dir, exist_ok=True)
        rows = _write_part(part, map_batches(batches), None)
        if rows:
            os.replace(part, task_path)
        shutil.rmtree(attempt_dir, ignore_errors=True)
        yield _task_result(task.partitionId(), rows, task_path)

    tasks = df.mapInArrow(write_partition, _TASK_RESULT_DDL).collect()
    written = [task.partition for task in tasks if task.rows]
    for partition in written:
        os.replace(f"{job_dir}/task_{partition:05d}.parquet", f"{root}/part-{partition:05d}.parquet")
    if not written:  # readers need a file to know the columns
        _pomona.PartFileWriter(f"{root}/part-00000.parquet").publish()
    shutil.rmtree(f"{root}/_temporary")
    with open(f"{root}/_SUCCESS", "wb"):
        pass
    return sum(task.rows for task in tasks)


def _write_parquet_s3(df, root: str, map_batches: BatchFunction, s3: Optional[S3Options]) -> int:
    """write_parquet on S3, where objects appear whole when their upload completes and nothing
    renames: each task attempt writes root/part-<partition>-<job>-<attempt>.parquet, names no
    other attempt or run uses. Before the tasks the driver removes root/_SUCCESS; after them it
    publishes the successful attempts' files (the C++ core's publish_parts: the manifest, then
    _SUCCESS, then everything else under root removed: the previous result, failed attempts). A
    run that fails leaves no _SUCCESS, and part files no manifest lists, which the next run
    removes."""
    job = uuid.uuid4().hex[:12]
    with _pomona.using_s3(s3):
        _pomona.unpublish(root)

    def write_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext
        task = TaskContext.get()
        name = f"part-{task.partitionId():05d}-{job}-{task.taskAttemptId()}.parquet"
        rows = _write_part(f"{root}/{name}", map_batches(batches), s3)
        yield _task_result(task.partitionId(), rows, name)

    tasks = df.mapInArrow(write_partition, _TASK_RESULT_DDL).collect()
    parts = sorted((task.partition, task.file, task.rows) for task in tasks if task.rows)
    with _pomona.using_s3(s3):
        if not parts:  # readers need a file to know the columns
            parts = [(0, f"part-00000-{job}.parquet", 0)]
            _pomona.PartFileWriter(f"{root}/{parts[0][1]}").publish()
        _pomona.publish_parts(root, [(name, rows) for _, name, rows in parts])
    return sum(rows for _, _, rows in parts)


def read_written(output: str, columns: Optional[List[str]] = None,
                 s3: Optional[S3Options] = None) -> pa.Table:
    """The rows write_parquet wrote under output: the files its manifest lists where there is
    one (S3), else the folder's Parquet files (names starting with "." or "_" skipped)."""
    root = _core_uri(output)
    with _pomona.using_s3(s3):
        manifest = _pomona.read_manifest(root)
        files = ([f"{root.rstrip('/')}/{name}" for name, _ in manifest] if manifest
                 else [path for path, _ in _pomona.list_inputs(root, "*.parquet")])
        contents = [_pomona.read_bytes(file) for file in files]
    return pa.concat_tables([pq.read_table(pa.BufferReader(content), columns=columns)
                             for content in contents])


_TASK_RESULT_DDL = "partition int, rows long, file string"
_TASK_RESULT = pa.schema([("partition", pa.int32()), ("rows", pa.int64()), ("file", pa.string())])


def _task_result(partition: int, rows: int, file: str) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({"partition": [partition], "rows": [rows], "file": [file]},
                                      schema=_TASK_RESULT)


