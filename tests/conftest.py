"""Shared test fixtures. Data and weights live in ../shared: skipped locally when absent, a failure in CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mnv2_core import config

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_shared_path(path: Path) -> Path:
    """Return ``path`` if it exists; otherwise skip (developer machine) or fail (CI=true)."""
    if not path.exists():
        message = f"needs {path} (the shared data/weights folder beside the checkout)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def flowers_dir() -> Path:
    return require_shared_path(config.data_dir())


@pytest.fixture(scope="session")
def tflite_path() -> Path:
    return require_shared_path(config.weights_dir() / "mobilenet_v2_1.0_224_quant.tflite")


@pytest.fixture(scope="session")
def sample_flower(flowers_dir: Path) -> Path:
    """A fixed real test image (class 50, common dandelion)."""
    return require_shared_path(sorted((flowers_dir / "test" / "50").glob("*.jpg"))[0])
