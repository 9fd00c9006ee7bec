"""Shared by the PCA end-to-end tests: feature files written with pyarrow, models read back."""
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def write_features(path, features, errors=()):
    """A features file in Pomona's row schema: one row per row of `features` (None = error row)."""
    rows = [None if f is None else [float(v) for v in f] for f in features] + [None] * len(errors)
    table = pa.table({
        "path": [f"img{i}.jpg" for i in range(len(rows))],
        "label": [f"class{i % 3}" for i in range(len(rows))],
        "features": pa.array(rows, type=pa.list_(pa.float32())),
        "error": pa.array([None] * len(features) + list(errors), type=pa.string()),
    })
    pq.write_table(table, path)
    return path


def random_features(rows, dim, seed):
    """Correlated rows with unequal spreads and an offset, as float32 (what files hold)."""
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(dim, dim)) * np.linspace(3.0, 0.1, dim)
    return (rng.normal(size=(rows, dim)) @ mix.T + 5.0).astype(np.float32)


def read_model(path):
    row = pq.read_table(path).to_pylist()[0]
    return {key: np.array(value) if isinstance(value, list) else value for key, value in row.items()}


def read_column(path, name):
    return pq.read_table(path).column(name).to_pylist()
