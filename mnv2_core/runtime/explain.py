"""Where the model looked, from the last feature map of the forward pass that answered: CAM where the head is global
average pooling and one linear layer (exactly Grad-CAM there; :mod:`mnv2_core.models.feature_map`), Grad-CAM
(Selvaraju et al., ICCV 2017) through the head alone where it is not (LeNet-5)."""

from __future__ import annotations

import threading
import weakref

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F


def cam_layer(model: nn.Module) -> nn.Module:
    """The module whose output is the last spatial feature map (MobileNetV2/EfficientNet/LeNet 'features', ResNet 'layer4')."""
    for attr in ("features", "layer4"):
        if isinstance(getattr(model, attr, None), nn.Module):
            return getattr(model, attr)
    raise ValueError(f"no feature map to explain in {type(model).__name__}")


# Callers may share one model (the tests check it from many threads), and a forward hook fires for every caller:
# one lock per model keeps each Grad-CAM's hook to its own forward pass.
_LOCKS: weakref.WeakKeyDictionary[nn.Module, threading.Lock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def _lock_for(model: nn.Module) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(model, threading.Lock())


def grad_cam(model: nn.Module, x: torch.Tensor, target: int) -> np.ndarray:
    """A [H, W] map in [0, 1] at the input's resolution: ReLU of the gradient-weighted sum of feature channels, with
    a backward pass through the whole model. The app answers with :func:`heat_map`; this is the reference it is
    tested against. Safe to call from many threads on one shared model."""
    with _lock_for(model):
        return _grad_cam(model, x, target)


def _grad_cam(model: nn.Module, x: torch.Tensor, target: int) -> np.ndarray:
    layer = cam_layer(model)
    captured: dict[str, torch.Tensor] = {}

    def keep(_module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        captured["a"] = output

    handle = layer.register_forward_hook(keep)
    try:
        with torch.enable_grad():
            logits = model(x.detach())
            act = captured["a"]
            (grad,) = torch.autograd.grad(logits[0, target], act)
    finally:
        handle.remove()
    return _weighted_map(act.detach(), grad.mean(dim=(2, 3)), x.shape[-1])


def _weighted_map(features: torch.Tensor, weights: torch.Tensor, size: int) -> np.ndarray:
    """ReLU(sum_k weights_k A_k) for [1, C, h, w] features and [1, C] weights, at ``size`` px, peak 1."""
    cam = F.relu((weights[:, :, None, None] * features.float()).sum(dim=1, keepdim=True))
    cam = F.interpolate(cam, size=(size, size), mode="bilinear", align_corners=False)[0, 0]
    peak = cam.max()
    return (cam / peak).numpy() if peak > 0 else cam.numpy()


def heat_map(features: torch.Tensor, head: nn.Module, target: int, size: int) -> np.ndarray:
    """The [size, size] map in [0, 1] for class ``target`` from a forward pass's last feature map: CAM from the
    head's linear weights where it is exact, else Grad-CAM through ``head`` alone (a backward pass through a few
    small layers, on this call's own tensors: no hook, no lock)."""
    from mnv2_core.models.feature_map import cam_weights

    weights = cam_weights(head)
    if weights is not None:
        return _weighted_map(features, weights[target:target + 1].float(), size)
    with torch.enable_grad():
        act = features.detach().float().clone().requires_grad_(True)  # an inference-mode tensor cannot take grad
        (grad,) = torch.autograd.grad(head(act)[0, target], act)
    return _weighted_map(act.detach(), grad.mean(dim=(2, 3)), size)


def hottest(heat: np.ndarray) -> tuple[int, int]:
    """(x, y) of the heat map's strongest point, in pixels of the model's view."""
    y, x = np.unravel_index(int(np.argmax(heat)), heat.shape)
    return int(x), int(y)


def overlay(image: Image.Image, heat: np.ndarray, alpha: float = 0.45) -> Image.Image:
    """The photo lit where the model looked: parts it did not use dimmed, the hottest tinted red (the dimming keeps
    the map readable on a red flower, where a red tint alone would vanish)."""
    heat = np.clip(heat, 0.0, 1.0)[..., None]
    colour = np.concatenate([heat, np.clip(1.5 - np.abs(2 * heat - 1) * 1.5, 0, 1) * 0.6, 1.0 - heat], axis=-1)
    base = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    lit = base * (DIM + (1 - DIM) * heat)
    mix = lit * (1 - alpha * heat) + colour * alpha * heat
    return Image.fromarray((np.clip(mix, 0, 1) * 255).astype(np.uint8))


DIM = 0.35  # the brightness left where the heat map is zero
