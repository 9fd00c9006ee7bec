"""Pomona in Python: MobileNetV2 features of images as Arrow record batches, and exact PCA.

The work is done by the same C++ core as the `pomona` command (the native module
``pomona._pomona``); data crosses between C++ and pyarrow through the Arrow C Data Interface,
without copying buffers. ``pomona.spark`` runs both inside Apache Spark executors.
"""
from __future__ import annotations

import json as _json
import os as _os
import tempfile as _tempfile
import typing as _typing

# OpenSSL's libcrypto must be loaded (by hashlib) before the native module: the pyarrow wheel's
# libparquet exports the symbols of a static OpenSSL, and libcrypto loaded in the module's scope
# (libcurl needs it) would bind its own internal calls to them and crash on first use.
import hashlib as _hashlib  # noqa: F401  pylint: disable=unused-import

import numpy as _np
import pyarrow as _pa  # loads the Arrow C++ libraries the native module links, before it

from pomona._pomona import PomonaError, resolve_weights as _resolve_weights
from pomona import _pomona

if _typing.TYPE_CHECKING:  # names of the annotations only: dir(pomona) shows the API (__all__)
    from typing import Iterable, Optional, Sequence, Union

    import os

    import numpy as np
    import pyarrow as pa

    Inputs = Union[pa.Array, pa.ChunkedArray, Sequence[Union[str, bytes, bytearray, memoryview]]]
    # A features column (list<float32>), a batch or table with one, or a 2-D array of rows.
    Features = Union[pa.Array, pa.ChunkedArray, pa.RecordBatch, pa.Table, np.ndarray,
                     Sequence[Sequence[float]]]
    Path = Union[str, os.PathLike]

__all__ = ["featurize_batch", "resolve_weights", "PCA", "Classifier", "PomonaError", "ROW_SCHEMA"]

# The CLI's row schema (README, "Output schema").
ROW_SCHEMA = _pa.schema([
    _pa.field("path", _pa.string(), nullable=False),
    _pa.field("label", _pa.string()),
    _pa.field("features", _pa.list_(_pa.float32())),
    _pa.field("error", _pa.string()),
])


def resolve_weights(weights: Optional[str] = None, alpha: float = 1.0, size: int = 224) -> str:
    """The weights file Pomona uses: ``weights`` when given, else Keras' cache
    (``~/.keras/models/``) for (alpha, size). Raises PomonaError saying how to get one."""
    return _resolve_weights(_os.fspath(weights) if weights else "", float(alpha), int(size))


def _as_array(values: Inputs | Iterable[str], name: str) -> pa.Array:
    if isinstance(values, _pa.ChunkedArray):
        return values.combine_chunks()
    if isinstance(values, _pa.Array):
        return values
    values = list(values)
    if values and all(isinstance(v, str) for v in values):
        return _pa.array(values, _pa.string())
    if all(isinstance(v, (bytes, bytearray, memoryview)) for v in values):
        return _pa.array([bytes(v) for v in values], _pa.binary())
    raise TypeError(f"{name} must be all str (paths) or all bytes (image contents)")


def featurize_batch(inputs: Inputs, labels: Optional[Iterable[str]] = None, *,
                    paths: Optional[Iterable[str]] = None, weights: Optional[str] = None,
                    alpha: float = 1.0, size: int = 224, threads: int = 0, batch: int = 1,
                    label_from: str = "parent", exif_transpose: bool = False,
                    precision: str = "fp32") -> pa.RecordBatch:
    """Featurizes images into one record batch with the CLI's columns and values:
    ``path, label, features list<float32> (null on error), error (null when fine)``.

    inputs: file paths to read (str) or encoded JPEG/PNG contents (bytes), as a Python sequence
    or a pyarrow string/binary array (taken without copying). paths: the path column when inputs
    are bytes ("" otherwise). labels: the label column; by default each path's parent folder
    (label_from="none": empty). A bad image is a row with an error, never an exception; bad
    weights raise PomonaError. The network for (weights, alpha, size, batch) is loaded once per
    process and reused. threads: threads used for this call (one network each; 0: every core);
    batch: images per network call (1, the fastest measured). Both follow the CLI's --threads and
    --batch, whose rule (and ValueError message) is the core's. Rows come back in input order. exif_transpose: turn each image by its EXIF
    orientation first, as Pillow's ImageOps.exif_transpose (the CLI's --exif-transpose).
    precision: "fp32" (features equal to Keras') or "bf16" (about 1.4x faster where the CPU has
    AVX512-BF16 or AMX, PomonaError elsewhere; the CLI's --precision, README "Precision").
    """
    if label_from not in ("parent", "none"):
        raise ValueError("label_from must be 'parent' or 'none'")
    if isinstance(inputs, (str, bytes, bytearray, memoryview, _os.PathLike)):
        raise TypeError("inputs must be a sequence of paths or of image contents, not one "
                        f"{type(inputs).__name__}: pass [inputs]")
    input_array = _as_array(inputs, "inputs")
    path_array = None if paths is None else _as_array(paths, "paths")
    label_array = None if labels is None else _as_array(labels, "labels")
    if len(input_array) == 0:
        return _pa.RecordBatch.from_pylist([], schema=ROW_SCHEMA)
    payload = _pomona.featurize_arrays(
        input_array, path_array, label_array, resolve_weights(weights, alpha, size), float(alpha),
        int(size), int(threads), int(batch), label_from == "parent", bool(exif_transpose),
        str(precision))
    return _pa.record_batch(payload)


