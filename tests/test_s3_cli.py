"""End-to-end: `pomona featurize` reading and writing s3:// on a real S3-compatible server (moto,
started by the tests on 127.0.0.1), with injected faults and with refused credentials."""
import io
import pathlib
import re
import statistics
import subprocess
import time

import numpy as np
import pyarrow.parquet as pq
import pytest

from helpers import make_images, run_pomona
from s3_server import FaultProxy, MotoS3, moto_s3  # noqa: F401

BUCKET = "pomona-s3-test"


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return make_images(tmp_path_factory.mktemp("s3images"), per_class=3, classes=4)


@pytest.fixture(scope="module")
def bucket(moto_s3, images):
    moto_s3.make_bucket(BUCKET)
    moto_s3.upload_folder(images, BUCKET, "images")
    return BUCKET


def featurize(pomona_bin, weights, env, source, output, *extra):
    return subprocess.run([str(pomona_bin), "featurize", str(source), str(output), "--weights", str(weights),
                           "--alpha", "0.35", "--size", "96", "--quiet", *map(str, extra)],
                          env=env, capture_output=True, text=True, timeout=120)


def read_s3_table(server, uri):
    bucket, key = uri[len("s3://"):].split("/", 1)
    client = server.client()
    if key.endswith(".parquet"):
        return pq.read_table(io.BytesIO(client.get_object(Bucket=bucket, Key=key)["Body"].read()))
    # As readers do: names starting with "_" or "." (model, staging, temp files) are not rows.
    names = [k for k in server.keys_under(bucket, key + "/") if k.endswith(".parquet") and
             not any(part.startswith(("_", ".")) for part in k[len(key) + 1:].split("/"))]
    import pyarrow as pa
    return pa.concat_tables(pq.read_table(io.BytesIO(client.get_object(Bucket=bucket, Key=k)["Body"].read()))
                            for k in sorted(names))


def rows_by_relative_path(table, root):
    root = str(root).rstrip("/") + "/"
    return {r["path"][len(root):]: (r["label"], r["features"], r["error"]) for r in table.to_pylist()}


def test_s3_to_s3_s3_to_local_and_local_to_s3_equal_local_to_local(pomona_bin, small_weights, moto_s3, bucket,
                                                                    images, tmp_path):
    env = moto_s3.env()
    local = featurize(pomona_bin, small_weights, env, images, tmp_path / "local.parquet")
    assert local.returncode == 0, local.stderr
    expected = rows_by_relative_path(pq.read_table(tmp_path / "local.parquet"), images)
    assert len(expected) == 12

    runs = {
        "s3->local": ("s3://%s/images" % bucket, tmp_path / "from_s3.parquet"),
        "s3->s3 folder": ("s3://%s/images/" % bucket, "s3://%s/out/s3s3" % bucket),
        "s3->s3 file": ("s3://%s/images" % bucket, "s3://%s/out/s3s3.parquet" % bucket),
        "local->s3": (images, "s3://%s/out/locals3" % bucket),
    }
    for name, (source, output) in runs.items():
        result = featurize(pomona_bin, small_weights, env, source, output)
        assert result.returncode == 0, (name, result.stderr)
        assert "12 images, 0 errors" in result.stdout and "0 S3 retries" in result.stdout, result.stdout
        table = read_s3_table(moto_s3, str(output)) if str(output).startswith("s3://") else pq.read_table(output)
        assert rows_by_relative_path(table, source) == expected, name

    # The folder outputs are committed: parts, the manifest, then _SUCCESS; no temp names.
    keys = moto_s3.keys_under(bucket, "out/s3s3/")
    assert keys == ["out/s3s3/_SUCCESS", "out/s3s3/_pomona_lock", "out/s3s3/_pomona_manifest.jsonl",
                    "out/s3s3/part-00000.parquet"]
    manifest = moto_s3.client().get_object(Bucket=bucket, Key="out/s3s3/_pomona_manifest.jsonl")["Body"].read()
    assert manifest == b'{"file": "part-00000.parquet", "rows": 12}\n'


def test_s3_folder_output_resumes_from_its_manifest(pomona_bin, small_weights, moto_s3, bucket):
    env = moto_s3.env()
    output = "s3://%s/out/resumed" % bucket
    assert featurize(pomona_bin, small_weights, env, "s3://%s/images" % bucket, output).returncode == 0
    # A part a killed run uploaded but never listed in the manifest: the next run removes it.
    moto_s3.client().put_object(Bucket=bucket, Key="out/resumed/part-00007.parquet", Body=b"junk")
    again = featurize(pomona_bin, small_weights, env, "s3://%s/images" % bucket, output)
    assert again.returncode == 0, again.stderr
    assert "0 images, 0 errors, 12 skipped as done" in again.stdout
    assert "out/resumed/part-00007.parquet" not in moto_s3.keys_under(bucket, "out/resumed/")
    assert read_s3_table(moto_s3, output).num_rows == 12


