"""Pomona on Spark local[2] against the pomona command with 2 threads, on the same images.

    .venv/bin/python bench/spark_bench.py --build build [--images 2000] [--job-images 10000]

Uses make bench's data (build/bench-data: seeded 1.0/224 weights, Fruits-like 100x100 JPEGs,
generated when missing). Times `pomona featurize --threads 2` and, in one local[2] session with
the job's settings (pomona.spark.session: its JVM options, pomona.spark.tune_for_images), the
job's path (pomona.spark.list_images: the driver lists, the Python workers read the files and
write the Parquet: no image byte crosses the JVM), the notebook's binaryFile read ->
pomona.spark.featurize_to_parquet, and binaryFile -> featurize -> Spark's Parquet writer. The
rates are the session's steady state: a first job on 200 other images starts the JVM's JIT, the
Python workers and their model (its time is printed too); the CLI and the job's path alternate
three times and each side's best run counts. Prints the rates, their ratios to the
CLI (target >= 0.9) and the peak RSS of the Spark Python workers (VmHWM of each process whose
command line runs pyspark's daemon or worker, sampled until the job ends).

Then the job as users run it, start-up included: `python -m pomona.spark.job --master local[2]`
on --job-images images against `pomona featurize --threads 2` (wall times, alternately, twice each,
each side's best; target >= 0.8). The job's JVM maps the class-data archive that the session above
wrote (pomona.spark.session) when there was none yet.

    .venv/bin/python bench/spark_bench.py --build build --knobs [--images 1000]

Spark's knobs one by one instead: each setting in a fresh local[2] session (a first job on 200
images, then the job's way, listed paths -> featurize_to_parquet, timed) right after a session
with the job's own settings (pomona.spark.tune_for_images): the ratio of each pair.

    .venv/bin/python bench/spark_bench.py --build build --s3-latency 25 [--images 2000]

The Spark tasks' S3 reads under latency: the images in moto's S3 server (tests/s3_server.py) read
by the job's way through the tests' proxy adding nothing, then 25 ms to every answer, with a small
network (0.35/96, so that the network is not the limit), in one local[2] session whose Python
workers serve both (each run passes its own S3Options): the ratio delayed/undelayed (target >=
0.9) and the most GETs the proxy saw in flight; the two alternate, twice each, and each side's
best run counts.
"""
import argparse
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def cli_rate(build, images, weights, output):
    out = subprocess.run([str(build / "pomona"), "featurize", str(images), str(output), "--weights",
                          str(weights), "--threads", "2", "--quiet"], capture_output=True, text=True, check=True)
    # "pomona: N images, E errors[, S skipped as done], T s, ...": the first count in seconds.
    count, seconds = re.search(r"pomona: (\d+) images, .*?\b([\d.]+) s\b", out.stdout).groups()
    return int(count), float(seconds)


def python_workers():
    """pid -> peak RSS (MiB) of the running Spark Python daemon and worker processes."""
    peaks = {}
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            if b"pyspark.daemon" not in cmdline and b"pyspark.worker" not in cmdline:
                continue
            status = (entry / "status").read_text()
        except OSError:
            continue
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        if match:
            peaks[int(entry.name)] = int(match.group(1)) / 1024
    return peaks


