"""Shared pytest fixtures: where the built binaries are, and the optional real-image sample."""
import os
import pathlib

import pytest

from helpers import make_weights

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED_SAMPLE = ROOT.parent / "shared" / "fruits-sample"


@pytest.fixture(scope="session")
def build_dir() -> pathlib.Path:
    path = pathlib.Path(os.environ.get("POMONA_BUILD_DIR", ROOT / "build"))
    if not (path / "pomona").exists():
        pytest.fail(f"{path}/pomona not built: run `make test`")
    return path


@pytest.fixture(scope="session")
def pomona_bin(build_dir) -> pathlib.Path:
    return build_dir / "pomona"


@pytest.fixture(scope="session")
def small_weights(build_dir) -> pathlib.Path:
    """Seeded MobileNetV2 0.35/96 weights: the fast network most end-to-end tests run."""
    return make_weights(build_dir / "fixtures" / "pytest" / "seeded_0.35_96.h5", 0.35, 96)


@pytest.fixture(scope="session")
def fruits_sample():
    """../shared/fruits-sample when present (CI has it); tests that need it skip otherwise."""
    if not SHARED_SAMPLE.is_dir():
        pytest.skip("../shared/fruits-sample not present")
    return SHARED_SAMPLE
