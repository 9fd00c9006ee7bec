"""End-to-end: `pomona index` — the file it writes, merge, info, and bad input (one line, nothing
written)."""
import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from classify_fixtures import fruit_index, fruit_photos, network_args, split  # noqa: F401
from helpers import make_weights, run_pomona


def test_index_file_is_one_documented_parquet_file(fruit_index, split):
    table = pq.read_table(fruit_index)
    meta = {k.decode(): v.decode() for k, v in table.schema.metadata.items()
            if k.startswith(b"pomona.")}
    assert meta["pomona.index.version"] == "1"
    assert meta["pomona.alpha"] == "0.34999999403953552" or float(meta["pomona.alpha"]) == pytest.approx(0.35)
    assert meta["pomona.size"] == "96"
    import hashlib
    assert meta["pomona.weights_sha256"] == hashlib.sha256(split.weights.read_bytes()).hexdigest()
    kinds = table["kind"].to_pylist()
    assert kinds[0] == "centre"
    classes = table.filter(pc.equal(table["kind"], "class"))
    assert classes["label"].to_pylist() == split.known
    assert classes["count"].to_pylist() == [
        sum(split.label(p) == label for p in split.train_paths) for label in split.known]
    refs = table.filter(pc.equal(table["kind"], "reference"))
    assert sorted(refs["path"].to_pylist()) == sorted(split.train_paths)
    vectors = np.array(refs["vector"].to_pylist())
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, rtol=1e-5)
    # Class rows hold the sum of their references' unit vectors.
    first = classes["label"][0].as_py()
    mine = vectors[np.array(refs["label"].to_pylist()) == first]
    np.testing.assert_allclose(classes["vector"][0].as_py(), mine.sum(axis=0), atol=1e-4)
    info = json.loads(classes["info"][0].as_py())
    assert info == {"display_name": f"{first}, fresh", "kcal_per_100g": 52}
    assert 0 < float(meta["pomona.threshold.ncm"]) < 1


def test_merge_adds_a_new_class_and_images_without_rebuilding(pomona_bin, split, fruit_index, tmp_path):
    table = pq.read_table(split.features)
    new_class = split.unseen[0]
    new_rows = table.filter(pc.equal(table["label"], new_class))
    pq.write_table(new_rows, tmp_path / "new.parquet")
    merged = tmp_path / "merged.parquet"
    out = run_pomona(pomona_bin, "index", tmp_path / "new.parquet", merged, "--merge-with", fruit_index,
                     *network_args(split.weights)).stdout
    assert f"index of {len(split.train_paths) + new_rows.num_rows} images ({new_rows.num_rows} added" in out
    old = pq.read_table(fruit_index)
    new = pq.read_table(merged)
    old_refs = old.filter(pc.equal(old["kind"], "reference"))
    new_refs = new.filter(pc.equal(new["kind"], "reference"))
    # The old references and the centre are kept bit for bit; the new class is appended.
    assert new_refs.slice(0, old_refs.num_rows)["vector"].equals(old_refs["vector"])
    assert new["vector"][0].equals(old["vector"][0])
    labels = new.filter(pc.equal(new["kind"], "class"))["label"].to_pylist()
    assert labels == sorted(split.known + [new_class])


def expect_refused(pomona_bin, tmp_path, args, says, code):
    out = tmp_path / "refused.index.parquet"
    result = run_pomona(pomona_bin, "index", *args, out, check=False)
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], result.stderr
    assert not out.exists() and not any(p.name.startswith(".refused") for p in tmp_path.iterdir())


def test_bad_input_is_one_line_and_writes_nothing(pomona_bin, split, tmp_path):
    table = pq.read_table(split.features)
    w = network_args(split.weights)
    unlabelled = tmp_path / "unlabelled.parquet"
    pq.write_table(table.set_column(1, "label", pa.array([""] * table.num_rows)), unlabelled)
    expect_refused(pomona_bin, tmp_path, [unlabelled, *w], "has no label", 3)
    one = tmp_path / "one.parquet"
    pq.write_table(table.filter(pc.equal(table["label"], split.known[0])), one)
    expect_refused(pomona_bin, tmp_path, [one, *w], "only one label", 3)
    nan = tmp_path / "nan.parquet"
    features = table["features"].to_pylist()
    features[3][5] = float("nan")
    pq.write_table(table.set_column(2, "features", pa.array(features, pa.list_(pa.float32()))), nan)
    expect_refused(pomona_bin, tmp_path, [nan, *w], "row 3 (", 3)
    short = tmp_path / "short.parquet"
    features = table["features"].to_pylist()
    features[7] = features[7][:100]
    pq.write_table(table.set_column(2, "features", pa.array(features, pa.list_(pa.float32()))), short)
    expect_refused(pomona_bin, tmp_path, [short, *w], "row 7 (", 3)
    info = tmp_path / "info.csv"
    info.write_text("label,display_name\nDurian,Durian\n")
    expect_refused(pomona_bin, tmp_path, [split.train, "--info", info, *w], "label 'Durian'", 3)


def test_weights_other_than_the_index_are_refused_in_one_line(pomona_bin, split, fruit_index, tmp_path):
    other = make_weights(tmp_path / "other_0.35_96.h5", 0.35, 96)
    other.write_bytes(other.read_bytes() + b"\0")  # same arrays, another file: another hash
    image = split.test_paths[0]
    result = run_pomona(pomona_bin, "classify", fruit_index, image, "--weights", other, check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "are not the ones the index was built with" in lines[0], result.stderr
    merged = tmp_path / "m.parquet"
    result = run_pomona(pomona_bin, "index", split.train, merged, "--merge-with", fruit_index,
                        "--weights", other, "--alpha", "0.35", "--size", "96", check=False)
    assert result.returncode == 2 and "other weights" in result.stderr and not merged.exists()
