"""The job's Spark session, and a faster start of the driver's JVM where this Python process
launches it (python -m pomona.spark.job, a notebook; not spark-submit, whose JVM already runs).

A local job's fixed cost is mostly that JVM's start and first query: on a 2-core Zen4 it burned
~18 s of CPU in ~13 s before the first image, beside the Python workers it then competes with
(bench/spark_bench.py, README "Spark"). Two JVM options cut it without touching the work per
image, which never runs in the JVM (the Python workers read, featurize and write):
  - the JIT's first tier only (-XX:TieredStopAtLevel=1): the JVM's CPU at start roughly halves;
  - Spark's classes from a class-data archive (AppCDS) made by the first job on this machine for
    this JDK and these jars, under ~/.cache/pomona: the classes are mapped instead of parsed and
    verified. The JVM writes the archive when it exits (-XX:ArchiveClassesAtExit), so stop()
    waits for that exit and publishes the archive whole; the JVM ignores an archive that does not
    match its JDK or class path, silently (-Xlog:cds off), and runs as without one. The first job
    pays for it once (~20 s more on that machine; the archive is ~160 MB); spark.driver.
    extraJavaOptions with a class-sharing option of the user's own (-Xshare:off) leaves it out.
"""
from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
import subprocess
import time
from typing import Dict, Optional, Tuple

import pomona.spark

# The driver options this module adds, before the user's own spark.driver.extraJavaOptions
# (the JVM takes the last of two settings, so the user's win).
FIRST_TIER_JIT = "-XX:TieredStopAtLevel=1"
QUIET_CLASS_ARCHIVE = "-Xlog:cds=off -Xlog:cds+dynamic=off"
CLASS_SHARING_OPTIONS = ("-Xshare", "SharedArchiveFile", "ArchiveClassesAtExit")

# An archive being written by a JVM that this process started: (the JVM's file, where it goes).
_archive_in_progress: Optional[Tuple[str, str]] = None

# The JVM writes its archive at exit (13 s on a 2-core Zen4); past this stop() leaves it unpublished.
ARCHIVE_WRITE_SECONDS = 120


