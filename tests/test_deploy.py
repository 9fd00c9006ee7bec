"""The wheels of `make wheel` where nothing of the build is: a minimal Debian 12 root with only
python3 and python3-venv (scripts/clean_root.sh), and a Spark standalone cluster whose workers
cannot see any pomona but the packed environment that spark-submit ships to them.

Run by `make deploy-test` (as root: debootstrap, chroot, mount namespaces); under plain pytest the
module is skipped unless POMONA_DEPLOY_TEST=1.
"""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

from helpers import make_weights, run_pomona
from spark_cases import ALPHA, CORRUPT_FILES, MODEL_OPTIONS, SIZE, make_inputs

if os.environ.get("POMONA_DEPLOY_TEST") != "1":
    pytest.skip("deploy tests run under `make deploy-test` (root, wheels in dist/)", allow_module_level=True)

ROOT = pathlib.Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
WHEELHOUSE = ROOT / "build-wheel" / "wheelhouse"  # pyarrow + numpy wheels, kept between runs
PYARROW_RANGE_ENDS = ["26.0.0", "26.0.1"]  # pyproject.toml: pyarrow>=26.0.0,<27 on CPython 3.11+
# On 3.10: pyarrow>=25.0.0,<26; 25.0.1 is the last pyarrow, and 2.2.6 the last numpy, with cp310 wheels.
CP310_PYARROW_RANGE_ENDS = ["25.0.0", "25.0.1"]
CP310_NUMPY = "2.2.6"
# The CPython 3.10 that scripts/build_wheels.sh built the cp310 wheel with (absent: no 3.10 here).
CP310_PYTHON = ROOT / "build-wheel" / "venv-cpython-310" / "bin" / "python"
WORK = "/tmp/pomona-deploy"  # inside the clean root

FEATURIZE_BATCH = f"""
import pathlib, sys
import pyarrow as pa, pyarrow.parquet as pq
import pomona
images = sorted(str(p) for p in pathlib.Path(sys.argv[1]).rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
batch = pomona.featurize_batch(images, weights=sys.argv[2], alpha={ALPHA}, size={SIZE})
pq.write_table(pa.Table.from_batches([batch]), sys.argv[3])
print("pyarrow", pa.__version__, "pomona", pomona.__file__)
"""

# In the clean root: the wheel's `pomona serve INDEX`, asked for /healthz and one classify.
SERVE_CHECK = """
import json, signal, subprocess, sys, time, urllib.request
pomona, index, weights, image = sys.argv[1:5]
server = subprocess.Popen([pomona, "serve", index, "--weights", weights, "--port", "0", "--threads", "1"],
                          stdout=subprocess.PIPE, text=True)
url = server.stdout.readline().strip().rsplit(" ", 1)[-1]
for _ in range(600):
    try:
        urllib.request.urlopen(url + "/readyz")
        break
    except OSError:
        time.sleep(0.1)
health = urllib.request.urlopen(url + "/healthz")
answer = urllib.request.urlopen(urllib.request.Request(
    url + "/v1/classify", data=open(image, "rb").read(), headers={"Content-Type": "image/jpeg"}))
print(json.dumps({"healthz": health.status, "classify": answer.status, "answer": json.load(answer)}))
server.send_signal(signal.SIGTERM)
sys.exit(server.wait(timeout=30))
"""


def in_root(rootfs: pathlib.Path, *command, check=True) -> subprocess.CompletedProcess:
    """Runs command in the clean root, in its own mount and pid namespaces (/proc of its own),
    with an empty environment: nothing of this machine's Python or libraries is visible."""
    result = subprocess.run(
        ["unshare", "--mount", "--pid", "--fork", f"--mount-proc={rootfs}/proc", "chroot", str(rootfs),
         "/usr/bin/env", "-i", "PATH=/usr/bin:/bin", "HOME=/root", "LANG=C.UTF-8", *map(str, command)],
        capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"in clean root: {command} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def requirement_pin(name: str) -> str:
    """The version requirements.txt pins for name (one place for the project's numpy)."""
    text = (ROOT / "requirements.txt").read_text()
    return re.search(rf"^{name}==(\S+)", text, re.M)[1]


@pytest.fixture(scope="module")
def rootfs() -> pathlib.Path:
    path = subprocess.run(["bash", str(ROOT / "scripts/clean_root.sh")], check=True, capture_output=True,
                          text=True).stdout.strip()
    rootfs = pathlib.Path(path)
    shutil.rmtree(rootfs / WORK.lstrip("/"), ignore_errors=True)
    (rootfs / WORK.lstrip("/")).mkdir(parents=True)
    return rootfs


@pytest.fixture(scope="module")
def python_tag(rootfs) -> str:
    return in_root(rootfs, "python3", "-c", "import sys; print(f'cp{sys.version_info[0]}{sys.version_info[1]}')").stdout.strip()


@pytest.fixture(scope="module")
def work(rootfs, python_tag) -> pathlib.Path:
    """WORK seen from this machine, holding the root's wheel, the wheelhouse, images and weights."""
    work = rootfs / WORK.lstrip("/")
    wheels = list(DIST.glob(f"pomona-*-{python_tag}-{python_tag}-manylinux_*_x86_64.whl"))
    assert len(wheels) == 1, f"one {python_tag} wheel wanted in {DIST} (make wheel), found {wheels}"
    shutil.copy(wheels[0], work)
    download_to_wheelhouse(python_tag, PYARROW_RANGE_ENDS, requirement_pin("numpy"))
    shutil.copytree(WHEELHOUSE, work / "wheelhouse")
    sample = ROOT.parent / "shared" / "fruits-sample"
    make_inputs(work, sample if sample.is_dir() else None)
    make_weights(work / "weights.h5", ALPHA, SIZE)
    (work / "featurize_batch.py").write_text(FEATURIZE_BATCH)
    return work


def download_to_wheelhouse(python_tag: str, pyarrows: list, numpy: str):
    """PyPI's wheels of each of pyarrows and of numpy for CPython python_tag into WHEELHOUSE."""
    # pip takes --platform literally: name the tags pyarrow's and numpy's wheels carry.
    pip = [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "--implementation", "cp",
           "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux_2_17_x86_64",
           "--python-version", python_tag[2:], "-d", str(WHEELHOUSE)]
    for pyarrow in pyarrows:
        subprocess.run([*pip, "--no-deps", f"pyarrow=={pyarrow}"], check=True)
    subprocess.run([*pip, f"numpy=={numpy}"], check=True)


def repaired_wheel(work, python_tag) -> pathlib.Path:
    """The wheel the work fixture copied (the unrepaired one, copied by its own test, may lie beside it)."""
    (wheel,) = work.glob(f"pomona-*-{python_tag}-{python_tag}-manylinux_*_x86_64.whl")
    return wheel


def install(rootfs, work, venv: str, wheel: str, *pins) -> str:
    """A fresh venv in the root with wheel installed offline; returns its bin folder (in the root)."""
    in_root(rootfs, "rm", "-rf", venv)
    in_root(rootfs, "python3", "-m", "venv", venv)
    in_root(rootfs, f"{venv}/bin/pip", "install", "-q", "--no-index", "--find-links", f"{WORK}/wheelhouse",
            f"{WORK}/{wheel}", *pins)
    return f"{venv}/bin"


def rows_by_relative_path(path: pathlib.Path, images_root: str) -> dict:
    rows = pq.read_table(path).to_pylist()
    by_path = {os.path.relpath(row["path"], images_root): row for row in rows}
    assert len(by_path) == len(rows), "one row per image"
    return by_path


def assert_bit_identical(got: dict, want: dict):
    assert sorted(got) == sorted(want)
    for path, row in want.items():
        assert (got[path]["label"], got[path]["error"]) == (row["label"], row["error"]), path
        if row["features"] is None:
            assert got[path]["features"] is None, path
        else:
            assert np.asarray(got[path]["features"], np.float32).tobytes() == \
                np.asarray(row["features"], np.float32).tobytes(), path


@pytest.fixture(scope="module")
def host_rows(work, pomona_bin) -> dict:
    """The source build's (build/pomona) rows for the same images."""
    run_pomona(pomona_bin, "featurize", work / "images", work / "host.parquet", "--weights", work / "weights.h5",
               *MODEL_OPTIONS, "-q")
    return rows_by_relative_path(work / "host.parquet", str(work / "images"))


@pytest.mark.parametrize("pyarrow", PYARROW_RANGE_ENDS)
def test_installed_command_and_module_match_the_host_build_bit_for_bit(rootfs, work, python_tag, host_rows, pyarrow):
    wheel = repaired_wheel(work, python_tag).name
    bin_dir = install(rootfs, work, "/opt/pomona", wheel, f"pyarrow=={pyarrow}")
    out = f"cli-{pyarrow}.parquet"
    in_root(rootfs, f"{bin_dir}/pomona", "featurize", f"{WORK}/images", f"{WORK}/{out}",
            "--weights", f"{WORK}/weights.h5", *MODEL_OPTIONS, "-q")
    assert_bit_identical(rows_by_relative_path(work / out, f"{WORK}/images"), host_rows)
    out = f"python-{pyarrow}.parquet"
    printed = in_root(rootfs, f"{bin_dir}/python", f"{WORK}/featurize_batch.py", f"{WORK}/images",
                      f"{WORK}/weights.h5", f"{WORK}/{out}").stdout
    assert f"pyarrow {pyarrow} pomona /opt/pomona/lib/" in printed
    assert_bit_identical(rows_by_relative_path(work / out, f"{WORK}/images"), host_rows)
    assert sum(row["error"] is not None for row in host_rows.values()) == 1 + len(CORRUPT_FILES)
    # Usage errors and exit codes are the command's own (2: bad usage), through the console script.
    bad = in_root(rootfs, f"{bin_dir}/pomona", "featurize", "--alpha", "7", f"{WORK}/images", f"{WORK}/x.parquet",
                  check=False)
    assert bad.returncode == 2, bad.stderr


@pytest.fixture(scope="module")
def cp310_wheel() -> pathlib.Path:
    """The cp310 wheel, with both ends of its pyarrow range and numpy in WHEELHOUSE."""
    if not CP310_PYTHON.exists():
        pytest.skip("no CPython 3.10 on this machine, so make wheel made no cp310 wheel")
    (wheel,) = DIST.glob("pomona-*-cp310-cp310-manylinux_*_x86_64.whl")
    download_to_wheelhouse("cp310", CP310_PYARROW_RANGE_ENDS, CP310_NUMPY)
    return wheel


@pytest.mark.parametrize("pyarrow", CP310_PYARROW_RANGE_ENDS)
def test_cp310_wheel_with_either_end_of_its_pyarrow_25_range_matches_the_host_build_bit_for_bit(
        tmp_path, work, host_rows, cp310_wheel, pyarrow):
    """The cp310 wheel links pyarrow 25's Arrow C++ (libarrow.so.2500): installed offline into a
    venv of the CPython 3.10 it was built with (the clean root has only Debian's 3.11), its command
    and featurize_batch, run with an empty environment, give the host build's features bit for bit."""
    venv = tmp_path / "venv"
    subprocess.run([str(CP310_PYTHON), "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin/pip"), "install", "-q", "--no-index", "--find-links", str(WHEELHOUSE),
                    str(cp310_wheel), f"pyarrow=={pyarrow}"], check=True)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8",
           **{k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_")}}
    subprocess.run([str(venv / "bin/pomona"), "featurize", str(work / "images"), str(tmp_path / "cli.parquet"),
                    "--weights", str(work / "weights.h5"), *MODEL_OPTIONS, "-q"], env=env, check=True)
    assert_bit_identical(rows_by_relative_path(tmp_path / "cli.parquet", str(work / "images")), host_rows)
    printed = subprocess.run([str(venv / "bin/python"), str(work / "featurize_batch.py"), str(work / "images"),
                              str(work / "weights.h5"), str(tmp_path / "python.parquet")], env=env,
                             capture_output=True, text=True, check=True).stdout
    assert f"pyarrow {pyarrow} pomona {venv}/lib/python3.10/site-packages/pomona/" in printed, printed
    assert_bit_identical(rows_by_relative_path(tmp_path / "python.parquet", str(work / "images")), host_rows)


def test_installed_server_answers_healthz_and_a_classify(rootfs, work, python_tag, host_rows, pomona_bin):
    """The wheel's `pomona serve` (cpp-httplib compiled in) in the clean root, on an index that the
    wheel's `pomona index` built from the host's rows: the host build's `pomona classify` answer."""
    wheel = next(work.glob(f"pomona-*-{python_tag}-*.whl")).name
    bin_dir = install(rootfs, work, "/opt/pomona", wheel)
    in_root(rootfs, f"{bin_dir}/pomona", "index", f"{WORK}/host.parquet", f"{WORK}/deploy.index.parquet",
            "--weights", f"{WORK}/weights.h5", *MODEL_OPTIONS)
    (work / "serve_check.py").write_text(SERVE_CHECK)
    image = next(path for path, row in sorted(host_rows.items()) if row["error"] is None)
    printed = in_root(rootfs, f"{bin_dir}/python", f"{WORK}/serve_check.py", f"{bin_dir}/pomona",
                      f"{WORK}/deploy.index.parquet", f"{WORK}/weights.h5", f"{WORK}/images/{image}").stdout
    result = json.loads(printed)
    assert result["healthz"] == 200 and result["classify"] == 200, result
    host = json.loads(run_pomona(pomona_bin, "classify", work / "deploy.index.parquet", work / "images" / image,
                                 "--weights", work / "weights.h5", "--json").stdout)
    assert result["answer"]["predictions"] == host["predictions"], (result, host)
    assert result["answer"]["index_version"] == host["index_version"]


@pytest.mark.parametrize("python", sorted(ROOT.glob("build-wheel/venv-cpython-3*/bin/python")),
                         ids=lambda python: python.parent.parent.name)
def test_each_wheel_runs_under_the_cpython_it_was_built_for(tmp_path, work, host_rows, python):
    """On this machine (the clean root has only Debian's 3.11): every wheel of make wheel, from
    PyPI's pyarrow and numpy, gives the host build's features bit for bit."""
    tag = "cp" + python.parent.parent.name.rsplit("-", 1)[1]
    (wheel,) = DIST.glob(f"pomona-*-{tag}-{tag}-manylinux_*_x86_64.whl")
    subprocess.run([str(python), "-m", "venv", str(tmp_path / "venv")], check=True)
    subprocess.run([str(tmp_path / "venv/bin/pip"), "install", "-q", str(wheel)], check=True)
    subprocess.run([str(tmp_path / "venv/bin/python"), str(work / "featurize_batch.py"), str(work / "images"),
                    str(work / "weights.h5"), str(tmp_path / "rows.parquet")], check=True)
    assert_bit_identical(rows_by_relative_path(tmp_path / "rows.parquet", str(work / "images")), host_rows)


def test_every_elf_file_of_the_installed_wheel_resolves_its_libraries(rootfs, work, python_tag):
    wheel = repaired_wheel(work, python_tag).name
    install(rootfs, work, "/opt/pomona", wheel)
    listing = in_root(rootfs, "sh", "-c", "find /opt/pomona/lib/*/site-packages/pomona /opt/pomona/lib/*/site-packages/pomona.libs "
                      "-type f \\( -name '*.so*' -o -perm -u+x \\)").stdout.split()
    elves = [f for f in listing if (rootfs / f.lstrip("/")).read_bytes()[:4] == b"\x7fELF"]
    assert any(f.endswith("/bin/pomona") for f in elves) and any("_pomona" in f for f in elves), elves
    for elf in elves:
        resolved = in_root(rootfs, "ldd", elf).stdout
        assert "not found" not in resolved, f"{elf}:\n{resolved}"


def test_weights_fetch_uses_the_machines_libcurl_and_says_what_to_do_without_it(tmp_path, rootfs, work, python_tag):
    """The wheel bundles no libcurl: `pomona weights fetch` loads the machine's when it starts. Here
    (Debian's libcurl4) it downloads from a local server into KERAS_HOME; in the clean root, which
    has no libcurl, it says so in one line naming the URL."""
    wheel = repaired_wheel(work, python_tag)
    name = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(ALPHA)}_{SIZE}.h5"
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(work / "weights.h5", served / name)
    subprocess.run(["python3", "-m", "venv", str(tmp_path / "venv")], check=True)
    subprocess.run([str(tmp_path / "venv/bin/pip"), "install", "-q", "--no-index", "--find-links", str(WHEELHOUSE),
                    str(wheel)], check=True)
    server = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory",
                               str(served)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = re.search(r" port (\d+) ", server.stdout.readline())[1]
        env = {**os.environ, "KERAS_HOME": str(tmp_path / "keras"),
               "POMONA_WEIGHTS_BASE_URL": f"http://127.0.0.1:{port}/"}
        run = subprocess.run([str(tmp_path / "venv/bin/pomona"), "weights", "fetch", *MODEL_OPTIONS], env=env,
                             capture_output=True, text=True)
    finally:
        server.terminate()
        server.wait()
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "keras/models" / name).read_bytes() == (served / name).read_bytes()

    bin_dir = install(rootfs, work, "/opt/pomona", wheel.name)
    absent = in_root(rootfs, f"{bin_dir}/pomona", "weights", "fetch", *MODEL_OPTIONS, check=False)
    assert absent.returncode == 3, absent.stderr
    (line,) = absent.stderr.splitlines()
    assert f"cannot download https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/{name}: " \
           "libcurl.so.4 is not installed (install libcurl, e.g. Debian's libcurl4)" in line, line
    print("weights fetch in the clean root:", line)


