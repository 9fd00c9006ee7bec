"""Fidelity end to end: `pomona featurize` (our decode, resize, preprocess and network) on the
Keras fixture images gives Keras' own features (tests/fixtures/keras, made by
tools/keras_reference.py with TensorFlow): per image max|Δ| <= 1e-4·max|f|, cosine >= 0.99999."""
import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest

from helpers import ROOT, make_weights, run_pomona

FIXTURES = ROOT / "tests" / "fixtures" / "keras"


@pytest.mark.parametrize("alpha,size", [("1.0", 224), ("0.35", 96)])
def test_features_equal_keras_for_every_colour_mode(pomona_bin, build_dir, tmp_path, alpha, size):
    weights = make_weights(build_dir / "fixtures" / "pytest" / f"seeded_{alpha}_{size}.h5", float(alpha), size)
    names = (FIXTURES / "images.txt").read_text().split()
    expected = np.load(FIXTURES / f"features_{alpha}_{size}.npy")
    # One folder holding the images, so the listing order is the sorted file names.
    images = tmp_path / "images"
    shutil.copytree(FIXTURES / "images", images)
    out = tmp_path / "f.parquet"
    run_pomona(pomona_bin, "featurize", images, out, "--weights", weights, "--alpha", alpha, "--size", size,
               "--quiet")
    table = pq.read_table(out)
    assert table.column("error").null_count == len(names)
    by_name = {p.split("/")[-1]: f for p, f in zip(table.column("path").to_pylist(),
                                                    table.column("features").to_pylist())}
    assert sorted(by_name) == sorted(names)
    for name, want in zip(names, expected):
        got = np.asarray(by_name[name], dtype=np.float64)
        want = want.astype(np.float64)
        assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max(), name
        cosine = got @ want / (np.linalg.norm(got) * np.linalg.norm(want))
        assert cosine >= 0.99999, name