def cache_dir() -> str:
    """Where Pomona keeps what it makes once per machine: $XDG_CACHE_HOME/pomona, else
    ~/.cache/pomona."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "pomona")


def _java() -> Optional[str]:
    """The java that spark-submit runs (bin/spark-class: $JAVA_HOME/bin/java, else java on PATH)."""
    if os.environ.get("JAVA_HOME"):
        return os.path.join(os.environ["JAVA_HOME"], "bin", "java")
    return shutil.which("java")


def class_archive_path(conf: Dict[str, str]) -> Optional[str]:
    """The class-data archive for the JVM that these settings launch: named after the JDK, the
    Spark jars and the rest of the driver's class path (SPARK_CONF_DIR, SPARK_DIST_CLASSPATH,
    spark.driver.extraClassPath), so that another JDK, Spark or class path gets its own. None
    when there is no java to name."""
    from pyspark.find_spark_home import _find_spark_home

    java = _java()
    if not java or not os.path.exists(java):
        return None
    files = [os.path.realpath(java)] + sorted(glob.glob(os.path.join(_find_spark_home(), "jars", "*.jar")))
    class_path = [os.environ.get("SPARK_CONF_DIR", ""), os.environ.get("SPARK_DIST_CLASSPATH", ""),
                  conf.get("spark.driver.extraClassPath", "")]
    key = hashlib.sha256("\0".join(class_path).encode())
    for path in files:
        status = os.stat(path)
        key.update(f"{path}\0{status.st_size}\0{status.st_mtime_ns}\n".encode())
    return os.path.join(cache_dir(), f"spark-classes-{key.hexdigest()[:16]}.jsa")


def _spark_defaults() -> Dict[str, str]:
    """The settings of spark-defaults.conf (in SPARK_CONF_DIR, else Spark's conf/), which
    spark-submit reads and any setting given to the session replaces."""
    from pyspark.find_spark_home import _find_spark_home

    folder = os.environ.get("SPARK_CONF_DIR") or os.path.join(_find_spark_home(), "conf")
    settings = {}
    try:
        with open(os.path.join(folder, "spark-defaults.conf"), encoding="utf-8") as lines:
            for line in lines:
                line = line.strip()
                # A Java properties file: "key value", "key=value" or "key: value".
                setting = re.match(r"([^\s=:]+)\s*[\s=:]\s*(.*)", line)
                if setting and line[0] not in "#!":
                    settings[setting[1]] = setting[2]
    except OSError:
        pass
    return settings


def driver_java_options(conf: Dict[str, str]) -> str:
    """spark.driver.extraJavaOptions for a driver JVM that this process launches: the faster
    start, then the options already set (conf's, else spark-defaults.conf's, which a setting
    given to the session would otherwise replace). Sets up the archive's writing when there is
    no archive yet (stop() publishes it)."""
    global _archive_in_progress
    options = [FIRST_TIER_JIT]
    user = conf.get("spark.driver.extraJavaOptions")
    if user is None:  # spark-defaults.conf is read only when conf leaves the setting to it
        user = _spark_defaults().get("spark.driver.extraJavaOptions", "")
    # Options of the user's own about class sharing (-Xshare:off, an archive of theirs) decide it.
    archive = None if any(word in user for word in CLASS_SHARING_OPTIONS) else class_archive_path(conf)
    if archive and os.path.exists(archive):
        options += [f"-XX:SharedArchiveFile={archive}", QUIET_CLASS_ARCHIVE]
    elif archive and _can_write(os.path.dirname(archive)):
        _remove_stale_writes(os.path.dirname(archive))
        in_progress = f"{archive}.{os.getpid()}.tmp"
        options += [f"-XX:ArchiveClassesAtExit={in_progress}", QUIET_CLASS_ARCHIVE]
        _archive_in_progress = (in_progress, archive)
    return " ".join(options + ([user] if user else []))


def _can_write(folder: str) -> bool:
    """Whether folder exists or was made, and can be written."""
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)


def _remove_stale_writes(folder: str) -> None:
    """Removes the archives that killed JVMs left half-written in folder (over an hour old)."""
    for stale in glob.glob(os.path.join(folder, "spark-classes-*.tmp")):
        try:
            if time.time() - os.stat(stale).st_mtime > 3600:
                os.remove(stale)
        except OSError:  # removed by a concurrent job
            pass


def start(master: Optional[str] = None, conf: Optional[Dict[str, str]] = None,
          app_name: str = "pomona"):
    """The active Spark session, else a new one with these settings: the JVM's faster start where
    this process launches it, and the job's settings for images (pomona.spark.tune_for_images)."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    conf = dict(conf or {})
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    launches_jvm = SparkContext._gateway is None and "PYSPARK_GATEWAY_PORT" not in os.environ
    if launches_jvm:
        conf["spark.driver.extraJavaOptions"] = driver_java_options(conf)
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    pomona.spark.tune_for_images(spark)
    return spark


def stop(spark) -> None:
    """Stops spark. When its JVM is writing the class-data archive, also ends that JVM, waits for
    the archive (at most ARCHIVE_WRITE_SECONDS) and publishes it whole (a rename), so that a
    concurrent job never maps a partial one."""
    global _archive_in_progress
    from pyspark import SparkContext

    spark.stop()
    writing, _archive_in_progress = _archive_in_progress, None
    if writing is None or SparkContext._gateway is None:
        return
    in_progress, archive = writing
    gateway = SparkContext._gateway
    SparkContext._gateway = SparkContext._jvm = None  # a later session starts a new JVM
    gateway.shutdown()
    jvm = gateway.proc
    jvm.stdin.close()  # PythonGatewayServer exits at the end of its input
    try:
        jvm.wait(ARCHIVE_WRITE_SECONDS)
    except subprocess.TimeoutExpired:  # left to finish; a later job removes it when stale
        return
    if jvm.returncode == 0 and os.path.exists(in_progress):
        os.replace(in_progress, archive)
    elif os.path.exists(in_progress):  # a JVM that failed may have left part of one
        os.remove(in_progress)
