"""End-to-end: `pomona featurize` never corrupts an output silently. One run at a time per output
(lock), a per-file byte budget, readable rows for names that are not UTF-8, no mixing of feature
settings on resume, no touching of foreign files, and the smaller cases of issue 14."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zlib

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from helpers import make_images, make_weights, run_pomona
from pomona._pomona import cpu_has_native_bf16

COMMON = ["--alpha", "0.35", "--size", "96", "--quiet"]


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """36 small JPEGs in 3 class folders."""
    return make_images(tmp_path_factory.mktemp("safety"), per_class=12, classes=3, width=40,
                       height=40)


def featurize(pomona_bin, weights, source, output, *extra, check=True):
    return run_pomona(pomona_bin, "featurize", source, output, "--weights", weights, *COMMON,
                      *extra, check=check)


def image_paths(folder):
    return sorted(str(p) for p in folder.rglob("*.jpg"))


def assert_one_row_per_image(output, expected_paths):
    """Every image has exactly one row, the manifest lists exactly the parts, _SUCCESS is there."""
    assert (output / "_SUCCESS").exists()
    manifest = [json.loads(line) for line in (output / "_pomona_manifest.jsonl").read_text().split("\n") if line]
    parts = sorted(p.name for p in output.glob("part-*.parquet"))
    assert sorted(m["file"] for m in manifest) == parts
    table = pq.read_table(output)
    paths = table.column("path").to_pylist()
    assert sorted(paths) == sorted(expected_paths)
    assert sum(m["rows"] for m in manifest) == table.num_rows
    assert not list(output.glob(".*")), "temp files left behind"


# 1. An exclusive lock per output ------------------------------------------------------------------

def test_two_runs_on_one_output_never_duplicate_rows(pomona_bin, small_weights, images, tmp_path):
    expected = image_paths(images)
    refused = 0
    for trial in range(20):
        output = tmp_path / f"out{trial}"
        first = subprocess.Popen(
            [str(pomona_bin), "featurize", str(images), str(output), "--weights", str(small_weights),
             *COMMON, "--rows-per-file", "7"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        time.sleep(0.02 * (trial % 5))
        second = run_pomona(pomona_bin, "featurize", images, output, "--weights", small_weights,
                            *COMMON, "--rows-per-file", "11", check=False)
        out, err = first.communicate()
        codes = sorted([first.returncode, second.returncode])
        assert codes in ([0, 0], [0, 3]), (codes, err, second.stderr)
        for code, stderr in ((first.returncode, err), (second.returncode, second.stderr)):
            if code == 3:
                refused += 1
                assert re.fullmatch(
                    rf"pomona: error: {re.escape(str(output))} is being written by pid \d+ on \S+ "
                    rf"since \S+; wait or remove {re.escape(str(output))}/_pomona_lock if that run "
                    r"is dead\n", stderr), stderr
        assert_one_row_per_image(output, expected)
        assert not (output / "_pomona_lock").exists()
    assert refused > 0, "no trial overlapped: the test did not test the lock"


def test_lock_of_a_killed_run_is_taken_over(pomona_bin, small_weights, images, tmp_path):
    output = tmp_path / "out"
    output.mkdir()
    # What a run killed by SIGKILL leaves: its lock file, naming a pid that no longer holds it.
    (output / "_pomona_lock").write_text("999999 otherhost 2026-01-01T00:00:00Z 0123abcd\n")
    featurize(pomona_bin, small_weights, images, output)
    assert_one_row_per_image(output, image_paths(images))


def test_single_file_output_is_locked_too(pomona_bin, small_weights, images, tmp_path):
    output = tmp_path / "features.parquet"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, sys, time; f = open(sys.argv[1], 'w'); f.write('4242 thathost "
         "2026-12-06T10:00:00Z ab\\n'); f.flush(); fcntl.flock(f, fcntl.LOCK_EX); print('held', "
         "flush=True); time.sleep(30)", str(tmp_path / ".features.parquet.lock")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        result = featurize(pomona_bin, small_weights, images, output, check=False)
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 3
    assert result.stderr == (
        f"pomona: error: {output} is being written by pid 4242 on thathost since "
        f"2026-12-06T10:00:00Z; wait or remove {tmp_path}/.features.parquet.lock if that run is "
        "dead\n")
    assert not output.exists()


# 2. A per-file byte budget ------------------------------------------------------------------------

def peak_rss_kib(command):
    """Runs command; returns (CompletedProcess, its peak resident memory in KiB)."""
    probe = ("import resource, subprocess, sys\n"
             "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
             "sys.stdout.write(r.stdout); sys.stderr.write(r.stderr)\n"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
             "sys.exit(r.returncode)")
    result = subprocess.run([sys.executable, "-c", probe, *map(str, command)], capture_output=True,
                            text=True)
    *lines, peak = result.stdout.splitlines()
    return result, int(peak)


def test_huge_file_is_an_error_row_and_memory_stays_small(pomona_bin, small_weights, images,
                                                          tmp_path):
    source = tmp_path / "in"
    shutil.copytree(images, source)
    huge = source / "Banana Lady Finger" / "huge.jpg"
    with open(huge, "wb") as f:
        f.truncate(50 * 2**30)  # sparse: 50 GiB listed, no disk used
    output = tmp_path / "out"
    result, peak = peak_rss_kib([pomona_bin, "featurize", source, output, "--weights",
                                 small_weights, *COMMON, "--threads", "2"])
    assert result.returncode == 0, result.stderr
    assert peak < 400 * 1024, f"peak RSS {peak} KiB"
    rows = {r["path"]: r for r in pq.read_table(output).to_pylist()}
    assert len(rows) == len(image_paths(source))
    assert rows[str(huge)]["error"] == (
        f"cannot read {huge}: 53687091200 bytes, more than the 1073741824 bytes allowed per file")
    assert sum(r["error"] is None for r in rows.values()) == len(rows) - 1
    # The budget is an option: a small one turns every image into an error row, unread.
    small = featurize(pomona_bin, small_weights, images, tmp_path / "small.parquet",
                      "--max-file-bytes", "100")
    assert re.search(r"36 images, 36 errors", small.stdout), small.stdout
    assert "bytes, more than the 100 bytes allowed per file" in small.stdout


def set_declared_size(image, width, height):
    """Rewrites the size in the header of a JPEG (its SOF segment) or PNG (IHDR, CRC updated)."""
    data = bytearray(image.read_bytes())
    if data.startswith(b"\x89PNG"):
        data[16:24] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
        data[29:33] = zlib.crc32(data[12:29]).to_bytes(4, "big")
    else:
        sof = data.index(b"\xff\xc0")
        data[sof + 5:sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    image.write_bytes(data)


def test_huge_file_with_a_bomb_header_is_refused_from_its_first_bytes(pomona_bin, small_weights,
                                                                      images, tmp_path):
    source = tmp_path / "in"
    shutil.copytree(images, source)
    first = sorted((source / "Banana Lady Finger").glob("*.jpg"))[0]
    jpeg_bomb, png_bomb = source / "bombs" / "small.jpg", source / "bombs" / "small.png"
    jpeg_bomb.parent.mkdir()
    shutil.copy(first, jpeg_bomb)
    with Image.open(first) as im:
        im.save(png_bomb)
    huge = []
    for bomb in (jpeg_bomb, png_bomb):
        set_declared_size(bomb, 30000, 30000)
        huge.append(bomb.with_name("huge" + bomb.suffix))
        shutil.copy(bomb, huge[-1])
        with open(huge[-1], "r+b") as f:
            f.truncate(2 * 2**30)  # sparse: the header, then 2 GiB of zeros
    output = tmp_path / "out"
    result, peak = peak_rss_kib([pomona_bin, "featurize", source, output, "--weights",
                                 small_weights, *COMMON, "--max-file-bytes", str(4 * 2**30)])
    assert result.returncode == 0, result.stderr
    assert peak < 300 * 1024, f"peak RSS {peak} KiB: the 2 GiB files were read"
    rows = {r["path"]: r["error"] for r in pq.read_table(output).to_pylist()}
    for kind, bomb, big in (("JPEG", jpeg_bomb, huge[0]), ("PNG", png_bomb, huge[1])):
        # The same row as the decoder gives for the same header read whole.
        assert rows[str(big)] == rows[str(bomb)] == (
            f"{kind}: image is 30000x30000 = 900000000 pixels, above the limit of 89478485 "
            "(possible decompression bomb)")
    assert sum(error is None for error in rows.values()) == len(rows) - 4


# 3. Names that are not UTF-8 ----------------------------------------------------------------------

def test_names_that_are_not_utf8_keep_the_output_readable(pomona_bin, small_weights, images,
                                                          tmp_path):
    source = tmp_path / "in"
    (source / "caf\xe9").mkdir(parents=True)
    raw_folder = os.path.join(os.fsencode(source), b"lab\xffel")
    os.mkdir(raw_folder)
    image = next(images.rglob("*.jpg"))
    raw_file = os.path.join(raw_folder, b"bad\xfe\\name.jpg")
    shutil.copy(image, raw_file)
    shutil.copy(image, source / "caf\xe9" / "ok.jpg")
    output = tmp_path / "out"
    featurize(pomona_bin, small_weights, source, output)
    table = pq.read_table(output)
    table.validate(full=True)
    frame = table.to_pandas()
    stored = f"{source}/lab\\xffel/bad\\xfe\\\\name.jpg"
    assert sorted(frame["path"]) == sorted([stored, f"{source}/caf\xe9/ok.jpg"])
    row = next(r for r in table.to_pylist() if r["path"] == stored)
    assert row["label"] == "lab\\xffel" and row["error"] is None
    # The documented escape is reversible: "\\" is a backslash, "\xHH" a byte.
    unescaped = re.sub(rb"\\(\\|x([0-9a-f]{2}))",
                       lambda m: b"\\" if m.group(1) == b"\\" else bytes([int(m.group(2), 16)]),
                       stored.encode())
    assert unescaped == raw_file
    # Resume reads the stored names back as the original bytes: both inputs are done.
    again = featurize(pomona_bin, small_weights, source, output)
    assert "2 skipped as done" in again.stdout


# 4. Settings that shape the features --------------------------------------------------------------

def test_resume_refuses_other_feature_settings(pomona_bin, small_weights, images, tmp_path):
    output = tmp_path / "out"
    featurize(pomona_bin, small_weights, images, output)
    metadata = pq.read_schema(output / "part-00000.parquet").metadata
    import hashlib
    assert metadata[b"pomona.weights_sha256"] == hashlib.sha256(small_weights.read_bytes()).hexdigest().encode()
    for key, value in [(b"pomona.alpha", b"0.35"), (b"pomona.size", b"96"),
                       (b"pomona.jpeg_draft", b"false"), (b"pomona.exif_transpose", b"false"),
                       (b"pomona.precision", b"fp32")]:
        assert metadata[key] == value
    assert b"pomona.version" in metadata
    other_weights = make_weights(tmp_path / "other.h5", 0.35, 96)
    with open(other_weights, "ab") as f:
        f.write(b"\0")  # the same tensors, another file: a different hash
    for extra, difference in [(["--jpeg-draft"], "jpeg_draft=false, this run has jpeg_draft=true"),
                              (["--exif-transpose"], "exif_transpose=false, this run has exif_transpose=true")]:
        result = featurize(pomona_bin, small_weights, images, output, *extra, check=False)
        assert result.returncode == 2
        assert result.stderr == (f"pomona: error: {output}/part-00000.parquet holds features made "
                                 f"with {difference}: rerun with the same settings, or replace "
                                 "the output to start it afresh (--overwrite)\n")
    result = featurize(pomona_bin, other_weights, images, output, check=False)
    assert result.returncode == 2 and "weights_sha256=" in result.stderr
    fresh = featurize(pomona_bin, other_weights, images, output, "--jpeg-draft", "--overwrite")
    assert "36 images, 0 errors, 0 skipped" in fresh.stdout
    assert pq.read_schema(output / "part-00000.parquet").metadata[b"pomona.jpeg_draft"] == b"true"


NEEDS_BF16 = pytest.mark.skipif(not cpu_has_native_bf16(), reason="this CPU has no native bf16 (AVX512-BF16 or AMX)")


@NEEDS_BF16
def test_resume_refuses_bf16_rows_of_another_bf16_layout(pomona_bin, small_weights, images, tmp_path):
    """bf16 features depend on which layers run in bf16 and how its weights are rounded, which a
    newer Pomona may change: its outputs record that layout, and a resume with another one is
    refused instead of appending rows of a slightly different feature space."""
    output = tmp_path / "out"
    featurize(pomona_bin, small_weights, images, output, "--precision", "bf16")
    part = output / "part-00000.parquet"
    table = pq.read_table(part)
    layout = table.schema.metadata[b"pomona.bf16_layout"]
    assert layout == b"fp32 to block_6_project; bf16 kernels keep their channel sums"
    again = featurize(pomona_bin, small_weights, images, output, "--precision", "bf16")
    assert "36 skipped as done" in again.stdout

    # An fp32 resume names the precision, not the layout fp32 parts never record.
    result = featurize(pomona_bin, small_weights, images, output, check=False)
    assert result.returncode == 2
    assert "holds features made with precision=bf16, this run has precision=fp32" in result.stderr

    for recorded, said in [(None, "does not record bf16_layout (written by an older Pomona)"),
                           (b"fp32 to block_8_project", "holds features made with bf16_layout=fp32 to "
                                                        "block_8_project, this run has bf16_layout=" + layout.decode())]:
        metadata = {k: v for k, v in table.schema.metadata.items() if k != b"pomona.bf16_layout"}
        if recorded:
            metadata[b"pomona.bf16_layout"] = recorded
        pq.write_table(table.replace_schema_metadata(metadata), part)  # as an older Pomona wrote it
        result = featurize(pomona_bin, small_weights, images, output, "--precision", "bf16", check=False)
        assert result.returncode == 2, result.stdout
        assert said in result.stderr


@NEEDS_BF16
def test_resume_of_fp32_rows_in_bf16_names_the_precision(pomona_bin, small_weights, images, tmp_path):
    output = tmp_path / "out"
    featurize(pomona_bin, small_weights, images, output)
    result = featurize(pomona_bin, small_weights, images, output, "--precision", "bf16", check=False)
    assert result.returncode == 2
    assert result.stderr == (f"pomona: error: {output}/part-00000.parquet holds features made with "
                             "precision=fp32, this run has precision=bf16: rerun with the same settings, or "
                             "replace the output to start it afresh (--overwrite)\n")


# 5. Foreign files ---------------------------------------------------------------------------------

def test_folder_of_foreign_files_is_never_cleaned(pomona_bin, small_weights, images, tmp_path):
    output = tmp_path / "theirs"
    output.mkdir()
    for i in range(5):
        (output / f"part-{i:05d}.parquet").write_bytes(b"not ours %d" % i)
    (output / ".part-00001.parquet.tmp-12").write_bytes(b"theirs too")
    before = {p.name: p.read_bytes() for p in output.iterdir()}
    result = featurize(pomona_bin, small_weights, images, output, check=False)
    assert result.returncode == 2
    assert result.stderr.startswith(f"pomona: error: {output} holds part-00000.parquet, which no "
                                    "Pomona run recorded")
    assert {p.name: p.read_bytes() for p in output.iterdir()} == before
    featurize(pomona_bin, small_weights, images, output, "--overwrite")
    assert_one_row_per_image(output, image_paths(images))


# 6. The smaller cases -----------------------------------------------------------------------------

def test_fifo_as_input_says_what_it_is(pomona_bin, small_weights, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = featurize(pomona_bin, small_weights, fifo, tmp_path / "out", check=False)
    assert result.returncode == 3
    assert result.stderr == (f"pomona: error: input {fifo} is neither a folder nor a regular file "
                             "(a FIFO, socket or device?): give a folder of images or one image\n")


def test_python_featurize_batch_does_not_hang_on_a_fifo(small_weights, images, tmp_path):
    fifo = tmp_path / "x.jpg"
    os.mkfifo(fifo)
    code = ("import sys, pomona; b = pomona.featurize_batch([sys.argv[1], sys.argv[2]], "
            "weights=sys.argv[3], alpha=0.35, size=96); print(b.column('error').to_pylist())")
    result = subprocess.run([sys.executable, "-c", code, str(fifo), str(next(images.rglob("*.jpg"))),
                             str(small_weights)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"['cannot read {fifo}: not a regular file', None]\n"


def test_python_rejects_bad_arguments(small_weights):
    import pomona
    with pytest.raises(TypeError, match=r"not one str: pass \[inputs\]"):
        pomona.featurize_batch("a.jpg", weights=str(small_weights), alpha=0.35, size=96)
    with pytest.raises(ValueError, match="batch must be 1 to 256, not 0"):
        pomona.featurize_batch(["a.jpg"], weights=str(small_weights), alpha=0.35, size=96, batch=0)
    with pytest.raises(ValueError, match=r"threads must be 0 \(all cores\) to 1024, not 1099511627776"):
        pomona.featurize_batch(["a.jpg"], weights=str(small_weights), alpha=0.35, size=96,
                               threads=2**40)
    with pytest.raises(ValueError, match=r"k > 0 components or a variance share in \(0, 1\], not k = 0"):
        pomona.PCA(k=0)
    with pytest.raises(ValueError, match="variance = 1.5"):
        pomona.PCA(variance=1.5)
    with pytest.raises(ValueError, match="cannot merge"):
        pomona.PCA(k=2).merge(pomona.PCA(k=3))


def test_stale_temp_files_of_dead_runs_are_removed(pomona_bin, small_weights, images, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    stale = [folder / ".part-00000.parquet.tmp-999999", folder / "._pca_model.parquet.tmp-999998"]
    for path in stale:
        path.write_bytes(b"x" * 1000)
    featurize(pomona_bin, small_weights, images, folder, "--pca-k", "2")
    assert not any(p.exists() for p in stale)
    # The published rows with their pca column record the feature settings too.
    assert pq.read_schema(folder / "part-00000.parquet").metadata[b"pomona.alpha"] == b"0.35"
    single = tmp_path / "f.parquet"
    stale = [tmp_path / ".f.parquet.tmp-999999", tmp_path / ".f.pca-model.parquet.tmp-999999",
             tmp_path / ".f.parquet.unreduced-999999.parquet"]
    keep = tmp_path / ".other.parquet.tmp-999999"
    for path in [*stale, keep]:
        path.write_bytes(b"x")
    featurize(pomona_bin, small_weights, images, single, "--pca-k", "2")
    assert not any(p.exists() for p in stale)
    assert keep.exists()
    # A model saved elsewhere: its own temp files only.
    models = tmp_path / "models"
    models.mkdir()
    (models / ".m.parquet.tmp-999999").write_bytes(b"x")
    (models / ".m2.parquet.tmp-999999").write_bytes(b"x")
    featurize(pomona_bin, small_weights, images, single, "--pca-k", "2", "--pca-model",
              models / "m.parquet")
    assert sorted(p.name for p in models.iterdir()) == [".m2.parquet.tmp-999999", "m.parquet"]


def test_pca_of_rows_without_variance_says_so(pomona_bin, small_weights, images, tmp_path):
    source = tmp_path / "same"
    source.mkdir()
    image = next(images.rglob("*.jpg"))
    for i in range(6):
        shutil.copy(image, source / f"copy{i}.jpg")
    for option in (["--pca-k", "2"], ["--pca-variance", "0.9"]):
        result = featurize(pomona_bin, small_weights, source, tmp_path / "o.parquet", *option,
                           check=False)
        assert result.returncode == 2
        assert result.stderr == ("pomona: error: PCA of 6 rows: their features do not vary (are "
                                 "the images copies of one?), so there is no component to keep; "
                                 "fit on varied images\n")
        assert "nan" not in result.stdout.lower()


def test_deleted_inputs_are_kept_or_pruned(pomona_bin, small_weights, images, tmp_path):
    source = tmp_path / "in"
    shutil.copytree(images, source)
    output = tmp_path / "out"
    featurize(pomona_bin, small_weights, source, output)
    gone = sorted(source.rglob("*.jpg"))[:2]
    for path in gone:
        path.unlink()
    kept = featurize(pomona_bin, small_weights, source, output)
    assert "kept the rows of 2 inputs no longer found (--prune-deleted drops them)" in kept.stdout
    assert pq.read_table(output).num_rows == 36
    pruned = featurize(pomona_bin, small_weights, source, output, "--prune-deleted")
    assert "pruned the rows of 2 inputs no longer found" in pruned.stdout
    assert_one_row_per_image(output, image_paths(source))


def test_skipped_names_and_folders_are_reported(pomona_bin, small_weights, images, tmp_path):
    source = tmp_path / "in"
    shutil.copytree(images, source)
    image = next(images.rglob("*.jpg"))
    (source / "_drafts").mkdir()
    shutil.copy(image, source / "_drafts" / "a.jpg")
    shutil.copy(image, source / "Avocado" / ".hidden.jpg")
    result = featurize(pomona_bin, small_weights, source, tmp_path / "o.parquet")
    assert re.search(r'pomona: warning: skipped 2 files or folders whose names start with "\." '
                     r'or "_", e\.g\. \S+', result.stderr), result.stderr


def test_odd_option_values_get_plain_messages(pomona_bin, small_weights, images, tmp_path):
    result = featurize(pomona_bin, small_weights, images, tmp_path / "o", "--rows-per-file", "0",
                       check=False)
    assert result.returncode == 2
    assert "give a whole number of at least 1, not 0" in result.stderr
    assert len(result.stderr) < 300
    for weights in (tmp_path, "/dev/null"):
        result = run_pomona(pomona_bin, "featurize", images, tmp_path / "o.parquet", "--weights",
                            weights, *COMMON, check=False)
        assert result.returncode == 2
        assert result.stderr == (f"pomona: error: weights file {weights} is not a regular file: "
                                 "give the path of a Keras MobileNetV2 weights .h5 file\n")


def test_unreachable_s3_endpoint_fails_within_seconds(pomona_bin, small_weights, tmp_path):
    start = time.monotonic()
    result = run_pomona(pomona_bin, "featurize", "s3://bucket/images", tmp_path / "o.parquet",
                        "--weights", small_weights, *COMMON, "--s3-endpoint", "http://127.0.0.1:1",
                        check=False)
    assert result.returncode == 3, result.stderr
    assert time.monotonic() - start < 8


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_during_the_pca_phase_stops_the_run(pomona_bin, small_weights, images, tmp_path, sig,
                                                   code):
    output = tmp_path / "features.parquet"
    run = subprocess.Popen([str(pomona_bin), "featurize", str(images), str(output), "--weights",
                            str(small_weights), *COMMON, "--pca-k", "2"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # The staging file is published when every row is written, just before the PCA phase.
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".features.parquet.unreduced-*.parquet")):
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()
        time.sleep(0.002)
    run.send_signal(sig)
    out, err = run.communicate()
    assert run.returncode == code, (out, err)
    assert "stopped by a signal: nothing published" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == []
