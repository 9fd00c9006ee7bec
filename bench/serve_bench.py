"""`pomona serve` under load on loopback, against the network alone and against a peer stack
(FastAPI/uvicorn + ONNX Runtime on the same network, bench/serve_peer.py), in one run.

    .venv/bin/python bench/serve_bench.py --build build [--seconds 8] [--concurrency 1 2 4 8 32]
    .venv/bin/python bench/serve_bench.py --shedding-only [--shed-variants defaults queue=1,threads=2]

Load comes from `hey` (Debian), closed loop at each concurrency, POSTing one image as the raw body:
a 100x100 JPEG (Fruits-like) and a 1024x768 photo, generated, the same bytes for both stacks. Per
point: p50/p95/p99 latency of the 200 answers and their throughput. Both servers run 2 networks
(Pomona --threads 2; uvicorn --workers 2, ORT one intra-op thread each) and a deep queue for the
sweep (Pomona: 64 places, a wait budget of a minute). Then:
  - saturation: the best 100x100 throughput against Pomona's network alone at 2 threads (two
    single-thread networks, feature_extractor_benchmark, batch 1) measured just before;
  - shedding: Pomona with its defaults (wait budget: one image's network time) offered twice its
    saturation rate open loop (hey -q; once from one hey, whose 64 workers fire together, once
    from 8 staggered), then a closed loop of 32: the share answered 503, goodput, the p99 of the
    accepted against the unloaded p50, and the server's mean per stage for the accepted;
  - peak RSS of each server (VmHWM; the peer's summed over its processes).
hey runs on the same 2 cores as the server: both stacks pay for it alike.
--shedding-only: Pomona alone, the 100x100 sweep, the network alone, then the shedding runs, once per server variant
(NAME=VALUE,... for `pomona serve --NAME VALUE ...`; "defaults": none), all in one run.
"""
import argparse
import csv
import io
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from measure import (BENCH_PYTHON, ROOT, bench_data, command_text, make_images, run_measured,
                     save_result, seeded_weights)
from peers import pomona_network