def test_faults_are_retried_and_every_image_featurized_once(pomona_bin, small_weights, moto_s3, bucket, images,
                                                             tmp_path):
    expected = featurize(pomona_bin, small_weights, moto_s3.env(), images, tmp_path / "local.parquet")
    assert expected.returncode == 0
    with FaultProxy(moto_s3.endpoint, fault_rate=0.5, seed=6) as proxy:
        result = featurize(pomona_bin, small_weights, moto_s3.env() | {"AWS_ENDPOINT_URL": proxy.endpoint},
                           "s3://%s/images" % bucket, tmp_path / "faulty.parquet", "--s3-retries", "8")
    assert result.returncode == 0, result.stderr
    assert proxy.faults > 0 and all(proxy.by_kind.values()), proxy.by_kind
    # Each fault costs one retry, give or take a dropped connection: curl may resend a dropped
    # request on a fresh connection by itself, or the SDK may count it twice.
    retries = int(re.search(r"12 images, 0 errors, 0 skipped as done, (\d+) S3 retries", result.stdout)[1])
    drops = proxy.by_kind["drop"]
    assert proxy.faults - drops <= retries <= proxy.faults + drops, (retries, proxy.by_kind)
    table = pq.read_table(tmp_path / "faulty.parquet")
    assert sorted(table.column("path").to_pylist()) == sorted(set(table.column("path").to_pylist()))
    assert rows_by_relative_path(table, "s3://%s/images" % bucket) == \
        rows_by_relative_path(pq.read_table(tmp_path / "local.parquet"), images)


def test_read_ahead_keeps_more_gets_in_flight_under_latency_and_fewer_when_throttled(
        pomona_bin, small_weights, moto_s3, tmp_path):
    images = make_images(tmp_path / "many", per_class=25, classes=4)
    moto_s3.make_bucket("pomona-read-ahead")
    moto_s3.upload_folder(images, "pomona-read-ahead", "many")
    source = "s3://pomona-read-ahead/many"
    # 200 ms a GET: 8 GETs at a time (the first round) feed at most 40 images/s, far fewer than
    # the workers featurize, so they wait and the read-ahead grows.
    with FaultProxy(moto_s3.endpoint, delay_s=0.2) as distant:
        result = featurize(pomona_bin, small_weights, moto_s3.env() | {"AWS_ENDPOINT_URL": distant.endpoint},
                           source, tmp_path / "distant.parquet")
    assert result.returncode == 0, result.stderr
    assert max(distant.gets_in_flight) > 8, distant.gets_in_flight
    # Every third GET answered 503 SlowDown: the read-ahead halves its GETs in flight.
    with FaultProxy(moto_s3.endpoint, delay_s=0.05, fault_rate=0.3, kinds=("slowdown",)) as throttling:
        result = featurize(pomona_bin, small_weights, moto_s3.env() | {"AWS_ENDPOINT_URL": throttling.endpoint},
                           source, tmp_path / "throttled.parquet")
    assert result.returncode == 0, result.stderr
    assert throttling.by_kind["slowdown"] > 10
    assert statistics.mean(throttling.gets_in_flight) < 4, throttling.gets_in_flight
    assert featurize(pomona_bin, small_weights, moto_s3.env(), images, tmp_path / "local.parquet").returncode == 0
    expected = rows_by_relative_path(pq.read_table(tmp_path / "local.parquet"), images)
    assert len(expected) == 100
    for output in ("distant.parquet", "throttled.parquet"):
        assert rows_by_relative_path(pq.read_table(tmp_path / output), source) == expected, output


def rows_with_pca(table, root):
    """{relative path: (label, error, features, pca)} of a table with a pca column."""
    root = str(root).rstrip("/") + "/"
    return {r["path"][len(root):]: (r["label"], r["error"], r["features"], r["pca"]) for r in table.to_pylist()}


def assert_same_rows_with_pca(actual, expected):
    assert actual.keys() == expected.keys()
    for path, (label, error, features, pca) in expected.items():
        assert actual[path][:3] == (label, error, features), path
        np.testing.assert_allclose(actual[path][3], pca, rtol=0, atol=1e-6, err_msg=path)


def read_s3_bytes(server, bucket, key):
    return server.client().get_object(Bucket=bucket, Key=key)["Body"].read()


