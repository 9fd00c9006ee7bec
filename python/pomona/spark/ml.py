"""Pomona as ``pyspark.ml`` stages: Params, ``Pipeline``s, save and load as Spark ML's own stages.

    from pyspark.ml import Pipeline, PipelineModel
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.feature import StringIndexer

    images = spark.read.format("binaryFile").option("pathGlobFilter", "*.jpg").load("photos/")
    pipeline = Pipeline(stages=[
        pomona.spark.Featurizer(weights="mobilenet_v2.h5"),      # content -> features, label, error
        pomona.spark.PCA(k=50),                                   # features -> pca
        StringIndexer(inputCol="label", outputCol="labelIndex"),
        LogisticRegression(featuresCol="pca", labelCol="labelIndex")])
    model = pipeline.fit(images)
    model.save("fruit-model/")
    PipelineModel.load("fruit-model/").transform(test_images)

Each stage appends its columns to the DataFrame (Spark ML's convention): outputs are Spark ML
vectors by default (outputType="vector"), or the CLI's array<float> (outputType="array"). The
stages run the same code as ``featurize()`` and ``transform()``: the C++ core in each executor's
Python worker, fed Arrow batches. The fitted PCA is a pomona.PCA (``PCAModel.pca``) and a
saved PCAModel holds the file of ``pomona pca fit`` (``_pca_model.parquet``), so the CLI reads it.
"""
from __future__ import annotations

import hashlib
import inspect
import os
import pickle
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional

import pyarrow as pa
from pyspark import keyword_only
from pyspark.ml import Estimator, Model, Transformer
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasInputCol, HasOutputCol
from pyspark.ml.util import (DefaultParamsReadable, DefaultParamsReader, DefaultParamsWritable,
                             DefaultParamsWriter, MLReadable, MLWritable)

import pomona
import pomona.spark

if TYPE_CHECKING:
    from typing import Self

    from pyspark import RDD
    from pyspark.ml.linalg import DenseMatrix, DenseVector
    from pyspark.sql import Column, DataFrame
    from pyspark.sql.types import DataType

    from pomona.spark import BatchFunction

__all__ = ["Featurizer", "PCA", "PCAModel", "transform", "projector"]

# The file a saved PCAModel keeps its fitted model in, beside metadata/: the name the pomona
# command gives the model of a folder output.
MODEL_FILE = "_pca_model.parquet"


class _HasColumns(HasInputCol, HasOutputCol):
    """inputCol, outputCol and outputType, with their setters."""

    outputType: Param[str] = Param(
        Params._dummy(), "outputType",
        "the output column's type: 'vector' (a Spark ML vector, for Spark ML's stages) or "
        "'array' (array<float>, the pomona command's column)", typeConverter=TypeConverters.toString)

    def getOutputType(self) -> str:
        return self.getOrDefault(self.outputType)

    def setInputCol(self, value: str) -> Self:
        return self._set(inputCol=value)

    def setOutputCol(self, value: str) -> Self:
        return self._set(outputCol=value)

    def setOutputType(self, value: str) -> Self:
        return self._set(outputType=value)

    def _output_column(self, floats: Column) -> Column:
        """The array<float> Column floats as outputType asks."""
        output_type = self.getOutputType()
        if output_type == "array":
            return floats
        if output_type == "vector":
            from pyspark.ml.functions import array_to_vector
            return _null_safe(array_to_vector, floats)
        raise ValueError(f"outputType must be 'vector' or 'array', not {output_type!r}")


def _null_safe(function: Callable[[Column], Column], column: Column) -> Column:
    """function(column) where column is not null, else null: Spark ML's vector_to_array and
    array_to_vector fail on a null row (an image that was an error row)."""
    from pyspark.sql import functions as F
    return F.when(column.isNotNull(), function(column))


def _check_new_columns(dataset: DataFrame, names: List[str]) -> None:
    taken = [name for name in names if name in dataset.columns]
    if taken:
        raise ValueError(f"output column {taken[0]!r} already exists: choose another name or "
                         "drop it first")


def _input_type(dataset: DataFrame, name: str) -> DataType:
    """The Spark type of dataset's column name; ValueError when there is none."""
    if name not in dataset.columns:
        raise ValueError(f"input column {name!r} is not in the DataFrame (columns: "
                         f"{', '.join(dataset.columns)})")
    return dataset.schema[name].dataType


