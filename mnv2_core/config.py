"""Where things live: the data directory, the shared weights, the repo's assets and the conversion cache.

Each path is a setting read from an environment variable, with a default that works in this repository's
development layout (``../shared`` beside the checkout) and falls back gracefully for users who have neither.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = REPO_ROOT / "assets"
CHECKPOINT_DIR = ASSETS_DIR / "checkpoints"
RESULTS_DIR = ASSETS_DIR / "results"
FLOWER_NAMES_FILE = ASSETS_DIR / "flowers102_names.json"
_SHARED = REPO_ROOT.parent / "shared"


def _env_path(var: str, default: Path) -> Path:
    value = os.environ.get(var, "").strip()
    return Path(value).expanduser() if value else default


def data_dir() -> Path:
    """Oxford-102 in the Udacity layout (train/valid/test/<class id>/*.jpg). Env: MNV2_DATA."""
    return _env_path("MNV2_DATA", _SHARED / "data" / "flowers102")


def real_photos_dir() -> Path:
    """The real-photo dev set: flower photos from outside Oxford-102 with labels.csv. Env: MNV2_REAL_PHOTOS."""
    return _env_path("MNV2_REAL_PHOTOS", _SHARED / "data" / "real_photos_dev")


def weights_dir() -> Path:
    """Folder with the official MobileNetV2 TFLite files (never copied into the repo). Env: MNV2_WEIGHTS."""
    return _env_path("MNV2_WEIGHTS", _SHARED / "weights")


def cache_dir() -> Path:
    """Derived artefacts that must not be committed (converted weights, calibrated INT8 models). Env: MNV2_CACHE."""
    return _env_path("MNV2_CACHE", Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser() / "mnv2_lab")


def local_checkpoint_dir() -> Path:
    """Flower checkpoints trained on this machine that the repository does not ship (over its size limit)."""
    return cache_dir() / "checkpoints"


def downloads_allowed() -> bool:
    """Whether to try torchvision's weight download when the hub cache lacks a file. Env: MNV2_DOWNLOAD=0 disables."""
    return os.environ.get("MNV2_DOWNLOAD", "1").strip().lower() not in {"0", "false", "no", "off"}
