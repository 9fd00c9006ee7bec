"""Spark ML compatibility (issue 4, must show 3): pyspark's PCA(k) on the same vectors gives the
same explained variance and, up to each component's sign, the same transform. Skips only when
Java is missing; one local[1] Spark session serves the whole module (it takes seconds to start)."""
import shutil

import numpy as np
import pytest
from helpers import run_pomona
from pca_helpers import random_features, read_column, read_model, write_features

K = 6


@pytest.fixture(scope="module")
def spark():
    if shutil.which("java") is None:
        pytest.skip("java is missing (Spark needs a JRE)")
    from pyspark.sql import SparkSession
    session = (SparkSession.builder.master("local[1]").appName("pomona-pca-test")
               .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "1")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def spark_pca(spark, x, k):
    from pyspark.ml.feature import PCA
    from pyspark.ml.linalg import Vectors
    frame = spark.createDataFrame([(Vectors.dense(row.astype(np.float64)),) for row in x], ["features"])
    model = PCA(k=k, inputCol="features", outputCol="pca").fit(frame)
    projected = np.array([row.pca.toArray() for row in model.transform(frame).select("pca").collect()])
    return model.explainedVariance.toArray(), model.pc.toArray(), projected


def test_explained_variance_and_transform_equal_spark_ml(pomona_bin, tmp_path, spark):
    x = random_features(600, 24, seed=11)
    path = write_features(tmp_path / "features.parquet", x)
    run_pomona(pomona_bin, "pca", "fit", path, tmp_path / "model.parquet", "--pca-k", K)
    run_pomona(pomona_bin, "pca", "transform", path, tmp_path / "model.parquet", tmp_path / "out.parquet")
    ratios = read_model(tmp_path / "model.parquet")["explained_variance_ratio"]
    ours = np.array(read_column(tmp_path / "out.parquet", "pca"), dtype=np.float64)

    spark_ratios, spark_components, spark_projected = spark_pca(spark, x, K)
    np.testing.assert_allclose(ratios[:K], spark_ratios, rtol=0, atol=1e-9)
    components = np.array([np.array(c) for c in read_model(tmp_path / "model.parquet")["components"]])
    signs = np.sign(np.sum(components * spark_components.T, axis=1))
    assert np.all(np.abs(np.sum(components * spark_components.T, axis=1)) >= 1 - 1e-9)
    np.testing.assert_allclose(ours, spark_projected * signs, rtol=1e-6, atol=1e-6)
