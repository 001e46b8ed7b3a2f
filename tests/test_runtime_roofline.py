"""The roofline: this CPU's peaks, and every convolution and matrix product of a model with its MACs, bytes and
measured time."""

from __future__ import annotations

import pytest

from mnv2_core.runtime import engines
from mnv2_core.runtime.roofline import Layer, Peaks, layer_shapes, measure_peaks, profile


def test_peaks_are_measured_per_precision_and_the_ridge_point_is_peak_over_bandwidth() -> None:
    peaks = measure_peaks(("fp32", "int8"), size=128, seconds=0.05)
    assert set(peaks.gmacs) == {"fp32", "int8"} and all(g > 0 for g in peaks.gmacs.values())
    assert peaks.bandwidth_gbs > 0 and peaks.ridge("fp32") == pytest.approx(peaks.gmacs["fp32"] / peaks.bandwidth_gbs)


def test_a_layers_bound_is_memory_below_the_ridge_point_and_compute_above_it() -> None:
    peaks = Peaks("cpu", 2, {"fp32": 100.0}, 10.0)  # ridge point: 10 MACs per byte
    assert peaks.bound_s(1_000_000, 1_000_000, "fp32") == pytest.approx(1e-4)  # 1 MAC/byte: 1 MB at 10 GB/s
    assert peaks.bound_s(100_000_000, 1_000_000, "fp32") == pytest.approx(1e-3)  # 100 MACs/byte: 0.1 G at 100 G/s
    layer = Layer("conv", "depthwise", 2_000_000, 1_000_000, 0.5)
    assert layer.intensity == 2 and layer.gmacs == pytest.approx(4.0)


def test_the_layers_macs_are_the_models_own_count_and_mobilenets_kinds_are_named(mnv2_models: dict,
                                                                                 tmp_path) -> None:
    from mnv2_core.measure.counts import count_macs

    model = mnv2_models[0.35]
    path = engines.export_onnx(model, 224, tmp_path / "m.onnx")
    shapes = layer_shapes(path, "fp32")
    kinds = [kind for kind, _, _ in shapes.values()]
    assert kinds.count("depthwise") == 17 and kinds.count("full convolution") == 1
    assert kinds.count("fully connected") == 1 and kinds.count("pointwise (1x1)") == 34
    assert sum(macs for _, macs, _ in shapes.values()) == count_macs(model, 224)
    assert layer_shapes(path, "int8")[next(iter(shapes))][2] * 4 == next(iter(shapes.values()))[2]


def test_a_profile_times_every_layer_once_the_classifier_included(mnv2_models: dict, tmp_path) -> None:
    path = engines.export_onnx(mnv2_models[0.35], 224, tmp_path / "m.onnx")
    measured = profile(path, "fp32", "MobileNetV2 0.35 FP32", runs=2)
    assert len(measured.layers) == len(layer_shapes(path, "fp32")) == 53
    assert all(x.ms >= 0 for x in measured.layers) and measured.total_ms > 0
    assert {x.kernel_precision for x in measured.layers} == {"fp32"}
