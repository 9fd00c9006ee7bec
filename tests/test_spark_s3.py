"""pomona.spark.job with S3 input and output on moto's S3 server (tests/s3_server.py), Spark
local[2] without any S3 connector: s3->s3, s3->local and local->s3 give the rows of local->local;
an object that cannot be read is an error row; bad credentials, an unknown bucket and a denied
write end the job before Spark with one line and exit status 3, writing nothing."""
import json
import os
import shutil
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from s3_server import FaultProxy, MotoS3, aws_env, moto_s3  # noqa: F401 (fixture)
from spark_cases import MODEL_OPTIONS, make_inputs, weights

if shutil.which("java") is None:
    pytest.skip("Java is not installed (scripts/bootstrap.sh installs it)", allow_module_level=True)

import pomona  # noqa: E402
import pomona.s3  # noqa: E402
import pomona.spark  # noqa: E402
import pomona.spark.job  # noqa: E402

INPUT_BUCKET, OUTPUT_BUCKET = "pomona-spark-in", "pomona-spark-out"


@pytest.fixture(scope="module")
def s3_env(moto_s3):  # noqa: F811
    """The driver's (this process's) AWS environment pointed at the moto server."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(moto_s3.env())
    yield moto_s3.env()
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="module")
def spark(s3_env):
    from pyspark.sql import SparkSession
    os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers import pomona from this venv
    builder = (SparkSession.builder.master("local[2]").appName("pomona-s3-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.execution.arrow.maxRecordsPerBatch", "8"))
    # The executors' Python workers find their credentials in their environment, as on a cluster.
    for name, value in s3_env.items():
        if name.startswith("AWS_"):
            builder = builder.config(f"spark.executorEnv.{name}", value)
    session = builder.getOrCreate()
    yield session
    session.stop()


@pytest.fixture(scope="module")
def case(tmp_path_factory, moto_s3):  # noqa: F811
    """Generated images with corrupt files, locally and under s3://INPUT_BUCKET/photos/."""
    root = tmp_path_factory.mktemp("spark_s3")
    images = make_inputs(root, None)
    moto_s3.make_bucket(INPUT_BUCKET)
    moto_s3.make_bucket(OUTPUT_BUCKET)
    moto_s3.upload_folder(images, INPUT_BUCKET, "photos")
    return root, images, weights(root)


def run_job(case, source, output, *extra):
    _, _, weights_path = case
    args = pomona.spark.job.parse_args(["--input", str(source), "--output", str(output),
                                        "--weights", str(weights_path), *MODEL_OPTIONS,
                                        "--glob", "*.jpg", *extra])
    assert pomona.spark.job.run(args) == 0


def rows_by_key(table, root: str) -> dict:
    """(label, features, error) by path relative to the input root."""
    rows = {}
    for row in table.to_pylist():
        path = row["path"][len("file:"):] if row["path"].startswith("file:") else row["path"]
        assert path.startswith(root), (path, root)
        rows[path[len(root):].lstrip("/")] = (row["label"], row["features"], row["error"])
    return rows


@pytest.fixture(scope="module")
def local_rows(spark, case):
    root, images, _ = case
    run_job(case, images, root / "local_out")
    return rows_by_key(pq.read_table(root / "local_out"), str(images))


def test_local_to_local_reference_has_images_and_error_rows(local_rows):
    assert len(local_rows) == 35
    assert sum(error is not None for _, _, error in local_rows.values()) == 3
    assert local_rows["Broken/truncated.jpg"][1] is None


def manifest_and_files(moto, prefix):
    """The manifest's (file, rows) lines, and every key under prefix but the folder's own
    marker (Arrow keeps emptied folders as "prefix/" objects)."""
    keys = [key for key in moto.keys_under(OUTPUT_BUCKET, prefix) if key != prefix + "/"]
    body = moto.client().get_object(Bucket=OUTPUT_BUCKET, Key=f"{prefix}/_pomona_manifest.jsonl")
    lines = [json.loads(line) for line in body["Body"].read().decode().splitlines()]
    return lines, keys