def _float_arrays(dataset: DataFrame, name: str) -> Column:
    """Column name as array<float> (what the C++ core reads), from array<float> or a Spark ML
    vector (whose doubles Featurizer and PCA made from floats, so exactly)."""
    from pyspark.ml.functions import vector_to_array
    from pyspark.ml.linalg import VectorUDT
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, FloatType

    data_type = _input_type(dataset, name)
    column = F.col(f"`{name}`")
    if isinstance(data_type, VectorUDT):
        return _null_safe(lambda vectors: vector_to_array(vectors, "float32"), column)
    if isinstance(data_type, ArrayType):
        return column if isinstance(data_type.elementType, FloatType) else \
            column.cast(ArrayType(FloatType()))
    raise TypeError(f"input column {name!r} must be a vector or an array of numbers, not "
                    f"{data_type.simpleString()}")


def _featurize_options() -> Dict[str, Any]:
    """featurize()'s options (pomona.spark.featurizer's keyword-only arguments) and defaults:
    the Featurizer's Params take the same names and defaults from there, one place."""
    return {name: parameter.default
            for name, parameter in inspect.signature(pomona.spark.featurizer).parameters.items()
            if parameter.kind is inspect.Parameter.KEYWORD_ONLY}


def _s3_settings(value: Any) -> Optional[Dict[str, Any]]:
    """The s3 Param's value: S3Options' fields as a dict (JSON, as Params are saved), from an
    S3Options or a dict of its keyword arguments."""
    if value is None or isinstance(value, dict):
        return value
    if isinstance(value, pomona.spark.S3Options):
        return {name: getattr(value, name) for name in dir(value)
                if not name.startswith("_") and not callable(getattr(value, name))}
    raise TypeError(f"s3 must be a pomona.spark.S3Options or a dict of its fields, not "
                    f"{type(value).__name__}")


