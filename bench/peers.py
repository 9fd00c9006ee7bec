"""The network alone in PyTorch, ONNX Runtime and OpenVINO (from PyPI) against Pomona's, on the
same threads.

    .venv/bin/python bench/peers.py --build build [--threads 1 2] [--batches 1 4 8] [--seconds 3]
        [--precision fp32 bf16]

Both precisions by default: fp32 (results/peers.json) and, where this CPU has native bf16,
Pomona's --precision bf16 against OpenVINO's bf16 inference precision (results/peers-bf16.json;
PyTorch and ONNX Runtime are measured in fp32 only).

Every runtime runs the same network: Keras' MobileNetV2 1.0/224 cut at layers[-2], built by
bench/same_network.py from the seeded H5 weights Pomona reads (BatchNormalization folded, Keras'
padding), fp32, NCHW input already preprocessed in memory (what Pomona's network-alone benchmark
times too). PyTorch runs it as an nn.Module (eager, channels_last) and as a frozen TorchScript
graph (torch.jit.optimize_for_inference), the faster counting; ONNX Runtime and OpenVINO run the
ONNX export of the same layers. Threads: torch.set_num_threads (1 inter-op thread), ORT
intra_op_num_threads (inter-op 1, sequential), OpenVINO INFERENCE_NUM_THREADS (1 stream, latency
hint, or its THROUGHPUT hint where that is faster; f32 or bf16 inference precision); OMP_NUM_THREADS
as well. Each runtime and thread count runs in its own
process of the bench venv. Their features of 8 check images are compared with `pomona featurize`'s.
Pomona's rows come from feature_extractor_benchmark run in this script, just before.
"""
import argparse
import json
import os
import pathlib
import time

from measure import (BENCH_PYTHON, ROOT, bench_data, check_inputs, check_set, command_text, json_line,
                     max_difference, require_bench_venv, run_measured, save_result, seeded_weights)

RUNTIMES = ("pytorch", "onnxruntime", "openvino")
# pip's name of each runtime, for the message when it is missing from the bench venv.
PACKAGES = {"pytorch": "torch", "onnxruntime": "onnxruntime", "openvino": "openvino"}


def images_per_second(run, x, seconds):
    """Calls run(x) until `seconds` have passed (at least 3 calls) after 2 warm-up calls; returns
    images per wall second and per CPU second of this process (all its threads), the figure that
    holds still when other processes share the cores."""
    for _ in range(2):
        run(x)
    calls, start, cpu = 0, time.perf_counter(), time.process_time()
    while calls < 3 or time.perf_counter() - start < seconds:
        run(x)
        calls += 1
    return calls * len(x) / (time.perf_counter() - start), calls * len(x) / (time.process_time() - cpu)


def batch_of(images, size):
    import numpy as np
    return np.ascontiguousarray(np.resize(images, (size,) + images.shape[1:]))


def pytorch_runners(args, images):
    """{variant: (run(batch) -> features, version)} for the faster of PyTorch's two ways."""
    import same_network
    import torch

    if args.precision != "fp32":
        raise ImportError("bf16 is measured for OpenVINO and Pomona only")

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    model = same_network.torch_model(same_network.folded_layers(args.weights))
    model = model.to(memory_format=torch.channels_last)
    example = torch.from_numpy(images[:1]).to(memory_format=torch.channels_last)
    with torch.no_grad():
        scripted = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(model, example).eval()))

    def runner(module):
        def run(x):
            with torch.inference_mode():
                return module(torch.from_numpy(x).to(memory_format=torch.channels_last)).numpy()
        return lambda batch: run
    return {"eager, channels_last": runner(model), "TorchScript, frozen": runner(scripted)}, torch.__version__


def onnxruntime_runners(args, images):
    import onnxruntime as ort

    if args.precision != "fp32":
        raise ImportError("ONNX Runtime's CPU provider has no bf16 convolutions")

    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(args.onnx), options, providers=["CPUExecutionProvider"])
    run = lambda x: session.run(None, {"images": x})[0]  # noqa: E731
    return {"CPUExecutionProvider": lambda batch: run}, ort.__version__


