"""pomona.spark on Spark local[2] (one session for the module): the same rows and PCA model as
the pomona command, corrupt files as error rows, and the job's Parquet output."""
import pickle
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import SHARED_SAMPLE
from spark_cases import (ALPHA, MODEL_OPTIONS, SIZE, assert_same_model, assert_same_rows,
                         cli_has_pca, cli_pca_model, cli_rows, local_spark, make_inputs, weights)

if shutil.which("java") is None:
    pytest.skip("Java is not installed (scripts/bootstrap.sh installs it)", allow_module_level=True)

import pomona  # noqa: E402
import pomona.spark  # noqa: E402
import pomona.spark.job  # noqa: E402


MAX_RESULT_MIB = 16


@pytest.fixture(scope="module")
def spark():
    # What the driver may receive from one job's tasks: PCA.fit must stay under it.
    session = local_spark("pomona-tests", **{"spark.driver.maxResultSize": f"{MAX_RESULT_MIB}m"})
    yield session
    session.stop()


@pytest.fixture(scope="module")
def case(tmp_path_factory, pomona_bin):
    root = tmp_path_factory.mktemp("spark_local")
    images = make_inputs(root, SHARED_SAMPLE if SHARED_SAMPLE.is_dir() else None)
    weights_path = weights(root)
    return root, images, weights_path, cli_rows(pomona_bin, images, weights_path, root / "cli.parquet")


def binary_files(spark, images):
    """The notebook's way of reading images."""
    return (spark.read.format("binaryFile").option("pathGlobFilter", pomona.spark.hadoop_glob("*.jpg"))
            .option("recursiveFileLookup", "true").load(str(images)))


@pytest.fixture(scope="module")
def spark_rows(spark, case):
    _, images, weights_path, _ = case
    return pomona.spark.featurize(binary_files(spark, images), weights=str(weights_path),
                                  alpha=ALPHA, size=SIZE)


def test_featurize_gives_the_cli_rows_with_corrupt_files_as_error_rows(spark_rows, case):
    assert spark_rows.schema.simpleString() == (
        "struct<path:string,label:string,features:array<float>,error:string>")
    assert_same_rows([row.asDict() for row in spark_rows.collect()], case[3])


def test_pca_merged_from_partitions_equals_the_cli_model(spark_rows, case, pomona_bin):
    root, _, _, expected = case
    assert spark_rows.rdd.getNumPartitions() >= 2  # partial states really are merged
    model = pomona.spark.PCA(k=4).fit(spark_rows).pca
    if cli_has_pca(pomona_bin):
        want = cli_pca_model(pomona_bin, root / "cli.parquet", root / "cli_pca.parquet", 4)
    else:
        want = pomona.PCA(k=4).fit(pq.read_table(root / "cli.parquet"))
    assert_same_model(model, want)

    projected = {row.path: row.pca for row in pomona.spark.transform(spark_rows, model).collect()}
    local = pomona.featurize_batch(sorted(expected), weights=str(case[2]), alpha=ALPHA, size=SIZE)
    want_projection = dict(zip(local.column("path").to_pylist(), model.transform(local).to_pylist()))
    assert {p[len("file:"):]: v for p, v in projected.items()} == want_projection


def test_pca_over_1000_partitions_sends_the_driver_one_state_not_one_per_partition(spark):
    from pyspark.sql import functions as F
    dim, partitions = 256, 1000
    # Pseudo-random values of (row, column), whatever the partitioning.
    features = F.expr(f"transform(sequence(1, {dim}), i -> cast(xxhash64(id, i) % 1000 as float) / 1000)")
    df = spark.range(0, 2 * partitions, 1, partitions).select(features.alias("features"))
    rows = pa.array([row.features for row in df.coalesce(1).collect()], pa.list_(pa.float32()))
    one_state = len(pickle.dumps(pomona.PCA(k=5).partial_fit(rows.slice(0, 2))))
    # One state per partition would be far more than the driver may receive.
    assert one_state * partitions > 10 * MAX_RESULT_MIB * 2**20
    assert df.rdd.getNumPartitions() == partitions
    assert_same_model(pomona.spark.PCA(k=5).fit(df).pca, pomona.PCA(k=5).fit(rows))


def test_tree_reduce_merges_every_partition_once_in_levels(spark):
    values = spark.sparkContext.parallelize(range(100), 20).map(lambda value: [value])
    assert sorted(pomona.spark.ml._tree_reduce(values, lambda a, b: a + b, fan_in=3)) == list(range(100))
    assert pomona.spark.ml._tree_reduce(spark.sparkContext.parallelize([], 3), max, fan_in=3) is None


def test_listed_files_make_tasks_as_spark_file_sources_in_a_multiple_of_the_cores(spark):
    assert spark.sparkContext.defaultParallelism == 2
    spark.conf.set("spark.sql.files.openCostInBytes", "1000")
    try:
        spark.conf.set("spark.sql.files.maxPartitionBytes", "8000")
        assert pomona.spark.task_count(spark, [3000] * 35) == 18  # 35 x 4000 / 8000 = 17.5 -> 18
        assert pomona.spark.task_count(spark, [3000] * 3) == 2  # 12000 / 8000 -> 2
        assert pomona.spark.task_count(spark, [100_000]) == 1
        listed = [(f"/photos/{i}.jpg", 3000) for i in range(35)]
        images = pomona.spark.images_dataframe(spark, listed)
        assert images.rdd.getNumPartitions() == 18
        assert images.schema.simpleString() == "struct<path:string,size:bigint>"
        assert sorted((row.path, row.size) for row in images.collect()) == sorted(listed)
        spark.conf.set("spark.sql.files.maxPartitionBytes", "128MB")
        # 5 kB photos: at least one task a core, the cores' shares otherwise.
        assert pomona.spark.task_count(spark, [5000] * 10_000) == 2
    finally:
        spark.conf.unset("spark.sql.files.openCostInBytes")
        spark.conf.unset("spark.sql.files.maxPartitionBytes")


def test_hadoop_glob_matches_any_case():
    assert pomona.spark.hadoop_glob("*.jpg") == "*.[jJ][pP][gG]"
    assert pomona.spark.hadoop_glob("*.jpg, *.png") == "{*.[jJ][pP][gG],*.[pP][nN][gG]}"


def test_job_writes_the_cli_layout_and_the_pca_model(spark, case, capsys):
    root, images, weights_path, expected = case
    output = root / "job"
    args = pomona.spark.job.parse_args(
        ["--input", str(images), "--output", str(output), "--weights", str(weights_path),
         *MODEL_OPTIONS, "--pca-k", "3", "--glob", "*.jpg"])
    assert pomona.spark.job.run(args) == 0
    assert (output / "_SUCCESS").exists()
    table = pq.read_table(output)  # part files; _pca_model.parquet is skipped as the CLI's is
    assert table.column_names == ["path", "label", "features", "error", "pca"]
    # Written by the CLI's writer: its metadata and compression.
    part = sorted(output.glob("part-*.parquet"))[0]
    cli_metadata = pq.read_schema(root / "cli.parquet").metadata
    for key in (b"pomona.version", b"pomona.feature_dim"):
        assert pq.read_schema(part).metadata[key] == cli_metadata[key]
    assert pq.ParquetFile(part).metadata.row_group(0).column(2).compression == "ZSTD"
    assert_same_rows(table.drop(["pca"]).to_pylist(), expected)
    model = pomona.PCA.load(output / "_pca_model.parquet")
    assert model.model.k == 3 and model.count == len(expected) - table.column("features").null_count
    summary = capsys.readouterr().out
    assert f"pomona spark: {len(expected)} images, 3 errors" in summary