def test_unrepaired_wheel_fails_in_the_clean_root(rootfs, work, python_tag):
    raw = next((ROOT / "build-wheel" / "raw").glob(f"pomona-*-{python_tag}-{python_tag}-linux_x86_64.whl"))
    shutil.copy(raw, work)
    bin_dir = install(rootfs, work, "/opt/pomona-raw", raw.name)
    failed = in_root(rootfs, f"{bin_dir}/python", "-c", "import pomona", check=False)
    assert failed.returncode != 0
    assert "cannot open shared object file" in failed.stderr, failed.stderr
    print("unrepaired wheel in the clean root:", failed.stderr.strip().splitlines()[-1])


def test_platform_tag_is_accepted_at_manylinux_2_34_and_a_2_35_wheel_is_not(tmp_path, python_tag):
    (wheel,) = DIST.glob(f"pomona-*-{python_tag}-{python_tag}-manylinux_2_34_x86_64.whl")
    newer = tmp_path / "newer"
    newer.mkdir()
    shutil.copy(wheel, newer / wheel.name.replace("manylinux_2_34", "manylinux_2_35"))

    def download(index):
        return subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-index", "--find-links",
                               str(index), "--only-binary=:all:", "--platform", "manylinux_2_34_x86_64",
                               "--python-version", python_tag[2:], "--implementation", "cp", "-d",
                               str(tmp_path / "got"), "pomona"], capture_output=True, text=True)

    assert download(DIST).returncode == 0
    refused = download(newer)
    assert refused.returncode != 0 and "No matching distribution" in refused.stderr, refused.stderr


@pytest.fixture(scope="module")
def packed_env(rootfs, work, python_tag) -> pathlib.Path:
    """docs/deploy.md's packed environment, made in the clean root by scripts/pack_env.sh."""
    script = ROOT / "scripts" / "pack_env.sh"
    venv_pack = re.search(r"venv-pack==\S+", script.read_text())[0]
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(work / "wheelhouse"),
                    venv_pack], check=True)
    shutil.copy(script, work)
    wheel = repaired_wheel(work, python_tag).name
    in_root(rootfs, "bash", f"{WORK}/pack_env.sh", f"{WORK}/pomona-env.tar.gz", f"{WORK}/{wheel}",
            "--no-index", "--find-links", f"{WORK}/wheelhouse")
    return work / "pomona-env.tar.gz"


def test_job_on_a_cluster_whose_workers_lack_pomona_gets_it_from_the_packed_env(tmp_path, work, packed_env, pomona_bin):
    from test_spark_cluster import BIN, JOB_TIMEOUT_S, Cluster
    import pomona.spark.job
    import pyspark

    hidden = pathlib.Path(pomona.__file__).parent  # the build's pomona, in the .venv the workers run Spark from

    class WorkersWithoutPomona(Cluster):
        """Each worker (and so each executor it starts) runs where the build's pomona package is
        an empty folder: the only pomona its Python workers can import is the shipped one."""

        def _start(self, name, main_class, *args):
            if not main_class.endswith(".Worker"):
                return super()._start(name, main_class, *args)
            # No Python of the build: Spark's jars are found through SPARK_HOME, not through pyspark.
            env = {k: v for k, v in self.env.items() if k != "PYSPARK_PYTHON"}
            env["SPARK_HOME"] = os.path.dirname(pyspark.__file__)
            hide = f'mount -t tmpfs tmpfs "{hidden}" && exec "$@"'
            return subprocess.Popen(["unshare", "--mount", "sh", "-c", hide, "sh", str(BIN / "spark-class"),
                                     main_class, *args],
                                    env=env, stdout=open(self.root / f"{name}.log", "wb"), stderr=subprocess.STDOUT)

    cluster = WorkersWithoutPomona(tmp_path)
    try:
        output = tmp_path / "job"
        result = subprocess.run(
            [str(BIN / "spark-submit"), "--master", cluster.url, "--conf", "spark.driver.host=127.0.0.1",
             "--conf", "spark.executor.memory=768m", "--conf", "spark.ui.enabled=false",
             "--archives", f"{packed_env}#environment", "--conf", "spark.pyspark.python=./environment/bin/python",
             "--conf", f"spark.pyspark.driver.python={sys.executable}",
             pomona.spark.job.__file__, "--input", work / "images", "--output", output,
             "--weights", work / "weights.h5", *MODEL_OPTIONS],
            env=cluster.env, capture_output=True, text=True, timeout=JOB_TIMEOUT_S)
    finally:
        cluster.stop()
    assert result.returncode == 0, result.stderr[-3000:]
    shipped = list(tmp_path.glob("work*/app-*/*/environment/bin/python"))
    assert shipped, "the executors did not unpack the packed environment"
    run_pomona(pomona_bin, "featurize", work / "images", work / "cli-cluster.parquet", "--weights",
               work / "weights.h5", *MODEL_OPTIONS, "-q")
    want = rows_by_relative_path(work / "cli-cluster.parquet", str(work / "images"))
    got = {}
    for part in sorted(output.glob("part-*.parquet")):
        for path, row in rows_by_relative_path(part, str(work / "images")).items():
            assert path not in got, f"two rows for {path}"
            got[path] = row
    assert_bit_identical(got, want)
