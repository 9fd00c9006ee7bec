"""pomona.spark's pyspark.ml stages on Spark local[2] (one session for the module): a Pipeline of
Featurizer and PCA fits, transforms, saves and loads with the CLI's features and projections, and
composes with Spark ML's StringIndexer and LogisticRegression."""
import shutil
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

from conftest import SHARED_SAMPLE
from helpers import make_images, run_pomona
from spark_cases import ALPHA, MODEL_OPTIONS, SIZE, local_path, local_spark

if shutil.which("java") is None:
    pytest.skip("Java is not installed (scripts/bootstrap.sh installs it)", allow_module_level=True)

import pomona  # noqa: E402
import pomona.spark  # noqa: E402

K = 8


@pytest.fixture(scope="module")
def spark():
    session = local_spark("pomona-ml-tests")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    """(train, test) folders of one folder per class: the fruits sample's, else generated."""
    if SHARED_SAMPLE.is_dir():
        return SHARED_SAMPLE / "train", SHARED_SAMPLE / "test"
    root = tmp_path_factory.mktemp("spark_ml_images")
    return (make_images(root / "train", per_class=8, classes=4, seed=1),
            make_images(root / "test", per_class=4, classes=4, seed=2))


def binary_files(spark, folder):
    return (spark.read.format("binaryFile").option("pathGlobFilter", "*.jpg")
            .option("recursiveFileLookup", "true").load(str(folder)))


def featurizer(weights, **params):
    return pomona.spark.Featurizer(weights=str(weights), alpha=ALPHA, size=SIZE, **params)


def by_path(rows, column):
    return {local_path(row.path): np.asarray(row[column], dtype=np.float64) for row in rows}


def max_difference(got: dict, want: dict) -> float:
    assert sorted(got) == sorted(want)
    return max(float(np.abs(got[path] - want[path]).max()) for path in want)


@pytest.fixture(scope="module")
def cli(tmp_path_factory, pomona_bin, small_weights, splits):
    """The CLI's features of the train split (a Parquet file) and its rows by path."""
    out = tmp_path_factory.mktemp("spark_ml_cli") / "train.parquet"
    run_pomona(pomona_bin, "featurize", splits[0], out, "--weights", small_weights, *MODEL_OPTIONS,
               "-q")
    return out, {row["path"]: row for row in pq.read_table(out).to_pylist()}


def test_pipeline_of_featurizer_and_pca_saves_loads_and_equals_the_cli(
        spark, tmp_path, pomona_bin, small_weights, splits, cli):
    from pyspark.ml import Pipeline, PipelineModel
    from pyspark.ml.linalg import VectorUDT

    images = binary_files(spark, splits[0])
    pipeline = Pipeline(stages=[featurizer(small_weights), pomona.spark.PCA(k=K)])
    model = pipeline.fit(images)
    transformed = model.transform(images)
    # The stages append their columns; Spark ML vectors by default.
    assert transformed.columns == images.columns + ["features", "label", "error", "pca"]
    assert isinstance(transformed.schema["features"].dataType, VectorUDT)
    assert isinstance(transformed.schema["pca"].dataType, VectorUDT)
    rows = transformed.select("path", "label", "error", "features", "pca").collect()

    cli_file, cli_rows = cli
    assert {local_path(row.path): row.label for row in rows} == \
        {path: row["label"] for path, row in cli_rows.items()}
    assert all(row.error is None for row in rows)
    features_difference = max_difference(
        by_path(rows, "features"), {path: np.asarray(row["features"]) for path, row in cli_rows.items()})
    assert features_difference <= 1e-6

    model.save(str(tmp_path / "pipeline"))
    stage_files = sorted((tmp_path / "pipeline" / "stages").glob("1_*/_pca_model.parquet"))
    assert len(stage_files) == 1  # the PCAModel's fitted model, in the pomona command's format
    run_pomona(pomona_bin, "pca", "transform", cli_file, stage_files[0], tmp_path / "cli_pca.parquet")
    cli_pca = {row["path"]: np.asarray(row["pca"]) for row in pq.read_table(tmp_path / "cli_pca.parquet").to_pylist()}
    pca_difference = max_difference(by_path(rows, "pca"), cli_pca)
    assert pca_difference <= 1e-5
    print(f"\nPipeline([Featurizer, PCA(k={K})]) on {len(rows)} images: features max |diff| "
          f"{features_difference:.2g} vs the CLI, pca max |diff| {pca_difference:.2g} vs "
          "`pomona pca transform`")

    loaded = PipelineModel.load(str(tmp_path / "pipeline"))
    assert [type(stage) for stage in loaded.stages] == [pomona.spark.Featurizer, pomona.spark.PCAModel]
    assert loaded.stages[0].extractParamMap() != {} and \
        {p.name: v for p, v in loaded.stages[0].extractParamMap().items()} == \
        {p.name: v for p, v in model.stages[0].extractParamMap().items()}
    again = loaded.transform(images).select("path", "features", "pca").collect()
    assert max_difference(by_path(again, "features"), by_path(rows, "features")) == 0
    assert max_difference(by_path(again, "pca"), by_path(rows, "pca")) == 0


