"""MobileNetV2 taken apart: its anatomy's layers, blocks, counts and peak memory add up to the whole model."""

from __future__ import annotations

from mnv2_core.measure import counts, memory
from mnv2_core.models import mobilenet_v2


def test_anatomy_of_mobilenet_v2_adds_up_to_the_whole_model() -> None:
    from mnv2_core.measure.stages import anatomy

    parts = anatomy(0.35, 96)
    model = mobilenet_v2(0.35)
    assert parts.params == counts.count_params(model) and parts.macs == counts.count_macs(model, 96)
    assert sum(r["macs"] for r in parts.layers) == parts.macs
    assert parts.blocks[0]["in_shape"] == "3 x 96 x 96" and all("activation_kb" in r for r in parts.blocks)
    assert parts.peak_activation_bytes == memory.peak_activation_memory(model, 96)