class WorkerRssSampler(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.peaks, self.done = {}, threading.Event()

    def run(self):
        while not self.done.is_set():
            for pid, rss in python_workers().items():
                self.peaks[pid] = max(rss, self.peaks.get(pid, 0))
            time.sleep(0.2)


def spark_job_seconds(spark, images, weights, output, way):
    """One featurize job of the session: "listed" (the job's way), "binaryFile" (the notebook's
    read, Python workers write the Parquet) or "spark_writer" (binaryFile, Spark's writer)."""
    import pomona.spark
    start = time.perf_counter()
    if way == "listed":
        listed = pomona.spark.list_images(spark, str(images), "*.jpg")
        pomona.spark.featurize_to_parquet(listed, str(output), content_col=None, weights=str(weights))
        return time.perf_counter() - start
    df = (spark.read.format("binaryFile").option("pathGlobFilter", "*.jpg")
          .option("recursiveFileLookup", "true").load(str(images)))
    if way == "spark_writer":
        pomona.spark.featurize(df, weights=str(weights)).write.mode("overwrite").parquet(str(output))
    else:
        pomona.spark.featurize_to_parquet(df, str(output), weights=str(weights))
    return time.perf_counter() - start


WAYS = ("listed", "binaryFile", "spark_writer")


def spark_rates(warm_up_images, images, weights, output, cli_seconds, rounds=3):
    """{way: seconds} for WAYS in one session (the job's: pomona.spark.session), the first job's
    seconds, worker peaks, rows, and the CLI's seconds (cli_seconds()) run between them: the
    job's way and the CLI alternate `rounds` times and each side's best counts, as the load of a
    shared machine moves between minutes."""
    os.environ["PYSPARK_PYTHON"] = sys.executable
    import pomona.spark.session

    spark = pomona.spark.session.start("local[2]", {"spark.ui.enabled": "false"}, "pomona-bench")
    sampler = WorkerRssSampler()
    sampler.start()
    warm_up_seconds = spark_job_seconds(spark, warm_up_images, weights, output, "listed")
    seconds, counts, cli = {}, {}, []
    for way in ("listed",) * rounds + WAYS[1:]:
        if way == "listed":
            cli.append(cli_seconds())
        taken = spark_job_seconds(spark, images, weights, output / way, way)
        seconds[way] = min(taken, seconds.get(way, taken))
        counts[way] = spark.read.parquet(str(output / way)).count()
    sampler.done.set()
    sampler.join()
    pomona.spark.session.stop(spark)
    return seconds, counts, warm_up_seconds, sampler.peaks, min(cli)


def job_seconds(images, weights, output):
    """Wall time of `python -m pomona.spark.job --master local[2]` (start-up included), rows."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "pomona.spark.job", "--input", str(images), "--output",
                          str(output), "--weights", str(weights), "--master", "local[2]", "--glob", "*.jpg"],
                         capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYSPARK_PYTHON=sys.executable)).stdout
    seconds = time.perf_counter() - start
    return seconds, int(re.search(r"pomona spark: (\d+) images", out).group(1))


# Spark's knobs, each tried alone against the job's settings.
KNOBS = (
    ("maxRecordsPerBatch=16", {"spark.sql.execution.arrow.maxRecordsPerBatch": "16"}),
    ("maxRecordsPerBatch=256", {"spark.sql.execution.arrow.maxRecordsPerBatch": "256"}),
    ("maxRecordsPerBatch=10000 (Spark's)", {"spark.sql.execution.arrow.maxRecordsPerBatch": "10000"}),
    ("openCostInBytes=16k", {"spark.sql.files.openCostInBytes": "16384"}),
    ("openCostInBytes=4m (Spark's)", {"spark.sql.files.openCostInBytes": "4194304"}),
    ("python.worker.reuse=false", {"spark.python.worker.reuse": "false"}),
    ("task.cpus=2 (1 task x 2 threads)", {"spark.task.cpus": "2"}),
    # After pomona.spark.session's first-tier-only JIT: the JVM's full JIT back.
    ("JVM's full JIT (TieredStopAtLevel=4)", {"spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=4"}),
)


def knob_seconds(images, warm_up_images, weights, output, settings):
    """Seconds of the job's way in a fresh local[2] session with the job's settings, then
    `settings` on top (a child process: session-wide settings need a new SparkContext)."""
    out = subprocess.run([sys.executable, __file__, "--one-knob", json.dumps(
        [str(images), str(warm_up_images), str(weights), str(output), settings])],
        capture_output=True, text=True, check=True).stdout
    return json.loads(out.split("knob-seconds: ")[1])


def one_knob(images, warm_up_images, weights, output, settings):
    os.environ["PYSPARK_PYTHON"] = sys.executable
    import pomona.spark.session

    # The job's settings, except those given here.
    spark = pomona.spark.session.start("local[2]", {"spark.ui.enabled": "false", **settings},
                                       "pomona-knobs")
    spark_job_seconds(spark, warm_up_images, weights, output, "listed")
    seconds = spark_job_seconds(spark, images, weights, output, "listed")
    rows = spark.read.parquet(output).count()
    pomona.spark.session.stop(spark)
    return {"seconds": seconds, "rows": rows}


def knob_runs(images, warm_up_images, weights, output):
    """{name: (seconds with the job's settings, seconds with the knob)} for each knob: the two
    sessions back to back, so that each ratio compares runs under about the same load."""
    runs = {}
    for name, settings in KNOBS:
        runs[name] = (knob_seconds(images, warm_up_images, weights, output, {}),
                      knob_seconds(images, warm_up_images, weights, output, settings))
    rows = runs[KNOBS[0][0]][0]["rows"]
    print(f"Spark local[2], listed paths -> featurize_to_parquet, {rows} fruits 100x100, one fresh "
          "session per run, each knob right after a run with the job's settings:")
    for name, (base, run) in runs.items():
        assert run["rows"] == base["rows"] == rows, (name, run, base)
        print(f"  {name:<36} {rows / run['seconds']:8.1f} img/s against {rows / base['seconds']:8.1f}: "
              f"{base['seconds'] / run['seconds']:.2f} of the job's settings")
    return runs


def s3_latency_runs(images, warm_up_images, weights, output, latency_ms):
    """Rates of the job's way reading images from moto's S3 server through the tests' proxy,
    without and with latency_ms a response, in one session."""
    sys.path.insert(0, str(ROOT / "tests"))
    import logging

    from s3_server import FaultProxy, MotoS3
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's log line per request
    os.environ["PYSPARK_PYTHON"] = sys.executable
    import pomona.spark.session

    runs = {}
    with MotoS3.in_process() as server:
        server.make_bucket("pomona-bench")
        server.upload_folder(images, "pomona-bench", "fruits")
        server.upload_folder(warm_up_images, "pomona-bench", "warm-up")
        os.environ.update(server.env())  # the keys and region; each run names its endpoint
        spark = pomona.spark.session.start("local[2]", {"spark.ui.enabled": "false"},
                                           "pomona-s3-latency")
        options = dict(weights=str(weights), alpha=0.35, size=96, content_col=None)
        # Alternately, twice each, each side's best counting (the load of a shared machine moves).
        for name, delay_ms, prefix in (("warm-up", 0, "warm-up"), ("no delay", 0, "fruits"),
                                       (f"{latency_ms} ms", latency_ms, "fruits")) * 2:
            with FaultProxy(server.endpoint, delay_s=delay_ms / 1000) as proxy:
                s3 = pomona.spark.S3Options(endpoint=proxy.endpoint)
                start = time.perf_counter()
                listed = pomona.spark.list_images(spark, f"s3://pomona-bench/{prefix}", "*.jpg", s3)
                rows = pomona.spark.featurize_to_parquet(listed, str(output), s3=s3, **options)
                seconds = time.perf_counter() - start
            if name not in runs or rows / seconds > runs[name]["img_per_s"]:
                runs[name] = {"rows": rows, "img_per_s": rows / seconds,
                              "most_gets_in_flight": max(proxy.gets_in_flight)}
        pomona.spark.session.stop(spark)
    del runs["warm-up"]
    print("Spark local[2], s3:// -> featurize_to_parquet, 0.35/96, through a proxy:")
    for name, run in runs.items():
        print(f"  {name:<12} {run['img_per_s']:8.1f} img/s, {run['most_gets_in_flight']:3} GETs in flight at most")
    ratio = runs[f"{latency_ms} ms"]["img_per_s"] / runs["no delay"]["img_per_s"]
    print(f"{latency_ms} ms / no delay: {ratio:.2f} (target >= 0.9)")
    return runs, ratio


def make_images(data, count):
    """make bench's Fruits-like 100x100 JPEGs (10 classes), generated once."""
    images = data / f"fruits-{count}"
    if not images.exists():
        subprocess.run([sys.executable, ROOT / "tools/make_demo_images.py", images, "--per-class",
                        str(count // 10), "--classes", "10"], check=True)
    return images


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--job-images", type=int, default=10000)
    parser.add_argument("--knobs", action="store_true", help="Spark's knobs one by one instead")
    parser.add_argument("--s3-latency", type=int, metavar="MS",
                        help="the Spark tasks' S3 reads through a proxy adding MS instead")
    parser.add_argument("--one-knob", help=argparse.SUPPRESS)  # a child run: one session
    args = parser.parse_args()
    if args.one_knob:
        print("knob-seconds: " + json.dumps(one_knob(*json.loads(args.one_knob))), flush=True)
        return
    build = (ROOT / args.build).resolve()
    data = build / "bench-data"
    data.mkdir(parents=True, exist_ok=True)
    weights = data / "seeded_1.0_224.h5"
    if not weights.exists():
        subprocess.run([sys.executable, ROOT / "tools/make_test_weights.py", "--alpha", "1.0", "--size", "224",
                        weights], check=True)
    images, warm_up_images = make_images(data, args.images), make_images(data, 200)
    if args.knobs:
        runs = knob_runs(images, warm_up_images, weights, data / "spark-knob-out")
        shutil.rmtree(data / "spark-knob-out", ignore_errors=True)
        print("spark-knobs-json: " + json.dumps(runs))
        return
    if args.s3_latency is not None:
        small = data / "seeded_0.35_96.h5"
        if not small.exists():
            subprocess.run([sys.executable, ROOT / "tools/make_test_weights.py", "--alpha", "0.35", "--size",
                            "96", small], check=True)
        runs, ratio = s3_latency_runs(images, warm_up_images, small, data / "spark-s3-out", args.s3_latency)
        shutil.rmtree(data / "spark-s3-out", ignore_errors=True)
        print("spark-s3-latency-json: " + json.dumps({"runs": runs, "ratio": round(ratio, 3)}))
        return
    job_images = make_images(data, args.job_images)

    cli_count = cli_rate(build, images, weights, data / "cli-out.parquet")[0]  # and its page cache
    seconds, counts, warm_up_seconds, worker_peaks, cli_seconds = spark_rates(
        warm_up_images, images, weights, data / "spark-out",
        lambda: cli_rate(build, images, weights, data / "cli-out.parquet")[1])
    job_cli_seconds, spark_job_s = [], []
    for _ in range(2):  # alternately, each side's best counting
        job_cli_start = time.perf_counter()
        job_cli_count = cli_rate(build, job_images, weights, data / "cli-out.parquet")[0]
        job_cli_seconds.append(time.perf_counter() - job_cli_start)
        seconds_taken, job_count = job_seconds(job_images, weights, data / "spark-job-out")
        spark_job_s.append(seconds_taken)
    job_cli_seconds, spark_job_s = min(job_cli_seconds), min(spark_job_s)
    shutil.rmtree(data / "spark-out", ignore_errors=True)
    shutil.rmtree(data / "spark-job-out", ignore_errors=True)
    assert all(count == cli_count for count in counts.values()), (counts, cli_count)
    assert job_count == job_cli_count, (job_count, job_cli_count)
    cli_ips = cli_count / cli_seconds
    rates = {way: cli_count / seconds[way] for way in WAYS}
    job_ratio = job_cli_seconds / spark_job_s
    result = {"images": cli_count, "cli_2_threads_img_per_s": round(cli_ips, 2),
              **{f"spark_{way}_img_per_s": round(rate, 2) for way, rate in rates.items()},
              **{f"spark_{way}_ratio": round(rate / cli_ips, 3) for way, rate in rates.items()},
              "spark_first_job_200_images_s": round(warm_up_seconds, 1),
              "job_images": job_count, "job_cli_wall_s": round(job_cli_seconds, 1),
              "job_wall_s": round(spark_job_s, 1), "job_ratio": round(job_ratio, 3),
              "python_workers": len(worker_peaks),
              "python_worker_peak_rss_mib": round(max(worker_peaks.values(), default=0), 1)}
    print(f"pomona featurize, {cli_count} fruits 100x100, 2 threads              {cli_ips:8.1f} img/s")
    for way, label in (("listed", "listed paths -> featurize_to_parquet (the job's)"),
                       ("binaryFile", "binaryFile -> featurize_to_parquet"),
                       ("spark_writer", "binaryFile -> featurize -> Spark's writer")):
        print(f"  Spark local[2], {label:<46} {rates[way]:8.1f} img/s ({rates[way] / cli_ips:.2f} of the CLI)")
    print(f"  (after a {warm_up_seconds:.1f} s first job on 200 images; {len(worker_peaks)} Python workers, "
          f"peak RSS {result['python_worker_peak_rss_mib']:.0f} MiB each at most)")
    print(f"job, {job_count} images, start-up included: pomona featurize {job_cli_seconds:.1f} s, "
          f"python -m pomona.spark.job local[2] {spark_job_s:.1f} s: {job_ratio:.2f} (target >= 0.8)")
    print("spark-bench-json: " + json.dumps(result))


if __name__ == "__main__":
    main()