class Featurizer(Transformer, _HasColumns, DefaultParamsReadable, DefaultParamsWritable):
    """Featurizes images, as ``pomona featurize``, appending three columns: outputCol (the
    features; null on error), labelCol (the parent folder, as the CLI's label; not written with
    label_from="none") and errorCol (null when fine). A corrupt image is a row with an error; rows
    with errors must be dropped (``filter("error IS NULL")``) before Spark ML's estimators.

    inputCol: binary contents (spark.read.format("binaryFile")'s "content", with its paths in
    pathCol), or string paths (list_images()'s "path"), which the executors read themselves,
    S3 objects with the options s3. The other Params are featurize()'s options, with its names
    and defaults (weights, alpha, size, threads, batch, label_from, ship_weights, s3,
    io_threads, precision): see pomona.spark.featurize.
    """

    pathCol: Param[str] = Param(Params._dummy(), "pathCol",
                                "the image paths, read for the labels (binary inputCol only)",
                                typeConverter=TypeConverters.toString)
    labelCol: Param[str] = Param(Params._dummy(), "labelCol", "the label column written",
                                 typeConverter=TypeConverters.toString)
    errorCol: Param[str] = Param(Params._dummy(), "errorCol", "the error column written",
                                 typeConverter=TypeConverters.toString)
    weights: Param[str] = Param(Params._dummy(), "weights",
                                "a Keras MobileNetV2 .h5 (default: Keras' cache on the driver)",
                                typeConverter=TypeConverters.toString)
    alpha: Param[float] = Param(Params._dummy(), "alpha", "the network's width multiplier",
                                typeConverter=TypeConverters.toFloat)
    size: Param[int] = Param(Params._dummy(), "size", "the network's input size",
                             typeConverter=TypeConverters.toInt)
    threads: Param[int] = Param(Params._dummy(), "threads",
                                "threads each task uses (default: spark.task.cpus)",
                                typeConverter=TypeConverters.toInt)
    batch: Param[int] = Param(Params._dummy(), "batch", "images per network call",
                              typeConverter=TypeConverters.toInt)
    label_from: Param[str] = Param(Params._dummy(), "label_from", "'parent' or 'none'",
                                   typeConverter=TypeConverters.toString)
    ship_weights: Param[bool] = Param(Params._dummy(), "ship_weights",
                                      "copy the weights to the executors (SparkContext.addFile)",
                                      typeConverter=TypeConverters.toBoolean)
    s3: Param[dict] = Param(Params._dummy(), "s3",
                            "S3 options for listed s3:// paths (S3Options' fields)",
                            typeConverter=_s3_settings)
    io_threads: Param[int] = Param(Params._dummy(), "io_threads",
                                   "concurrent S3 reads of a Python worker",
                                   typeConverter=TypeConverters.toInt)
    precision: Param[str] = Param(Params._dummy(), "precision", "'fp32' or 'bf16'",
                                  typeConverter=TypeConverters.toString)

    @keyword_only
    def __init__(self, *, inputCol: str = "content", outputCol: str = "features",
                 outputType: str = "vector", pathCol: str = "path", labelCol: str = "label",
                 errorCol: str = "error", **options: Any) -> None:
        super().__init__()
        unknown = sorted(set(options) - set(_featurize_options()))
        if unknown:
            raise TypeError(f"Featurizer got unknown options {unknown}; featurize()'s options "
                            f"are {sorted(_featurize_options())}")
        self._setDefault(inputCol="content", outputCol="features", outputType="vector",
                         pathCol="path", labelCol="label", errorCol="error",
                         **_featurize_options())
        self._set(**self._input_kwargs)

    @keyword_only
    def setParams(self, **params: Any) -> "Featurizer":
        """Sets the Params given (the constructor's names)."""
        return self._set(**self._input_kwargs)

    def _featurizer_options(self) -> Dict[str, Any]:
        options = {name: self.getOrDefault(name) for name in _featurize_options()}
        if options.get("s3") is not None:
            options["s3"] = pomona.spark.S3Options(**options["s3"])
        return options

    def _transform(self, dataset: DataFrame) -> DataFrame:
        from pyspark.sql import functions as F
        from pyspark.sql.functions import arrow_udf
        from pyspark.sql.types import BinaryType, StringType

        input_col, path_col = self.getInputCol(), self.getOrDefault(self.pathCol)
        label_col, error_col = self.getOrDefault(self.labelCol), self.getOrDefault(self.errorCol)
        with_label = self.getOrDefault(self.label_from) != "none"
        outputs = [self.getOutputCol()] + ([label_col] if with_label else []) + [error_col]
        _check_new_columns(dataset, outputs)
        input_type = _input_type(dataset, input_col)
        if isinstance(input_type, BinaryType):
            _input_type(dataset, path_col)
            columns, content_col = [path_col, input_col], input_col
        elif isinstance(input_type, StringType):
            columns, content_col, path_col = [input_col], None, input_col
        else:
            raise TypeError(f"input column {input_col!r} must hold image contents (binary) or "
                            f"paths (string), not {input_type.simpleString()}")
        function = pomona.spark.featurizer(dataset.sparkSession, path_col, content_col,
                                           **self._featurizer_options())
        rows = arrow_udf(_rows_of(function), _FEATURIZED_DDL)
        inputs = F.struct(*[F.col(f"`{name}`").alias(name) for name in columns])
        featurized = "__pomona_featurized"
        new_columns = {self.getOutputCol():
                       self._output_column(F.col(featurized).getField("features"))}
        if with_label:
            new_columns[label_col] = F.col(featurized).getField("label")
        new_columns[error_col] = F.col(featurized).getField("error")
        return dataset.withColumn(featurized, rows(inputs)).withColumns(new_columns).drop(featurized)


# featurize()'s row without its path, which the DataFrame has.
_FEATURIZED_DDL = "struct<label: string, features: array<float>, error: string>"


def _rows_of(function: BatchFunction) -> Callable[[Iterator[pa.Array]], Iterator[pa.Array]]:
    """An Arrow UDF over a struct of function's input columns, giving function's rows, the path
    left out, as structs."""
    def rows(inputs: Iterator[pa.Array]) -> Iterator[pa.Array]:
        for batch in function(pa.RecordBatch.from_struct_array(array) for array in inputs):
            yield pa.StructArray.from_arrays(
                [batch.column("label"), batch.column("features"), batch.column("error")],
                names=["label", "features", "error"])
    return rows