def _feature_array(features: Features) -> pa.Array:
    """An Arrow list<float32> array from a column, record batch/table (its `features`), or a 2-D
    numpy array."""
    if isinstance(features, (_pa.RecordBatch, _pa.Table)):
        features = features.column("features")
    if isinstance(features, _pa.ChunkedArray):
        features = features.combine_chunks()
    if isinstance(features, _np.ndarray):
        matrix = _np.ascontiguousarray(features, dtype=_np.float32)
        if matrix.ndim != 2:
            raise ValueError("a numpy features array must be 2-D (rows, dim)")
        return _pa.FixedSizeListArray.from_arrays(_pa.array(matrix.ravel()), matrix.shape[1])
    if not isinstance(features, _pa.Array):
        features = _pa.array(features, _pa.list_(_pa.float32()))
    if features.type.value_type != _pa.float32():
        features = features.cast(_pa.list_(_pa.float32()))
    return features


class PCA:
    """Exact PCA of feature vectors, fitted in pieces: ``partial_fit`` batches (in any process),
    ``merge`` the pieces, ``finalize`` once; then ``transform`` and ``save``. The saved file is
    the one ``pomona pca fit`` writes, and the same rows give the same model.

    Exactly one of k (components) or variance (smallest k whose explained variance ratio reaches
    it). center: project (x - mean) instead of Spark ML's raw x. Pickles with its state, so
    partial states travel between Spark tasks and the driver.
    """

    def __init__(self, k: Optional[int] = None, variance: Optional[float] = None,
                 center: bool = False):
        if (k is None) == (variance is None):
            raise ValueError("give exactly one of k or variance")
        _pomona.check_fit_options(k or 0, 0.0 if variance is None else float(variance))
        self.k_option = k
        self.variance_option = variance
        self.center = center
        self._accumulator: Optional[_pomona.PcaAccumulator] = None
        self._model: Optional[_pomona.PcaModel] = None

    # -- fitting ------------------------------------------------------------------------------
    def partial_fit(self, features: Features) -> "PCA":
        """Adds the non-null rows of features (list<float32> column, record batch or table with a
        `features` column, or a 2-D numpy array) to the statistics."""
        array = _feature_array(features)
        if self._accumulator is None:
            first = next((row for row in array if row.is_valid), None)
            if first is None:
                return self
            self._accumulator = _pomona.PcaAccumulator(len(first))
        self._accumulator.add(array)
        self._model = None
        return self

    def merge(self, other: "PCA") -> "PCA":
        """Adds everything `other` has seen (as if its rows had been added here). Both must have
        the same options (k or variance, center): a merged model answers one question."""
        mine = (self.k_option, self.variance_option, self.center)
        theirs = (other.k_option, other.variance_option, other.center)
        if mine != theirs:
            raise ValueError(f"cannot merge a PCA(k, variance, center) = {theirs} into one of {mine}")
        if other._accumulator is not None:
            if self._accumulator is None:
                self._accumulator = _pomona.PcaAccumulator.deserialize(other._accumulator.serialize())
            else:
                self._accumulator.merge(other._accumulator)
        self._model = None
        return self

    def finalize(self) -> "PCA":
        """Eigen-decomposes the merged statistics. Raises PomonaError with fewer than 2 rows."""
        if self._accumulator is None:
            raise PomonaError("PCA has seen no rows")
        self._model = _pomona.PcaModel.fit(self._accumulator, k=self.k_option or 0,
                                          variance=self.variance_option or 0.0, center=self.center)
        return self

    def fit(self, features: Features) -> "PCA":
        return self.partial_fit(features).finalize()

    # -- the fitted model ---------------------------------------------------------------------
    @property
    def model(self) -> "_pomona.PcaModel":
        if self._model is None:
            raise PomonaError("PCA is not fitted: call finalize() (or fit()) first")
        return self._model

    @property
    def count(self) -> int:
        return 0 if self._accumulator is None else self._accumulator.count

    @property
    def components_(self) -> np.ndarray:
        return self.model.components

    @property
    def mean_(self) -> np.ndarray:
        return self.model.mean

    @property
    def explained_variance_ratio_(self) -> np.ndarray:
        return self.model.explained_variance_ratio

    def transform(self, features: Features) -> pa.Array:
        """list<float32> projections of k values per row; null rows stay null."""
        return _pa.array(self.model.transform(_feature_array(features)))

    def save(self, path: Path) -> None:
        """Writes the model file (the format of `pomona pca fit`), atomically."""
        self.model.save(_os.fspath(path))

    @classmethod
    def load(cls, path: Path) -> "PCA":
        model = _pomona.PcaModel.load(_os.fspath(path))
        pca = cls(k=model.k, center=model.center)
        pca._model = model
        pca._accumulator = model.accumulator
        return pca

    # -- serialisable state -------------------------------------------------------------------
    def __getstate__(self) -> dict:
        model_bytes = None
        if self._model is not None:
            with _tempfile.TemporaryDirectory() as folder:
                path = _os.path.join(folder, "model.parquet")
                self._model.save(path)
                with open(path, "rb") as f:
                    model_bytes = f.read()
        return {"k": self.k_option, "variance": self.variance_option, "center": self.center,
                "accumulator": None if self._accumulator is None else self._accumulator.serialize(),
                "model": model_bytes}

    def __setstate__(self, state: dict) -> None:
        self.k_option, self.variance_option = state["k"], state["variance"]
        self.center = state["center"]
        self._accumulator = (None if state["accumulator"] is None
                             else _pomona.PcaAccumulator.deserialize(state["accumulator"]))
        self._model = None
        if state["model"] is not None:
            with _tempfile.TemporaryDirectory() as folder:
                path = _os.path.join(folder, "model.parquet")
                with open(path, "wb") as f:
                    f.write(state["model"])
                self._model = _pomona.PcaModel.load(path)


