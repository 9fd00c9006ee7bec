"""Driver memory and time of pomona.spark.PCA.fit against the number of input partitions.

    .venv/bin/python bench/spark_pca_bench.py [--partitions 10,100,1000,4000] [--driver-memory 2g]

Each count runs in a fresh Spark local[2] session (its own driver process and JVM), fitting
PCA(k=8) on 2 generated 1280-d rows per partition (the size of MobileNetV2 1.0 features: one
partial state is 6.6 MB). Prints, per count, the driver's peak RSS (VmHWM of the Python driver
and of its JVM, which on local[N] also hosts the executors' JVM side), the time of the Spark
jobs that accumulate and merge the statistics (PCA.accumulate: the driver receives one merged
state) and of the driver's eigen-decomposition (finalize). Target: the peak at 4,000 partitions
at most 1.5x the peak at 10.
"""
import argparse
import json
import os
import pathlib
import re
import resource
import subprocess
import sys
import time

DIM, ROWS_PER_PARTITION, K = 1280, 2, 8


def peak_rss_mib(pid) -> float:
    status = pathlib.Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def driver_jvm_pid() -> int:
    """The JVM that pyspark launched for this driver: a descendant of this process running java."""
    children = {}
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int(re.search(r"PPid:\s+(\d+)", (entry / "status").read_text()).group(1))
            except (OSError, AttributeError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    pending = list(children.get(os.getpid(), []))
    while pending:
        pid = pending.pop()
        if pathlib.Path(f"/proc/{pid}/exe").resolve().name == "java":
            return pid
        pending += children.get(pid, [])
    raise RuntimeError("no JVM under this driver")


def one_count(partitions: int, driver_memory: str) -> dict:
    os.environ["PYSPARK_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    import pomona.spark
    spark = (SparkSession.builder.master("local[2]").appName("pomona-pca-bench")
             .config("spark.ui.enabled", "false").config("spark.driver.memory", driver_memory)
             .getOrCreate())
    features = F.expr(f"transform(sequence(1, {DIM}), i -> cast(xxhash64(id, i) % 1000 as float) / 1000)")
    df = spark.range(0, partitions * ROWS_PER_PARTITION, 1, partitions).select(features.alias("features"))
    start = time.perf_counter()
    merged = pomona.spark.PCA(k=K).accumulate(df)
    accumulate_s = time.perf_counter() - start
    start = time.perf_counter()
    model = merged.finalize()
    finalize_s = time.perf_counter() - start
    assert model.count == partitions * ROWS_PER_PARTITION, model.count
    jvm_peak = peak_rss_mib(driver_jvm_pid())
    spark.stop()
    python_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"partitions": partitions, "driver_python_peak_mib": round(python_peak, 1),
            "driver_jvm_peak_mib": round(jvm_peak, 1),
            "driver_peak_mib": round(python_peak + jvm_peak, 1),
            "accumulate_s": round(accumulate_s, 2), "finalize_s": round(finalize_s, 3)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--partitions", default="10,100,1000,4000")
    parser.add_argument("--driver-memory", default="2g")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child run: one count
    args = parser.parse_args()
    if args.one:
        print("spark-pca-one: " + json.dumps(one_count(args.one, args.driver_memory)), flush=True)
        return
    results = []
    for partitions in (int(p) for p in args.partitions.split(",")):
        out = subprocess.run([sys.executable, __file__, "--one", str(partitions),
                              "--driver-memory", args.driver_memory],
                             capture_output=True, text=True, check=True).stdout
        result = json.loads(out.split("spark-pca-one: ")[1])
        results.append(result)
        print(f"{partitions:6d} partitions: driver peak {result['driver_peak_mib']:7.1f} MiB "
              f"(Python {result['driver_python_peak_mib']:.0f} + JVM {result['driver_jvm_peak_mib']:.0f}), "
              f"accumulate+merge {result['accumulate_s']:6.2f} s, eigen {result['finalize_s']:.3f} s",
              flush=True)
    growth = results[-1]["driver_peak_mib"] / results[0]["driver_peak_mib"]
    print(f"driver peak at {results[-1]['partitions']} / at {results[0]['partitions']} partitions: "
          f"{growth:.2f} (target <= 1.5)")
    print("spark-pca-bench-json: " + json.dumps({"runs": results, "peak_growth": round(growth, 3)}))


if __name__ == "__main__":
    main()