class _PCAParams(_HasColumns):
    k: Param[int] = Param(Params._dummy(), "k", "the number of principal components",
                          typeConverter=TypeConverters.toInt)
    variance: Param[float] = Param(
        Params._dummy(), "variance",
        "instead of k: the fewest components whose explained variance ratio reaches this",
        typeConverter=TypeConverters.toFloat)
    center: Param[bool] = Param(Params._dummy(), "center",
                                "project (x - mean) instead of Spark ML's raw x",
                                typeConverter=TypeConverters.toBoolean)

    def __init__(self) -> None:
        super().__init__()
        self._setDefault(inputCol="features", outputCol="pca", outputType="vector", center=False)

    def getK(self) -> Optional[int]:
        return self.getOrDefault(self.k) if self.isDefined(self.k) else None

    def getVariance(self) -> Optional[float]:
        return self.getOrDefault(self.variance) if self.isDefined(self.variance) else None

    def getCenter(self) -> bool:
        return self.getOrDefault(self.center)

    def _empty_pca(self) -> pomona.PCA:
        """A pomona.PCA with these options (exactly one of k and variance): raises ValueError
        on a bad combination."""
        return pomona.PCA(k=self.getK(), variance=self.getVariance(), center=self.getCenter())


# PCA.accumulate: each task of the first stage accumulates about 1/(STATE_TASKS_PER_CORE x cores)
# of the rows (more tasks than cores balance uneven partitions), whatever the partition count; the
# tasks' states (one 6.6 MB state for 1280-d features) are then merged MERGE_FAN_IN at a time.
STATE_TASKS_PER_CORE = 4
MERGE_FAN_IN = 32