def test_pipeline_with_string_indexer_and_logistic_regression_trains_and_predicts(
        spark, tmp_path, small_weights, splits):
    from pyspark.ml import Pipeline, PipelineModel
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.feature import StringIndexer

    train, test = (binary_files(spark, folder) for folder in splits)
    pipeline = Pipeline(stages=[
        featurizer(small_weights), pomona.spark.PCA(k=K),
        StringIndexer(inputCol="label", outputCol="labelIndex"),
        LogisticRegression(featuresCol="pca", labelCol="labelIndex", maxIter=50)])
    model = pipeline.fit(train)
    model.save(str(tmp_path / "classifier"))
    loaded = PipelineModel.load(str(tmp_path / "classifier"))
    predicted = loaded.transform(test).select("path", "labelIndex", "prediction").collect()

    classes = len(model.stages[2].labelsArray[0])
    assert len(predicted) == sum(1 for _ in splits[1].rglob("*.jpg"))
    assert all(0 <= row.prediction < classes for row in predicted)
    # The loaded Pipeline predicts as the fitted one.
    assert predicted == model.transform(test).select("path", "labelIndex", "prediction").collect()
    accuracy = sum(row.prediction == row.labelIndex for row in predicted) / len(predicted)
    print(f"\nPipeline([Featurizer, PCA(k={K}), StringIndexer, LogisticRegression]): {classes} "
          f"classes, test accuracy {accuracy:.3f} on {len(predicted)} images (seeded weights)")


def test_listed_paths_give_the_cli_features_as_arrays(spark, small_weights, splits, cli):
    listed = pomona.spark.list_images(spark, str(splits[0]), "*.jpg")
    rows = featurizer(small_weights, inputCol="path", outputType="array").transform(listed)
    assert rows.schema.simpleString() == (
        "struct<path:string,size:bigint,features:array<float>,label:string,error:string>")
    got = by_path(rows.collect(), "features")
    assert max_difference(got, {path: np.asarray(row["features"]) for path, row in cli[1].items()}) <= 1e-6


def test_pca_model_is_the_cli_model_of_the_same_rows_and_takes_arrays_or_vectors(
        spark, tmp_path, pomona_bin, cli):
    from pyspark.ml.functions import array_to_vector

    cli_file, _ = cli
    arrays = spark.read.parquet(str(cli_file))
    vectors = arrays.withColumn("features", array_to_vector("features"))
    run_pomona(pomona_bin, "pca", "fit", cli_file, tmp_path / "model.parquet", "--pca-k", K)
    want = pomona.PCA.load(tmp_path / "model.parquet")
    for frame in (arrays, vectors):
        fitted = pomona.spark.PCA(k=K, outputType="array").fit(frame)
        np.testing.assert_allclose(fitted.pca.components_, want.components_, rtol=0, atol=1e-9)
        np.testing.assert_allclose(fitted.explainedVariance.toArray(),
                                   want.explained_variance_ratio_[:K], rtol=0, atol=1e-12)
        assert fitted.pc.numRows == want.components_.shape[1] and fitted.pc.numCols == K
        np.testing.assert_array_equal(fitted.pc.toArray(), fitted.pca.components_.T)


