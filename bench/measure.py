"""What every benchmark script needs: run a command and measure that process alone, the shared
benchmark data, and where each script leaves its results for bench/summary.py."""
import datetime
import json
import os
import pathlib
import re
import shlex
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
# TensorFlow, tf_keras, ONNX Runtime, OpenVINO and PyTorch live here, never in .venv
# (bench/bench_venv.py makes it from bench/requirements.txt).
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"


def run_measured(cmd, env=None):
    """Runs cmd; returns (output, wall seconds, peak RSS in MiB) of that process alone (wait4, so
    neither this Python process nor earlier children count). Exits with the output on failure."""
    start = time.perf_counter()
    proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(map(str, cmd))} failed ({proc.returncode}):\n{output}")
    return output, seconds, usage.ru_maxrss / 1024


def featurize(build, images, weights, threads, output, extra=(), env=None):
    """`pomona featurize` (plus options `extra`, in environment `env`) measured: its own img/s and
    counts, wall time, peak RSS, the command."""
    cmd = [build / "pomona", "featurize", images, output, "--weights", weights, "--threads", threads,
           "--overwrite", "--quiet", *extra]
    out, seconds, rss = run_measured(cmd, env=env)
    match = re.search(r"pomona: (\d+) images, (\d+) errors, \d+ skipped as done, (?:\d+ S3 retries, )?"
                      r"([\d.]+) s, ([\d.]+) img/s", out)
    images_done, errors, job_seconds, rate = match.groups()
    return {"images": int(images_done), "errors": int(errors), "img_per_s": float(rate),
            "wall_s": seconds, "peak_rss_mib": rss, "command": command_text(cmd)}


def require_bench_venv(script):
    """Exits with what to do when the bench venv (TensorFlow, the peer runtimes) is missing."""
    if not BENCH_PYTHON.exists():
        sys.exit(f"{script}: no bench venv (.venv-bench): run `python3 bench/bench_venv.py` first")


def command_text(cmd):
    """cmd as one would type it in the repository root (paths relative to it)."""
    return " ".join(shlex.quote(str(part).replace(str(ROOT) + "/", "")) for part in cmd)


def json_line(output, tag):
    """The JSON a worker printed after `tag: ` (the last such line)."""
    lines = [line for line in output.splitlines() if line.startswith(tag + ": ")]
    if not lines:
        sys.exit(f"bench: no '{tag}:' line in:\n{output}")
    return json.loads(lines[-1][len(tag) + 2:])


def bench_data(build):
    data = build / "bench-data"
    data.mkdir(parents=True, exist_ok=True)
    return data


def seeded_weights(data, alpha="1.0", size="224"):
    """The seeded MobileNetV2 alpha/size weights (tools/make_test_weights.py), made once."""
    weights = data / f"seeded_{alpha}_{size}.h5"
    if not weights.exists():
        subprocess.run([sys.executable, ROOT / "tools/make_test_weights.py", "--alpha", alpha, "--size",
                        size, weights], check=True)
    return weights


def make_images(outdir, per_class, classes, width, height):
    """Synthetic fruit-like JPEGs (tools/make_demo_images.py), made once per folder name."""
    if not outdir.exists():
        subprocess.run([sys.executable, ROOT / "tools/make_demo_images.py", outdir, "--per-class",
                        str(per_class), "--classes", str(classes), "--width", str(width), "--height",
                        str(height)], check=True)
    return outdir


def fruits(data, count):
    """make bench's Fruits-like 100x100 JPEGs, 10 classes (the folder spark_bench.py uses too)."""
    return make_images(data / f"fruits-{count}", count // 10, 10, 100, 100)


def results_dir(build):
    folder = bench_data(build) / "results"
    folder.mkdir(exist_ok=True)
    return folder


def save_result(build, script, result):
    """Leaves one script's results for bench/summary.py, stamped with when and where."""
    result = {"script": script, "time": datetime.datetime.now().isoformat(timespec="seconds"),
              "host": os.uname().nodename, **result}
    path = results_dir(build) / f"{script}.json"
    path.write_text(json.dumps(result, indent=1))
    print(f"saved {path}")


def check_set(build, data, weights):
    """8 JPEGs and Pomona's features of them, which the other stacks' features are checked against."""
    folder = make_images(data / "check-8", 1, 8, 100, 100)
    features = data / "check-8.parquet"
    run_measured([build / "pomona", "featurize", folder, features, "--weights", weights, "--threads", "1",
                  "--overwrite", "--quiet"])
    return folder, features


def check_inputs(folder):
    """The check images in name order, as the notebook prepares them: Pillow decode,
    convert('RGB'), default resize to 224x224, preprocess_input (x / 127.5 - 1), NHWC float32."""
    import numpy as np
    from PIL import Image

    paths = sorted(pathlib.Path(folder).rglob("*.jpg"))
    images = [np.asarray(Image.open(p).convert("RGB").resize((224, 224)), dtype=np.float32) for p in paths]
    return paths, np.stack(images) / np.float32(127.5) - np.float32(1)


def max_difference(paths, features, pomona_parquet):
    """Largest |features - Pomona's| over the check images (rows matched by path)."""
    import numpy as np
    import pyarrow.parquet as pq

    table = pq.read_table(pomona_parquet, columns=["path", "features"]).to_pydict()
    pomona = {os.path.realpath(p): np.asarray(f, np.float32) for p, f in zip(table["path"], table["features"])}
    assert len(pomona) == len(paths), (len(pomona), len(paths))
    return float(max(np.abs(f - pomona[os.path.realpath(p)]).max() for p, f in zip(paths, features)))
