"""make bench: Pomona's throughput against the machine's ideal, in one run.

Prints one table (and saves it as JSON in bench/results/): the sgemm-based ideal img/s
(MobileNetV2-224 = 0.599 GFLOP per image), the network alone, and `pomona featurize` end to end
on 2,000 Fruits-like 100x100 JPEGs and on 1024x768 photos, at 1 and 2 threads, with peak RSS,
and peak RSS for 1,000 and 10,000 images to show it does not grow with the image count.
"""
import argparse
import datetime
import json
import os
import pathlib
import platform
import re
import subprocess
import sys

from measure import run_measured

ROOT = pathlib.Path(__file__).resolve().parent.parent
GFLOP_PER_IMAGE = 0.599


def make_images(outdir, per_class, classes, width, height):
    if not outdir.exists():
        subprocess.run([sys.executable, ROOT / "tools/make_demo_images.py", outdir, "--per-class",
                        str(per_class), "--classes", str(classes), "--width", str(width), "--height",
                        str(height)], check=True)
    return outdir


def network_benchmarks(build):
    """sgemm GFLOP/s and network-only img/s from the model's Google Benchmark binary."""
    report = build / "bench-data" / "feature_extractor_benchmark.json"
    run_measured([build / "bench" / "feature_extractor_benchmark", "--benchmark_min_time=2",
                  f"--benchmark_out={report}", "--benchmark_out_format=json"])
    return {b["name"]: b for b in json.loads(report.read_text())["benchmarks"]}


def featurize(build, images, weights, threads, output):
    out, seconds, rss = run_measured([build / "pomona", "featurize", images, output, "--weights", weights,
                                      "--threads", threads, "--quiet"])
    match = re.search(r"pomona: (\d+) images, (\d+) errors, \d+ skipped as done, ([\d.]+) s, ([\d.]+) img/s", out)
    images_done, errors, job_seconds, rate = match.groups()
    return {"images": int(images_done), "errors": int(errors), "img_per_s": float(rate),
            "wall_s": seconds, "peak_rss_mib": rss}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--fruits", type=int, default=2000)
    parser.add_argument("--photos", type=int, default=200)
    args = parser.parse_args()
    build = (ROOT / args.build).resolve()
    data = build / "bench-data"
    weights = data / "seeded_1.0_224.h5"
    if not weights.exists():
        data.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, ROOT / "tools/make_test_weights.py", "--alpha", "1.0", "--size", "224",
                        weights], check=True)
    fruits = make_images(data / f"fruits-{args.fruits}", args.fruits // 10, 10, 100, 100)
    # Peak RSS must not grow with the number of images: 1,000 against 10,000.
    rss_sets = [make_images(data / f"fruits-{n}", n // 10, 10, 100, 100) for n in (1000, 10000)]
    photos = make_images(data / f"photos-{args.photos}", args.photos // 10, 10, 1024, 768)

    rows = []
    net = network_benchmarks(build)
    ideal = {}
    for threads in (1, 2):
        gflops = net[f"BM_Sgemm/threads:{threads}/real_time"]["GFLOP/s"]
        ideal[threads] = gflops / GFLOP_PER_IMAGE
        rows.append((f"ideal (sgemm {gflops:.1f} GFLOP/s / {GFLOP_PER_IMAGE})", threads, ideal[threads], None))
    for name, b in net.items():
        if name.startswith("BM_Extract"):
            threads = 1 if name.startswith("BM_ExtractSingleThread") else 2
            batch = name.split("/")[1]
            kind = {"BM_ExtractSingleThread": "one network", "BM_ExtractOneNetworkTwoThreads":
                    "one network, 2 OMP threads", "BM_ExtractTwoContextsOneThreadEach":
                    "two single-thread networks"}[name.split("/")[0]]
            rows.append((f"network only, {kind}, batch {batch}", threads, b["img/s"], None))

    results = {}
    for label, images in (("fruits 100x100", fruits), ("photos 1024x768", photos)):
        for threads in (1, 2):
            r = featurize(build, images, weights, threads, data / "out.parquet")
            results[(label, threads)] = r
            rows.append((f"pomona featurize, {r['images']} {label}", threads, r["img_per_s"], r["peak_rss_mib"]))
    small, large = (featurize(build, images, weights, 2, data / "out.parquet") for images in rss_sets)
    for r in (small, large):
        rows.append((f"pomona featurize, {r['images']} fruits 100x100 (RSS check)", 2, r["img_per_s"],
                     r["peak_rss_mib"]))

    print(f"\nPomona benchmark — {datetime.date.today()} — {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores\n")
    print(f"{'what':<72} {'threads':>7} {'img/s':>9} {'/ideal':>7} {'peak RSS MiB':>13}")
    for what, threads, rate, rss in rows:
        ratio = rate / ideal[threads]
        rss_text = f"{rss:.0f}" if rss is not None else ""
        print(f"{what:<72} {threads:>7} {rate:>9.1f} {ratio:>7.2f} {rss_text:>13}")
    big = results[("fruits 100x100", 2)]
    print(f"\nend to end / ideal at 2 threads (fruits): {big['img_per_s'] / ideal[2]:.2f} (target >= 0.55)")
    print(f"peak RSS, {small['images']} vs {large['images']} images: {small['peak_rss_mib']:.0f} vs "
          f"{large['peak_rss_mib']:.0f} MiB (ratio {large['peak_rss_mib'] / small['peak_rss_mib']:.2f})")

    out = ROOT / "bench" / "results" / f"{datetime.date.today()}-{platform.node()}.json"
    out.write_text(json.dumps({"date": str(datetime.date.today()), "cpu": platform.processor(),
                               "rows": [dict(zip(("what", "threads", "img_per_s", "peak_rss_mib"), r)) for r in rows]},
                              indent=1))
    print(f"saved {out}")


if __name__ == "__main__":
    main()
