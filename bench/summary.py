"""make bench's last step: one table from this run's results, the issue's targets, a plot.

    .venv/bin/python bench/summary.py --build build

Reads what bench.py, peers.py (fp32 and bf16), precision_bench.py, reference_stack.py and
notebook_udf.py saved in
<build>/bench-data/results/ (and spark_bench.py's JSON line from its log there, when run.sh kept
one), prints every figure with the command that produced it, the ratios the issue asks for, and
writes bench/results/<date>-<machine>.json (everything) and .svg (img/s per configuration).
"""
import argparse
import datetime
import html
import json
import os
import pathlib
import platform

from measure import ROOT, results_dir

COLOURS = {"ideal": "#9e9e9e", "pomona": "#1f6fb4", "peer": "#e08a1e", "reference": "#c0392b"}


def cpu_model():
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def load_parts(folder):
    parts = {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}
    log = folder / "spark_bench.log"
    if log.exists():
        lines = [line for line in log.read_text().splitlines() if line.startswith("spark-bench-json: ")]
        if lines:
            parts["spark_bench"] = {"script": "spark_bench", "time": datetime.datetime.fromtimestamp(
                log.stat().st_mtime).isoformat(timespec="seconds"), **json.loads(lines[-1].split(": ", 1)[1])}
    return parts


def row(group, what, threads, rate, rss, command):
    return {"group": group, "what": what, "threads": threads, "img_per_s": rate, "peak_rss_mib": rss,
            "command": command}


def table_rows(parts, build_name):
    rows = []
    bench = parts.get("bench", {"rows": []})
    for r in bench["rows"]:
        if r["what"].startswith("ideal"):
            rows.append(row("ideal", r["what"], r["threads"], r["img_per_s"], None, r["command"]))
    for precision, part in (("fp32", "peers"), ("bf16", "peers-bf16")):
        for r in parts.get(part, {}).get("runs", []):
            if "error" in r:
                rows.append(row("peer", f"{r['runtime']} {precision}: not measured ({r['error']})", r["threads"],
                                None, None, r["command"]))
                continue
            best = max(r["batches"], key=lambda b: r["batches"][b]["img_per_s"])
            variant = r["batches"][best].get("variant")
            name = ("Pomona" if r["runtime"] == "pomona"
                    else f"{r['runtime']} {r['version'].split('+')[0].split('-')[0]}")
            what = f"network alone {precision}, {name}, best batch ({best}{', ' + variant if variant else ''})"
            rows.append(row("pomona" if r["runtime"] == "pomona" else "peer", what, r["threads"],
                            r["batches"][best]["img_per_s"], None, r["command"]))
    for r in parts.get("precision", {}).get("speed", []):
        rows.append(row("pomona", f"`pomona featurize --precision {r['precision']}`, fruits 100x100",
                        r["threads"], r["end_to_end"], None, r["end_to_end_command"]))
    for r in bench["rows"]:
        if r["what"].startswith("pomona featurize") and "RSS check" not in r["what"]:
            rows.append(row("pomona", r["what"].replace("pomona featurize", "`pomona featurize`"), r["threads"],
                            r["img_per_s"], r["peak_rss_mib"], r["command"]))
    for run in parts.get("reference_stack", {}).get("runs", []):
        p, ref = run["pomona"], run["reference"]
        rows.append(row("pomona", f"`pomona featurize`, {p['images']} fruits, beside the notebook stack",
                        run["threads"], p["img_per_s"], p["peak_rss_mib"], p["command"]))
        rows.append(row("reference", f"notebook stack: Pillow + tf_keras predict, {ref['images']} fruits",
                        run["threads"], ref["img_per_s"], ref["peak_rss_mib"], ref["command"]))
    spark = parts.get("spark_bench")
    if spark:
        rows.append(row("pomona", f"pomona.spark local[2] (spark_bench.py), {spark['images']} fruits", 2,
                        spark["spark_listed_img_per_s"], spark["python_worker_peak_rss_mib"],
                        f".venv/bin/python bench/spark_bench.py --build {build_name}"))
    for side, s in parts.get("notebook_udf", {}).get("sides", {}).items():
        name = ("pomona.spark.featurize_to_parquet" if side == "pomona" else "notebook pandas UDF (tf_keras)")
        rows.append(row("pomona" if side == "pomona" else "reference",
                        f"{name}, Spark local[2], {s['images']} fruits", 2, s["img_per_s"],
                        s["python_worker_peak_rss_mib"], s["command"]))
    return rows