def test_s3_to_s3_gives_the_local_rows_with_a_manifest_and_success_written_last(
        spark, case, local_rows, moto_s3):  # noqa: F811
    # A run that died earlier left a part file and a _temporary folder: neither may survive.
    client = moto_s3.client()
    client.put_object(Bucket=OUTPUT_BUCKET, Key="s3s3/part-00000-deadbeef-7.parquet",
                      Body=b"half a part")
    client.put_object(Bucket=OUTPUT_BUCKET, Key="s3s3/_temporary/x", Body=b"")
    run_job(case, f"s3://{INPUT_BUCKET}/photos/", f"s3://{OUTPUT_BUCKET}/s3s3")
    output = f"s3://{OUTPUT_BUCKET}/s3s3"  # the pomona command's layout: part files in OUTPUT
    got = rows_by_key(pomona.spark.read_written(output), f"s3://{INPUT_BUCKET}/photos")
    assert got == local_rows
    manifest, keys = manifest_and_files(moto_s3, "s3s3")
    assert sum(line["rows"] for line in manifest) == len(local_rows)
    assert keys == sorted([f"s3s3/{line['file']}" for line in manifest]
                          + ["s3s3/_SUCCESS", "s3s3/_pomona_manifest.jsonl"])
    assert all(line["file"].startswith("part-") for line in manifest)


def test_s3_to_local_gives_the_local_rows(spark, case, local_rows):
    root, _, _ = case
    run_job(case, f"s3a://{INPUT_BUCKET}/photos", root / "s3_local_out")
    assert (root / "s3_local_out" / "_SUCCESS").exists()
    table = pq.read_table(root / "s3_local_out")
    assert rows_by_key(table, f"s3a://{INPUT_BUCKET}/photos") == local_rows


def test_local_to_s3_gives_the_local_rows_and_the_pca_model(spark, case, local_rows, moto_s3):  # noqa: F811
    _, images, _ = case
    run_job(case, images, f"s3://{OUTPUT_BUCKET}/local_s3", "--pca-k", "3")
    table = pomona.spark.read_written(f"s3://{OUTPUT_BUCKET}/local_s3")
    assert rows_by_key(table.drop(["pca"]), str(images)) == local_rows
    assert "local_s3/_pca_model.parquet" in moto_s3.keys_under(OUTPUT_BUCKET, "local_s3")
    assert table.column("pca").null_count == 3


def test_an_object_that_cannot_be_read_is_an_error_row_naming_it(spark, case, moto_s3):  # noqa: F811
    broken_key = "photos/Broken/not_an_image.jpg"
    good_key = next(k for k in moto_s3.keys_under(INPUT_BUCKET, "photos") if "Broken" not in k)
    _, _, weights_path = case
    with FaultProxy(moto_s3.endpoint, always_fail=[good_key]) as proxy:
        s3 = pomona.s3.S3Options(endpoint=proxy.endpoint, retries=1)
        df = spark.createDataFrame([(f"s3://{INPUT_BUCKET}/{key}", 0) for key in (good_key, broken_key)],
                                   "path string, size long")
        rows = pomona.spark.featurize(df, content_col=None, s3=s3, weights=str(weights_path),
                                      alpha=0.35, size=96).collect()
    assert proxy.always_failed == 2  # the first attempt and one retry
    unread, corrupt = rows
    assert unread.path == f"s3://{INPUT_BUCKET}/{good_key}" and unread.features is None
    assert unread.error.startswith(f"cannot read s3://{INPUT_BUCKET}/{good_key}: ")
    assert "SERVICE_UNAVAILABLE" in unread.error or "503" in unread.error, unread.error
    assert unread.label == good_key.split("/")[-2]
    assert corrupt.error is not None and not corrupt.error.startswith("cannot read")


