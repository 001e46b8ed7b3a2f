"""A MobileNetV2's layers by their role (blocks, expansion, depthwise, projection) and BatchNorm arithmetic: what
pruning and widening read and write."""

from __future__ import annotations

import torch
from torch import nn

from mnv2_core.models.mobilenetv2 import ConvBNActivation, InvertedResidual, MobileNetV2


def stage_of_blocks(model: MobileNetV2) -> list[int]:
    """The Table 2 stage (0..6) of each of the 17 inverted residual blocks."""
    return [stage for stage, spec in enumerate(model.stages) for _ in range(spec.n)]


def inverted_residuals(model: MobileNetV2) -> list[InvertedResidual]:
    return [m for m in model.features if isinstance(m, InvertedResidual)]


def projection(block: InvertedResidual) -> tuple[nn.Conv2d, nn.BatchNorm2d]:
    convs = [m for m in block.conv if isinstance(m, nn.Conv2d)]
    bns = [m for m in block.conv if isinstance(m, nn.BatchNorm2d)]
    return convs[-1], bns[-1]


def depthwise(block: InvertedResidual) -> ConvBNActivation:
    return [m for m in block.conv if isinstance(m, ConvBNActivation)][-1]


def expansion(block: InvertedResidual) -> ConvBNActivation | None:
    layers = [m for m in block.conv if isinstance(m, ConvBNActivation)]
    return layers[0] if len(layers) == 2 else None


def bn_scale(bn: nn.BatchNorm2d) -> torch.Tensor:
    return bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)


def set_affine(bn: nn.BatchNorm2d, bias: torch.Tensor) -> None:
    """Make ``bn`` compute ``x + bias`` in eval mode (the refit weights live in the conv before it)."""
    with torch.no_grad():
        bn.running_mean.zero_()
        bn.running_var.fill_(1.0)
        bn.weight.fill_(float(torch.sqrt(torch.tensor(1.0 + bn.eps))))
        bn.bias.copy_(bias)
