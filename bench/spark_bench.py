"""Pomona on Spark local[2] against the pomona command with 2 threads, on the same images.

    .venv/bin/python bench/spark_bench.py --build build [--images 2000]

Uses make bench's data (build/bench-data: seeded 1.0/224 weights, Fruits-like 100x100 JPEGs,
generated when missing). Times `pomona featurize --threads 2` (best of a run before and one after
Spark) and, in one local[2] session with the job's settings (pomona.spark.tune_for_images), the
notebook's binaryFile read -> pomona.spark.featurize_to_parquet (the job's path: the Python
workers write the Parquet), and for comparison featurize -> Spark's Parquet writer. The rate is the session's steady state: a first job on 200 other
images starts the JVM's JIT, the Python workers and their model (its time is printed too: on
2 cores that start-up costs about as much as 1,000 images). Prints both rates, their ratio
(target >= 0.85) and the peak RSS of the Spark Python workers (VmHWM of each process whose command
line runs pyspark's daemon or worker, sampled until the job ends).
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


def spark_job_seconds(spark, images, weights, output, spark_writer=False):
    """The job's way (Python workers write the Parquet), or with spark_writer the rows handed to
    Spark's Parquet writer."""
    import pomona.spark
    start = time.perf_counter()
    df = (spark.read.format("binaryFile").option("pathGlobFilter", "*.jpg")
          .option("recursiveFileLookup", "true").load(str(images)))
    if spark_writer:
        pomona.spark.featurize(df, weights=str(weights)).write.mode("overwrite").parquet(str(output))
    else:
        pomona.spark.featurize_to_parquet(df, str(output), weights=str(weights))
    return time.perf_counter() - start


def spark_rate(warm_up_images, images, weights, output):
    os.environ["PYSPARK_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    import pomona.spark
    spark = (SparkSession.builder.master("local[2]").appName("pomona-bench")
             .config("spark.ui.enabled", "false").getOrCreate())
    pomona.spark.tune_for_images(spark)  # as pomona.spark.job does
    sampler = WorkerRssSampler()
    sampler.start()
    warm_up_seconds = spark_job_seconds(spark, warm_up_images, weights, output)
    spark_writer_seconds = spark_job_seconds(spark, images, weights, output, spark_writer=True)
    seconds = spark_job_seconds(spark, images, weights, output)
    sampler.done.set()
    sampler.join()
    count = spark.read.parquet(str(output)).count()
    spark.stop()
    return count, seconds, spark_writer_seconds, warm_up_seconds, sampler.peaks


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
    args = parser.parse_args()
    build = (ROOT / args.build).resolve()
    data = build / "bench-data"
    data.mkdir(parents=True, exist_ok=True)
    weights = data / "seeded_1.0_224.h5"
    if not weights.exists():
        subprocess.run([sys.executable, ROOT / "tools/make_test_weights.py", "--alpha", "1.0", "--size", "224",
                        weights], check=True)
    images, warm_up_images = (make_images(data, n) for n in (args.images, 200))

    # The CLI runs before and after Spark and its best time counts: on a shared machine the load
    # changes between runs, and the best CLI time keeps the ratio from flattering Spark.
    cli_count, cli_before = cli_rate(build, images, weights, data / "cli-out.parquet")
    spark_count, spark_seconds, spark_writer_seconds, warm_up_seconds, worker_peaks = spark_rate(
        warm_up_images, images, weights, data / "spark-out")
    cli_seconds = min(cli_before, cli_rate(build, images, weights, data / "cli-out.parquet")[1])
    shutil.rmtree(data / "spark-out", ignore_errors=True)
    assert spark_count == cli_count, (spark_count, cli_count)
    cli_ips, spark_ips = cli_count / cli_seconds, spark_count / spark_seconds
    spark_writer_ips = spark_count / spark_writer_seconds
    result = {"images": cli_count, "cli_2_threads_img_per_s": round(cli_ips, 2),
              "spark_local2_img_per_s": round(spark_ips, 2), "ratio": round(spark_ips / cli_ips, 3),
              "spark_writer_img_per_s": round(spark_writer_ips, 2),
              "spark_writer_ratio": round(spark_writer_ips / cli_ips, 3),
              "spark_first_job_200_images_s": round(warm_up_seconds, 1),
              "python_workers": len(worker_peaks),
              "python_worker_peak_rss_mib": round(max(worker_peaks.values(), default=0), 1)}
    print(f"pomona featurize, {cli_count} fruits 100x100, 2 threads      {cli_ips:8.1f} img/s")
    print(f"pomona.spark.featurize_to_parquet, Spark local[2]      {spark_ips:8.1f} img/s "
          f"(after a {warm_up_seconds:.1f} s first job on 200 images)")
    print(f"  featurize + Spark's Parquet writer, same session      {spark_writer_ips:8.1f} img/s "
          f"({result['spark_writer_ratio']:.2f} of the CLI)")
    print(f"Spark local[2] / CLI 2 threads: {result['ratio']:.2f} (target >= 0.85); "
          f"{len(worker_peaks)} Python workers, peak RSS {result['python_worker_peak_rss_mib']:.0f} MiB each at most")
    print("spark-bench-json: " + json.dumps(result))


if __name__ == "__main__":
    main()
