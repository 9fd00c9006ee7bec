"""PCA at scale (issue 4, must show 4): 1,000,000 x 1280 float32 features streamed from one
Parquet file through `pomona pca fit`, printing wall time and peak RSS (must stay under 1 GiB).

Usage: .venv/bin/python bench/pca_bench.py --build build [--rows 1000000] [--dim 1280]
The features file is generated once in BUILD/bench-data (about 5 GB for the default size).
"""
import argparse
import pathlib
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from measure import run_measured

ROWS_PER_GROUP = 8192


def make_features(path, rows, dim):
    """Rows of independent columns with unequal spreads, written one row group at a time."""
    rng = np.random.default_rng(4)
    scales = np.linspace(3.0, 0.01, dim, dtype=np.float32)
    schema = pa.schema([("path", pa.string()), ("label", pa.string()),
                        ("features", pa.list_(pa.float32())), ("error", pa.string())])
    temp = path.with_name("." + path.name + ".tmp")
    with pq.ParquetWriter(temp, schema, compression="none") as writer:
        for begin in range(0, rows, ROWS_PER_GROUP):
            n = min(ROWS_PER_GROUP, rows - begin)
            values = (rng.standard_normal((n, dim), dtype=np.float32) * scales + 1.0).ravel()
            features = pa.ListArray.from_arrays(pa.array(np.arange(0, n * dim + 1, dim, dtype=np.int32)),
                                                pa.array(values))
            writer.write_table(pa.table({
                "path": [f"img{begin + i}.jpg" for i in range(n)],
                "label": pa.array([f"c{(begin + i) % 10}" for i in range(n)]),
                "features": features,
                "error": pa.nulls(n, pa.string()),
            }, schema=schema))
    temp.rename(path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=1280)
    args = parser.parse_args()
    build = pathlib.Path(args.build).resolve()
    data = build / "bench-data"
    data.mkdir(parents=True, exist_ok=True)
    features = data / f"pca-{args.rows}x{args.dim}.parquet"
    if not features.exists():
        start = time.perf_counter()
        make_features(features, args.rows, args.dim)
        print(f"pca bench: generated {features} in {time.perf_counter() - start:.1f} s")

    model = data / "pca-model.parquet"
    output, seconds, peak_mib = run_measured([build / "pomona", "pca", "fit", features, model,
                                              "--pca-variance", "0.95"])
    print(output.strip())
    print(f"pca bench: pca fit of {args.rows} x {args.dim}: {seconds:.1f} s "
          f"({args.rows / seconds:,.0f} rows/s), peak RSS {peak_mib:.0f} MiB "
          f"({'under' if peak_mib < 1024 else 'OVER'} 1 GiB)")
    return 0 if peak_mib < 1024 else 1


if __name__ == "__main__":
    sys.exit(main())