def openvino_runners(args, images):
    import numpy as np
    import openvino as ov

    core = ov.Core()
    precision = {"fp32": "f32", "bf16": "bf16"}[args.precision]
    config = {"INFERENCE_NUM_THREADS": args.threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY",
              "INFERENCE_PRECISION_HINT": precision}
    compiled = {}

    def for_batch(batch):
        """A model compiled for this static batch size (OpenVINO's fastest form)."""
        if batch not in compiled:
            model = core.read_model(str(args.onnx))
            model.reshape([batch, 3, 224, 224])
            request = core.compile_model(model, "CPU", config).create_infer_request()
            compiled[batch] = lambda x: request.infer({0: x})[0]
        return compiled[batch]

    # Its way of filling several cores: the THROUGHPUT hint picks the streams, and each image is a
    # request of its own, all of a batch in flight at once.
    model = core.read_model(str(args.onnx))
    model.reshape([1, 3, 224, 224])
    streams = core.compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": args.threads, "PERFORMANCE_HINT":
                                                "THROUGHPUT", "INFERENCE_PRECISION_HINT": precision})
    queue = ov.AsyncInferQueue(streams, streams.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))

    def throughput(x):
        out = [None] * len(x)
        queue.set_callback(lambda request, i: out.__setitem__(i, request.get_output_tensor(0).data.copy()))
        for i in range(len(x)):
            queue.start_async({0: x[i:i + 1]}, i)
        queue.wait_all()
        return np.concatenate(out)
    runners = {"CPU plugin, latency hint": for_batch}
    if args.threads > 1:
        runners[f"CPU plugin, THROUGHPUT hint ({streams.get_property('NUM_STREAMS')} streams)"] = \
            lambda batch: throughput
    return runners, ov.__version__


def worker(args):
    """Runs in the bench venv: one runtime at one thread count, every batch size, then the check."""
    check_paths, check_images = check_inputs(args.check_images)
    images = check_images.transpose(0, 3, 1, 2).copy()
    result = {"runtime": args.runtime, "threads": args.threads}
    try:
        runners, version = {"pytorch": pytorch_runners, "onnxruntime": onnxruntime_runners,
                            "openvino": openvino_runners}[args.runtime](args, images)
    except ImportError as error:
        print("peers-json: " + json.dumps({**result, "error": f"{type(error).__name__}: {error}"}))
        return
    result["version"] = version
    result["batches"] = {}
    for batch in args.batches:
        x = batch_of(images, batch)
        for variant, runner in runners.items():
            rate, cpu_rate = images_per_second(runner(batch), x, args.seconds)
            best = result["batches"].get(str(batch))
            if best is None or rate > best["img_per_s"]:
                result["batches"][str(batch)] = {"img_per_s": rate, "variant": variant}
            if cpu_rate > result.get("img_per_cpu_s", 0):
                result["img_per_cpu_s"] = cpu_rate
            print(f"{args.runtime} {variant}, batch {batch}, {args.threads} threads: {rate:.1f} img/s, "
                  f"{cpu_rate:.1f} img per CPU-second", flush=True)
    features = list(runners.values())[-1](len(images))(images)
    result["max_abs_diff_vs_pomona"] = max_difference(check_paths, features, args.check_features)
    print("peers-json: " + json.dumps(result))


def export_onnx(args):
    import same_network
    same_network.write_onnx(same_network.folded_layers(args.weights), args.onnx)


# Pomona's ways of running the network on 1 and 2 threads (feature_extractor_benchmark.cc).
POMONA_VARIANTS = {1: {"BM_ExtractSingleThread": "one network"},
                   2: {"BM_ExtractOneNetworkTwoThreads": "one network, 2 OpenMP threads",
                       "BM_ExtractTwoContextsOneThreadEach": "two single-thread networks, as featurize runs"}}


def pomona_network(build, threads, seconds, precision):
    """Pomona's network-alone img/s per batch size from its Google Benchmark binary, the faster of
    its ways of using `threads` threads at each batch size."""
    variants = POMONA_VARIANTS[threads]
    report = build / "bench-data" / f"peers-pomona-{threads}-{precision}.json"
    cmd = [build / "bench" / "feature_extractor_benchmark", f"--precision={precision}",
           f"--benchmark_filter=^({'|'.join(variants)})/",
           f"--benchmark_min_time={seconds}", f"--benchmark_out={report}", "--benchmark_out_format=json"]
    run_measured(cmd)
    batches, cpu_rate = {}, None
    for b in json.loads(report.read_text())["benchmarks"]:
        name, batch = b["name"].split("/")[:2]
        if batch not in batches or b["img/s"] > batches[batch]["img_per_s"]:
            batches[batch] = {"img_per_s": b["img/s"], "variant": variants[name]}
        if threads == 1:  # the benchmark thread's CPU time is the network's only when it runs alone
            cpu_rate = max(cpu_rate or 0, int(batch) * 1e3 / b["cpu_time"])
    return {"runtime": "pomona", "threads": threads, "batches": batches, "img_per_cpu_s": cpu_rate,
            "command": command_text(cmd)}


def missing_reason(runtime):
    """Why bench_venv.py could not install the runtime, when it said so."""
    failures = ROOT / ".venv-bench" / "install-failures.json"
    if failures.exists():
        return json.loads(failures.read_text()).get(PACKAGES[runtime])
    return None


