"""Activation memory at inference: the peak of a chain of blocks, against the paper's Table 3."""

from __future__ import annotations

import pytest
from torch import nn

from mnv2_core.measure import memory
from mnv2_core.models.mobilenetv2 import InvertedResidual


def test_peak_activation_memory_vs_paper_table_3(mnv2_models) -> None:
    model = mnv2_models[1.0]
    profile = memory.activation_memory_profile(model, 224, bytes_per_value=2)
    peak = memory.peak_activation_memory(model, 224)  # 16-bit, as in the paper
    # input + output of the first bottleneck: 32x112x112 in, 16x112x112 out, 2 bytes each
    assert peak == (32 + 16) * 112 * 112 * 2 == 1_204_224
    assert peak == max(r.total_bytes for r in profile)
    # The paper's 400K is the largest single bottleneck tensor (16x112x112 fp16), the stem handled by its trick.
    bottleneck_out = max(r.out_bytes for r in profile if r.kind.startswith("bottleneck"))
    assert bottleneck_out == pytest.approx(400_000, rel=0.01)
    # Narrower networks need less, wider more.
    assert memory.peak_activation_memory(mnv2_models[0.35], 224) < peak < memory.peak_activation_memory(
        mnv2_models[1.4], 224)


def test_inverted_residual_block_is_one_block_of_the_chain() -> None:
    block = nn.Sequential(InvertedResidual(16, 16, 1, 6))
    rows = memory.activation_memory_profile(block, 8, in_channels=16, bytes_per_value=1)
    # The 96-channel expanded tensor is not counted: only the 16-channel input and output.
    assert [(r.in_bytes, r.out_bytes) for r in rows] == [(16 * 64, 16 * 64)]
