"""The roofline as pages and the CLI show it: rows, chart points and lines, and sentences made from a measurement."""

from __future__ import annotations

import pytest

from mnv2_core.display import roofline as shown
from mnv2_core.runtime.roofline import Layer, Peaks, Profile, Roofline

PEAKS = Peaks("cpu", 2, {"fp32": 100.0, "int8": 400.0}, 10.0)  # ridge points 10 and 40 MACs per byte


def _roofline(int8_other_ms: float = 0.1, int8_kernel: str = "brgconv_avx512_1x1_I8") -> Roofline:
    fp32 = Profile("Net FP32 (OpenVINO)", "fp32", [Layer("a", "depthwise", 1_000_000, 1_000_000, 0.2, "dw_f32"),
                                                   Layer("b", "pointwise (1x1)", 100_000_000, 2_000_000, 1.5, "f32")],
                   {"Reorder": 0.1})
    int8 = Profile("Net INT8 (OpenVINO)", "int8", [Layer("a", "depthwise", 1_000_000, 250_000, 0.15, "dw_I8"),
                                                   Layer("b", "pointwise (1x1)", 100_000_000, 500_000, 0.5, int8_kernel)],
                   {"Subgraph": int8_other_ms})
    return Roofline(PEAKS, [fp32, int8])


def test_each_kind_of_layer_gets_its_intensity_and_the_share_of_its_bound_it_reaches() -> None:
    rows = {(r["precision"], r["layers"]): r for r in shown.kind_rows(_roofline())}
    assert rows[("FP32", "depthwise")]["MACs per byte"] == 1.0
    # 100 MMACs over 2 MB: 50 MACs per byte, above the ridge point: bound 1 ms of compute, measured 1.5 ms
    assert rows[("FP32", "pointwise (1x1)")]["of the roofline"] == pytest.approx(1 / 1.5, abs=0.01)
    assert [r["ridge point (MACs per byte)"] for r in shown.peak_rows(PEAKS)] == [10.0, 40.0]


def test_the_roof_of_each_precision_rises_with_bandwidth_up_to_its_ridge_point_then_stays_flat() -> None:
    lines = [r for r in shown.roof_lines(PEAKS) if r["precision"] == "INT8"]
    assert [r["MACs per byte"] for r in lines][1] == 40.0
    assert lines[0]["GMAC/s"] == pytest.approx(shown.AXIS_MACS_PER_BYTE[0] * 10) and lines[-1]["GMAC/s"] == 400.0
    assert len(shown.layer_points(_roofline())) == 4


def test_int8_slower_than_fp32_is_explained_from_the_counters_and_only_then() -> None:
    assert shown.int8_verdict(_roofline()) is None
    verdict = shown.int8_verdict(_roofline(int8_other_ms=2.0, int8_kernel="brgconv_avx512_1x1_f32"))
    assert "1 of its 2 layers still run FP32 kernels" in verdict and "2.00 ms instead of 0.10 ms" in verdict
    assert "Subgraph nodes the most" in verdict and ": ;" not in verdict and "why: and" not in verdict
    parts = {r["part"] for r in shown.time_split_rows(_roofline(int8_kernel="x_f32"))}
    assert {"layers, FP32 kernels (2)", "layers, INT8 kernels (1)", "Subgraph", "Reorder"} <= parts


def test_the_lesson_gives_each_kinds_measured_speed_up_and_skips_a_profile_that_timed_nothing() -> None:
    roof = _roofline()
    text = " ".join(shown.lesson(roof))
    # depthwise 0.2 -> 0.15 ms, pointwise 1.5 -> 0.5 ms
    assert "to INT8: depthwise 1.3x, pointwise (1x1) 3.0x" in text and "MACs per byte by kind of layer" in text
    assert "the depthwise layers gained less" in text
    empty = Roofline(PEAKS, [Profile("Nothing FP32", "fp32", [], {})])
    assert all("Nothing FP32:" not in line for line in shown.lesson(empty))
