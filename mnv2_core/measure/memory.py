"""Activation memory at inference, the paper's Section 5.1 model: blocks run as a chain, so what must exist at
once is one block's input and output."""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import nn

from mnv2_core.measure.counts import block_kind, trace_calls
from mnv2_core.measure.probe import Resolution


@dataclass(frozen=True)
class MemoryRow:
    """Activation memory while one block runs: its input and output must both be held."""

    name: str
    kind: str
    in_bytes: int
    out_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.in_bytes + self.out_bytes


def _chain_blocks(model: nn.Module, prefix: str = "") -> list[tuple[str, nn.Module]]:
    """Unroll plain Sequential containers into their children; anything else is one block of the chain."""
    out: list[tuple[str, nn.Module]] = []
    for name, child in model.named_children():
        full = f"{prefix}{name}"
        if type(child) is nn.Sequential:
            out += _chain_blocks(child, full + ".")
        else:
            out.append((full, child))
    return out


def activation_memory_profile(model: nn.Module, resolution: Resolution, *, in_channels: int = 3,
                              bytes_per_value: int = 2) -> list[MemoryRow]:
    """Per-block input + output bytes when the network runs as a chain of blocks (see peak_activation_memory).

    Blocks are the model's children with plain ``nn.Sequential`` containers unrolled: for our MobileNetV2 that is the
    stem conv, the 17 bottlenecks, the last 1x1 conv, the pooling and the classifier (in execution order).
    """
    blocks = _chain_blocks(model)
    kinds = {n: block_kind(m) for n, m in blocks}
    return [MemoryRow(c.name, kinds[c.name], math.prod(c.in_shape) * bytes_per_value, c.out_numel * bytes_per_value)
            for c in trace_calls(model, resolution, in_channels, blocks)]


def peak_activation_memory(model: nn.Module, resolution: Resolution, bytes_per_value: int = 2, *,
                           in_channels: int = 3) -> int:
    """Peak activation memory in bytes, batch 1: the largest (input + output) of any block in the chain.

    This is the paper's Section 5.1 model of inference memory: blocks run one after another, so at any moment only
    the tensor entering the current block and the one leaving it exist (a residual block keeps its input until the
    add, which is still just its input). The expanded tensor inside a bottleneck is *not* counted: Section 5.1
    computes it in t chunks that never exist all at once. Internal tensors of other models' blocks are likewise not
    counted, which flatters non-MobileNet models. Default 2 bytes per value = the paper's 16-bit activations.

    The paper's Table 3 reports 400K for MobileNetV2 1.0 at 224, which is one tensor, the 16-channel 112x112
    bottleneck (16*112*112*2 = 401,408 bytes); it removes the stem and first block's 32x112x112 tensor with the
    "trick" of Section 5. Counting input + output of every block, as here, gives 1,204,224 bytes (the first
    bottleneck, 32 -> 16 channels at 112x112) for the same network.
    """
    return max(row.total_bytes for row in activation_memory_profile(model, resolution, in_channels=in_channels,
                                                                    bytes_per_value=bytes_per_value))
