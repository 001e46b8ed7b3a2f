"""INT8 calibration photos: one picker spread over the classes, decoded as the app decodes an upload."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mnv2_core.images.decode import load_path
from mnv2_core.images.flowers import spread_over_classes
from mnv2_core.images.views import Preprocess, to_tensor
from mnv2_core.runtime.calibration import QuantizationError, calibration_arrays, calibration_paths


def test_spread_over_classes_takes_every_class_first_photo_before_any_second() -> None:
    samples = [(Path(f"{c}_{i}.jpg"), c) for c in (2, 0, 1) for i in range(3)]
    picked = spread_over_classes(samples, 5)
    assert [p.name for p, _ in picked] == ["0_0.jpg", "1_0.jpg", "2_0.jpg", "0_1.jpg", "1_1.jpg"]
    assert len(spread_over_classes(samples, 100)) == 9


def test_calibration_photos_come_one_per_class_from_the_training_split(flowers_dir: Path) -> None:
    paths = calibration_paths(5)
    assert [p.parent.name for p in paths] == ["1", "2", "3", "4", "5"]
    assert all(p.parent.parent.name == "train" for p in paths) and paths == calibration_paths(5)


def test_calibration_arrays_are_the_app_s_own_model_input(flowers_dir: Path) -> None:
    path = calibration_paths(1)[0]
    (array,) = calibration_arrays([path], Preprocess(224, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)))
    expected = to_tensor(load_path(path).image, 224, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)).numpy()
    assert array.shape == (1, 3, 224, 224) and np.array_equal(array, expected)


def test_no_photos_is_one_sentence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MNV2_DATA", str(tmp_path))
    with pytest.raises(QuantizationError, match="needs real photos"):
        calibration_paths(4)
