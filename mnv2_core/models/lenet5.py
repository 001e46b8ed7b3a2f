"""LeNet-5 (LeCun, Bottou, Bengio, Haffner, "Gradient-based learning applied to document recognition", 1998).

conv5x5(6) - pool - conv5x5(16) - pool - fc120 - fc84 - fcN on a 32x32 input. Kept as the small baseline the
benchmark compares against. Differences from 1998, on purpose: ReLU instead of scaled tanh, max pooling instead of
trainable subsampling, full C3 connectivity and a linear output instead of RBF units; RGB input for flowers.
"""

from __future__ import annotations

import torch
from torch import nn

INPUT_SIZE = 32


class LeNet5(nn.Module):
    """LeNet-5 for ``in_channels`` x 32 x 32 images."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5), nn.ReLU(inplace=True), nn.MaxPool2d(2),  # C1, S2: 32 -> 28 -> 14
            nn.Conv2d(6, 16, 5), nn.ReLU(inplace=True), nn.MaxPool2d(2),  # C3, S4: 14 -> 10 -> 5
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(inplace=True),  # C5
            nn.Linear(120, 84), nn.ReLU(inplace=True),  # F6
            nn.Linear(84, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def lenet5(num_classes: int = 10, in_channels: int = 3) -> LeNet5:
    """Build LeNet-5."""
    return LeNet5(num_classes=num_classes, in_channels=in_channels)
