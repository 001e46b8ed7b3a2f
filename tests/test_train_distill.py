"""The distillation loss: zero only when the student matches both the teacher and the labels."""

from __future__ import annotations

import pytest
import torch

from mnv2_core.train.distill import distill_loss
from mnv2_core.train.loop import FitConfig



def test_distill_loss_is_zero_only_when_student_matches_teacher_and_labels() -> None:
    cfg = FitConfig(epochs=1, lr=1e-3, label_smoothing=0.0, distill_alpha=1.0)
    logits = torch.randn(4, 102)
    target = logits.argmax(1)
    assert float(distill_loss(logits, logits, target, cfg)) == pytest.approx(0.0, abs=1e-6)
    assert float(distill_loss(logits, logits.flip(1), target, cfg)) > 0.1
    hard_only = FitConfig(epochs=1, lr=1e-3, label_smoothing=0.0, distill_alpha=0.0)
    assert float(distill_loss(logits, logits.flip(1), target, hard_only)) == pytest.approx(
        float(torch.nn.functional.cross_entropy(logits, target)))