@pytest.mark.parametrize("layout", ["folder", "file"])
def test_local_to_s3_with_pca_equals_local_with_pca_and_leaves_only_committed_files(
        pomona_bin, small_weights, moto_s3, bucket, images, tmp_path, layout):
    env = moto_s3.env()
    prefix = "out/pca-%s" % layout
    name = "features" if layout == "folder" else "features.parquet"
    local_output = tmp_path / name
    local = featurize(pomona_bin, small_weights, env, images, local_output, "--pca-k", 3)
    assert local.returncode == 0, local.stderr
    expected = rows_with_pca(pq.read_table(local_output), images)
    assert len(expected) == 12 and all(len(pca) == 3 for *_, pca in expected.values())
    assert sorted(p.name for p in tmp_path.iterdir()) == \
        {"folder": ["features"], "file": ["features.parquet", "features.pca-model.parquet"]}[layout]

    output = "s3://%s/%s/%s" % (bucket, prefix, name)
    result = featurize(pomona_bin, small_weights, env, images, output, "--pca-k", 3)
    assert result.returncode == 0, result.stderr
    assert "12 images, 0 errors" in result.stdout, result.stdout
    assert_same_rows_with_pca(rows_with_pca(read_s3_table(moto_s3, output), images), expected)

    # Only what a reader or a resumed run may use: no staging output, no temp names, and nothing
    # written on the local disk for the S3 output.
    model_key = {"folder": "features/_pca_model.parquet", "file": "features.pca-model.parquet"}[layout]
    # The released lease of the run (OutputLock) stays, hidden from readers.
    committed = {"folder": ["features/_SUCCESS", "features/_pca_model.parquet", "features/_pomona_lock",
                            "features/_unreduced/_SUCCESS", "features/_unreduced/_pomona_manifest.jsonl",
                            "features/_unreduced/part-00000.parquet", "features/part-00000.parquet"],
                 "file": [".features.parquet.lock", "features.parquet", "features.pca-model.parquet"]}[layout]
    # Arrow's S3 DeleteFile (here of the file output's staging object) puts a zero-byte marker for
    # the parent folder, "prefix/": that is the folder itself, not a file in it.
    keys = [key for key in moto_s3.keys_under(bucket, prefix + "/") if not key.endswith("/")]
    assert keys == [prefix + "/" + key for key in committed]
    assert not pathlib.Path("s3:").exists()
    local_model = {"folder": local_output / "_pca_model.parquet",
                   "file": tmp_path / "features.pca-model.parquet"}[layout]
    [s3_model] = pq.read_table(io.BytesIO(read_s3_bytes(moto_s3, bucket, prefix + "/" + model_key))).to_pylist()
    [expected_model] = pq.read_table(local_model).to_pylist()
    assert (s3_model["n"], s3_model["k"]) == (expected_model["n"], expected_model["k"]) == (12, 3)
    for column in ("mean", "components", "eigenvalues"):
        np.testing.assert_allclose(np.array(s3_model[column]), np.array(expected_model[column]), rtol=0, atol=1e-6,
                                   err_msg=column)


def test_upload_faults_are_retried_and_the_output_equals_a_fault_free_run(pomona_bin, small_weights, moto_s3,
                                                                        bucket, images):
    env = moto_s3.env()
    clean_output = "s3://%s/out/upload-clean" % bucket
    clean = featurize(pomona_bin, small_weights, env, images, clean_output, "--rows-per-file", 5)
    assert clean.returncode == 0, clean.stderr
    output = "s3://%s/out/upload-faulty" % bucket
    with FaultProxy(moto_s3.endpoint, fault_rate=0.3, seed=11) as proxy:
        result = featurize(pomona_bin, small_weights, env | {"AWS_ENDPOINT_URL": proxy.endpoint}, images, output,
                           "--rows-per-file", 5, "--s3-retries", "8")
    assert result.returncode == 0, result.stderr
    # Uploads (parts, manifests, _SUCCESS) were hit, not only the listing and checks.
    assert proxy.faults_by_method["PUT"] > 0, proxy.faults_by_method
    # Each fault costs one retry, less where curl resends a dropped request by itself; one run in a
    # few counts one retry more than the faults injected (a dropped upload's connection, it seems).
    retries = int(re.search(r"12 images, 0 errors, 0 skipped as done, (\d+) S3 retries", result.stdout)[1])
    drops = proxy.by_kind["drop"]
    assert proxy.faults - drops <= retries <= proxy.faults + drops, (retries, proxy.by_kind)
    table = read_s3_table(moto_s3, output)
    paths = table.column("path").to_pylist()
    assert len(paths) == 12 and len(set(paths)) == 12
    assert rows_by_relative_path(table, images) == rows_by_relative_path(read_s3_table(moto_s3, clean_output), images)
    assert moto_s3.keys_under(bucket, "out/upload-faulty/") == [
        "out/upload-faulty/" + key for key in ("_SUCCESS", "_pomona_lock", "_pomona_manifest.jsonl", "part-00000.parquet",
                                               "part-00001.parquet", "part-00002.parquet")]
    manifest = read_s3_bytes(moto_s3, bucket, "out/upload-faulty/_pomona_manifest.jsonl")
    assert manifest == read_s3_bytes(moto_s3, bucket, "out/upload-clean/_pomona_manifest.jsonl")


