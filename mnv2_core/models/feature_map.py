"""A classifier cut at its last feature map: the body (image -> [N, C, h, w] map) and the head (map -> logits).

Where the head is global average pooling and one linear layer (MobileNetV2, ResNet, EfficientNet), the class
activation map of class c (CAM, Zhou et al., CVPR 2016) is ReLU(sum_k w_ck A_k) with w_c the linear layer's row:
exactly Grad-CAM at that map, from the forward pass alone. LeNet-5's head is an MLP, so its map needs Grad-CAM's
gradients, through the head only.
"""

from __future__ import annotations

import torch
from torch import nn

_POOLS = (nn.AdaptiveAvgPool2d,)
_PASSIVE = (nn.Flatten, nn.Dropout, nn.Identity)  # layers that change nothing at inference (Dropout in eval)


def split_at_feature_map(model: nn.Module) -> tuple[nn.Module, nn.Module]:
    """(body, head) sharing ``model``'s modules, with ``head(body(x)) == model(x)``."""
    from torchvision.models import EfficientNet, ResNet

    if isinstance(model, ResNet):
        body = nn.Sequential(model.conv1, model.bn1, model.relu, model.maxpool, model.layer1, model.layer2,
                             model.layer3, model.layer4)
        return body, nn.Sequential(model.avgpool, nn.Flatten(1), model.fc)
    if isinstance(model, EfficientNet):
        return model.features, nn.Sequential(model.avgpool, nn.Flatten(1), model.classifier)
    if hasattr(model, "forward_features"):  # our MobileNetV2: features, global average pool, classifier
        return model.features, nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1), model.classifier)
    if isinstance(getattr(model, "features", None), nn.Module) and isinstance(getattr(model, "classifier", None),
                                                                                nn.Module):
        return model.features, model.classifier  # LeNet-5: the classifier flattens the map itself
    raise ValueError(f"{type(model).__name__} has no feature map this project knows how to cut at")


def cam_weights(head: nn.Module) -> torch.Tensor | None:
    """The linear layer's weight [classes, C] where ``head`` is global average pooling then one linear layer (CAM
    is then exact); None for any other head."""
    layers = [m for m in head.modules() if not isinstance(m, nn.Sequential)]
    linears = [m for m in layers if isinstance(m, nn.Linear)]
    pooled = any(isinstance(m, _POOLS) and m.output_size in (1, (1, 1)) for m in layers)
    if len(linears) != 1 or layers[-1] is not linears[0] or not pooled:
        return None
    if not all(isinstance(m, _POOLS + _PASSIVE) for m in layers[:-1]):
        return None
    return linears[0].weight.detach()


class WithFeatureMap(nn.Module):
    """``model`` answering (logits, last feature map) from one forward pass; exported with both outputs, so that
    every engine returns the map the heat map is made of."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.body, self.head = split_at_feature_map(model)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)
        return self.head(features), features
