"""make bench: Pomona's throughput against the machine's ideal, in one run.

Prints one table (and saves it for bench/summary.py, which writes bench/results/): the sgemm-based
ideal img/s (MobileNetV2-224 = 0.599 GFLOP per image), the network alone, and `pomona featurize` end to end
on 2,000 Fruits-like 100x100 JPEGs and on 500 photos of 1024x768, at 1 and 2 threads, with peak
RSS, and peak RSS for 1,000 and 10,000 images to show it does not grow with the image count.
Each row keeps the command that produced it; bench/summary.py puts them in make bench's table.
"""
import argparse
import datetime
import json
import os
import platform

from measure import (ROOT, bench_data, command_text, featurize, fruits, make_images, run_measured, save_result,
                     seeded_weights)

GFLOP_PER_IMAGE = 0.599


def network_benchmarks(build):
    """sgemm GFLOP/s and network-only img/s from the model's Google Benchmark binary, and the
    command that measured them."""
    report = build / "bench-data" / "feature_extractor_benchmark.json"
    cmd = [build / "bench" / "feature_extractor_benchmark", "--benchmark_min_time=2",
           f"--benchmark_out={report}", "--benchmark_out_format=json"]
    run_measured(cmd)
    return {b["name"]: b for b in json.loads(report.read_text())["benchmarks"]}, command_text(cmd)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--fruits", type=int, default=2000)
    parser.add_argument("--photos", type=int, default=500)
    parser.add_argument("--rss-counts", type=int, nargs=2, default=[1000, 10000],
                        help="the two image counts whose peak RSS must be about the same")
    args = parser.parse_args()
    build = (ROOT / args.build).resolve()
    data = bench_data(build)
    weights = seeded_weights(data)
    fruit_images = fruits(data, args.fruits)
    # Peak RSS must not grow with the number of images: 1,000 against 10,000.
    rss_sets = [fruits(data, n) for n in args.rss_counts]
    photos = make_images(data / f"photos-{args.photos}", args.photos // 10, 10, 1024, 768)

    rows = []
    net, net_command = network_benchmarks(build)
    ideal = {}
    for threads in (1, 2):
        gflops = net[f"BM_Sgemm/threads:{threads}/real_time"]["GFLOP/s"]
        ideal[threads] = gflops / GFLOP_PER_IMAGE
        rows.append((f"ideal (sgemm {gflops:.1f} GFLOP/s / {GFLOP_PER_IMAGE})", threads, ideal[threads], None,
                     net_command))
    for name, b in net.items():
        if name.startswith("BM_Extract"):
            threads = 1 if name.startswith("BM_ExtractSingleThread") else 2
            batch = name.split("/")[1]
            kind = {"BM_ExtractSingleThread": "one network", "BM_ExtractOneNetworkTwoThreads":
                    "one network, 2 OMP threads", "BM_ExtractTwoContextsOneThreadEach":
                    "two single-thread networks"}[name.split("/")[0]]
            rows.append((f"network only, {kind}, batch {batch}", threads, b["img/s"], None, net_command))

    results = {}
    for label, images in (("fruits 100x100", fruit_images), ("photos 1024x768", photos)):
        for threads in (1, 2):
            r = featurize(build, images, weights, threads, data / "out.parquet")
            results[(label, threads)] = r
            rows.append((f"pomona featurize, {r['images']} {label}", threads, r["img_per_s"], r["peak_rss_mib"],
                         r["command"]))
    small, large = (featurize(build, images, weights, 2, data / "out.parquet") for images in rss_sets)
    for r in (small, large):
        rows.append((f"pomona featurize, {r['images']} fruits 100x100 (RSS check)", 2, r["img_per_s"],
                     r["peak_rss_mib"], r["command"]))

    print(f"\nPomona benchmark — {datetime.date.today()} — {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores\n")
    print(f"{'what':<72} {'threads':>7} {'img/s':>9} {'/ideal':>7} {'peak RSS MiB':>13}")
    for what, threads, rate, rss, _ in rows:
        ratio = rate / ideal[threads]
        rss_text = f"{rss:.0f}" if rss is not None else ""
        print(f"{what:<72} {threads:>7} {rate:>9.1f} {ratio:>7.2f} {rss_text:>13}")
    big = results[("fruits 100x100", 2)]
    print(f"\nend to end / ideal at 2 threads (fruits): {big['img_per_s'] / ideal[2]:.2f} (target >= 0.65)")
    print(f"peak RSS, {small['images']} vs {large['images']} images: {small['peak_rss_mib']:.0f} vs "
          f"{large['peak_rss_mib']:.0f} MiB (ratio {large['peak_rss_mib'] / small['peak_rss_mib']:.2f})")
    save_result(build, "bench", {
        "ideal_img_per_s": {str(t): v for t, v in ideal.items()},
        "rows": [dict(zip(("what", "threads", "img_per_s", "peak_rss_mib", "command"), r)) for r in rows]})


if __name__ == "__main__":
    main()