class PCA(Estimator, _PCAParams, DefaultParamsReadable, DefaultParamsWritable):
    """Exact PCA over a column of features (array<float> or Spark ML vectors), an Estimator
    whose PCAModel appends outputCol, the projections on the k components (null where the
    features are null). Exactly one of k or variance.

    Tasks accumulate the rows in the C++ accumulator, their partial states are merged by Spark
    tasks in a tree (as Spark ML's RowMatrix does with treeAggregate), and the driver receives
    one merged state and eigen-decomposes it: its memory does not grow with the partition
    count. The fitted model (PCAModel.pca, a pomona.PCA) is the one `pomona pca fit` fits on
    the same rows. Null rows (error rows) are skipped.
    """

    @keyword_only
    def __init__(self, *, k: Optional[int] = None, variance: Optional[float] = None,
                 inputCol: str = "features", outputCol: str = "pca", outputType: str = "vector",
                 center: bool = False) -> None:
        super().__init__()
        self._set(**self._input_kwargs)
        if self.isSet(self.k) or self.isSet(self.variance):
            self._empty_pca()  # validates the options here

    @keyword_only
    def setParams(self, **params: Any) -> "PCA":
        """Sets the Params given (the constructor's names)."""
        return self._set(**self._input_kwargs)

    def setK(self, value: int) -> "PCA":
        return self._set(k=value)

    def setVariance(self, value: float) -> "PCA":
        return self._set(variance=value)

    def setCenter(self, value: bool) -> "PCA":
        return self._set(center=value)

    def _fit(self, dataset: DataFrame) -> PCAModel:
        return self._copyValues(PCAModel(self.accumulate(dataset).finalize()))

    def accumulate(self, dataset: DataFrame) -> pomona.PCA:
        """The statistics of dataset's rows, merged and not yet finalized (merge() more, then
        finalize()). The driver holds one state, however many partitions dataset has."""
        empty = self._empty_pca()
        k, variance, center, column = self.getK(), self.getVariance(), self.getCenter(), "features"

        def partial_states(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            partial = pomona.PCA(k=k, variance=variance, center=center)
            for features in batches:
                partial.partial_fit(features.column(column))
            yield pa.RecordBatch.from_pydict({"state": [pickle.dumps(partial)]},
                                             schema=pa.schema([("state", pa.binary())]))

        tasks = STATE_TASKS_PER_CORE * dataset.sparkSession.sparkContext.defaultParallelism
        features = _float_arrays(dataset, self.getInputCol()).alias(column)
        states = (dataset.select(features).coalesce(tasks)
                  .mapInArrow(partial_states, "state binary")
                  .rdd.map(lambda row: pickle.loads(row.state)))
        return _tree_reduce(states, lambda a, b: a.merge(b), MERGE_FAN_IN) or empty


class PCAModel(Model, _PCAParams, MLReadable, MLWritable):
    """A fitted PCA: appends outputCol, each row's projection on the k components (null where
    inputCol is null), equal to `pomona pca transform`'s. pca: the fitted pomona.PCA (save()
    writes `pomona pca fit`'s file); pc and explainedVariance as Spark ML's PCAModel's."""

    def __init__(self, pca: Optional[pomona.PCA] = None) -> None:
        super().__init__()
        self._pca = pca

    @property
    def pca(self) -> pomona.PCA:
        if self._pca is None:
            raise pomona.PomonaError("PCAModel has no fitted model: fit a PCA or load one")
        return self._pca

    @property
    def pc(self) -> DenseMatrix:
        """The components as Spark ML's PCAModel gives them: a dim x k DenseMatrix."""
        from pyspark.ml.linalg import DenseMatrix
        components = self.pca.components_
        return DenseMatrix(components.shape[1], components.shape[0], components.ravel().tolist())

    @property
    def explainedVariance(self) -> DenseVector:
        """The k components' explained variance ratios, a DenseVector (Spark ML's PCAModel's)."""
        from pyspark.ml.linalg import DenseVector
        return DenseVector(self.pca.explained_variance_ratio_[:self.pca.model.k])

    def _transform(self, dataset: DataFrame) -> DataFrame:
        from pyspark.sql.functions import arrow_udf

        _check_new_columns(dataset, [self.getOutputCol()])
        features = _float_arrays(dataset, self.getInputCol())
        project = arrow_udf(_projections(self.pca), "array<float>")
        return dataset.withColumn(self.getOutputCol(), self._output_column(project(features)))

    def write(self) -> "_PCAModelWriter":
        return _PCAModelWriter(self)

    @classmethod
    def read(cls) -> "_PCAModelReader":
        return _PCAModelReader(cls)


class _PCAModelWriter(DefaultParamsWriter):
    """A PCAModel saved as Spark ML saves its stages (path/metadata, the Params), with the fitted
    model in the pomona command's file, path/_pca_model.parquet."""

    def saveImpl(self, path: str) -> None:
        super().saveImpl(path)
        self.instance.pca.save(os.path.join(path, MODEL_FILE))


class _PCAModelReader(DefaultParamsReader):
    def load(self, path: str) -> PCAModel:
        model = super().load(path)
        model._pca = pomona.PCA.load(os.path.join(path, MODEL_FILE))
        return model


def _tree_reduce(rdd: RDD, merge: Callable[[Any, Any], Any], fan_in: int) -> Any:
    """rdd's values merged with merge (associative) by Spark tasks, level by level, each task
    merging the values of at most fan_in partitions, until the last task hands the driver the
    one value left (None when rdd has no values). RDD.treeReduce instead collects its last
    level, whose size grows with the partition count."""
    partitions = rdd.getNumPartitions()
    while True:
        partitions = max(1, -(-partitions // fan_in))
        rdd = (rdd.mapPartitionsWithIndex(
            lambda index, values, n=partitions: ((index % n, value) for value in values))
            .reduceByKey(merge, partitions).values())
        if partitions == 1:
            values = rdd.collect()
            return values[0] if values else None


_models_by_digest: dict = {}


def _cached_model(state: bytes) -> pomona.PCA:
    """The model of a pickled pomona.PCA, unpickled once per Python worker."""
    digest = hashlib.sha256(state).hexdigest()
    if digest not in _models_by_digest:
        _models_by_digest.clear()
        _models_by_digest[digest] = pickle.loads(state)
    return _models_by_digest[digest]


def _projections(model: pomona.PCA) -> Callable[[Iterator[pa.Array]], Iterator[pa.Array]]:
    """Each feature array's projections (list<float32>, null where the features are null), by
    the model as each Python worker caches it."""
    state = pickle.dumps(model)

    def project(arrays: Iterator[pa.Array]) -> Iterator[pa.Array]:
        pca = _cached_model(state)
        for features in arrays:
            yield pca.transform(features)

    return project


def projector(model: pomona.PCA, features_col: str = "features",
              output_col: str = "pca") -> BatchFunction:
    """The function transform() maps over Arrow batches (rows with output_col appended), for
    write_parquet()."""
    state = pickle.dumps(model)

    def project(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        pca = _cached_model(state)
        for rows in batches:
            yield pa.RecordBatch.from_arrays(rows.columns + [pca.transform(rows.column(features_col))],
                                             names=rows.schema.names + [output_col])

    return project


def transform(df: DataFrame, model: pomona.PCA, features_col: str = "features",
              output_col: str = "pca") -> DataFrame:
    """df with one more column, output_col array<float>: each row's projection on the fitted
    model's k components (null where features is null); PCAModel's transform."""
    return (PCAModel(model).setInputCol(features_col).setOutputCol(output_col)
            .setOutputType("array").transform(df))
