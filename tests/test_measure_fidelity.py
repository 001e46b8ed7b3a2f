"""A lower precision against FP32: top-1, agreement and drop, the worse engine's as the headline; records kept per
checkpoint and precision."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mnv2_core.measure.fidelity import (FidelityRecord, fidelity_for, load_fidelity, precision_test,
                                        save_fidelity)


def _logits(answers: list[int], classes: int = 3) -> np.ndarray:
    return np.eye(classes)[answers]


def test_the_headline_is_the_worse_engines_and_the_drop_is_in_points() -> None:
    labels = [0, 1, 2, 0]
    fp32 = _logits([0, 1, 2, 1])  # 3 of 4 right
    result = precision_test(fp32, {"openvino": _logits([0, 1, 2, 1]), "torch": _logits([0, 1, 1, 1])}, labels)
    assert result.images == 4 and result.fp32_top1 == 0.75 and result.top1 == 0.5 and result.agreement == 0.75
    assert result.drop_points == pytest.approx(25.0)
    assert result.by_engine["openvino"].agreement == 1.0 and result.by_engine["torch"].top1 == 0.5


def _record(sha: str) -> FidelityRecord:
    test = precision_test(_logits([0, 1]), {"openvino": _logits([0, 1])}, [0, 1])
    return FidelityRecord("mobilenet_v2", 0.35, "default", "bf16", "m.pt", sha, test, "AMD EPYC (test)")


def test_a_saved_record_is_found_only_for_the_same_weights_and_a_new_one_replaces_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mnv2_core import config

    monkeypatch.setattr(config, "RESULTS_DIR", tmp_path)
    save_fidelity([_record("aaa")])
    save_fidelity([_record("bbb")])
    assert [r.float_sha256 for r in load_fidelity()] == ["bbb"]
    assert fidelity_for("mobilenet_v2", 0.35, "bf16", "bbb").test.agreement == 1.0
    assert fidelity_for("mobilenet_v2", 0.35, "bf16", "aaa") is None
    (tmp_path / "fidelity.json").write_text('[{"model": 1}, ' + (tmp_path / "fidelity.json").read_text()[1:])
    assert len(load_fidelity()) == 1  # a bad row costs only that row


def test_the_shipped_bf16_records_cover_every_trained_width_of_mobilenet() -> None:
    measured = {(r.model, r.width) for r in load_fidelity() if r.precision == "bf16"}
    assert {("mobilenet_v2", w) for w in (0.35, 0.5, 0.75, 1.0, 1.4)} <= measured
