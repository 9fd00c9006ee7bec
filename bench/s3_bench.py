"""`pomona featurize` reading from S3 against reading the same images from a local folder.

    .venv/bin/python bench/s3_bench.py --build build [--images 2000] [--threads 2]

Starts moto's S3 server on 127.0.0.1 (tests/s3_server.py, the tests' server, in this process:
it serves while the command runs), uploads make bench's Fruits-like 100x100 JPEGs and times,
alternately, local->local and s3->local runs of `pomona featurize --threads N` with the default
--io-threads, twice each; each side's best run counts (a shared machine's load changes between
runs). Rates are images over the command's wall time, so listing and model loading count on
both sides. Prints both rates, peak RSS and the ratio s3/local (target >= 0.9), and the CPU
time the server itself used during the S3 run: moto is Python (milliseconds of CPU per request)
and, on a machine with no more cores than --threads, takes that time from the command, which a
real S3 endpoint would not.

Then S3 under latency: the same objects through the tests' proxy (tests/s3_server.py FaultProxy)
adding --latency-ms to every answer, against the same proxy adding nothing, with a small network
(0.35/96, so that the network is not the limit), default --io-threads (the read-ahead sizes
itself) and, for comparison, --io-threads 8 (the old fixed read-ahead). Prints each rate, the most
GETs the proxy saw in flight, and the ratio delayed/undelayed (target >= 0.9).
"""
import argparse
import logging
import os
import resource
import sys

import measure
from measure import ROOT, bench_data, fruits, save_result, seeded_weights

sys.path.insert(0, str(ROOT / "tests"))
from s3_server import FaultProxy, MotoS3  # noqa: E402  (the tests' S3 server)

BUCKET = "pomona-bench"


def featurize(build, source, weights, threads, output, env):
    """One `pomona featurize` run: images, wall seconds, peak RSS, the CPU seconds this process
    (the server) used meanwhile, and the command."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    run = measure.featurize(build, source, weights, threads, output, env=env)
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {**run, "server_cpu_s": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime}


def latency_runs(build, server, weights, threads, output, latency_ms):
    """Rates through the proxy without and with latency_ms a response: {name: run}."""
    runs = {}
    for name, delay_ms, extra in (("no delay", 0, ()), (f"{latency_ms} ms", latency_ms, ()),
                                  (f"{latency_ms} ms, --io-threads 8", latency_ms, ("--io-threads", "8"))):
        with FaultProxy(server.endpoint, delay_s=delay_ms / 1000) as proxy:
            env = server.env() | {"AWS_ENDPOINT_URL": proxy.endpoint}
            run = measure.featurize(build, f"s3://{BUCKET}/fruits/", weights, threads, output,
                                    extra=("--alpha", "0.35", "--size", "96", *extra), env=env)
        runs[name] = {**run, "img_per_s": run["images"] / run["wall_s"],
                      "most_gets_in_flight": max(proxy.gets_in_flight)}
    return runs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--latency-ms", type=int, default=25)
    args = parser.parse_args()
    build = (ROOT / args.build).resolve()
    data = bench_data(build)
    weights = seeded_weights(data)
    images = fruits(data, args.images)
    output = data / "s3-bench-out.parquet"

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's log line per request
    with MotoS3.in_process() as server:
        server.make_bucket(BUCKET)
        server.upload_folder(images, BUCKET, "fruits")
        env = server.env()
        runs = {"local": [], "s3": []}
        for _ in range(2):
            runs["local"].append(featurize(build, images, weights, args.threads, output, env))
            runs["s3"].append(featurize(build, f"s3://{BUCKET}/fruits/", weights, args.threads,
                                        output, env))
        latency = latency_runs(build, server, seeded_weights(data, "0.35", "96"), args.threads, output, args.latency_ms)
    output.unlink(missing_ok=True)

    best = {side: min(results, key=lambda run: run["wall_s"]) for side, results in runs.items()}
    assert best["s3"]["images"] == best["local"]["images"], best
    for run in best.values():
        run["img_per_s"] = run["images"] / run["wall_s"]
    ratio = best["s3"]["img_per_s"] / best["local"]["img_per_s"]
    print(f"{'pomona featurize, ' + str(best['local']['images']) + ' fruits 100x100':<44} "
          f"{'threads':>7} {'img/s':>9} {'peak RSS MiB':>13}")
    for side, label in (("local", "local folder -> local"), ("s3", "s3:// (moto, 127.0.0.1) -> local")):
        print(f"  {label:<42} {args.threads:>7} {best[side]['img_per_s']:>9.1f} "
              f"{best[side]['peak_rss_mib']:>13.0f}")
    print(f"s3 / local: {ratio:.2f} (target >= 0.9, default --io-threads); moto used "
          f"{best['s3']['server_cpu_s']:.1f} s of CPU during the S3 run's {best['s3']['wall_s']:.1f} s "
          f"on {os.cpu_count()} cores")
    print(f"pomona featurize s3:// -> local, 0.35/96, {args.threads} threads, through a proxy:")
    for name, run in latency.items():
        print(f"  {name:<32} {run['img_per_s']:>9.1f} img/s, {run['most_gets_in_flight']:>3} GETs in flight at most")
    delayed = latency[f"{args.latency_ms} ms"]["img_per_s"] / latency["no delay"]["img_per_s"]
    print(f"{args.latency_ms} ms / no delay: {delayed:.2f} (target >= 0.9, default --io-threads)")
    save_result(build, "s3_bench", {"threads": args.threads, "ratio": round(ratio, 3),
                                    "local": best["local"], "s3": best["s3"],
                                    "latency_ms": args.latency_ms, "latency_runs": latency,
                                    "latency_ratio": round(delayed, 3)})


if __name__ == "__main__":
    main()
