"""`--precision bf16` against fp32: what a user gives up and gains, in one run.

    .venv/bin/python bench/precision_bench.py --build build [--fruits 2000]

Fidelity (no timing): bf16 features against Keras' fp32 features of the committed fixture images
(tests/fixtures/keras, the seeded 1.0/224 weights) and against Pomona's fp32 features of real
photos (../shared/fruits-sample when present, else generated images): per image cosine and
max|Δ|/max|f|; downstream, the variance the first 50 principal components explain and
leave-one-out 1-NN labels, bf16 against fp32. Speed: the network alone (feature_extractor_benchmark,
two single-thread networks) and `pomona featurize` end to end on 100x100 JPEGs at 1 and 2 threads,
fp32 and bf16 side by side, with the GEMM ideals (sgemm, bf16 matmul).
"""
import argparse
import json
import os

import numpy as np
import pyarrow.parquet as pq

from measure import (ROOT, bench_data, command_text, featurize, fruits, make_images, run_measured, save_result,
                     seeded_weights)

PRECISIONS = ("fp32", "bf16")
FIXTURES = ROOT / "tests" / "fixtures" / "keras"
SHARED_SAMPLE = ROOT.parent / "shared" / "fruits-sample"
GFLOP_PER_IMAGE = 0.599


def features_of(build, images, weights, output, precision):
    """(paths, labels, features) of `pomona featurize` in name order."""
    run_measured([build / "pomona", "featurize", images, output, "--weights", weights, "--threads", "2",
                  "--precision", precision, "--overwrite", "--quiet"])
    table = pq.read_table(output).to_pydict()
    rows = sorted((p, lab, f) for p, lab, f, e in zip(table["path"], table["label"], table["features"],
                                                       table["error"]) if e is None)
    return [r[0] for r in rows], [r[1] for r in rows], np.array([r[2] for r in rows], dtype=np.float64)


def agreement(ours, reference):
    """Per image cosine and max|Δ|/max|f| of ours against reference (rows matched)."""
    cosine = (ours * reference).sum(1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(reference, axis=1))
    relative = np.abs(ours - reference).max(1) / np.abs(reference).max(1)
    return {"images": len(ours), "worst_cosine": float(cosine.min()),
            "cosine_percentiles_0_1_50": [float(np.percentile(cosine, q)) for q in (0, 1, 50)],
            "rel_diff_percentiles_50_99_100": [float(np.percentile(relative, q)) for q in (50, 99, 100)]}


def pca_explained(features, k=50):
    centred = features - features.mean(0)
    variances = np.linalg.svd(centred, compute_uv=False) ** 2
    return float(variances[:k].sum() / variances.sum())


def nearest_labels(features, labels):
    """Each image's leave-one-out nearest neighbour's label (Euclidean)."""
    squared = (features ** 2).sum(1)
    distances = squared[:, None] + squared[None, :] - 2 * features @ features.T
    np.fill_diagonal(distances, np.inf)
    return [labels[j] for j in distances.argmin(1)]


def fidelity(build, data):
    weights = seeded_weights(data)
    result = {}
    names = (FIXTURES / "images.txt").read_text().split()
    keras = np.load(FIXTURES / "features_1.0_224.npy").astype(np.float64)
    paths, _, bf16 = features_of(build, FIXTURES / "images", weights, data / "fixtures-bf16.parquet", "bf16")
    order = [paths.index(next(p for p in paths if p.endswith("/" + n))) for n in names]
    result["keras_fixtures_bf16_vs_keras_fp32"] = agreement(bf16[order], keras)

    photos = SHARED_SAMPLE if SHARED_SAMPLE.is_dir() else make_images(data / "precision-photos", 15, 12, 100, 100)
    (paths, labels, fp32), (_, _, bf16) = (features_of(build, photos, weights, data / f"photos-{p}.parquet", p)
                                           for p in PRECISIONS)
    result["photos"] = str(photos)
    result["photos_bf16_vs_fp32"] = agreement(bf16, fp32)
    explained = {p: pca_explained(f) for p, f in (("fp32", fp32), ("bf16", bf16))}
    result["pca50_explained"] = {**explained, "relative_difference": abs(explained["bf16"] / explained["fp32"] - 1)}
    same = np.mean([a == b for a, b in zip(nearest_labels(fp32, labels), nearest_labels(bf16, labels))])
    result["loo_1nn_same_label_fraction"] = float(same)
    return result


def network_alone(build, data, precision):
    """{threads: img/s} at batch 1 (two single-thread networks for 2 threads) and the GEMM ideal."""
    report = data / f"precision-network-{precision}.json"
    cmd = [build / "bench" / "feature_extractor_benchmark", f"--precision={precision}",
           "--benchmark_filter=^(BM_ExtractSingleThread/1/|BM_ExtractTwoContextsOneThreadEach/1/|"
           + ("BM_Sgemm" if precision == "fp32" else "BM_MatmulBf16") + ")",
           "--benchmark_min_time=3", f"--benchmark_out={report}", "--benchmark_out_format=json"]
    run_measured(cmd)
    rates, ideal = {}, {}
    for b in json.loads(report.read_text())["benchmarks"]:
        if b["name"].startswith("BM_Extract"):
            rates[1 if b["name"].startswith("BM_ExtractSingleThread") else 2] = b["img/s"]
        else:
            ideal[int(b["name"].split(":")[1].split("/")[0])] = b["GFLOP/s"] / GFLOP_PER_IMAGE
    return rates, ideal, command_text(cmd)


def speed(build, data, count):
    images = fruits(data, count)
    weights = seeded_weights(data)
    rows = []
    for precision in PRECISIONS:
        rates, ideal, command = network_alone(build, data, precision)
        for threads in (1, 2):
            e2e = featurize(build, images, weights, threads, data / "out.parquet", ("--precision", precision))
            rows.append({"precision": precision, "threads": threads, "ideal": ideal[threads],
                         "network": rates[threads], "end_to_end": e2e["img_per_s"],
                         "network_command": command, "end_to_end_command": e2e["command"]})
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--fruits", type=int, default=2000)
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    build = (ROOT / args.build).resolve()
    data = bench_data(build)
    from pomona._pomona import cpu_has_native_bf16
    if not cpu_has_native_bf16():
        print("not measured: this CPU has no native bf16 (AVX512-BF16 or AMX) as oneDNN sees it, so "
              "`pomona featurize --precision bf16` stops with exit 2 here")
        return
    result = {"fidelity": fidelity(build, data)}
    print(json.dumps(result["fidelity"], indent=1))
    if not args.skip_speed:
        result["speed"] = speed(build, data, args.fruits)
        print(f"\n{'precision':<9} {'threads':>7} {'ideal':>8} {'network':>8} {'end to end':>10} "
              f"{'e2e/network':>11} {'e2e/ideal':>9}   (img/s, {os.cpu_count()} cores)")
        for r in result["speed"]:
            print(f"{r['precision']:<9} {r['threads']:>7} {r['ideal']:>8.1f} {r['network']:>8.1f} "
                  f"{r['end_to_end']:>10.1f} {r['end_to_end'] / r['network']:>11.2f} "
                  f"{r['end_to_end'] / r['ideal']:>9.2f}")
    save_result(build, "precision", result)


if __name__ == "__main__":
    main()
