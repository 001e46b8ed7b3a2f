"""The real-photo dev set is read from its labels file: labelled photos with their class, and the unknown flowers."""

from __future__ import annotations

from pathlib import Path

import pytest

from mnv2_core.images.real_photos import RealPhotosError, real_photos


def test_the_dev_set_has_188_labelled_photos_and_38_flowers_outside_the_102(real_photos_dir: Path) -> None:
    photos = real_photos(real_photos_dir)
    assert (len(photos.labelled), len(photos.unknown)) == (188, 38)
    assert all(0 <= label < 102 for _, label in photos.labelled)
    assert len({label for _, label in photos.labelled}) == 72


def test_a_missing_dev_set_or_a_missing_photo_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(RealPhotosError, match="MNV2_REAL_PHOTOS"):
        real_photos(tmp_path)
    (tmp_path / "labels.csv").write_text("filename,oxford102_class_id\na.jpg,3\nb.jpg,\n", encoding="utf-8")
    (tmp_path / "a.jpg").write_bytes(b"")
    with pytest.raises(RealPhotosError, match="1 photos .* missing, e.g. b.jpg"):
        real_photos(tmp_path)
    (tmp_path / "b.jpg").write_bytes(b"")
    photos = real_photos(tmp_path)
    assert photos.labelled == ((tmp_path / "a.jpg", 2),) and photos.unknown == (tmp_path / "b.jpg",)
