"""Pomona on Spark local[2] against the pomona command with 2 threads, on the same images.

    .venv/bin/python bench/spark_bench.py --build build [--images 2000]

Uses make bench's data (build/bench-data: seeded 1.0/224 weights, Fruits-like 100x100 JPEGs,
generated when missing). Times `pomona featurize --threads 2` and, in one local[2] session, the
notebook's binaryFile read -> pomona.spark.featurize -> Parquet write (JVM start excluded, Python
worker start and model load included, as the CLI's time includes its model load). Prints both
rates, their ratio (target >= 0.85) and the peak RSS of the Spark Python workers (VmHWM of each
process whose command line runs pyspark's daemon or worker, sampled until the job ends).
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
    count, seconds = re.search(r"pomona: (\d+) images, \d+ errors, ([\d.]+) s", out.stdout).groups()
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


def spark_rate(images, weights, output):
    os.environ["PYSPARK_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    import pomona.spark
    spark = (SparkSession.builder.master("local[2]").appName("pomona-bench")
             .config("spark.ui.enabled", "false").getOrCreate())
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "256")
    sampler = WorkerRssSampler()
    sampler.start()
    start = time.perf_counter()
    df = (spark.read.format("binaryFile").option("pathGlobFilter", "*.jpg")
          .option("recursiveFileLookup", "true").load(str(images)))
    pomona.spark.featurize(df, weights=str(weights)).write.mode("overwrite").parquet(str(output))
    seconds = time.perf_counter() - start
    sampler.done.set()
    sampler.join()
    count = spark.read.parquet(str(output)).count()
    spark.stop()
    return count, seconds, sampler.peaks


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
    images = data / f"fruits-{args.images}"
    if not images.exists():
        subprocess.run([sys.executable, ROOT / "tools/make_demo_images.py", images, "--per-class",
                        str(args.images // 10), "--classes", "10"], check=True)

    cli_count, cli_seconds = cli_rate(build, images, weights, data / "cli-out.parquet")
    spark_count, spark_seconds, worker_peaks = spark_rate(images, weights, data / "spark-out")
    shutil.rmtree(data / "spark-out", ignore_errors=True)
    assert spark_count == cli_count, (spark_count, cli_count)
    cli_ips, spark_ips = cli_count / cli_seconds, spark_count / spark_seconds
    result = {"images": cli_count, "cli_2_threads_img_per_s": round(cli_ips, 2),
              "spark_local2_img_per_s": round(spark_ips, 2), "ratio": round(spark_ips / cli_ips, 3),
              "python_workers": len(worker_peaks),
              "python_worker_peak_rss_mib": round(max(worker_peaks.values(), default=0), 1)}
    print(f"pomona featurize, {cli_count} fruits 100x100, 2 threads      {cli_ips:8.1f} img/s")
    print(f"pomona.spark.featurize, Spark local[2], same images    {spark_ips:8.1f} img/s")
    print(f"Spark local[2] / CLI 2 threads: {result['ratio']:.2f} (target >= 0.85); "
          f"{len(worker_peaks)} Python workers, peak RSS {result['python_worker_peak_rss_mib']:.0f} MiB each at most")
    print("spark-bench-json: " + json.dumps(result))


if __name__ == "__main__":
    main()
