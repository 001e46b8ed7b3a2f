"""Class names for the two heads: Oxford-102 flowers (ids 1..102) and ImageNet-1k (indices 0..999)."""

from __future__ import annotations

import json
from functools import lru_cache

from mnv2_core.config import FLOWER_NAMES_FILE

CLASS_SETS = ("flowers", "imagenet")
CLASSES_TITLES = {"flowers": "Oxford-102 flowers", "imagenet": "ImageNet-1k"}


@lru_cache(maxsize=None)
def flower_names() -> tuple[str, ...]:
    """Names by output index; output index i is Oxford-102 class id i + 1 (as in cat_to_name.json)."""
    names = json.loads(FLOWER_NAMES_FILE.read_text(encoding="utf-8"))
    return tuple(names[str(i)] for i in range(1, 103))


@lru_cache(maxsize=None)
def imagenet_names() -> tuple[str, ...]:
    """ImageNet-1k names in the standard class-index order (shipped with torchvision, so no download)."""
    from torchvision.models._meta import _IMAGENET_CATEGORIES

    return tuple(_IMAGENET_CATEGORIES)


def class_names(classes: str) -> tuple[str, ...]:
    return flower_names() if classes == "flowers" else imagenet_names()


def class_id(classes: str, index: int) -> int:
    """The id users see: Oxford-102 ids start at 1; ImageNet indices are 0-based."""
    return index + 1 if classes == "flowers" else index


def num_classes(classes: str) -> int:
    if classes not in CLASS_SETS:
        raise ValueError(f"unknown classes {classes!r}; choose one of {', '.join(CLASS_SETS)}")
    return 102 if classes == "flowers" else 1000
