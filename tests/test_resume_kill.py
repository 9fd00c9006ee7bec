"""End-to-end: `pomona featurize` into a folder resumes after SIGKILL, runs incrementally, stops
cleanly on SIGINT/SIGTERM, and honours --overwrite and --retry-errors."""
import os
import random
import re
import shutil
import signal
import subprocess
import time

import numpy as np
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from helpers import make_images, run_pomona

COMMON = ["--alpha", "0.35", "--size", "96", "--threads", "2", "--batch", "4", "--quiet"]


@pytest.fixture(scope="session")
def many_images(tmp_path_factory):
    """300 small JPEGs in 12 class folders."""
    return make_images(tmp_path_factory.mktemp("many"), per_class=25, classes=12, width=48, height=48)


def featurize_args(pomona_bin, weights, source, output, *extra):
    return [str(pomona_bin), "featurize", str(source), str(output), "--weights", str(weights),
            *COMMON, *map(str, extra)]


def featurize(pomona_bin, weights, source, output, *extra, check=True):
    return run_pomona(pomona_bin, "featurize", source, output, "--weights", weights, *COMMON, *extra,
                      check=check)


def counts(result):
    """(images, errors, skipped) of the summary line."""
    match = re.search(r"(\d+) images, (\d+) errors, (\d+) skipped as done", result.stdout)
    assert match, result.stdout
    return tuple(int(g) for g in match.groups())


def rows_by_path(folder):
    """path -> (label, features or None, error) of what a reader of the folder sees; asserts one
    row per path. A folder killed before its first part holds no data file: no rows."""
    if not any(p.suffix == ".parquet" and p.name[0] not in "._" for p in folder.iterdir()):
        return {}
    table = pq.read_table(folder)
    assert table.num_rows == ds.dataset(folder, format="parquet").count_rows()
    paths = table.column("path").to_pylist()
    assert len(paths) == len(set(paths)), "a path has more than one row"
    return {p: (label, None if f is None else np.array(f, dtype=np.float32), error)
            for p, label, f, error in zip(paths, table.column("label").to_pylist(),
                                          table.column("features").to_pylist(),
                                          table.column("error").to_pylist())}


def assert_same_rows(actual, expected):
    assert actual.keys() == expected.keys()
    scale = max(np.abs(f).max() for _, f, _ in expected.values() if f is not None)
    for path, (label, features, error) in expected.items():
        got_label, got_features, got_error = actual[path]
        assert (got_label, got_error) == (label, error), path
        if features is None:
            assert got_features is None, path
        else:
            np.testing.assert_allclose(got_features, features, rtol=0, atol=1e-5 * scale, err_msg=path)


def hidden_files(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


@pytest.fixture(scope="session")
def reference(pomona_bin, small_weights, many_images, tmp_path_factory):
    """One uninterrupted run over the 300 images: its rows and how long it took."""
    output = tmp_path_factory.mktemp("reference") / "out"
    start = time.monotonic()
    result = featurize(pomona_bin, small_weights, many_images, output, "--rows-per-file", 10)
    assert counts(result) == (300, 0, 0)
    return rows_by_path(output), time.monotonic() - start


def test_sigkill_at_20_random_moments_then_resume_gives_one_row_per_image(
        pomona_bin, small_weights, many_images, reference, tmp_path):
    expected, seconds = reference
    output = tmp_path / "out"
    rng = random.Random(8)
    killed_mid_run = 0
    for _ in range(20):
        process = subprocess.Popen(featurize_args(pomona_bin, small_weights, many_images, output,
                                                  "--rows-per-file", 10),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.0, 0.5 * seconds))
        if process.poll() is None:
            process.kill()
            killed_mid_run += 1
        process.wait()
        if output.exists():  # what a reader sees after any kill: committed rows, one per image
            assert not (output / "_SUCCESS").exists() or len(rows_by_path(output)) == 300
            assert set(rows_by_path(output)) <= expected.keys()
    assert killed_mid_run >= 10, "the kills should mostly land while pomona runs"

    result = featurize(pomona_bin, small_weights, many_images, output, "--rows-per-file", 10)
    images, errors, skipped = counts(result)
    assert (images + skipped, errors) == (300, 0)
    assert (output / "_SUCCESS").exists()
    assert hidden_files(output) == [], "temp files left behind"
    assert_same_rows(rows_by_path(output), expected)


def test_incremental_run_processes_only_the_new_half(pomona_bin, small_weights, many_images, reference,
                                                     tmp_path):
    expected, _ = reference
    source = tmp_path / "in"
    everything = sorted(p for p in many_images.rglob("*.jpg"))
    for i, image in enumerate(everything):
        if i % 2 == 0:
            (source / image.parent.name).mkdir(parents=True, exist_ok=True)
            shutil.copy2(image, source / image.parent.name / image.name)
    output = tmp_path / "out"
    assert counts(featurize(pomona_bin, small_weights, source, output, "--rows-per-file", 16)) == (150, 0, 0)

    for image in everything:
        target = source / image.parent.name / image.name
        if not target.exists():
            shutil.copy2(image, target)
    assert counts(featurize(pomona_bin, small_weights, source, output, "--rows-per-file", 16)) == (150, 0, 150)

    # The same rows as one run over everything, paths aside (another root).
    relocated = {p.replace(str(many_images), str(source)): row for p, row in expected.items()}
    assert_same_rows(rows_by_path(output), relocated)
    assert counts(featurize(pomona_bin, small_weights, source, output)) == (0, 0, 300)


