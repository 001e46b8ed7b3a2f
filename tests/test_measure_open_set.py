"""'Not sure': a threshold on the model's confidence, chosen on valid, judged on test and on non-flower photos."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mnv2_core import config
from mnv2_core.measure import open_set


def test_the_threshold_flags_the_chosen_share_of_correct_answers() -> None:
    confidence = np.linspace(0.01, 1.0, 100)
    correct = np.arange(100) % 2 == 0  # 50 correct answers, confidences 0.01, 0.03, ...
    threshold = open_set.choose_threshold(confidence, correct, hide=0.1)
    assert (confidence[correct] < threshold).mean() == pytest.approx(0.1, abs=0.02)


def test_score_counts_what_the_threshold_flags_on_each_set() -> None:
    def logits(confident: int, unsure: int) -> np.ndarray:  # class 0 wins; big margin = confident
        rows = [[8.0, 0, 0]] * confident + [[0.1, 0, 0]] * unsure
        return np.array(rows, dtype=np.float32)

    valid = (logits(95, 5), np.zeros(100, dtype=int))
    test = (logits(9, 1), np.array([0] * 9 + [1]))  # the unsure one is also wrong
    record = open_set.score("lenet5", None, "r1", valid, test, logits(1, 3))
    assert record.test_correct_flagged == 0 and record.test_wrong_flagged == 1
    assert record.non_flowers_flagged == 0.75 and record.non_flower_photos == 4


def test_records_are_kept_per_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "RESULTS_DIR", tmp_path)
    rec = open_set.OpenSetRecord("lenet5", None, 0.4, 0.05, 0.05, 0.5, 0.9, 16, "run-a")
    open_set.save_open_set([rec])
    assert open_set.threshold_for("lenet5", None, "run-a") == 0.4
    assert open_set.threshold_for("lenet5", None, "run-b") is None  # a retrained checkpoint is measured again
    assert json.loads(open_set.open_set_path().read_text())[0]["model"] == "lenet5"
    assert open_set.open_set_rows()[0]["title"] == "LeNet-5"


def test_the_non_flower_photos_are_real_rgb_pictures() -> None:
    photos = open_set.non_flower_photos()
    assert len(photos) == len(open_set.NON_FLOWER_PHOTOS) == 16
    assert all(image.mode == "RGB" and min(image.size) >= 100 for _, image in photos)


def test_a_prediction_below_the_threshold_is_marked_not_sure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             sample_flower: Path) -> None:
    from mnv2_core.images.decode import load_path
    from mnv2_core.models.model_config import ModelConfig
    from mnv2_core.runtime.predictor import Predictor

    monkeypatch.setattr(config, "RESULTS_DIR", tmp_path)
    config_ = ModelConfig("lenet5", None, engine="torch")
    identity = open_set.checkpoint_identity(Predictor(config_).info)
    image = load_path(sample_flower).image
    for threshold, expected in ((1.01, True), (0.0, False)):  # above any probability; below any
        open_set.save_open_set([open_set.OpenSetRecord("lenet5", None, threshold, 0, 0, 0, 0, 16, identity)])
        assert Predictor(config_).predict(image).not_sure is expected


@pytest.mark.parametrize("width", [0.35, 0.5, 0.75, 1.0, 1.4])
def test_every_shipped_width_has_a_not_sure_threshold_measured_on_its_own_checkpoint(width: float) -> None:
    from mnv2_core.models.weights import load_model

    info = load_model("mobilenet_v2", width, "flowers").info
    assert 0.1 < open_set.threshold_for("mobilenet_v2", width, open_set.checkpoint_identity(info)) < 0.9
