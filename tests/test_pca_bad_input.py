"""Bad input to `pomona pca` (issue 4, must show 6): one-line error, non-zero exit, nothing written."""
import numpy as np
import pyarrow as pa
import pytest
from helpers import run_pomona
from pca_helpers import random_features, write_features


def expect_failure(pomona_bin, tmp_path, *args, exit_code, message):
    before = set(tmp_path.iterdir())
    result = run_pomona(pomona_bin, *args, check=False)
    assert result.returncode == exit_code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pomona: error:") and message in lines[0], lines
    assert set(tmp_path.iterdir()) == before, "something was written"


def rows_with(value):
    x = random_features(20, 8, seed=5)
    x[7, 3] = value
    return x


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nan_or_infinite_feature_names_the_row(pomona_bin, tmp_path, value):
    path = write_features(tmp_path / "features.parquet", rows_with(value))
    expect_failure(pomona_bin, tmp_path, "pca", "fit", path, tmp_path / "model.parquet", "--pca-k", 2,
                   exit_code=3, message="row img7.jpg has a NaN or infinite feature")


def test_rows_of_different_dimensions_are_rejected(pomona_bin, tmp_path):
    x = random_features(10, 8, seed=6)
    path = write_features(tmp_path / "features.parquet", list(x) + [np.zeros(7, np.float32)])
    expect_failure(pomona_bin, tmp_path, "pca", "fit", path, tmp_path / "model.parquet", "--pca-k", 2,
                   exit_code=3, message="row img10.jpg has 7 features, expected 8")


@pytest.mark.parametrize("rows", [0, 1])
def test_fewer_than_two_good_rows_are_rejected(pomona_bin, tmp_path, rows):
    path = write_features(tmp_path / "features.parquet", list(random_features(rows, 8, seed=7)),
                          errors=["cannot decode"])
    expect_failure(pomona_bin, tmp_path, "pca", "fit", path, tmp_path / "model.parquet", "--pca-k", 2,
                   exit_code=2, message=f"PCA needs at least 2 rows without error, got {rows}")


def test_k_larger_than_the_dimension_is_a_configuration_error(pomona_bin, tmp_path):
    path = write_features(tmp_path / "features.parquet", random_features(50, 8, seed=8))
    expect_failure(pomona_bin, tmp_path, "pca", "fit", path, tmp_path / "model.parquet", "--pca-k", 9,
                   exit_code=2, message="k = 9 components is more than the feature dimension 8: choose k from 1 "
                           "to 8 (--pca-k)")


def test_transform_with_a_model_of_another_dimension_writes_nothing(pomona_bin, tmp_path):
    model = tmp_path / "model.parquet"
    run_pomona(pomona_bin, "pca", "fit", write_features(tmp_path / "a.parquet", random_features(50, 8, seed=9)),
               model, "--pca-k", 2)
    other = write_features(tmp_path / "b.parquet", random_features(50, 6, seed=9))
    expect_failure(pomona_bin, tmp_path, "pca", "transform", other, model, tmp_path / "out.parquet",
                   exit_code=3, message="row img0.jpg has 6 features, expected 8")


def test_a_features_file_that_is_not_one_is_an_input_error(pomona_bin, tmp_path):
    junk = tmp_path / "junk.parquet"
    junk.write_text("not parquet")
    expect_failure(pomona_bin, tmp_path, "pca", "fit", junk, tmp_path / "model.parquet", "--pca-k", 2,
                   exit_code=3, message=str(junk))


def test_python_pca_names_the_bad_row_and_value_as_the_cli_does():
    import pomona  # the same FeatureBlock (pomona/table.h) checks Python's rows, named by number

    with pytest.raises(pomona.PomonaError, match=r"^row 7 has a NaN or infinite feature \(nan at index 3\)$"):
        pomona.PCA(k=2).partial_fit(rows_with(np.nan))
    pca = pomona.PCA(k=2).fit(random_features(20, 8, seed=5))
    with pytest.raises(pomona.PomonaError, match=r"^row 1 has 6 features, expected 8$"):
        pca.transform(pa.array([None, [0.0] * 6], pa.list_(pa.float32())))


def test_python_names_its_keyword_where_the_cli_names_its_flag():
    import pomona
    with pytest.raises(pomona.PomonaError) as raised:
        pomona.PCA(k=9).fit(random_features(50, 8, seed=8))
    assert str(raised.value) == ("k = 9 components is more than the feature dimension 8: choose k from 1 "
                                 "to 8 (k=...)")