def check(what, value, target, passed):
    return {"what": what, "value": value, "target": target, "pass": passed}


def targets(parts, rows):
    """The issue's 'must show' list, each with its figure."""
    found = []
    ideal = {int(t): v for t, v in parts.get("bench", {}).get("ideal_img_per_s", {}).items()}
    for r in parts.get("bench", {}).get("rows", []):
        if r["what"].startswith("pomona featurize") and "fruits" in r["what"] and "RSS" not in r["what"] \
                and r["threads"] == 2 and 2 in ideal:
            value = r["img_per_s"] / ideal[2]
            found.append(check("end to end / ideal, 2 threads, fruits", value, ">= 0.65", value >= 0.65))
    for run in parts.get("reference_stack", {}).get("runs", []):
        found.append(check(f"pomona featurize / notebook stack, {run['threads']} thread(s)", run["speedup"], ">= 2",
                           run["speedup"] >= 2))
        found.append(check(f"peak RSS pomona / notebook stack, {run['threads']} thread(s)", run["rss_ratio"],
                           "<= 0.5", run["rss_ratio"] <= 0.5))
    udf = parts.get("notebook_udf")
    if udf:
        found.append(check("pomona.spark / notebook pandas UDF, local[2]", udf["speedup"], ">= 2", udf["speedup"] >= 2))
        found.append(check("Python worker peak RSS pomona.spark / notebook UDF", udf["worker_rss_ratio"], "<= 0.5",
                           udf["worker_rss_ratio"] <= 0.5))
    serve = parts.get("serve_bench")
    if serve:
        found.append(check("pomona serve saturation / network alone, 2 threads", serve["saturation_over_network"],
                           ">= 0.85", serve["saturation_over_network"] >= 0.85))
        ratio = serve["shedding"]["accepted_p99_over_unloaded_p50"]
        found.append(check("pomona serve at 2x saturation: accepted p99 / unloaded p50", ratio, "< 4", ratio < 4))
        for image, r in serve["pomona_over_peer"].items():
            found.append(check(f"pomona serve / FastAPI+ONNX Runtime throughput, {image}", r["throughput"], "> 1",
                               r["throughput"] > 1))
            found.append(check(f"FastAPI+ONNX Runtime p99 / pomona serve p99, {image}", r["peer_p99_over_pomona_p99"],
                               "> 1", r["peer_p99_over_pomona_p99"] > 1))
    for precision, part in (("fp32", "peers"), ("bf16", "peers-bf16")):
        for r in parts.get(part, {}).get("runs", []):
            if r["runtime"] != "pomona" and "pomona_speedup" in r:
                found.append(check(f"Pomona network alone / {r['runtime']}, {precision}, {r['threads']} thread(s)",
                                   r["pomona_speedup"], ">= 1.10", r["pomona_speedup"] >= 1.10))
    precision = parts.get("precision", {})
    for r in precision.get("speed", []):
        value = r["end_to_end"] / r["network"]
        found.append(check(f"end to end / network alone, {r['precision']}, {r['threads']} thread(s)", value,
                           ">= 0.85", value >= 0.85))
        value = r["end_to_end"] / r["ideal"]
        found.append(check(f"end to end / GEMM ideal, {r['precision']}, {r['threads']} thread(s)", value,
                           ">= 0.85", value >= 0.85))
    # Issue 16: each precision end to end against the notebook's stack at the same threads, the
    # Pomona side from precision_bench.py (fp32 and bf16 in one run).
    notebook = {run["threads"]: run["reference"]["img_per_s"] for run in parts.get("reference_stack", {}).get("runs", [])}
    for r in precision.get("speed", []):
        if r["threads"] in notebook:
            value = r["end_to_end"] / notebook[r["threads"]]
            target = 3 if r["precision"] == "fp32" else 5
            found.append(check(f"pomona featurize --precision {r['precision']} / notebook stack, {r['threads']} "
                               f"thread(s)", value, f">= {target}", value >= target))
    fidelity = precision.get("fidelity")
    if fidelity:
        value = fidelity["keras_fixtures_bf16_vs_keras_fp32"]["worst_cosine"]
        found.append(check("bf16 worst cosine to Keras fp32, fixtures", value, ">= 0.999", value >= 0.999))
        value = fidelity["pca50_explained"]["relative_difference"]
        found.append(check("bf16 PCA-50 explained variance vs fp32, relative", value, "<= 0.005", value <= 0.005))
        value = fidelity["loo_1nn_same_label_fraction"]
        found.append(check("bf16 leave-one-out 1-NN label = fp32's", value, ">= 0.98", value >= 0.98))
    return found


