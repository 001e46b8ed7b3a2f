"""The real-photo dev set: flower photos taken outside Oxford-102 (``config.real_photos_dir()``), listed in
``labels.csv`` with their Oxford-102 class id, or none for a flower that is not among the 102. It measures how the
models do on photos people take, and whether "not sure" flags the flowers they were never taught. Never trained on."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from mnv2_core import config

LABELS_FILE = "labels.csv"


class RealPhotosError(ValueError):
    """The dev set is missing or its labels file is unreadable; the message is one sentence."""


@dataclass(frozen=True)
class RealPhotos:
    """The labelled photos as (file, class index 0..101) and the photos of flowers outside the 102."""

    labelled: tuple[tuple[Path, int], ...]
    unknown: tuple[Path, ...]


def missing_real_photos(folder: Path | None = None) -> str | None:
    """Why the dev set cannot be read here, in one sentence (None when it is there)."""
    try:
        real_photos(folder)
    except RealPhotosError as exc:
        return str(exc)
    return None


def real_photos(folder: Path | None = None) -> RealPhotos:
    """The dev set's photos from its labels file, in the file's order."""
    folder = Path(folder) if folder is not None else config.real_photos_dir()
    labels = folder / LABELS_FILE
    if not labels.is_file():
        raise RealPhotosError(f"The real-photo dev set is not at {folder} (expected {LABELS_FILE}); set "
                              f"MNV2_REAL_PHOTOS.")
    labelled, unknown = [], []
    try:
        with open(labels, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                path, class_id = folder / row["filename"], (row["oxford102_class_id"] or "").strip()
                if class_id:
                    labelled.append((path, int(class_id) - 1))
                else:
                    unknown.append(path)
    except (KeyError, ValueError, csv.Error) as exc:
        raise RealPhotosError(f"{labels} is not the dev set's labels file (filename, oxford102_class_id).") from exc
    missing = [p.name for p, _ in labelled if not p.is_file()] + [p.name for p in unknown if not p.is_file()]
    if missing:
        raise RealPhotosError(f"{len(missing)} photos listed in {labels} are missing, e.g. {missing[0]}.")
    return RealPhotos(tuple(labelled), tuple(unknown))
