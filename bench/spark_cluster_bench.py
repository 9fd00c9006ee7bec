"""Executor throughput against the number of executors: pomona.spark.job on a Spark standalone
cluster on this machine (the tests' Cluster: master and workers started with spark-class, one
core and one executor each) with 1 and with 2 workers.

    .venv/bin/python bench/spark_cluster_bench.py --build build [--images 2000]

Uses make bench's data (seeded 1.0/224 weights, Fruits-like 100x100 JPEGs). Starts the clusters
alternately, 1, 2, 1, 2 workers (a shared machine's load changes between runs), submits the job
once to each and keeps each size's faster run; prints the job's own rate (its summary line:
listing, tasks and commit, after the executors started) and the spark-submit wall time, and the
2-worker / 1-worker ratio (at most 2 on 2 cores, less what the driver, master and workers use).
"""
import argparse
import json
import pathlib
import re
import shutil
import sys
import tempfile
import time

import measure
from measure import ROOT, bench_data, fruits, seeded_weights

sys.path.insert(0, str(ROOT / "tests"))
from test_spark_cluster import Cluster  # noqa: E402  (the tests' standalone cluster)


def job_run(cluster, images, weights, output):
    start = time.perf_counter()
    stdout, stderr = cluster.submit("--input", images, "--output", output, "--weights", weights,
                                    "--glob", "*.jpg")
    wall = time.perf_counter() - start
    match = re.search(r"pomona spark: (\d+) images, .*?, ([\d.]+) img/s", stdout)
    if not match:
        sys.exit("spark_cluster_bench: the job failed:\n" + stderr[-3000:])
    return {"images": int(match.group(1)), "job_img_per_s": float(match.group(2)), "wall_s": round(wall, 1)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--images", type=int, default=2000)
    args = parser.parse_args()
    data = bench_data((ROOT / args.build).resolve())
    weights, images = seeded_weights(data), fruits(data, args.images)
    results = {}
    for workers in (1, 2, 1, 2):
        root = pathlib.Path(tempfile.mkdtemp(prefix=f"pomona-cluster-{workers}-"))
        cluster = Cluster(root, workers)
        try:
            run = job_run(cluster, images, weights, root / "out")
        finally:
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
        print(f"{workers} worker(s), 1 core each: {run['job_img_per_s']:8.1f} img/s "
              f"(spark-submit wall {run['wall_s']} s, {run['images']} images)", flush=True)
        if run["job_img_per_s"] > results.get(workers, {}).get("job_img_per_s", 0):
            results[workers] = run
    ratio = results[2]["job_img_per_s"] / results[1]["job_img_per_s"]
    print(f"2 workers / 1 worker: {ratio:.2f}")
    measure.save_result((ROOT / args.build).resolve(), "spark_cluster_bench",
                        {"workers": results, "ratio": round(ratio, 3)})
    print("spark-cluster-bench-json: " + json.dumps({"workers": results, "ratio": round(ratio, 3)}))


if __name__ == "__main__":
    main()
