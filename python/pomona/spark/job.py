"""The Pomona Spark job: images under --input -> Parquet rows under --output [+ a PCA model].

    python -m pomona.spark.job --input photos/ --output out/ [--pca-k 50] [--master local[*]]
    spark-submit --master spark://host:7077 $(python -c 'import pomona.spark.job as j; print(j.__file__)') \
        --input photos/ --output out/
    python -m pomona.spark.job --input s3://bucket/photos/ --output s3://bucket/features/ \
        [--s3-endpoint http://minio:9000] [--s3-profile name] [--s3-region r] [--s3-anonymous]

S3 (s3://, s3a://) needs no S3 connector in Spark: the driver lists the prefix with the C++ core
(as the pomona command does), executors read the objects and write their part files through it,
and the driver publishes the manifest and _SUCCESS. Credentials are the AWS SDK's (environment,
~/.aws profiles, instance role) on the driver and on each executor. Before Spark starts the
driver lists the input and checks that the output can be written: a missing bucket, refused
credentials or denied access end the job with the command's one line and exit status 3, writing
nothing.

Writes what `pomona featurize INPUT OUTPUT` writes to a folder, from the Python workers that
compute the rows (pomona.spark.write_parquet, whose commit protocol is Spark's: a retried task
never duplicates rows):
  OUTPUT/part-*.parquet + _SUCCESS (+ _pomona_manifest.jsonl on S3): path, label, features,
                            error [, pca]
  OUTPUT/_pca_model.parquet with --pca-k/--pca-variance (or --pca-model PATH): the model file
                            `pomona pca fit` writes
and prints a summary. Corrupt images are error rows; the job succeeds. Options have the names and
defaults of `pomona featurize`'s (README, "Options in every face").
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import pyarrow.compute as pc

import pomona
import pomona.spark
import pomona.spark.session
from pomona import _pomona


class _Renamed(argparse.Action):
    """An option that was renamed: hidden, and when given, usage fails with one line (exit 2)
    naming the new one, as the pomona command does."""

    def __init__(self, option_strings, dest, now, **kwargs):
        super().__init__(option_strings, dest, nargs="?", help=argparse.SUPPRESS, **kwargs)
        self.now = now

    def __call__(self, parser, namespace, values, option_string=None):
        parser.error(f"{option_string}: is now {self.now}")


def _core_rule(check):
    """An argparse type for an option the core checks (pomona._pomona.check_threads, ...): the
    CLI's message for a refused value."""
    def parse(text: str) -> int:
        value = int(text)  # not a number: argparse's "invalid batch value: 'x'"
        try:
            return check(value)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    parse.__name__ = check.__name__.removeprefix("check_")
    return parse


def parse_args(argv):
    return argument_parser().parse_args(argv)


def argument_parser() -> argparse.ArgumentParser:
    """The job's options (README, "Options in every face")."""
    parser = argparse.ArgumentParser(prog="python -m pomona.spark.job", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", required=True,
                        help="folder (a path, file://, s3:// or any Hadoop URI), listed recursively")
    parser.add_argument("--output", required=True, help="output folder (replaced)")
    parser.add_argument("--glob", default="*.jpg,*.jpeg,*.png",
                        help="file-name patterns, comma-separated, case-insensitive")
    parser.add_argument("--weights", help="Keras MobileNetV2 weights .h5 (default: Keras' cache)")
    parser.add_argument("--alpha", type=float, default=1.0)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--label-from", choices=("parent", "none"), default="parent",
                        help="label = parent folder name, or none")
    parser.add_argument("--batch", type=_core_rule(pomona._pomona.check_batch), default=1,
                        help="images per network call (1, as the pomona command: fastest)")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                        help="bf16: about 1.4x faster on CPUs with AVX512-BF16 or AMX (README)")
    parser.add_argument("--threads", type=_core_rule(pomona._pomona.check_threads), default=0,
                        help="threads each task uses (0: spark.task.cpus, all a task has)")
    parser.add_argument("--threads-per-task", action=_Renamed, now="--threads")
    parser.add_argument("--ship-weights", action="store_true",
                        help="copy the weights to the executors (SparkContext.addFile)")
    pca = parser.add_mutually_exclusive_group()
    pca.add_argument("--pca-k", type=int, help="fit a PCA with this many components")
    pca.add_argument("--pca-variance", type=float,
                     help="fit a PCA keeping this fraction of the variance (0-1]")
    parser.add_argument("--pca-center", action="store_true", help="project (x - mean)")
    parser.add_argument("--pca-model", help="where the PCA model goes (default: "
                        "OUTPUT/_pca_model.parquet, as the pomona command)")
    parser.add_argument("--master", help="Spark master (default: spark-submit's, else local[*])")
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                        help="extra Spark setting, repeatable")
    s3 = parser.add_argument_group("S3 (s3:// input or output)")
    s3.add_argument("--s3-endpoint", help="S3-compatible endpoint URL, e.g. http://minio:9000 "
                    "(default: AWS_ENDPOINT_URL, else AWS)")
    s3.add_argument("--s3-region", help="bucket region (default: AWS_REGION, the profile's, or "
                    "the bucket's)")
    s3.add_argument("--s3-profile", help="profile of ~/.aws/credentials (default: the AWS SDK's "
                    "chain: environment, AWS_PROFILE, instance role)")
    s3.add_argument("--s3-anonymous", action="store_true", help="unsigned requests (public data)")
    s3.add_argument("--s3-retries", type=int, default=10,
                    help="retries of a throttled, failed (5xx) or dropped request, with "
                    "exponential backoff")
    s3.add_argument("--s3-connect-timeout", type=float, default=5.0, metavar="SECONDS")
    s3.add_argument("--s3-request-timeout", type=float, default=30.0, metavar="SECONDS")
    s3.add_argument("--io-threads", type=int, default=_pomona.READ_AHEAD_MAX_THREADS,
                    help="the most concurrent object reads in each task (they size themselves "
                    "to the latency, as the pomona command's)")
    return parser


