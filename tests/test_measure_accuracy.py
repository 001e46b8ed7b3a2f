"""The classification report: top-1, per-class accuracy with class names, and the most frequent confusions."""

from __future__ import annotations

import torch

from mnv2_core.measure.accuracy import classification_report



def test_classification_report_counts_confusions() -> None:
    logits = torch.full((4, 102), -1.0)
    logits[0, 0] = logits[1, 1] = logits[2, 1] = logits[3, 1] = 1.0  # true labels 0, 1, 0, 0
    report = classification_report(logits, torch.tensor([0, 1, 0, 0]))
    assert report.top1 == 0.5
    assert report.per_class[0] == {"class_id": 1, "name": "pink primrose", "n": 3, "accuracy": 1 / 3}
    assert report.per_class[2]["accuracy"] is None
    assert report.confused == [{"true_id": 1, "true_name": "pink primrose", "pred_id": 2,
                                   "pred_name": "hard-leaved pocket orchid", "count": 2}]
