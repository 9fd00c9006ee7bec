"""What the C++ table writer produces, read back by pyarrow and pandas as a user would."""
import subprocess

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

FEATURE_DIM = 1280
LABELS = ["Apple Braeburn", "Äpfel", "Banana Lady Finger", "Cucumber Ripe"]


def expected_features(i):
    # write_sample_rows writes features[j] = i / 2 + j / 1024, exact in float32.
    return (np.float32(i / 2) + np.arange(FEATURE_DIM, dtype=np.float32) / 1024).astype(np.float32)


@pytest.fixture
def write_sample_rows(build_dir):
    tool = build_dir / "tests" / "write_sample_rows"

    def run(output, *args):
        result = subprocess.run([tool, output, *map(str, args)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()

    return run


def test_single_file_has_typed_columns_and_metadata(write_sample_rows, tmp_path):
    output = tmp_path / "features.parquet"
    assert write_sample_rows(output) == [str(output)]

    table = pq.read_table(output)
    assert table.schema.field("path").type == pa.string()
    assert not table.schema.field("path").nullable
    assert table.schema.field("label").type == pa.string()
    assert table.schema.field("features").type == pa.list_(pa.float32())
    assert table.schema.field("error").type == pa.string()
    metadata = table.schema.metadata
    assert metadata[b"pomona.feature_dim"] == b"1280"
    assert metadata[b"pomona.model"] == b"sample"
    assert b"pomona.version" in metadata
    assert sorted(p.name for p in tmp_path.iterdir()) == ["features.parquet"]


def test_pandas_gets_float32_arrays_with_exact_values_and_null_on_error(write_sample_rows, tmp_path):
    output = tmp_path / "features.parquet"
    write_sample_rows(output)

    frame = pd.read_parquet(output, engine="pyarrow")
    assert list(frame.columns) == ["path", "label", "features", "error"]
    assert list(frame["label"]) == LABELS + ["Cucumber Ripe"]
    assert frame["path"][1] == "/data/Äpfel/img 1.jpg"
    for i in range(4):
        features = frame["features"][i]
        assert isinstance(features, np.ndarray) and features.dtype == np.float32
        np.testing.assert_array_equal(features, expected_features(i))
        assert pd.isna(frame["error"][i])
    assert frame["features"][4] is None  # object column: None, not NaN
    assert frame["error"][4] == "cannot decode /data/Cucumber Ripe/broken.jpg: not a JPEG"


def test_folder_of_part_files_reads_as_one_dataset_in_order(write_sample_rows, tmp_path):
    output = tmp_path / "out"
    published = write_sample_rows(output, 2)

    assert published == [str(output / n) for n in
                         ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet", "_SUCCESS"]]
    table = pq.read_table(output)  # pyarrow skips _SUCCESS, as Spark does
    assert table.num_rows == 5
    assert table.column("path").to_pylist()[:4] == [f"/data/{label}/img {i}.jpg"
                                                  for i, label in enumerate(LABELS)]
    features = table.column("features").to_pylist()
    assert features[4] is None
    np.testing.assert_array_equal(np.array(features[3], dtype=np.float32), expected_features(3))
