"""Real-photo scores: top-1/top-5 of the labelled photos, the unknown flowers "not sure" flags, kept per checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mnv2_core import config
from mnv2_core.measure import real_photos


def test_scores_count_top1_top5_and_the_unknown_flowers_under_the_threshold() -> None:
    logits = np.log(np.array([[0.7, 0.1, 0.1, 0.05, 0.03, 0.02], [0.1, 0.6, 0.1, 0.1, 0.05, 0.05],
                              [0.05, 0.01, 0.1, 0.1, 0.3, 0.44]]))
    unknown = np.log(np.array([[0.9, 0.02, 0.02, 0.02, 0.02, 0.02], [0.2, 0.2, 0.2, 0.2, 0.1, 0.1]]))
    s = real_photos.score("mobilenet_v2", 0.35, "default", "run", logits, np.array([0, 2, 1]), unknown, 0.5)
    assert (s.top1, s.top5, s.labelled, s.unknown) == (1 / 3, 2 / 3, 3, 2)
    assert s.unknown_flagged == 0.5 and s.threshold == 0.5
    assert real_photos.score("m", None, "default", "r", logits, np.array([0, 1, 5]), unknown, None).unknown_flagged \
        is None


def test_saved_scores_keep_one_score_per_checkpoint_and_stand_only_for_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "RESULTS_DIR", tmp_path)
    old = real_photos.RealPhotoScore("mobilenet_v2", 0.35, "default", "old-run", 0.3, 0.5, 188, 38, None, None)
    new = real_photos.RealPhotoScore("mobilenet_v2", 0.35, "default", "new-run", 0.5, 0.7, 188, 38, 0.6, 0.3)
    real_photos.save_scores([old])
    real_photos.save_scores([new])
    real_photos.save_scores([new])  # measured again: one score per checkpoint
    assert real_photos.load_scores() == [new, old]
    assert real_photos.score_for("mobilenet_v2", 0.35, "new-run") == new
    assert real_photos.score_for("mobilenet_v2", 0.35, "old-run") == old  # a replaced checkpoint's score stays
    assert real_photos.score_for("mobilenet_v2", 0.5, "new-run") is None
