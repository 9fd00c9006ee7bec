"""End-to-end: `pomona featurize` over folders, bad inputs, exit codes, output schema."""
import os
import shutil
import subprocess

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from helpers import make_images, make_weights, run_pomona
from pomona._pomona import cpu_has_native_bf16


@pytest.fixture(scope="session")
def weights(build_dir):
    return make_weights(build_dir / "fixtures" / "pytest" / "seeded_1.0_224.h5", 1.0, 224)


@pytest.fixture(scope="session")
def generated_images(tmp_path_factory):
    return make_images(tmp_path_factory.mktemp("generated"), per_class=4, classes=12)


def add_bad_files(folder):
    """A truncated JPEG, a zero-byte .jpg and a text file named .png, in a class folder."""
    good = sorted(folder.rglob("*.jpg"))[0]
    target = good.parent
    data = good.read_bytes()
    (target / "zz_truncated.jpg").write_bytes(data[: len(data) // 2])
    (target / "zz_empty.jpg").write_bytes(b"")
    (target / "zz_text.png").write_text("this is not an image\n")
    return {str(target / n) for n in ("zz_truncated.jpg", "zz_empty.jpg", "zz_text.png")}


def check_good_then_bad(pomona_bin, weights, source, tmp_path, expected_rows, expected_labels):
    clean = pq.read_table(run_featurize(pomona_bin, weights, source, tmp_path / "clean.parquet"))
    assert clean.num_rows == expected_rows
    assert len(set(clean.column("label").to_pylist())) == expected_labels
    assert clean.column("error").null_count == expected_rows

    dirty_input = tmp_path / "dirty"
    shutil.copytree(source, dirty_input)
    bad = add_bad_files(dirty_input)
    dirty = pq.read_table(run_featurize(pomona_bin, weights, dirty_input, tmp_path / "dirty.parquet"))
    assert dirty.num_rows == expected_rows + 3
    rows = dirty.to_pylist()
    error_rows = [r for r in rows if r["error"] is not None]
    assert {r["path"] for r in error_rows} == bad
    assert all(r["features"] is None for r in error_rows)
    good = {r["path"].replace(str(dirty_input), str(source)): r for r in rows if r["error"] is None}
    for r in clean.to_pylist():
        assert good[r["path"]]["features"] == r["features"], r["path"]
        assert good[r["path"]]["label"] == r["label"]


def run_featurize(pomona_bin, weights, source, output, *extra):
    result = run_pomona(pomona_bin, "featurize", source, output, "--weights", weights, "--quiet", *extra)
    assert "images" in result.stdout
    return output


def test_fruits_train_gives_120_rows_and_bad_files_become_3_error_rows(pomona_bin, weights, fruits_sample, tmp_path):
    check_good_then_bad(pomona_bin, weights, fruits_sample / "train", tmp_path, 120, 12)


def test_generated_images_give_one_row_each_and_bad_files_become_error_rows(pomona_bin, weights, generated_images, tmp_path):
    check_good_then_bad(pomona_bin, weights, generated_images, tmp_path, 48, 12)


def test_output_schema_is_path_label_float_list_error(pomona_bin, small_weights, generated_images, tmp_path):
    out = run_featurize(pomona_bin, small_weights, generated_images, tmp_path / "f.parquet",
                        "--alpha", "0.35", "--size", "96")
    schema = pq.read_schema(out)
    assert schema.field("path").type == pa.string()
    assert schema.field("label").type == pa.string()
    assert schema.field("features").type in (pa.list_(pa.float32()), pa.list_(pa.field("element", pa.float32())))
    assert schema.field("error").type == pa.string()
    table = pq.read_table(out)
    features = np.array(table.column("features").to_pylist(), dtype=np.float32)
    assert features.shape == (48, 1280)
    assert np.count_nonzero(features) > features.size // 2  # seeded weights give live features
    assert features.std(axis=0).mean() > 0  # they vary across images
    df = table.to_pandas()
    assert list(df.columns) == ["path", "label", "features", "error"]


def test_rows_follow_sorted_listing_order_and_labels_are_parent_folders(pomona_bin, small_weights, generated_images, tmp_path):
    out = run_featurize(pomona_bin, small_weights, generated_images, tmp_path / "f.parquet",
                        "--alpha", "0.35", "--size", "96")
    table = pq.read_table(out)
    paths = table.column("path").to_pylist()
    assert paths == sorted(paths, key=lambda p: p.encode())
    for path, label in zip(paths, table.column("label").to_pylist()):
        assert path.split("/")[-2] == label
    assert "Äpfel Rot" in set(table.column("label").to_pylist())


def test_features_do_not_depend_on_threads_or_batch(pomona_bin, small_weights, generated_images, tmp_path):
    common = ["--alpha", "0.35", "--size", "96"]
    one = pq.read_table(run_featurize(pomona_bin, small_weights, generated_images, tmp_path / "a.parquet",
                                      *common, "--threads", "1", "--batch", "1"))
    two = pq.read_table(run_featurize(pomona_bin, small_weights, generated_images, tmp_path / "b.parquet",
                                      *common, "--threads", "2", "--batch", "8"))
    assert one.column("path").to_pylist() == two.column("path").to_pylist()
    a = np.array(one.column("features").to_pylist())
    b = np.array(two.column("features").to_pylist())
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-5 * np.abs(a).max())


def test_folder_output_gets_part_files_of_rows_per_file(pomona_bin, small_weights, generated_images, tmp_path):
    out = tmp_path / "parts"
    run_featurize(pomona_bin, small_weights, generated_images, out, "--alpha", "0.35", "--size", "96",
                  "--rows-per-file", "20")
    parts = sorted(p.name for p in out.glob("part-*.parquet"))
    assert parts == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert (out / "_SUCCESS").exists()
    assert [pq.read_metadata(out / p).num_rows for p in parts] == [20, 20, 8]
    assert pq.read_table(out).num_rows == 48


def test_fail_on_error_exits_1_after_writing_all_rows(pomona_bin, small_weights, generated_images, tmp_path):
    source = tmp_path / "in"
    shutil.copytree(generated_images, source)
    add_bad_files(source)
    out = tmp_path / "f.parquet"
    result = run_pomona(pomona_bin, "featurize", source, out, "--weights", small_weights, "--alpha", "0.35",
                        "--size", "96", "--quiet", "--fail-on-error", check=False)
    assert result.returncode == 1
    assert pq.read_table(out).num_rows == 51
    assert "zz_empty.jpg" in result.stdout


def test_missing_input_folder_is_one_line_exit_3_and_writes_nothing(pomona_bin, weights, tmp_path):
    out = tmp_path / "f.parquet"
    result = run_pomona(pomona_bin, "featurize", tmp_path / "no such folder", out, "--weights", weights,
                        check=False)
    assert result.returncode == 3
    assert "no such folder" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_bad_weights_file_is_one_line_exit_2_and_writes_nothing(pomona_bin, generated_images, tmp_path):
    bad = tmp_path / "weights.h5"
    bad.write_bytes(b"not an hdf5 file at all")
    out = tmp_path / "f.parquet"
    result = run_pomona(pomona_bin, "featurize", generated_images, out, "--weights", bad, check=False)
    assert result.returncode == 2
    assert str(bad) in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_weights_of_another_alpha_name_the_layer_and_exit_2(pomona_bin, small_weights, generated_images, tmp_path):
    result = run_pomona(pomona_bin, "featurize", generated_images, tmp_path / "f.parquet", "--weights",
                        small_weights, "--alpha", "1.0", check=False)
    assert result.returncode == 2
    assert "Conv1" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_unwritable_output_is_one_line_exit_3(pomona_bin, small_weights, generated_images, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_pomona(pomona_bin, "featurize", generated_images, blocker / "sub" / "f.parquet", "--weights",
                        small_weights, "--alpha", "0.35", "--size", "96", check=False)
    assert result.returncode == 3
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_weights_say_how_to_get_them(pomona_bin, generated_images, tmp_path, monkeypatch):
    import os
    import subprocess
    env = dict(os.environ, KERAS_HOME=str(tmp_path / "keras"))
    result = subprocess.run([str(pomona_bin), "featurize", str(generated_images), str(tmp_path / "f.parquet")],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 2
    assert "pomona weights fetch" in result.stderr
    assert result.stderr.endswith("or give a weights file (--weights FILE)\n"), result.stderr
    assert "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5" in result.stderr


def test_version_and_help(pomona_bin):
    assert run_pomona(pomona_bin, "--version").stdout.strip() != ""
    help_text = run_pomona(pomona_bin, "featurize", "--help").stdout
    for option in ("--glob", "--label-from", "--weights", "--batch", "--precision", "--threads", "--rows-per-file",
                   "--fail-on-error", "Examples"):
        assert option in help_text


def test_bad_option_is_usage_error_exit_2(pomona_bin):
    assert run_pomona(pomona_bin, "featurize", "a", "b", "--alpha", "0.9", check=False).returncode == 2
    assert run_pomona(pomona_bin, "featurize", "a", "b", "--precision", "fp16", check=False).returncode == 2


def test_precision_bf16_on_a_cpu_without_native_bf16_is_one_line_and_exit_2(
        pomona_bin, small_weights, generated_images, tmp_path):
    # oneDNN capped at AVX2 sees no bf16 instructions, whatever this CPU has.
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2"}
    out = tmp_path / "f.parquet"
    result = subprocess.run([str(pomona_bin), "featurize", str(generated_images), str(out), "--weights",
                             str(small_weights), "--alpha", "0.35", "--size", "96", "--precision", "bf16",
                             "--quiet"], capture_output=True, text=True, env=env)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "native bf16" in result.stderr
    assert not out.exists()


@pytest.mark.skipif(not cpu_has_native_bf16(), reason="this CPU has no native bf16 (AVX512-BF16 or AMX)")
def test_precision_bf16_features_are_within_cosine_0999_of_fp32(pomona_bin, small_weights, generated_images,
                                                                   tmp_path):
    common = ["--alpha", "0.35", "--size", "96", "--batch", "4"]
    fp32, bf16 = (pq.read_table(run_featurize(pomona_bin, small_weights, generated_images,
                                              tmp_path / f"{p}.parquet", *common, "--precision", p))
                  for p in ("fp32", "bf16"))
    assert fp32.column("path").to_pylist() == bf16.column("path").to_pylist()
    a = np.array(fp32.column("features").to_pylist())
    b = np.array(bf16.column("features").to_pylist())
    cosine = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    assert cosine.min() >= 0.999
    assert np.abs(a - b).max() > 0  # bf16 did run: its rounding shows


def test_jpeg_draft_changes_only_images_large_enough_to_decode_at_reduced_scale(pomona_bin, small_weights, tmp_path):
    photos = make_images(tmp_path / "photos", per_class=2, classes=2, width=800, height=600, seed=7)
    fruits = make_images(tmp_path / "fruits", per_class=2, classes=2, width=100, height=100, seed=8)
    common = ["--alpha", "0.35", "--size", "96"]

    def features(source, *extra):
        out = tmp_path / f"{source.name}{'-draft' if extra else ''}.parquet"
        table = pq.read_table(run_featurize(pomona_bin, small_weights, source, out, *common, *extra))
        assert table.column("error").null_count == table.num_rows
        return np.array(table.column("features").to_pylist())

    # 800x600 -> 96: draft decodes at 1/4 scale (200x150), a different picture of the same scene.
    default, draft = features(photos), features(photos, "--jpeg-draft")
    assert not np.array_equal(default, draft)
    cosine = (default * draft).sum(1) / np.linalg.norm(default, axis=1) / np.linalg.norm(draft, axis=1)
    assert cosine.min() > 0.95
    # 100x100 -> 96: no scale keeps both sides >= 96 but 1, so draft decodes exactly as default.
    np.testing.assert_array_equal(features(fruits), features(fruits, "--jpeg-draft"))
