"""pomona.spark.session: the driver JVM's faster start (first-tier JIT, Spark's classes from a
class-data archive that the first session writes and later ones map)."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

pytest.importorskip("pyspark")
import pomona.spark.session as session  # noqa: E402


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    return tmp_path / "pomona"


def test_the_user_options_come_after_the_faster_start(cache):
    options = session.driver_java_options({"spark.driver.extraJavaOptions": "-Dmine=1 -Xmx3g"})
    archive = session.class_archive_path({})
    assert options.split() == [session.FIRST_TIER_JIT,
                               f"-XX:ArchiveClassesAtExit={archive}.{os.getpid()}.tmp",
                               *session.QUIET_CLASS_ARCHIVE.split(), "-Dmine=1", "-Xmx3g"]
    assert pathlib.Path(archive).parent == cache
    session._archive_in_progress = None  # no JVM was started to write it


def test_class_sharing_options_of_the_user_leave_out_the_archive(cache):
    options = session.driver_java_options({"spark.driver.extraJavaOptions": "-Xshare:off"})
    assert options == f"{session.FIRST_TIER_JIT} -Xshare:off"
    assert session._archive_in_progress is None


def test_the_options_of_spark_defaults_conf_are_kept(cache, tmp_path, monkeypatch):
    (tmp_path / "spark-defaults.conf").write_text(
        "# admin settings\nspark.driver.memory=4g\nspark.eventLog.dir: file:///tmp/x\n"
        "spark.driver.extraJavaOptions   -XX:+UseG1GC -XX:OnOutOfMemoryError='kill -9 %p'\n")
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path))
    options = session.driver_java_options({})
    assert options.startswith(session.FIRST_TIER_JIT + " ")
    assert options.endswith(" -XX:+UseG1GC -XX:OnOutOfMemoryError='kill -9 %p'")
    session._archive_in_progress = None  # no JVM was started to write it
    # A setting given to the session wins over the file, as with spark-submit's --conf.
    assert session.driver_java_options({"spark.driver.extraJavaOptions": "-Xshare:off"}).endswith(
        " -Xshare:off")


def test_the_archive_is_named_after_the_jdk_jars_and_class_path(cache, monkeypatch):
    default = session.class_archive_path({})
    assert session.class_archive_path({}) == default
    assert session.class_archive_path({"spark.driver.extraClassPath": "/opt/x.jar"}) != default
    monkeypatch.setenv("SPARK_CONF_DIR", "/etc/spark")
    assert session.class_archive_path({}) != default
    monkeypatch.setenv("JAVA_HOME", "/nonexistent-jdk")
    assert session.class_archive_path({}) is None


# Each case in its own Python process: a session started in this one may have launched the JVM
# already, and start() adds its options only where it launches one.
SESSION = """
import json, pathlib, sys
import pomona.spark.session as session
spark = session.start("local[1]", {"spark.ui.enabled": "false"}, "pomona-session-test")
jvm = spark.sparkContext._jvm
print(json.dumps({
    "count": spark.range(5).count(),
    "maps": pathlib.Path(f"/proc/{spark.sparkContext._gateway.proc.pid}/maps").read_text(),
    "arguments": list(jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()),
    "batch": spark.conf.get("spark.sql.execution.arrow.maxRecordsPerBatch")}))
session.stop(spark)
"""


def start_and_stop(cache):
    """What SESSION saw, and what else it printed."""
    result = subprocess.run([sys.executable, "-c", SESSION], capture_output=True, text=True,
                            timeout=180, env=dict(os.environ, XDG_CACHE_HOME=str(cache.parent)))
    assert result.returncode == 0, result.stderr
    *printed, seen = result.stdout.strip().splitlines()
    return json.loads(seen), "\n".join(printed) + result.stderr


def test_the_first_session_writes_the_archive_and_the_next_maps_it(cache):
    archive = session.class_archive_path({})
    first, _ = start_and_stop(cache)
    assert first["count"] == 5
    assert archive not in first["maps"]
    assert any(argument.startswith("-XX:ArchiveClassesAtExit=") for argument in first["arguments"])
    assert os.path.getsize(archive) > 10 << 20
    assert list(cache.glob("*.tmp")) == []

    second, _ = start_and_stop(cache)
    assert second["count"] == 5
    assert archive in second["maps"]
    assert session.FIRST_TIER_JIT in second["arguments"]
    assert second["batch"] == "64"  # the job's settings for images (tune_for_images)


def test_an_archive_that_does_not_match_is_ignored_silently(cache):
    archive = pathlib.Path(session.class_archive_path({}))
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"not a class-data archive" * 1000)
    seen, output = start_and_stop(cache)
    assert seen["count"] == 5
    assert str(archive) not in seen["maps"]
    assert f"-XX:SharedArchiveFile={archive}" in seen["arguments"]
    assert "cds" not in output.lower() and "shared archive" not in output.lower(), output