def test_a_corrupt_image_is_an_error_row_with_null_vectors_through_the_stages(
        spark, small_weights, splits, cli):
    from pyspark.ml import PipelineModel
    photos = sorted(splits[0].rglob("*.jpg"))[:3]
    frame = spark.createDataFrame([(str(path), path.read_bytes()) for path in photos] +
                                  [("Broken/x.jpg", b"not an image")], "path string, content binary")
    pca = pomona.spark.PCAModel(pomona.PCA(k=2).fit(pq.read_table(cli[0])))
    rows = PipelineModel([featurizer(small_weights), pca]).transform(frame).collect()
    broken = [row for row in rows if row.path == "Broken/x.jpg"]
    assert [(row.label, row.error, row.features, row.pca) for row in broken] == \
        [("Broken", "not a JPEG or PNG image", None, None)]
    assert all(row.error is None and len(row.pca) == 2 for row in rows if row not in broken)


def test_stages_refuse_bad_params_and_taken_columns_with_one_line(spark, small_weights):
    with pytest.raises(ValueError, match="exactly one of k or variance"):
        pomona.spark.PCA(k=3, variance=0.9)
    with pytest.raises(TypeError, match="unknown options \\['resize'\\]"):
        pomona.spark.Featurizer(resize=3)
    frame = spark.createDataFrame([("a.jpg", b"x", "taken")], "path string, content binary, label string")
    with pytest.raises(ValueError, match="output column 'label' already exists"):
        featurizer(small_weights).transform(frame)
    with pytest.raises(ValueError, match="outputType must be 'vector' or 'array', not 'list'"):
        featurizer(small_weights, outputType="list", labelCol="folder").transform(frame)
    with pytest.raises(ValueError, match="input column 'file' is not in the DataFrame"):
        featurizer(small_weights, pathCol="file", labelCol="folder").transform(frame)
    with pytest.raises(TypeError, match="must be a vector or an array of numbers, not string"):
        pomona.spark.PCA(k=2, inputCol="label").fit(frame)


def test_unfitted_pipeline_saves_and_loads_its_params(tmp_path):
    from pyspark.ml import Pipeline
    s3 = pomona.spark.S3Options(endpoint="http://127.0.0.1:9000", retries=2)
    pipeline = Pipeline(stages=[pomona.spark.Featurizer(weights="w.h5", batch=8, precision="bf16", s3=s3),
                                pomona.spark.PCA(variance=0.9, center=True, outputCol="reduced")])
    pipeline.save(str(tmp_path / "pipeline"))
    featurize, pca = Pipeline.load(str(tmp_path / "pipeline")).getStages()
    assert (featurize.getOrDefault("weights"), featurize.getOrDefault("batch"),
            featurize.getOrDefault("precision"), featurize.getOrDefault("alpha")) == ("w.h5", 8, "bf16", 1.0)
    loaded_s3 = featurize._featurizer_options()["s3"]  # what the tasks get
    assert (loaded_s3.endpoint, loaded_s3.retries, loaded_s3.region) == (
        "http://127.0.0.1:9000", 2, pomona.spark.S3Options().region)  # region left unset
    assert (pca.getK(), pca.getVariance(), pca.getCenter(), pca.getOutputCol()) == (None, 0.9, True, "reduced")


def test_packages_export_only_their_api():
    import importlib.resources
    public = {name for name in dir(pomona) if not name.startswith("_")}
    assert not public & {"hashlib", "np", "os", "tempfile", "json", "pa"}
    # Submodules once imported, and the name `from __future__ import annotations` binds.
    assert public - set(pomona.__all__) <= {"spark", "annotations"}
    assert set(dir(pomona.spark)) == set(pomona.spark.__all__) | {"job", "ml", "session"}
    assert all(hasattr(pomona.spark, name) for name in pomona.spark.__all__)
    assert {"Featurizer", "PCA", "PCAModel"} <= set(pomona.spark.__all__)
    assert importlib.resources.files("pomona").joinpath("py.typed").is_file()


def test_featurize_workers_import_pomona_spark_without_pyspark_ml():
    import subprocess
    imported = subprocess.run(
        [sys.executable, "-c", "import sys, pomona.spark; print('pyspark.ml' in sys.modules, "
         "pomona.spark.Featurizer.__module__, 'pyspark.ml' in sys.modules)"],
        capture_output=True, text=True, check=True)
    assert imported.stdout.split() == ["False", "pomona.spark.ml", "True"]