def run_job_process(case, source, output, env):
    _, _, weights_path = case
    return subprocess.run([sys.executable, "-m", "pomona.spark.job", "--input", str(source),
                           "--output", str(output), "--weights", str(weights_path), *MODEL_OPTIONS,
                           "--s3-retries", "1", "--master", "local[2]"],
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def auth_s3():
    """A moto server that checks credentials: (server, admin keys, read-only keys)."""
    with MotoS3.with_auth("pomona-auth-rw", "pomona-auth-ro") as servers:
        yield servers


def assert_failed_fast(result, *words):
    assert result.returncode == 3, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pomona spark: cannot "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_bad_credentials_fail_in_one_line_writing_nothing(case, auth_s3, tmp_path):
    server, admin, _ = auth_s3
    server.upload_folder(case[1] / "Broken", "pomona-auth-rw", "photos")
    wrong = {"AWS_ACCESS_KEY_ID": "AKIANOTAKEY", "AWS_SECRET_ACCESS_KEY": "wrong"}
    result = run_job_process(case, "s3://pomona-auth-rw/photos", tmp_path / "out",
                             aws_env(server.endpoint, wrong))
    assert_failed_fast(result, "s3://pomona-auth-rw/photos", "credentials")
    assert not (tmp_path / "out").exists()
    bad_secret = dict(admin, AWS_SECRET_ACCESS_KEY="wrong")
    result = run_job_process(case, case[1], "s3://pomona-auth-rw/out", aws_env(server.endpoint, bad_secret))
    assert_failed_fast(result, "s3://pomona-auth-rw/out", "credentials")
    assert server.keys_under("pomona-auth-rw", "out") == []


def test_unknown_bucket_fails_in_one_line_writing_nothing(case, auth_s3, tmp_path):
    server, admin, _ = auth_s3
    env = aws_env(server.endpoint, admin)
    result = run_job_process(case, "s3://pomona-no-such-bucket/photos", tmp_path / "out", env)
    assert_failed_fast(result, "pomona-no-such-bucket", "does not exist")
    assert not (tmp_path / "out").exists()
    result = run_job_process(case, case[1], "s3://pomona-no-such-bucket/out", env)
    assert_failed_fast(result, "pomona-no-such-bucket", "does not exist")


def test_no_write_permission_fails_in_one_line_writing_nothing(case, auth_s3):
    server, _, reader = auth_s3
    result = run_job_process(case, case[1], "s3://pomona-auth-ro/out", aws_env(server.endpoint, reader))
    assert_failed_fast(result, "s3://pomona-auth-ro/out", "denied")
    assert server.keys_under("pomona-auth-ro") == []


def test_profile_credentials_are_read_from_the_shared_credentials_file(auth_s3, tmp_path):
    server, _, reader = auth_s3
    credentials = tmp_path / "credentials"
    credentials.write_text(f"[reader]\naws_access_key_id = {reader['AWS_ACCESS_KEY_ID']}\n"
                           f"aws_secret_access_key = {reader['AWS_SECRET_ACCESS_KEY']}\n")
    env = dict(aws_env(server.endpoint, {"AWS_ACCESS_KEY_ID": "AKIANOTAKEY",
                                         "AWS_SECRET_ACCESS_KEY": "wrong"}),
               AWS_SHARED_CREDENTIALS_FILE=str(credentials))
    check = ("import pomona.s3 as s3; o = s3.S3Options(profile='reader'); "
             "s3.check_readable('s3://pomona-auth-ro/x', o); s3.check_writable('s3://pomona-auth-ro/x', o)")
    result = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True)
    assert "denied" in result.stderr and "credentials were refused" not in result.stderr, result.stderr
    missing = subprocess.run([sys.executable, "-c", check.replace("'reader'", "'nobody'")], env=env,
                             capture_output=True, text=True)
    assert f"AWS profile 'nobody' is not in {credentials}" in missing.stderr, missing.stderr