def deep_queue(build):
    """The sweep's server arguments: a deep queue and no wait budget to speak of, so that it
    measures capacity (--max-wait-ms only where the binary has it: a before/after run may use a
    build from before it)."""
    help_text = subprocess.run([build / "pomona", "serve", "--help"], capture_output=True, text=True).stdout
    return ("--queue", 64, "--connection-threads", 128,
            *(("--max-wait-ms", 60000) if "--max-wait-ms" in help_text else ()))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url, process, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            sys.exit(f"serve_bench: server exited: {process.stderr.read() if process.stderr else ''}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except Exception:  # noqa: BLE001  (not up yet)
            time.sleep(0.1)
    sys.exit(f"serve_bench: {url} not ready")


def peak_rss_mib(pid):
    """VmHWM of pid and its descendants, summed."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = pathlib.Path(f"/proc/{p}/status").read_text()
            total += int(status.split("VmHWM:")[1].split()[0])
            todo += [int(c) for t in pathlib.Path(f"/proc/{p}/task").iterdir()
                     for c in (t / "children").read_text().split()]
        except (FileNotFoundError, IndexError):
            pass
    return total / 1024


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def hey(url, image, seconds, concurrency, rate=None, processes=1):
    """One hey run: throughput of 200s, latency percentiles (ms) of the 200s, statuses.
    processes > 1: that many hey processes share the concurrency, started 1/processes of a rate
    tick apart, so that their workers' ticks interleave instead of firing together."""
    cmd = ["hey", "-z", f"{seconds}s", "-c", str(concurrency // processes), "-m", "POST", "-D", str(image),
           "-T", "image/jpeg", "-t", "30", "-o", "csv"]
    if rate:
        cmd += ["-q", f"{rate:.3f}"]
    started = []
    for p in range(processes):
        if p:
            time.sleep(1 / rate / processes)
        started.append(subprocess.Popen(cmd + [url], stdout=subprocess.PIPE, text=True))
    rows = []
    for process in started:
        out = process.communicate()[0]
        if process.returncode:
            sys.exit(f"serve_bench: hey failed ({process.returncode})")
        rows += csv.DictReader(io.StringIO(out))
    ok = sorted(1000 * float(r["response-time"]) for r in rows if r["status-code"] == "200")
    statuses = {}
    for r in rows:
        statuses[r["status-code"]] = statuses.get(r["status-code"], 0) + 1
    span = max((float(r["offset"]) + float(r["response-time"]) for r in rows), default=seconds)
    return {"concurrency": concurrency, "ok_per_s": len(ok) / span, "mean_ms": sum(ok) / max(1, len(ok)),
            "p50_ms": percentile(ok, 0.50),
            "p95_ms": percentile(ok, 0.95), "p99_ms": percentile(ok, 0.99), "statuses": statuses,
            "command": (f"{processes} x " if processes > 1 else "") + command_text(cmd + [url])}


def start_pomona(build, index, weights, port, *server_args):
    cmd = [build / "pomona", "serve", index, "--weights", weights, "--threads", "2", "--port", port,
           *server_args]
    process = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    wait_ready(f"http://127.0.0.1:{port}/readyz", process)
    return process, command_text(cmd)


def start_peer(python, onnx, index, port):
    cmd = [python, "-m", "uvicorn", "serve_peer:app", "--app-dir", ROOT / "bench", "--workers", "2",
           "--port", port, "--log-level", "warning"]
    env = {**os.environ, "SERVE_PEER_ONNX": str(onnx), "SERVE_PEER_INDEX": str(index),
           "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}/v1/classify"
    deadline = time.time() + 120
    while True:  # ready once it answers a classification
        try:
            request = urllib.request.Request(url, data=b"x", method="POST")
            urllib.request.urlopen(request, timeout=2)
        except urllib.error.HTTPError:
            break
        except Exception:  # noqa: BLE001
            if process.poll() is not None or time.time() > deadline:
                sys.exit(f"serve_bench: peer did not start: {process.stderr.read()}")
            time.sleep(0.2)
    return process, "SERVE_PEER_ONNX=... SERVE_PEER_INDEX=... " + command_text(cmd)


def stop(process, group=False):
    rss = peak_rss_mib(process.pid)
    if group:
        os.killpg(process.pid, signal.SIGTERM)
    else:
        process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    return rss


def metrics(base):
    """The server's /metrics as {series: value} (Pomona only; None for the peer)."""
    try:
        text = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode()
    except urllib.error.HTTPError:
        return None
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
            if line and not line.startswith("#")}


def stage_sums(base):
    """{stage: (seconds, count)} of the server's pomona_stage_seconds (Pomona only)."""
    m = metrics(base)
    if m is None:
        return None
    return {key.split('"')[1]: (value, m[key.replace("_sum{", "_count{")]) for key, value in m.items()
            if key.startswith("pomona_stage_seconds_sum{")}


def stage_means_ms(before, after):
    """Mean ms per stage between two stage_sums (the answered requests of those seconds)."""
    return {stage: 1000 * (after[stage][0] - before[stage][0]) / max(1, after[stage][1] - before[stage][1])
            for stage in after}


def point(url, image, seconds, concurrency):
    """hey at one concurrency; for Pomona also the mean network time per image the server itself
    measured in those seconds, and the rate its networks would give doing nothing else."""
    base = url.rsplit("/v1/", 1)[0]
    before = stage_sums(base)
    p = hey(url, image, seconds, concurrency)
    after = stage_sums(base)
    if before and after:
        (t0, n0), (t1, n1) = before["network"], after["network"]
        p["network_ms_mean"] = 1000 * (t1 - t0) / max(1, n1 - n0)
        p["network_bound_per_s"] = 2 * 1000 / p["network_ms_mean"]  # 2 networks
    return p


def sweep(url, images, seconds, concurrency):
    points = {}
    for name, image in images.items():
        hey(url, image, 2, 2)  # warm-up
        points[name] = [point(url, image, seconds, c) for c in concurrency]
        for p in points[name]:
            print(f"  {name:>8} c={p['concurrency']:>2}: {p['ok_per_s']:7.1f} ok/s  p50 {p['p50_ms']:.1f}  "
                  f"p95 {p['p95_ms']:.1f}  p99 {p['p99_ms']:.1f} ms  {p['statuses']}", flush=True)
    return points


def shedding(build, index, weights, image, seconds, saturation, unloaded_p50, *server_args):
    """Pomona (default settings plus server_args) offered twice its saturation rate open loop, then
    a closed loop of 32 clients: share of 503s, goodput, accepted p99 over the unloaded p50."""
    print(f"== shedding: {command_text(server_args) or 'defaults'}, offered 2 x {saturation:.1f} req/s open loop",
          flush=True)
    port = free_port()
    process, command = start_pomona(build, index, weights, port, *server_args)
    base, workers = f"http://127.0.0.1:{port}", 64
    loads = {"shed": lambda: hey(base + "/v1/classify", image, seconds, workers, rate=2 * saturation / workers),
             # hey's workers fire on the same ticks (bursts of 64): the same rate from 8 processes
             # started an eighth of a tick apart (bursts of 8), and a closed loop of 32 clients.
             "staggered": lambda: hey(base + "/v1/classify", image, seconds, workers,
                                      rate=2 * saturation / workers, processes=8),
             "closed": lambda: hey(base + "/v1/classify", image, seconds, 32)}
    runs = {}
    for name, load in loads.items():
        before = stage_sums(base)
        runs[name] = load()
        # Where the accepted requests' time went, as the server saw it (means; total: from the
        # request's arrival, read whole, to its answer), beside the client's mean.
        runs[name]["server_stage_ms_mean"] = stage_means_ms(before, stage_sums(base))
        runs[name]["client_ms_mean"] = runs[name].pop("mean_ms")
    runs["shed"]["metrics_after"] = {k: v for k, v in metrics(base).items()
                                     if k.startswith(("pomona_requests_total", "pomona_shed_total"))}
    stop(process)
    shed, staggered, closed = runs["shed"], runs["staggered"], runs["closed"]
    for run in (shed, staggered, closed):
        run["share_503"] = run["statuses"].get("503", 0) / max(1, sum(run["statuses"].values()))
        run["accepted_p99_over_unloaded_p50"] = run["p99_ms"] / unloaded_p50
        run["goodput_over_saturation"] = run["ok_per_s"] / saturation
    return {**shed, "server": command, "offered_per_s": 2 * saturation, "unloaded_p50_ms": unloaded_p50,
            "staggered_8": staggered, "closed_loop_32": closed}


def print_shedding(s):
    for name, run in (("open loop at 2x saturation", s), ("the same from 8 staggered hey", s["staggered_8"]),
                      ("closed loop, 32 clients", s["closed_loop_32"])):
        print(f"shedding ({s['server']}), {name}: {100 * run['share_503']:.0f} % answered 503, goodput "
              f"{run['goodput_over_saturation']:.2f} of saturation; accepted p99 {run['p99_ms']:.1f} ms = "
              f"{run['accepted_p99_over_unloaded_p50']:.2f} x the unloaded p50 ({s['unloaded_p50_ms']:.1f} ms; "
              "target < 4)")
        stages = "  ".join(f"{k} {v:.1f}" for k, v in run["server_stage_ms_mean"].items())
        print(f"    accepted, mean ms: client {run['client_ms_mean']:.1f}; server {stages}")


def variant_args(variant):
    """"queue=1,connection-threads=32" -> ["--queue", "1", "--connection-threads", "32"]."""
    if variant == "defaults":
        return []
    return [arg for pair in variant.split(",") for arg in ("--" + pair.split("=")[0], pair.split("=")[1])]


def shedding_only(args, build, weights, image, index):
    """The 100x100 sweep (saturation, unloaded p50), then shedding once per server variant."""
    port = free_port()
    process, _ = start_pomona(build, index, weights, port, *deep_queue(build))
    points = sweep(f"http://127.0.0.1:{port}/v1/classify", {"100x100": image}, args.seconds,
                   [c for c in args.concurrency if c <= 8])["100x100"]
    stop(process)
    saturation, unloaded_p50 = max(p["ok_per_s"] for p in points), points[0]["p50_ms"]
    best = max(points, key=lambda p: p["ok_per_s"])
    print("== network alone (2 single-thread networks, batch 1)", flush=True)
    network = pomona_network(build, 2, 3.0, "fp32")["batches"]["1"]["img_per_s"]
    result = {"points": points, "variants": [], "network_alone_img_per_s": network,
              "saturation_over_network": saturation / network,
              "saturation_over_network_same_seconds": best["ok_per_s"] / best["network_bound_per_s"]}
    print(f"saturation {saturation:.1f} req/s = {result['saturation_over_network']:.2f} of the network alone "
          f"({network:.1f} img/s; target >= 0.85); {result['saturation_over_network_same_seconds']:.2f} of its "
          f"2 networks' rate in the same seconds; unloaded p50 {unloaded_p50:.1f} ms, p99 {points[0]['p99_ms']:.1f} ms")
    for variant in args.shed_variants:
        result["variants"].append(shedding(build, index, weights, image, args.seconds, saturation, unloaded_p50,
                                           *variant_args(variant)))
    for s in result["variants"]:
        print_shedding(s)
    save_result(build, "serve_shedding", result)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--seconds", type=int, default=8, help="per load point")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4, 8, 32])
    parser.add_argument("--peer-python", default=str(BENCH_PYTHON),
                        help="a Python with onnxruntime, onnx, fastapi, uvicorn (default: the bench venv)")
    parser.add_argument("--shedding-only", action="store_true", help="Pomona's shedding only (see above)")
    parser.add_argument("--shed-variants", nargs="+", default=["defaults"],
                        help="with --shedding-only: extra serve arguments per variant")
    args = parser.parse_args()
    for tool in ("hey",):
        if not shutil.which(tool):
            sys.exit(f"serve_bench: {tool} missing: scripts/bootstrap.sh installs it")
    build = (ROOT / args.build).resolve()
    data = bench_data(build)
    weights = seeded_weights(data)
    images = {"100x100": sorted(make_images(data / "serve-100x100", 1, 10, 100, 100).rglob("*.jpg"))[0],
              "1024x768": sorted(make_images(data / "serve-1024x768", 1, 10, 1024, 768).rglob("*.jpg"))[0]}
    reference = make_images(data / "serve-index-200", 20, 10, 100, 100)
    features, index = data / "serve-index.parquet", data / "serve.index.parquet"
    run_measured([build / "pomona", "featurize", reference, features, "--weights", weights, "--quiet"])
    run_measured([build / "pomona", "index", features, index, "--weights", weights])
    if args.shedding_only:
        return shedding_only(args, build, weights, images["100x100"], index)
    onnx = data / "mobilenet_v2_seeded_1.0_224.onnx"
    run_measured([args.peer_python, ROOT / "bench" / "peers.py", "--worker", "export-onnx", "--weights",
                  weights, "--onnx", onnx])

    print("== network alone (2 single-thread networks, batch 1)", flush=True)
    network = pomona_network(build, 2, 3.0, "fp32")["batches"]["1"]["img_per_s"]
    print(f"  {network:.1f} img/s")

    result = {"network_alone_img_per_s": network, "images": {k: str(v) for k, v in images.items()}}
    port = free_port()
    print("== pomona serve (--threads 2, --queue 64)", flush=True)
    process, command = start_pomona(build, index, weights, port, *deep_queue(build))
    result["pomona"] = {"command": command,
                        "points": sweep(f"http://127.0.0.1:{port}/v1/classify", images, args.seconds,
                                        args.concurrency)}
    result["pomona"]["peak_rss_mib"] = stop(process)

    print("== peer: FastAPI/uvicorn (2 workers) + ONNX Runtime", flush=True)
    port = free_port()
    process, command = start_peer(args.peer_python, onnx, index, port)
    result["peer"] = {"command": command,
                      "points": sweep(f"http://127.0.0.1:{port}/v1/classify", images, args.seconds,
                                      args.concurrency)}
    result["peer"]["peak_rss_mib"] = stop(process, group=True)

    pomona_small = result["pomona"]["points"]["100x100"]
    saturation = max(p["ok_per_s"] for p in pomona_small)
    unloaded_p50 = pomona_small[0]["p50_ms"]
    result["shedding"] = shedding(build, index, weights, images["100x100"], args.seconds, saturation,
                                  unloaded_p50)
    result["saturation_over_network"] = saturation / network
    best = max(pomona_small, key=lambda p: p["ok_per_s"])
    # The same ratio with the network-alone rate taken in the same seconds, from the server's own
    # timing of its networks: immune to the machine's load moving between two measurements.
    result["saturation_over_network_same_seconds"] = best["ok_per_s"] / best["network_bound_per_s"]

    print("\n| stack | image | concurrency | ok/s | p50 ms | p95 ms | p99 ms |\n| --- | --- | --- | --- | --- | --- | --- |")
    for stack in ("pomona", "peer"):
        for name, points in result[stack]["points"].items():
            for p in points:
                print(f"| {stack} | {name} | {p['concurrency']} | {p['ok_per_s']:.1f} | {p['p50_ms']:.1f} | "
                      f"{p['p95_ms']:.1f} | {p['p99_ms']:.1f} |")
    print(f"\nsaturation {saturation:.1f} req/s = {result['saturation_over_network']:.2f} of the network "
          f"alone ({network:.1f} img/s; target >= 0.85); "
          f"{result['saturation_over_network_same_seconds']:.2f} of the rate of its 2 networks in the same "
          f"seconds ({best['network_bound_per_s']:.1f} img/s at {best['network_ms_mean']:.2f} ms each)")
    print_shedding(result["shedding"])
    result["pomona_over_peer"] = {}
    for name in images:
        best = {stack: max(p["ok_per_s"] for p in result[stack]["points"][name]) for stack in ("pomona", "peer")}
        p99 = {stack: result[stack]["points"][name][-1]["p99_ms"] for stack in ("pomona", "peer")}
        result["pomona_over_peer"][name] = {"throughput": best["pomona"] / best["peer"],
                                            "peer_p99_over_pomona_p99": p99["peer"] / p99["pomona"]}
        print(f"{name}: Pomona / peer throughput {best['pomona'] / best['peer']:.2f}x, "
              f"peer p99 / Pomona p99 at c={args.concurrency[-1]} {p99['peer'] / p99['pomona']:.2f}x")
    print(f"peak RSS: Pomona {result['pomona']['peak_rss_mib']:.0f} MiB, peer {result['peer']['peak_rss_mib']:.0f} MiB")
    save_result(build, "serve_bench", result)


if __name__ == "__main__":
    main()
