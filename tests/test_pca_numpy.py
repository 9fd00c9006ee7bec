"""PCA against numpy (issue 4, must show 1): eigen-decomposition of np.cov(X, ddof=1) on random
and on real features, explained variance, and both transforms."""
import numpy as np
import pytest
from helpers import make_images, make_weights, run_pomona
from pca_helpers import random_features, read_column, read_model, write_features


def numpy_pca(x):
    x = x.astype(np.float64)
    eigenvalues, vectors = np.linalg.eigh(np.cov(x, rowvar=False, ddof=1))
    order = np.argsort(eigenvalues)[::-1]
    return eigenvalues[order], vectors[:, order], x.mean(axis=0)


def check_against_numpy(pomona_bin, tmp_path, features_path, x, k):
    eigenvalues, vectors, mean = numpy_pca(x)
    for center in (False, True):
        model_path = tmp_path / f"model-{center}.parquet"
        run_pomona(pomona_bin, "pca", "fit", features_path, model_path, "--pca-k", k,
                   *(["--pca-center"] if center else []))
        model = read_model(model_path)
        assert (model["n"], model["dim"], model["k"], model["center"]) == (len(x), x.shape[1], k, center)
        np.testing.assert_allclose(model["mean"], mean, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(model["eigenvalues"][:k], eigenvalues[:k], rtol=1e-9)
        np.testing.assert_allclose(model["explained_variance_ratio"], eigenvalues / eigenvalues.sum(),
                                   rtol=0, atol=1e-12)
        components = np.array([np.array(c) for c in model["components"]])
        cosines = np.abs(np.sum(components * vectors[:, :k].T, axis=1))
        assert cosines.min() >= 1 - 1e-9, cosines

        output = tmp_path / f"projected-{center}.parquet"
        run_pomona(pomona_bin, "pca", "transform", features_path, model_path, output)
        pcas = read_column(output, "pca")
        assert [p is None for p in pcas] == [e is not None for e in read_column(output, "error")]
        projected = np.array([p for p in pcas if p is not None], dtype=np.float64)
        signs = np.sign(np.sum(components * vectors[:, :k].T, axis=1))
        expected = ((x - mean) if center else x.astype(np.float64)) @ (vectors[:, :k] * signs)
        np.testing.assert_allclose(projected, expected, rtol=1e-6, atol=1e-6)


def test_pca_of_random_features_matches_numpy(pomona_bin, tmp_path):
    x = random_features(3000, 48, seed=1)
    path = write_features(tmp_path / "features.parquet", x)
    check_against_numpy(pomona_bin, tmp_path, path, x, k=12)


@pytest.fixture(scope="module")
def real_features(pomona_bin, tmp_path_factory):
    """Features of generated images through the test-weights network (1280-d)."""
    tmp = tmp_path_factory.mktemp("pca-real")
    weights = make_weights(tmp / "w.h5", 0.35, 96)
    images = make_images(tmp / "images", per_class=30, classes=3)
    first_class = sorted(p for p in images.iterdir() if p.is_dir())[0]
    (first_class / "broken.jpg").write_bytes(b"not a jpeg")
    output = tmp / "features.parquet"
    run_pomona(pomona_bin, "featurize", images, output, "--weights", weights, "--alpha", "0.35",
               "--size", "96", "-q")
    return output, weights, images


def test_pca_of_real_features_matches_numpy_and_skips_error_rows(pomona_bin, tmp_path, real_features):
    path, _, _ = real_features
    features = read_column(path, "features")
    assert features.count(None) == 1
    x = np.array([f for f in features if f is not None], dtype=np.float32)
    assert x.shape == (90, 1280)
    check_against_numpy(pomona_bin, tmp_path, path, x, k=8)


def test_variance_target_keeps_the_fewest_components_reaching_it(pomona_bin, tmp_path):
    x = random_features(500, 20, seed=2)
    path = write_features(tmp_path / "features.parquet", x)
    eigenvalues, _, _ = numpy_pca(x)
    cumulative = np.cumsum(eigenvalues) / eigenvalues.sum()
    run_pomona(pomona_bin, "pca", "fit", path, tmp_path / "m.parquet", "--pca-variance", 0.9)
    assert read_model(tmp_path / "m.parquet")["k"] == int(np.argmax(cumulative >= 0.9)) + 1


def test_featurize_with_pca_adds_the_projection_of_what_it_wrote(pomona_bin, tmp_path, real_features):
    _, weights, images = real_features
    output = tmp_path / "out"
    result = run_pomona(pomona_bin, "featurize", images, output, "--weights", weights, "--alpha", "0.35",
                        "--size", "96", "-q", "--pca-variance", 0.95)
    model_path = output / "_pca_model.parquet"
    model = read_model(model_path)
    assert 1 <= model["k"] < 90
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], "staging output left behind"
    rows = read_column(output, "features")
    pcas = read_column(output, "pca")
    errors = read_column(output, "error")
    assert len(rows) == 91 and errors.count(None) == 90
    components = np.array([np.array(c) for c in model["components"]])
    for features, pca, error in zip(rows, pcas, errors):
        if error is not None:
            assert pca is None and features is None
        else:
            np.testing.assert_allclose(pca, np.array(features, dtype=np.float64) @ components.T,
                                       rtol=1e-6, atol=1e-6)
    assert "pomona:" in result.stdout


def test_fit_merged_with_an_earlier_model_equals_a_fit_on_all_rows(pomona_bin, tmp_path):
    old, new = random_features(700, 16, seed=3), random_features(300, 16, seed=4)
    write_features(tmp_path / "old.parquet", old)
    write_features(tmp_path / "new.parquet", new)
    write_features(tmp_path / "all.parquet", np.concatenate([old, new]))
    run_pomona(pomona_bin, "pca", "fit", tmp_path / "old.parquet", tmp_path / "old-model.parquet", "--pca-k", 4)
    run_pomona(pomona_bin, "pca", "fit", tmp_path / "new.parquet", tmp_path / "updated.parquet", "--pca-k", 4,
               "--merge-with", tmp_path / "old-model.parquet")
    run_pomona(pomona_bin, "pca", "fit", tmp_path / "all.parquet", tmp_path / "all-model.parquet", "--pca-k", 4)
    updated, everything = read_model(tmp_path / "updated.parquet"), read_model(tmp_path / "all-model.parquet")
    assert updated["n"] == 1000
    np.testing.assert_allclose(updated["eigenvalues"], everything["eigenvalues"], rtol=1e-9,
                               atol=1e-12 * everything["eigenvalues"][0])
    np.testing.assert_allclose(updated["mean"], everything["mean"], rtol=1e-12)