def compare(args, build, precision, weights, onnx, check_images, check_features):
    """Pomona and each runtime at each thread count in one precision; prints the table and saves
    peers.json (fp32) or peers-bf16.json."""
    results = []
    for threads in args.threads:
        results.append(pomona_network(build, threads, args.seconds, precision))
        for runtime in args.runtimes:
            env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
            cmd = [BENCH_PYTHON, pathlib.Path(__file__).resolve(), "--worker", runtime, "--threads", threads,
                   "--precision", precision,
                   "--batches", *args.batches, "--seconds", args.seconds, "--weights", weights, "--onnx", onnx,
                   "--check-images", check_images, "--check-features", check_features]
            out, _, rss = run_measured(cmd, env=env)
            result = {**json_line(out, "peers-json"), "peak_rss_mib": rss,
                      "command": f"OMP_NUM_THREADS={threads} " + command_text(cmd)}
            if "error" in result:
                result["error"] = missing_reason(runtime) or result["error"]
            results.append(result)

    print(f"\n{'network alone (same MobileNetV2, ' + precision + ')':<40} {'threads':>7} "
          + " ".join(f"{'batch ' + str(b):>9}" for b in args.batches) + f" {'best':>8} {'pomona/best':>12}"
          + f" {'img/CPU-s':>10} {'pomona/it':>9}")
    for r in results:
        r["best_img_per_s"] = max((b["img_per_s"] for b in r.get("batches", {}).values()), default=None)
    pomona = {r["threads"]: r["best_img_per_s"] for r in results if r["runtime"] == "pomona"}
    for r in results:
        name = r["runtime"] + (f" {r['version'].split('-')[0]}" if "version" in r else "")
        if "error" in r:
            print(f"{name:<40} {r['threads']:>7}  not measured: {r['error']}")
            continue
        r["pomona_speedup"] = pomona[r["threads"]] / r["best_img_per_s"]
        rates = " ".join(f"{r['batches'][str(b)]['img_per_s']:>9.1f}" if str(b) in r["batches"] else f"{'':>9}"
                         for b in args.batches)
        diff = f"  max |diff| vs pomona {r['max_abs_diff_vs_pomona']:.1e}" if "max_abs_diff_vs_pomona" in r else ""
        cpu = {t: x["img_per_cpu_s"] for x in results if x["runtime"] == "pomona" for t in [x["threads"]]}
        per_cpu = (f" {r['img_per_cpu_s']:>10.1f} {cpu[r['threads']] / r['img_per_cpu_s']:>8.2f}x"
                   if r.get("img_per_cpu_s") and cpu.get(r["threads"]) else f" {'':>10} {'':>9}")
        print(f"{name:<40} {r['threads']:>7} {rates} {r['best_img_per_s']:>8.1f} {r['pomona_speedup']:>11.2f}x"
              f"{per_cpu}{diff}")
    save_result(build, "peers" if precision == "fp32" else f"peers-{precision}", {"runs": results})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--seconds", type=float, default=3.0, help="timed seconds per batch size")
    parser.add_argument("--runtimes", nargs="+", default=list(RUNTIMES), choices=RUNTIMES)
    parser.add_argument("--precision", nargs="+", choices=("fp32", "bf16"), default=["fp32", "bf16"],
                        help="bf16: Pomona's --precision bf16 against OpenVINO's bf16 inference precision "
                             "(where this CPU has native bf16)")
    parser.add_argument("--worker", choices=RUNTIMES + ("export-onnx",), help=argparse.SUPPRESS)
    for hidden in ("--weights", "--onnx", "--check-images", "--check-features"):
        parser.add_argument(hidden, type=pathlib.Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "export-onnx":
        return export_onnx(args)
    if args.worker:
        args.runtime, args.threads, args.precision = args.worker, args.threads[0], args.precision[0]
        return worker(args)

    require_bench_venv("peers")
    build = (ROOT / args.build).resolve()
    data = bench_data(build)
    weights = seeded_weights(data)
    check_images, check_features = check_set(build, data, weights)
    onnx = data / "mobilenet_v2_seeded_1.0_224.onnx"
    run_measured([BENCH_PYTHON, __file__, "--worker", "export-onnx", "--weights", weights, "--onnx", onnx])

    from pomona._pomona import cpu_has_native_bf16  # the driver's .venv has pomona; the workers' venv need not
    for precision in args.precision:
        if precision == "bf16" and not cpu_has_native_bf16():
            print("\nbf16 not measured: this CPU has no native bf16 (AVX512-BF16 or AMX) as oneDNN sees it")
            continue
        compare(args, build, precision, weights, onnx, check_images, check_features)


if __name__ == "__main__":
    main()
