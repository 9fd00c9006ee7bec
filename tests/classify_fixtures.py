"""Fixtures of the index/classify/serve tests: fruit photos split into train and test, their
features (seeded 0.35/96 weights), and an index built from the train split of the known classes.

The photos are ../shared/fruits-sample/test when present (12 classes x 5), else generated ones
(tools/make_demo_images.py, 12 classes x 15). Per class, the first 60 % of the files (sorted) are
the train split and the rest the test split; the last 3 classes (sorted) are left out of the index, as the
"unknown" fruits.
"""
import pathlib
import shutil

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from conftest import SHARED_SAMPLE
from helpers import make_images, run_pomona

TRAIN_SHARE = 0.6
UNSEEN_CLASSES = 3


@pytest.fixture(scope="session")
def fruit_photos(tmp_path_factory) -> pathlib.Path:
    if SHARED_SAMPLE.is_dir():
        return SHARED_SAMPLE / "test"
    return make_images(tmp_path_factory.mktemp("fruits") / "test", per_class=15, classes=12)


class Split:
    def __init__(self, root: pathlib.Path, folder: pathlib.Path, small_weights: pathlib.Path):
        self.root = root
        self.weights = small_weights
        self.classes = sorted(p.name for p in root.iterdir() if p.is_dir())
        self.known = self.classes[:-UNSEEN_CLASSES]
        self.unseen = self.classes[-UNSEEN_CLASSES:]
        self.train_paths, self.test_paths, self.unseen_paths = [], [], []
        for name in self.classes:
            files = sorted(str(p) for p in (root / name).iterdir() if p.suffix.lower() == ".jpg")
            if name in self.unseen:
                self.unseen_paths += files
            else:
                train = round(TRAIN_SHARE * len(files))
                self.train_paths += files[:train]
                self.test_paths += files[train:]
        self.folder = folder
        self.features = folder / "all.parquet"
        self.train = folder / "train.parquet"

    def label(self, path: str) -> str:
        return pathlib.Path(path).parent.name


def network_args(weights):
    return ["--weights", weights, "--alpha", "0.35", "--size", "96"]


@pytest.fixture(scope="session")
def split(pomona_bin, fruit_photos, small_weights, tmp_path_factory) -> Split:
    """The photos' features, and train.parquet: the train rows of the known classes."""
    s = Split(fruit_photos, tmp_path_factory.mktemp("split"), small_weights)
    run_pomona(pomona_bin, "featurize", fruit_photos, s.features, *network_args(small_weights), "-q")
    table = pq.read_table(s.features)
    pq.write_table(table.filter(pc.is_in(table["path"], pa.array(s.train_paths))), s.train)
    return s


@pytest.fixture(scope="session")
def fruit_index(pomona_bin, split) -> pathlib.Path:
    """An index of the train split of the known classes, with information for two of them."""
    info = split.folder / "info.csv"
    info.write_text("label,display_name,kcal_per_100g\n"
                    f"{split.known[0]},\"{split.known[0]}, fresh\",52\n"
                    f"{split.known[1]},{split.known[1]},160\n")
    index = split.folder / "fruits.index.parquet"
    run_pomona(pomona_bin, "index", split.train, index, "--info", info,
               *network_args(split.weights))
    return index


def copy_index(index: pathlib.Path, to: pathlib.Path) -> pathlib.Path:
    shutil.copyfile(index, to)
    return to