def write_svg(path, rows, title):
    """Horizontal bars of img/s, one per configuration, coloured by stack."""
    plotted = [r for r in rows if r["img_per_s"]]
    label_width, bar_width, height, top = 560, 420, 18, 56
    most = max(r["img_per_s"] for r in plotted)
    lines = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_width + bar_width + 80}" '
             f'height="{top + height * len(plotted) + 40}" font-family="sans-serif" font-size="11">',
             '<rect width="100%" height="100%" fill="white"/>',
             f'<text x="10" y="20" font-size="14" font-weight="bold">{html.escape(title)}</text>',
             '<text x="10" y="38" fill="#555">images per second, higher is better; '
             'threads in brackets (Spark rows: local[2])</text>']
    for i, r in enumerate(plotted):
        y = top + i * height
        width = bar_width * r["img_per_s"] / most
        lines.append(f'<text x="{label_width - 6}" y="{y + 12}" text-anchor="end">'
                     f'{html.escape(r["what"].replace("`", ""))} [{r["threads"]}]</text>')
        lines.append(f'<rect x="{label_width}" y="{y + 2}" width="{width:.1f}" height="{height - 4}" '
                     f'fill="{COLOURS[r["group"]]}"/>')
        lines.append(f'<text x="{label_width + width + 4:.1f}" y="{y + 12}">{r["img_per_s"]:.1f}</text>')
    y = top + height * len(plotted) + 20
    for i, (group, colour) in enumerate(COLOURS.items()):
        name = {"ideal": "sgemm ideal", "pomona": "Pomona", "peer": "PyTorch / ONNX Runtime / OpenVINO",
                "reference": "the notebook's stack"}[group]
        lines.append(f'<rect x="{10 + i * 240}" y="{y}" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{28 + i * 240}" y="{y + 10}">{name}</text>')
    lines.append("</svg>")
    path.write_text("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--out", type=pathlib.Path, help="where to write the .json and .svg "
                        "(default bench/results/<date>-<host>)")
    args = parser.parse_args()
    build = (ROOT / args.build).resolve()
    parts = load_parts(results_dir(build))
    if not parts:
        raise SystemExit(f"summary: nothing in {results_dir(build)}: run bench/run.sh first")
    rows = table_rows(parts, args.build)
    found = targets(parts, rows)
    today = datetime.date.today()
    machine = {"host": platform.node(), "cpu": cpu_model(), "cores": os.cpu_count()}
    ideal = {r["threads"]: r["img_per_s"] for r in rows if r["group"] == "ideal"}

    print(f"\nPomona against its ideal, the notebook's stack and the peer runtimes — {today} — "
          f"{machine['cpu']}, {machine['cores']} cores ({machine['host']})")
    print("from: " + ", ".join(f"{name} at {part['time']}" for name, part in parts.items()) + "\n")
    print(f"{'what':<82} {'thr':>3} {'img/s':>8} {'/ideal':>6} {'RSS MiB':>8}  command")
    for r in rows:
        rate = f"{r['img_per_s']:8.1f}" if r["img_per_s"] else f"{'':>8}"
        ratio = f"{r['img_per_s'] / ideal[r['threads']]:6.2f}" if r["img_per_s"] and r["threads"] in ideal else " " * 6
        rss = f"{r['peak_rss_mib']:8.0f}" if r["peak_rss_mib"] else " " * 8
        print(f"{r['what']:<82} {r['threads']:>3} {rate} {ratio} {rss}  {r['command']}")
    print("\ntargets:")
    for t in found:
        print(f"  {'PASS' if t['pass'] else 'FAIL'}  {t['what']}: {t['value']:.2f} (target {t['target']})")

    stem = args.out.resolve() if args.out else ROOT / "bench" / "results" / f"{today}-{machine['host']}"
    title = f"Pomona, {today}, {machine['cpu']}, {machine['cores']} cores"
    stem.with_suffix(".json").write_text(json.dumps({"date": str(today), "machine": machine, "table": rows,
                                                     "targets": found, "parts": parts}, indent=1))
    write_svg(stem.with_suffix(".svg"), rows, title)
    print(f"\nsaved {stem.with_suffix('.json')} and {stem.with_suffix('.svg')}")


if __name__ == "__main__":
    main()
