"""The learning-rate schedule every training loop shares: linear warm-up, then decay to zero."""

from __future__ import annotations

import pytest

from mnv2_core.train.epochs import lr_at



def test_lr_schedule_warms_up_then_decays_to_zero() -> None:
    lrs = [lr_at(s, 100, 10, 1.0) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:])) and lrs[-1] < 1e-3
