"""Oxford-102 from a folder or torchvision's official split: numeric class ids, split counts, one-sentence errors."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from mnv2_core.images.flowers import (
    FLOWER_SPLITS,
    FlowerDataError,
    FlowerDataset,
    flower_samples,
    official_flower_samples,
)
from mnv2_core.models.labels import flower_names



def _counts(flowers_dir: Path) -> dict[int, dict[str, int]]:
    with open(flowers_dir / "counts.csv", newline="", encoding="utf-8") as fh:
        return {int(r["class_id"]): {s: int(r[s]) for s in FLOWER_SPLITS} for r in csv.DictReader(fh)}


def test_labels_follow_numeric_class_ids_and_counts_match(flowers_dir: Path) -> None:
    train = flower_samples(flowers_dir, "train")
    labels = [label for _, label in train]
    assert sorted(set(labels)) == list(range(102))
    assert labels == sorted(labels)  # "10" after "9", not after "1" as ImageFolder's string order would put it
    assert {label for path, label in train if path.parent.name == "10"} == {9}
    assert {label for path, label in train if path.parent.name == "102"} == {101}
    counts = _counts(flowers_dir)
    for split in FLOWER_SPLITS:
        per_class = [label for _, label in flower_samples(flowers_dir, split)]
        for class_id in (1, 10, 51, 102):
            assert per_class.count(class_id - 1) == counts[class_id][split], (split, class_id)


def test_missing_folder_is_one_clear_sentence(tmp_path: Path) -> None:
    with pytest.raises(FlowerDataError, match="Udacity layout") as info:
        flower_samples(tmp_path, "train")
    assert isinstance(info.value, ValueError) and "\n" not in str(info.value)
    with pytest.raises(ValueError, match="Unknown split"):
        flower_samples(tmp_path, "validation")


def test_test_photos_lists_the_test_split_and_nothing_without_data(flowers_dir: Path, tmp_path: Path) -> None:
    from mnv2_core.images.flowers import test_photos

    photos = test_photos(flowers_dir)
    assert len(photos) == 819 and all(p.parent.parent.name == "test" for p in photos)
    assert test_photos(tmp_path / "nowhere") == []


def test_dataset_applies_the_transform(flowers_dir: Path) -> None:
    dataset = FlowerDataset.from_folder(flowers_dir, "valid", transform=lambda im: im.size)
    size, label = dataset[0]
    assert label == 0 and min(size) > 0 and len(dataset) == 818


def test_official_split_maps_to_the_same_class_ids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """torchvision's Flowers102 (labels = imagelabels.mat - 1) gives the same ids and names as the folders."""
    scipy_io = pytest.importorskip("scipy.io")
    from torchvision.datasets import Flowers102

    base = tmp_path / "flowers-102"
    (base / "jpg").mkdir(parents=True)
    image_labels = [1, 10, 102, 10, 1, 102]  # Oxford ids of image_00001..6
    scipy_io.savemat(base / "imagelabels.mat", {"labels": image_labels})
    scipy_io.savemat(base / "setid.mat", {"trnid": [1, 2], "valid": [3, 4], "tstid": [5, 6]})
    monkeypatch.setattr(Flowers102, "_check_integrity", lambda self: True)  # the md5s are of the real files
    train = official_flower_samples(tmp_path, "train", download=False)
    valid = official_flower_samples(tmp_path, "valid", download=False)
    assert [(p.name, y) for p, y in train] == [("image_00001.jpg", 0), ("image_00002.jpg", 9)]
    assert [y for _, y in valid] == [101, 9]
    names = flower_names()
    differ = [(i + 1, a, b) for i, (a, b) in enumerate(zip(names, Flowers102.classes)) if a != b]
    assert len(Flowers102.classes) == 102 and [i for i, *_ in differ] == [60, 78]  # spelling only: "lotus lotus"


def test_official_split_without_download_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(FlowerDataError, match="not available") as info:
        official_flower_samples(tmp_path, "test", download=False)
    assert "\n" not in str(info.value)


def test_a_damaged_photo_in_the_data_folder_is_named(tmp_path: Path) -> None:
    from mnv2_core.images.flowers import FlowerDataError, load_rgb

    bad = tmp_path / "train" / "1" / "image_00001.jpg"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    with pytest.raises(FlowerDataError, match=r"image_00001\.jpg cannot be read .*remove or replace it"):
        load_rgb(bad)