def s3_options(args) -> pomona.spark.S3Options:
    return pomona.spark.S3Options(
        endpoint=args.s3_endpoint, region=args.s3_region, profile=args.s3_profile,
        anonymous=args.s3_anonymous, retries=args.s3_retries,
        connect_timeout_s=args.s3_connect_timeout, request_timeout_s=args.s3_request_timeout)


def is_local(uri: str) -> bool:
    """Whether uri is a path or file:// URI, which the pomona command lists and reads itself."""
    return "://" not in uri or uri.startswith("file://")


def spark_session(args):
    """The job's session (pomona.spark.session.start): args.master, else spark-submit's, else
    local[*]."""
    under_spark_submit = "PYSPARK_GATEWAY_PORT" in os.environ  # which sets the master
    master = args.master or (None if under_spark_submit else "local[*]")
    if (master or "").startswith("local") and not under_spark_submit:
        # Local Python workers run this interpreter (where pomona is installed). A cluster's
        # executors run spark.pyspark.python / PYSPARK_PYTHON (docs/deploy.md), never a path
        # that exists only on the driver.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    conf = {}
    for setting in args.conf:
        key, _, value = setting.partition("=")
        conf[key] = value
    return pomona.spark.session.start(master, conf)


def run(args) -> int:
    """The job, in the active Spark session if there is one (which it leaves running)."""
    s3 = s3_options(args)
    pomona.resolve_weights(args.weights, args.alpha, args.size)  # bad weights: fail before S3
    # Listed by the driver as the pomona command lists, before Spark starts: an input that cannot
    # be listed or an output that cannot be written stops the job here.
    listed = (pomona.spark.list_objects(args.input, args.glob, s3)
              if pomona.spark.is_s3(args.input) or is_local(args.input) else None)
    output = args.output if pomona.spark.is_s3(args.output) else pomona.spark._local_path(args.output)
    with _pomona.using_s3(s3):
        _pomona.check_writable(pomona.spark._core_uri(output))
    spark = spark_session(args)
    start = time.monotonic()
    options = dict(weights=args.weights, alpha=args.alpha, size=args.size,
                   threads=args.threads, batch=args.batch, ship_weights=args.ship_weights,
                   s3=s3, precision=args.precision, label_from=args.label_from)
    if listed is not None:  # listed by the driver as the pomona command lists; the tasks read the bytes
        images = pomona.spark.images_dataframe(spark, listed)
        options.update(content_col=None, io_threads=args.io_threads)
    else:  # other Hadoop filesystems (hdfs://, ...): Spark reads the bytes
        images = (spark.read.format("binaryFile")
                  .option("pathGlobFilter", pomona.spark.hadoop_glob(args.glob))
                  .option("recursiveFileLookup", "true")
                  .load(args.input))
    # The pomona command's folder layout: part files in OUTPUT, the model beside them.
    features_dir = args.output.rstrip("/")
    model_path = args.pca_model or features_dir + "/_pca_model.parquet"
    model = None
    if args.pca_k is None and args.pca_variance is None:
        pomona.spark.featurize_to_parquet(images, features_dir, **options)
    else:
        from pyspark import StorageLevel
        # Featurized once, read by the fit and by the write.
        rows = pomona.spark.featurize(images, **options).persist(StorageLevel.MEMORY_AND_DISK)
        model = pomona.spark.PCA(k=args.pca_k, variance=args.pca_variance,
                                 center=args.pca_center).fit(rows).pca
        pomona.spark.write_parquet(rows, features_dir, pomona.spark.projector(model), s3=s3)
        save_model(model, model_path, s3)  # after the write, which replaces OUTPUT
    seconds = time.monotonic() - start

    written = pomona.spark.read_written(features_dir, ["path", "label", "error"], s3)
    errors = written.filter(pc.is_valid(written.column("error")))
    labels = pc.count_distinct(written.column("label")).as_py()
    print(f"pomona spark: {written.num_rows} images, {errors.num_rows} errors, {labels} labels, "
          f"{seconds:.2f} s, {written.num_rows / seconds if seconds else 0:.1f} img/s -> "
          f"{features_dir}")
    for row in errors.slice(0, 10).to_pylist():
        print(f"  error: {row['path']}: {row['error']}")
    if model is not None:
        ratio = float(model.explained_variance_ratio_[: model.model.k].sum())
        print(f"pomona spark: PCA k={model.model.k} of {model.model.dim} from {model.count} rows, "
              f"explained variance {ratio:.4f} -> {model_path}")
    return 0


def save_model(model: pomona.PCA, path: str, s3) -> None:
    """model.save(path): a local file or an S3 object, written whole (the C++ core)."""
    if not pomona.spark.is_s3(path):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with _pomona.using_s3(s3):
        model.save(pomona.spark._core_uri(path))


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run(args)
    except pomona.PomonaError as error:  # the pomona command's exit status: 2 or 3 (input/output)
        print(f"pomona spark: {error}", file=sys.stderr)
        return getattr(error, "exit_code", 2)
    except ValueError as error:  # an output Pomona cannot write
        print(f"pomona spark: {error}", file=sys.stderr)
        return 2
    finally:
        stop_spark()


def stop_spark() -> None:
    """Stops the session run() started, if it got that far (a check that failed fast did not
    even import Spark)."""
    if "pyspark.sql" in sys.modules:
        session = sys.modules["pyspark.sql"].SparkSession.getActiveSession()
        if session is not None:
            pomona.spark.session.stop(session)


if __name__ == "__main__":
    sys.exit(main())
