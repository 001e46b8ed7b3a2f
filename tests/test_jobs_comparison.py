"""The comparison table: which models it lists, where each figure comes from, and the Pareto frontier."""

from __future__ import annotations

import pytest

from mnv2_core.jobs import comparison
from mnv2_core.display import comparison as display
from mnv2_core.models import MOBILENET_WIDTHS, REGISTRY


def test_the_comparison_lists_every_registered_model_at_every_width_and_the_from_scratch_mobilenet() -> None:
    entries = comparison.entries()
    assert [e.width for e in entries if e.model == "mobilenet_v2" and e.init == "default"] == list(MOBILENET_WIDTHS)
    assert comparison.Entry("mobilenet_v2", 1.0, "scratch") in entries
    assert {e.model for e in entries} == set(REGISTRY)
    assert comparison.Entry("mobilenet_v2", 1.0, "scratch").title == "MobileNetV2 1.0 (from scratch)"


def test_pareto_front_keeps_only_points_nothing_beats_on_both_axes() -> None:
    points = [(1.0, 50.0), (2.0, 70.0), (3.0, 60.0), (0.5, 40.0), (4.0, 90.0), (4.0, 80.0)]
    assert comparison.pareto_front(points) == [3, 0, 1, 4]


def test_a_row_takes_accuracy_from_its_checkpoint_and_cost_from_its_run(tmp_path, monkeypatch) -> None:
    from mnv2_core.runtime import timings

    monkeypatch.setattr(timings, "timings_dir", lambda: tmp_path)
    row = comparison.comparison_row(comparison.Entry("mobilenet_v2", 1.0))
    assert row.test_top1 > 0.9 and row.from_imagenet and row.resolution == 224
    assert row.params == pytest.approx(2.35e6, rel=0.01) and row.macs == pytest.approx(300e6, rel=0.01)
    assert row.fp32_ms is None and (row.entry, "fp32") in comparison.untimed([row])
    timings.save_timings([{"model": "mobilenet_v2", "width": 1.0, "precision": "fp32", "engine": "openvino",
                           "resolution": 128, "median_ms": 1.0},
                          {"model": "mobilenet_v2", "width": 1.0, "precision": "fp32", "engine": "onnxruntime",
                           "resolution": 224, "median_ms": 3.0}], "test")
    row = comparison.comparison_row(comparison.Entry("mobilenet_v2", 1.0))
    assert (row.fp32_ms, row.fp32_engine) == (3.0, "onnxruntime"), "a 128 px timing does not stand for 224 px"
    assert row.top1_per_mparams == pytest.approx(100 * row.test_top1 / (row.params / 1e6))
    record = display.table_records([row])[0]
    assert list(record) == list(display.TABLE_COLUMNS) and record["FP32 ms"] == 3.0


def test_a_model_without_a_checkpoint_is_a_row_that_says_so_and_is_never_timed(monkeypatch, tmp_path) -> None:
    from mnv2_core import config

    monkeypatch.setattr(config, "CHECKPOINT_DIR", tmp_path)
    monkeypatch.setenv("MNV2_CACHE", str(tmp_path / "cache"))
    row = comparison.comparison_row(comparison.Entry("resnet50"))
    assert row.checkpoint is None and row.test_top1 is None and row.training is None
    assert comparison.untimed([row]) == []
    assert display.table_records([row])[0]["Training"] == "not trained here"