class Classifier:
    """Answers "which fruit is this?" with an index built by ``pomona index``: the same engine as
    ``pomona classify`` and ``pomona serve`` (decode, network and index in C++).

    weights: the weights the index was built with (default: Keras' cache for its alpha and size);
    other weights raise PomonaError. method: "ncm" (nearest class mean) or "knn".
    """

    def __init__(self, index: Path, weights: Optional[Path] = None, method: str = "ncm") -> None:
        self._native = _pomona.Classifier(_os.fspath(index), _os.fspath(weights) if weights else "")
        self.method = method

    @property
    def index_version(self) -> str:
        return self._native.index_version

    @property
    def labels(self) -> list[str]:
        return list(self._native.labels)

    def classify(self, paths_or_bytes: Union[Path, bytes, Sequence[Union[Path, bytes]]],
                 top_k: int = 3, method: Optional[str] = None,
                 as_arrow: bool = False) -> Union[list[dict], pa.Table]:
        """One answer per input (a path str, or image bytes; one input or a sequence), in order:
        ``{"path", "predictions": [{"label", "score", "info"}], "unknown", "error"}``. A bad
        image has its error and no predictions. as_arrow: the same as a pyarrow Table, with each
        prediction's info as JSON text (labels' information may have different fields)."""
        inputs = [paths_or_bytes] if isinstance(paths_or_bytes, (str, bytes, _os.PathLike)) \
            else list(paths_or_bytes)
        inputs = [_os.fspath(i) if isinstance(i, _os.PathLike) else
                  bytes(i) if isinstance(i, (bytearray, memoryview)) else i for i in inputs]
        answers = [{"path": path, "error": error, "unknown": unknown,
                    "predictions": [{"label": label, "score": score,
                                     "info": info if as_arrow else _json.loads(info)}
                                    for label, score, info in predictions]}
                   for path, error, predictions, unknown in
                   self._native.classify(inputs, int(top_k), method or self.method)]
        return _pa.Table.from_pylist(answers) if as_arrow else answers
