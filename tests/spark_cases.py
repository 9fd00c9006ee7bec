"""Shared by the Python and Spark end-to-end tests: one image tree with corrupt files, the CLI's
rows for it, and comparisons of rows and PCA models against the CLI's."""
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq

from helpers import make_images, make_weights, run_pomona

ALPHA, SIZE = 0.35, 96
MODEL_OPTIONS = ["--alpha", str(ALPHA), "--size", str(SIZE)]
# Non-empty: Spark's file sources skip 0-byte files, so an empty file has no row on Spark.
CORRUPT_FILES = {
    "Broken/not_an_image.jpg": b"this is text, not a JPEG",
    "Broken/bad_header.jpg": b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4,
}
TRUNCATED = "Broken/truncated.jpg"


def local_spark(app_name: str, **conf: str):
    """A local[2] SparkSession for a test module, its workers running this venv's Python (which
    imports pomona), quiet (no UI, progress bars or INFO logs), with conf's settings added."""
    from pyspark.sql import SparkSession
    os.environ["PYSPARK_PYTHON"] = sys.executable
    builder = (SparkSession.builder.master("local[2]").appName(app_name)
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.sql.execution.arrow.maxRecordsPerBatch", "16"))
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def make_inputs(root: pathlib.Path, sample) -> pathlib.Path:
    """root/images: the fruits sample when present (copied: tests never write to shared/), else
    generated photos; plus three corrupt files. Returns the folder."""
    images = root / "images"
    if sample is not None:
        shutil.copytree(sample, images)
    else:
        make_images(images, per_class=8, classes=4)
    for name, data in CORRUPT_FILES.items():
        (images / name).parent.mkdir(parents=True, exist_ok=True)
        (images / name).write_bytes(data)
    a_jpeg = next(images.rglob("*.jpg"))
    (images / TRUNCATED).write_bytes(a_jpeg.read_bytes()[:300])
    return images


def weights(root: pathlib.Path) -> pathlib.Path:
    return make_weights(root / "weights.h5", ALPHA, SIZE)


def cli_rows(pomona_bin, images, weights_path, out: pathlib.Path) -> dict:
    """The CLI's rows for images, by path."""
    run_pomona(pomona_bin, "featurize", images, out, "--weights", weights_path, *MODEL_OPTIONS, "-q")
    return {row["path"]: row for row in pq.read_table(out).to_pylist()}


def local_path(path: str) -> str:
    """Spark lists local files as file:/x; the CLI as /x."""
    return path[len("file:"):] if path.startswith("file:") else path


def assert_same_rows(rows, expected: dict):
    """rows (dicts) are exactly expected's rows: same paths once each, labels, errors, and
    features within 1e-6."""
    by_path = {}
    for row in rows:
        path = local_path(row["path"])
        assert path not in by_path, f"duplicate row for {path}"
        by_path[path] = row
    assert sorted(by_path) == sorted(expected), (sorted(set(by_path) - set(expected))[:3], sorted(set(expected) - set(by_path))[:3])
    worst = 0.0
    for path, want in expected.items():
        got = by_path[path]
        assert got["label"] == want["label"], path
        assert got["error"] == want["error"], path
        if want["error"] is None:
            worst = max(worst, float(np.abs(np.asarray(got["features"]) - np.asarray(want["features"])).max()))
        else:
            assert got["features"] is None
    assert worst <= 1e-6
    assert sum(row["error"] is not None for row in expected.values()) == 1 + len(CORRUPT_FILES)


def cli_has_pca(pomona_bin) -> bool:
    """Whether this build has `pomona pca fit` (issue 4); without it models are compared with
    pomona.PCA fitted on the CLI's rows."""
    result = subprocess.run([str(pomona_bin), "pca", "fit", "--help"], capture_output=True, text=True)
    return "pca fit" in result.stdout


def cli_pca_model(pomona_bin, features: pathlib.Path, model: pathlib.Path, k: int):
    import pomona
    run_pomona(pomona_bin, "pca", "fit", features, model, "--pca-k", k)
    return pomona.PCA.load(model)


def assert_same_model(got, want):
    """Two fitted pomona.PCA models agree to 1e-9 (they differ only by the order of merges)."""
    assert got.model.k == want.model.k and got.count == want.count
    for name in ("mean_", "components_", "explained_variance_ratio_"):
        np.testing.assert_allclose(getattr(got, name), getattr(want, name), rtol=0, atol=1e-9, err_msg=name)
    np.testing.assert_allclose(got.model.eigenvalues, want.model.eigenvalues, rtol=1e-9, atol=1e-9)
