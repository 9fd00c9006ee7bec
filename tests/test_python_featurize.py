"""The pomona Python package (pip install . into .venv) against the pomona command."""
import pickle

import numpy as np
import pyarrow as pa
import pytest

import pomona
from conftest import SHARED_SAMPLE
from spark_cases import (ALPHA, SIZE, assert_same_model, assert_same_rows, cli_has_pca,
                         cli_pca_model, cli_rows, make_inputs, weights)


@pytest.fixture(scope="module")
def case(tmp_path_factory, pomona_bin):
    root = tmp_path_factory.mktemp("python")
    images = make_inputs(root, SHARED_SAMPLE if SHARED_SAMPLE.is_dir() else None)
    weights_path = weights(root)
    expected = cli_rows(pomona_bin, images, weights_path, root / "cli.parquet")
    return root, images, weights_path, expected


def featurize(inputs, weights_path, **options):
    return pomona.featurize_batch(inputs, weights=str(weights_path), alpha=ALPHA, size=SIZE, **options)


def test_featurize_batch_of_paths_gives_the_cli_rows_and_schema(case):
    _, _, weights_path, expected = case
    batch = featurize(sorted(expected), weights_path, threads=2)
    assert batch.schema == pomona.ROW_SCHEMA
    assert batch.column("path").to_pylist() == sorted(expected)  # input order
    assert_same_rows(batch.to_pylist(), expected)


def test_featurize_batch_of_bytes_equals_featurize_of_paths(case):
    _, _, weights_path, expected = case
    paths = sorted(expected)
    contents = pa.array([open(p, "rb").read() for p in paths], pa.large_binary())
    from_bytes = featurize(contents, weights_path, paths=pa.array(paths, pa.large_string()), batch=3)
    assert from_bytes.equals(featurize(paths, weights_path))


def test_features_do_not_depend_on_threads_or_batch(case):
    _, _, weights_path, expected = case
    paths = sorted(expected)[:12]
    one = featurize(paths, weights_path, threads=1, batch=1)
    many = featurize(paths, weights_path, threads=2, batch=5)
    a = np.array([f for f in one.column("features").to_pylist() if f is not None])
    b = np.array([f for f in many.column("features").to_pylist() if f is not None])
    assert a.shape == b.shape and np.abs(a - b).max() <= 1e-6


def test_labels_are_given_or_parent_folder_or_none(case):
    _, _, weights_path, expected = case
    paths = sorted(expected)[:3]
    assert featurize(paths, weights_path, labels=["x", "y", "z"]).column("label").to_pylist() == ["x", "y", "z"]
    assert featurize(paths, weights_path, label_from="none").column("label").to_pylist() == ["", "", ""]


@pytest.mark.skipif(not pomona._pomona.cpu_has_native_bf16(),
                    reason="this CPU has no native bf16 (AVX512-BF16 or AMX)")
def test_precision_bf16_is_within_cosine_0999_of_fp32(case):
    _, _, weights_path, expected = case
    paths = sorted(expected)[:12]
    fp32, bf16 = (featurize(paths, weights_path, batch=4, precision=p) for p in ("fp32", "bf16"))
    a = np.array([f for f in fp32.column("features").to_pylist() if f is not None])
    b = np.array([f for f in bf16.column("features").to_pylist() if f is not None])
    cosine = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    assert a.shape == b.shape and cosine.min() >= 0.999 and np.abs(a - b).max() > 0


def test_unknown_precision_raises_pomona_error(case):
    with pytest.raises(pomona.PomonaError, match="'fp16' is not one of fp32, bf16"):
        featurize(sorted(case[3])[:1], case[2], precision="fp16")


def test_missing_weights_raise_pomona_error(case, tmp_path):
    with pytest.raises(pomona.PomonaError, match="missing.h5"):
        pomona.featurize_batch(sorted(case[3])[:1], weights=str(tmp_path / "missing.h5"), alpha=ALPHA, size=SIZE)


def test_weights_not_in_the_cache_name_the_keyword_not_the_cli_flag(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(pomona.PomonaError) as raised:
        pomona.resolve_weights(alpha=ALPHA, size=SIZE)
    message = str(raised.value)
    assert message.startswith("no weights file mobilenet_v2_weights_tf_dim_ordering_tf_kernels_")
    assert message.endswith("or give a weights file (weights=PATH)") and "--" not in message, message


def test_pca_merged_from_pickled_parts_equals_one_fit_and_the_cli_model(case, pomona_bin):
    root, _, weights_path, expected = case
    rows = featurize(sorted(expected), weights_path, threads=2)
    whole = pomona.PCA(k=4).fit(rows)
    parts = [pomona.PCA(k=4).partial_fit(rows.slice(i, 7)) for i in range(0, rows.num_rows, 7)]
    merged = pomona.PCA(k=4)
    for part in parts:
        merged.merge(pickle.loads(pickle.dumps(part)))
    assert_same_model(merged.finalize(), whole)
    assert whole.count == rows.num_rows - rows.column("features").null_count  # error rows skipped
    if cli_has_pca(pomona_bin):
        assert_same_model(whole, cli_pca_model(pomona_bin, root / "cli.parquet", root / "cli_pca.parquet", 4))


def test_pca_transform_projects_rows_and_keeps_nulls(case, tmp_path):
    _, _, weights_path, expected = case
    rows = featurize(sorted(expected), weights_path)
    pca = pomona.PCA(k=3).fit(rows)
    projected = pca.transform(rows)
    features = rows.column("features")
    for i in range(rows.num_rows):
        if features[i].is_valid:
            want = pca.components_ @ np.asarray(features[i].as_py(), np.float64)
            np.testing.assert_allclose(projected[i].as_py(), want, rtol=1e-5, atol=1e-4)
        else:
            assert not projected[i].is_valid
    pca.save(tmp_path / "model.parquet")
    assert pomona.PCA.load(tmp_path / "model.parquet").transform(rows).equals(projected)
