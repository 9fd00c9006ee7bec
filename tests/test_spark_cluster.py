"""pomona.spark.job on a real Spark standalone cluster that the test starts on 127.0.0.1 (the
pyspark package's own Master and two Workers, one core each, launched with spark-class): the same
results as the pomona command, and exactly one row per image when a worker is killed mid-job."""
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pyarrow.parquet as pq
import pytest

from spark_cases import (MODEL_OPTIONS, assert_same_model, assert_same_rows, cli_has_pca,
                         cli_pca_model, cli_rows, make_inputs, weights)

if shutil.which("java") is None:
    pytest.skip("Java is not installed (scripts/bootstrap.sh installs it)", allow_module_level=True)

import pomona  # noqa: E402
import pomona.spark.job  # noqa: E402

BIN = pathlib.Path(sys.executable).parent
JOB_TIMEOUT_S = 300


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A standalone master and `workers` workers of one core each, each a JVM this test started
    (and stops, by pid)."""

    def __init__(self, root: pathlib.Path, workers: int = 2):
        self.root = root
        self.port, self.ui_port = free_port(), free_port()
        self.url = f"spark://127.0.0.1:{self.port}"
        self.env = dict(os.environ, SPARK_LOCAL_IP="127.0.0.1", SPARK_LOG_DIR=str(root / "logs"),
                        PYSPARK_PYTHON=sys.executable)
        self.master = self._start("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                                  "--port", str(self.port), "--webui-port", str(self.ui_port))
        self.workers = [
            self._start(f"worker{i}", "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                        "--cores", "1", "--memory", "1g", "--webui-port", str(free_port()),
                        "--work-dir", str(root / f"work{i}"), self.url)
            for i in range(workers)]
        try:
            self.wait_for_workers(workers)
        except BaseException:
            self.stop()  # no fixture teardown follows a failed set-up: the JVMs would outlive pytest
            raise

    def _start(self, name, main_class, *args):
        log = open(self.root / f"{name}.log", "wb")
        return subprocess.Popen([str(BIN / "spark-class"), main_class, *args], env=self.env,
                                stdout=log, stderr=subprocess.STDOUT)

    def alive_workers(self) -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ui_port}/json/", timeout=5) as response:
            return json.load(response)["aliveworkers"]

    def wait_for_workers(self, count, timeout_s=120):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if self.alive_workers() >= count:
                    return
            except (OSError, ValueError):  # not up yet, or its UI answered before its JSON page (HTML)
                pass
            time.sleep(1)
        raise AssertionError(f"standalone cluster did not get {count} workers; logs in {self.root}")

    def submit(self, *job_args, wait=True):
        command = [str(BIN / "spark-submit"), "--master", self.url,
                   "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.executor.memory=768m",
                   "--conf", "spark.ui.enabled=false",
                   pomona.spark.job.__file__, *map(str, job_args)]
        process = subprocess.Popen(command, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        return process.communicate(timeout=JOB_TIMEOUT_S) if wait else process

    def stop(self):
        for process in [*self.workers, self.master]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in [*self.workers, self.master]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def case(tmp_path_factory, pomona_bin):
    # Generated images (35 files): test_spark_local covers the real sample; here the cluster's
    # start-ups dominate and a small input keeps the module within CI's minutes.
    root = tmp_path_factory.mktemp("spark_cluster")
    images = make_inputs(root, None)
    weights_path = weights(root)
    return root, images, weights_path, cli_rows(pomona_bin, images, weights_path, root / "cli.parquet")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    cluster = Cluster(tmp_path_factory.mktemp("cluster"))
    yield cluster
    cluster.stop()


def job_args(case, output):
    _, images, weights_path, _ = case
    return ["--input", images, "--output", output, "--weights", weights_path, *MODEL_OPTIONS,
            "--glob", "*.jpg"]


def test_job_on_standalone_cluster_gives_the_cli_rows_and_pca_model(cluster, case, pomona_bin):
    root, _, _, expected = case
    output = root / "cluster_job"
    stdout, stderr = cluster.submit(*job_args(case, output), "--pca-k", "3")
    assert f"pomona spark: {len(expected)} images, 3 errors" in stdout, stderr[-3000:]
    assert_same_rows(pq.read_table(output).drop(["pca"]).to_pylist(), expected)
    if cli_has_pca(pomona_bin):
        want = cli_pca_model(pomona_bin, root / "cli.parquet", root / "cli_pca3.parquet", 3)
    else:
        want = pomona.PCA(k=3).fit(pq.read_table(root / "cli.parquet"))
    assert_same_model(pomona.PCA.load(output / "_pca_model.parquet"), want)


def test_job_survives_a_worker_killed_mid_job_with_one_row_per_image(cluster, case):
    root, _, _, expected = case
    output = root / "killed_job"
    # Input partitions of about two images, so that the job is still running at the kill.
    job = cluster.submit(*job_args(case, output), "--conf", "spark.sql.files.maxPartitionBytes=8192",
                         "--conf", "spark.sql.files.openCostInBytes=1", wait=False)
    committed_tasks = output / "_temporary" / "0"
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while not list(committed_tasks.glob("task_*")):
        assert job.poll() is None, "the job ended before any task committed:\n" + job.stderr.read()[-3000:]
        assert time.monotonic() < deadline, "no task committed in time"
        time.sleep(0.2)
    victim = cluster.workers[1]
    victim.kill()  # SIGKILL: its executor loses its worker and exits too
    stdout, stderr = job.communicate(timeout=JOB_TIMEOUT_S)
    assert job.returncode == 0, stderr[-3000:]
    assert re.search(r"Lost executor|ExecutorLost|Executor lost|Removed executor", stderr), \
        "the kill did not hit a running executor:\n" + stderr[-3000:]
    assert_same_rows(pq.read_table(output).to_pylist(), expected)