def test_changed_input_is_redone_and_its_old_row_replaced(pomona_bin, small_weights, tmp_path):
    source = make_images(tmp_path / "in", per_class=3, classes=2, width=40, height=40)
    output = tmp_path / "out"
    featurize(pomona_bin, small_weights, source, output, "--rows-per-file", 2)
    changed = sorted(source.rglob("*.jpg"))[1]
    other = sorted(source.rglob("*.jpg"))[4]
    shutil.copy(other, changed)  # new bytes: size and mtime change
    assert counts(featurize(pomona_bin, small_weights, source, output, "--rows-per-file", 2)) == (1, 0, 5)
    rows = rows_by_path(output)
    assert len(rows) == 6
    np.testing.assert_array_equal(rows[str(changed)][1], rows[str(other)][1])


def test_overwrite_starts_afresh(pomona_bin, small_weights, tmp_path):
    source = make_images(tmp_path / "in", per_class=2, classes=3, width=40, height=40)
    output = tmp_path / "out"
    featurize(pomona_bin, small_weights, source, output, "--rows-per-file", 4)
    result = featurize(pomona_bin, small_weights, source, output, "--rows-per-file", 4, "--overwrite")
    assert counts(result) == (6, 0, 0)
    assert sorted(p.name for p in output.glob("part-*")) == ["part-00000.parquet", "part-00001.parquet"]
    assert len(rows_by_path(output)) == 6


def test_retry_errors_redoes_a_bad_file_fixed_between_runs(pomona_bin, small_weights, tmp_path):
    source = make_images(tmp_path / "in", per_class=3, classes=2, width=40, height=40)
    broken = sorted(source.rglob("*.jpg"))[2]
    good_bytes = broken.read_bytes()
    broken.write_bytes(b"\0" * len(good_bytes))  # not a JPEG, same size
    output = tmp_path / "out"
    assert counts(featurize(pomona_bin, small_weights, source, output, "--rows-per-file", 4)) == (6, 1, 0)
    assert rows_by_path(output)[str(broken)][2] is not None

    # Fixed with the same size and mtime: a plain re-run counts it done, --retry-errors redoes it.
    stat = broken.stat()
    broken.write_bytes(good_bytes)
    os.utime(broken, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert counts(featurize(pomona_bin, small_weights, source, output)) == (0, 0, 6)
    assert counts(featurize(pomona_bin, small_weights, source, output, "--retry-errors")) == (1, 0, 5)
    rows = rows_by_path(output)
    assert len(rows) == 6
    assert rows[str(broken)][2] is None and rows[str(broken)][1].shape == (1280,)
    assert sorted(p.name for p in output.glob("part-*")) == ["part-00000.parquet", "part-00001.parquet",
                                                             "part-00002.parquet"]


@pytest.mark.parametrize("signal_number, exit_code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_commits_done_rows_prints_summary_and_exits(
        pomona_bin, small_weights, many_images, reference, tmp_path, signal_number, exit_code):
    expected, _ = reference
    output = tmp_path / "out"
    # One thread, one image per call: slow enough to be signalled mid-run.
    args = featurize_args(pomona_bin, small_weights, many_images, output, "--rows-per-file", 20)
    args[args.index("--threads") + 1] = "1"
    args[args.index("--batch") + 1] = "1"
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (output / "part-00000.parquet").exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(signal_number)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == exit_code, stdout + stderr
    images = int(re.search(r"(\d+) images", stdout).group(1))
    assert 0 < images < 300, stdout
    assert "stopped by a signal" in stdout
    assert not (output / "_SUCCESS").exists()
    committed = rows_by_path(output)
    assert len(committed) == images  # the open part was published, not lost
    assert_same_rows(committed, {p: expected[p] for p in committed})

    result = featurize(pomona_bin, small_weights, many_images, output)
    assert counts(result) == (300 - images, 0, images)
    assert_same_rows(rows_by_path(output), expected)


def test_pca_after_an_incremental_run_equals_a_fit_from_scratch(pomona_bin, small_weights, many_images,
                                                                 tmp_path):
    source = tmp_path / "in"
    classes = sorted(p for p in many_images.iterdir() if p.is_dir())
    for folder in classes[:6]:
        shutil.copytree(folder, source / folder.name)
    output = tmp_path / "out"
    featurize(pomona_bin, small_weights, source, output, "--pca-k", 4)
    for folder in classes[6:]:
        shutil.copytree(folder, source / folder.name)
    assert counts(featurize(pomona_bin, small_weights, source, output, "--pca-k", 4)) == (150, 0, 150)
    scratch = tmp_path / "scratch"
    featurize(pomona_bin, small_weights, source, scratch, "--pca-k", 4)

    incremental = pq.read_table(output / "_pca_model.parquet").to_pylist()[0]
    fresh = pq.read_table(scratch / "_pca_model.parquet").to_pylist()[0]
    assert incremental.keys() == fresh.keys()
    for key, value in fresh.items():
        if isinstance(value, (list, float)):
            np.testing.assert_allclose(np.array(incremental[key], dtype=np.float64),
                                       np.array(value, dtype=np.float64), rtol=1e-9, atol=1e-12, err_msg=key)
        else:
            assert incremental[key] == value, key
    table = pq.read_table(output)
    assert table.num_rows == 300 and len(set(table.column("path").to_pylist())) == 300
    assert table.column("pca").null_count == 0