def test_object_failing_every_request_is_an_error_row_naming_the_key(pomona_bin, small_weights, moto_s3, bucket,
                                                                     images, tmp_path):
    key = moto_s3.keys_under(bucket, "images/")[5]
    with FaultProxy(moto_s3.endpoint, always_fail=[key]) as proxy:
        result = featurize(pomona_bin, small_weights, moto_s3.env() | {"AWS_ENDPOINT_URL": proxy.endpoint},
                           "s3://%s/images" % bucket, tmp_path / "out.parquet", "--s3-retries", "2")
    assert result.returncode == 0, result.stderr
    rows = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert len(rows) == 12
    failed = [r for r in rows if r["error"] is not None]
    assert [r["path"] for r in failed] == ["s3://%s/%s" % (bucket, key)]
    assert key in failed[0]["error"] and "SERVICE_UNAVAILABLE" in failed[0]["error"], failed[0]["error"]
    assert proxy.always_failed == 3  # the first try and 2 retries
    assert "11 images" not in result.stdout and "12 images, 1 errors" in result.stdout


@pytest.fixture(scope="module")
def auth_server(images):
    with MotoS3.with_auth("pomona-writable", "pomona-readonly") as (server, admin, reader):
        server.upload_folder(images, "pomona-readonly", "images")
        yield server, admin, reader


@pytest.mark.parametrize("case", ["bad credentials", "unknown bucket", "no write permission"])
def test_refused_access_fails_fast_with_one_line_and_leaves_nothing(pomona_bin, small_weights, auth_server, images,
                                                                    tmp_path, case):
    server, admin, reader = auth_server
    keys, source, output, expected = {
        "bad credentials": ({"AWS_ACCESS_KEY_ID": "AKIAWRONG", "AWS_SECRET_ACCESS_KEY": "wrong"},
                            "s3://pomona-readonly/images", tmp_path / "out", "S3 rejected the credentials"),
        "unknown bucket": (admin, "s3://pomona-no-such-bucket/images", tmp_path / "out", "no such bucket"),
        "no write permission": (reader, images, "s3://pomona-readonly/out", "access denied"),
    }[case]
    start = time.monotonic()
    result = featurize(pomona_bin, small_weights, server.env(keys), source, output)
    assert time.monotonic() - start < 10
    assert result.returncode == 3, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pomona: error: ") and expected in lines[0], lines
    # The core's message names no flag; the CLI adds the flags that fix it.
    flags = {"bad credentials": " (--s3-profile, --s3-anonymous)", "unknown bucket": " (--s3-endpoint, --s3-region)"}
    assert lines[0].endswith(flags.get(case, ")")) and lines[0].count("--s3-") == 2 * (case in flags), lines
    assert not (tmp_path / "out").exists()
    assert server.keys_under("pomona-readonly", "out") == []


def test_s3_output_lease_refuses_a_second_run_until_it_expires(pomona_bin, small_weights, moto_s3, bucket):
    env = moto_s3.env()
    output = "s3://%s/out/leased" % bucket
    live = "4242 thathost 2026-12-06T10:00:00Z ab %d\n" % (time.time() + 600)
    moto_s3.client().put_object(Bucket=bucket, Key="out/leased/_pomona_lock", Body=live.encode())
    result = featurize(pomona_bin, small_weights, env, "s3://%s/images" % bucket, output)
    assert result.returncode == 3
    assert result.stderr == (f"pomona: error: {output} is being written by pid 4242 on thathost since "
                             f"2026-12-06T10:00:00Z; wait or remove {output}/_pomona_lock if that run is dead\n")
    # A lease its run stopped renewing expires, and is taken over.
    expired = "4242 thathost 2026-12-06T10:00:00Z ab %d\n" % (time.time() - 1)
    moto_s3.client().put_object(Bucket=bucket, Key="out/leased/_pomona_lock", Body=expired.encode())
    result = featurize(pomona_bin, small_weights, env, "s3://%s/images" % bucket, output)
    assert result.returncode == 0, result.stderr
    assert "12 images, 0 errors" in result.stdout
