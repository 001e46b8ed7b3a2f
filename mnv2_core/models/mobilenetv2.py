"""MobileNetV2, written from the paper.

Sandler, Howard, Zhu, Zhmoginov, Chen. "MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018
(arXiv:1801.04381). Module names and order follow torchvision's ``mobilenet_v2`` so that its state_dict loads
into ours with ``strict=True`` and gives the same outputs; ``tests/test_mobilenetv2.py`` checks this at every width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["StageSpec", "PAPER_TABLE_2", "make_divisible", "ConvBNActivation", "InvertedResidual", "MobileNetV2", "mobilenet_v2"]

Padding = Literal["symmetric", "tf_same"]


@dataclass(frozen=True)
class StageSpec:
    """One row of the paper's Table 2: expansion t, output channels c, repeats n, first stride s."""

    t: int
    c: int
    n: int
    s: int


# Table 2 of the paper: the bottleneck stages between the first 3x3 conv (32 channels) and the last 1x1 conv (1280).
PAPER_TABLE_2: tuple[StageSpec, ...] = (
    StageSpec(1, 16, 1, 1),
    StageSpec(6, 24, 2, 2),
    StageSpec(6, 32, 3, 2),
    StageSpec(6, 64, 4, 2),
    StageSpec(6, 96, 3, 1),
    StageSpec(6, 160, 3, 2),
    StageSpec(6, 320, 1, 1),
)
FIRST_CHANNELS = 32
LAST_CHANNELS = 1280


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round channels to a multiple of ``divisor`` without going more than 10% below ``value``.

    The paper scales every layer by the width multiplier; the reference implementation rounds to multiples of 8
    so that channels map well onto SIMD lanes.
    """
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


class TFSamePadConv2d(nn.Conv2d):
    """Conv2d with TensorFlow's 'SAME' padding: the extra pixel of an even-sized strided input goes right/bottom.

    Needed for weights trained in TensorFlow (the official TFLite MobileNetV2): symmetric padding shifts every
    strided layer by one pixel and changes the predictions.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads: list[int] = []
        for size, k, s, d in zip(reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride),
                                 reversed(self.dilation)):
            total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
            pads += [total // 2, total - total // 2]
        return self._conv_forward(F.pad(x, pads), self.weight, self.bias)


class ConvBNActivation(nn.Sequential):
    """Conv -> BatchNorm -> activation (indices 0, 1, 2 as in torchvision's Conv2dNormActivation)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, groups: int = 1,
                 activation: type[nn.Module] | None = nn.ReLU6, padding: Padding = "symmetric") -> None:
        if padding == "tf_same" and stride > 1:
            conv: nn.Conv2d = TFSamePadConv2d(in_channels, out_channels, kernel_size, stride, 0, groups=groups, bias=False)
        else:
            conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, (kernel_size - 1) // 2, groups=groups,
                             bias=False)
        layers: list[nn.Module] = [conv, nn.BatchNorm2d(out_channels)]
        if activation is not None:
            layers.append(activation(inplace=True))
        super().__init__(*layers)
        self.out_channels = out_channels


class InvertedResidual(nn.Module):
    """The bottleneck residual block of the paper's Table 1 and Figure 3b.

    A 1x1 expansion to ``t * in`` channels with ReLU6, a 3x3 depthwise conv with stride ``s`` and ReLU6, then a
    *linear* 1x1 projection (no activation, Section 3.2: ReLU in the low-dimensional bottleneck destroys
    information). The shortcut joins the thin bottlenecks (Section 3.3) and exists only when the stride is 1 and the
    channel counts match.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int,
                 activation: type[nn.Module] = nn.ReLU6, residual: bool = True, linear_bottleneck: bool = True,
                 padding: Padding = "symmetric") -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        self.stride = stride
        self.expand_ratio = expand_ratio
        hidden = int(round(in_channels * expand_ratio))
        self.use_res_connect = residual and stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expand_ratio != 1:  # t = 1 (the first block) has no expansion conv, as in the reference code
            layers.append(ConvBNActivation(in_channels, hidden, kernel_size=1, activation=activation))
        layers += [
            ConvBNActivation(hidden, hidden, stride=stride, groups=hidden, activation=activation, padding=padding),
            nn.Conv2d(hidden, out_channels, 1, 1, 0, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        if not linear_bottleneck:  # ablation of Section 3.2 / Figure 6a; adds no parameters
            layers.append(activation(inplace=False))
        self.conv = nn.Sequential(*layers)
        self.in_channels = in_channels
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNetV2 (paper Table 2): a 3x3 stem, 17 inverted residual blocks, a 1x1 conv to 1280, pool, classifier.

    ``width`` (torchvision: ``width_mult``) scales every layer's channels (Section 6.1), rounded by :func:`make_divisible`; the last conv
    keeps 1280 channels for multipliers below 1 (Appendix/Section 6.1: "we apply width multiplier to all layers
    except the very last convolutional layer"), which is the reference implementation's ``1280 * max(1, width)``.
    """

    def __init__(self, num_classes: int = 1000, width: float = 1.0, dropout: float = 0.2,
                 stages: tuple[StageSpec, ...] = PAPER_TABLE_2, round_nearest: int = 8,
                 activation: Literal["relu6", "relu"] = "relu6", residual: bool = True, linear_bottleneck: bool = True,
                 padding: Padding = "symmetric") -> None:
        super().__init__()
        act: type[nn.Module] = {"relu6": nn.ReLU6, "relu": nn.ReLU}[activation]
        self.width = width
        self.stages = stages
        in_ch = make_divisible(FIRST_CHANNELS * width, round_nearest)
        self.last_channel = make_divisible(LAST_CHANNELS * max(1.0, width), round_nearest)
        features: list[nn.Module] = [ConvBNActivation(3, in_ch, stride=2, activation=act, padding=padding)]
        for spec in stages:
            out_ch = make_divisible(spec.c * width, round_nearest)
            for i in range(spec.n):
                features.append(InvertedResidual(in_ch, out_ch, spec.s if i == 0 else 1, spec.t, activation=act,
                                                 residual=residual, linear_bottleneck=linear_bottleneck,
                                                 padding=padding))
                in_ch = out_ch
        features.append(ConvBNActivation(in_ch, self.last_channel, kernel_size=1, activation=act))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(self.last_channel, num_classes))
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The backbone: image -> pooled 1280-d (or wider) feature vector."""
        return torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.forward_features(x))


def mobilenet_v2(width: float = 1.0, num_classes: int = 1000, **kwargs) -> MobileNetV2:
    """Build MobileNetV2 with the given width multiplier (0.35, 0.5, 0.75, 1.0 and 1.4 are the paper's)."""
    return MobileNetV2(num_classes=num_classes, width=width, **kwargs)


def conv_layers(model: nn.Module) -> list[tuple[str, torch.nn.Conv2d, str | None, bool]]:
    """Our conv layers in forward order: (name, module, name of the BN that follows, followed by ReLU6?)."""
    modules = dict(model.named_modules())
    result = []
    for name, module in model.named_modules():
        if not isinstance(module, nn.Conv2d):
            continue
        parent, _, index = name.rpartition(".")
        siblings = modules[parent]
        bn_name = f"{parent}.{int(index) + 1}"
        act = siblings[int(index) + 2] if len(siblings) > int(index) + 2 else None
        result.append((name, module, bn_name, isinstance(act, nn.ReLU6)))
    return result


def padding_of(model: nn.Module) -> Padding:
    """How the model pads its strided convs: "tf_same" for weights from TensorFlow, else "symmetric"."""
    return "tf_same" if any(isinstance(m, TFSamePadConv2d) for m in model.modules()) else "symmetric"
