"""Quantization-aware fine-tuning for the shipped INT8 models: teach the float weights to survive INT8 rounding.

Post-training quantization of the narrow MobileNetV2s loses agreement with FP32 everywhere at once: measured on
the 0.35 with U8S8-RR, keeping any single block in float recovered at most 2.6 points of the 15 lost. So the network
is fine-tuned with the rounding in the loop (Jacob et al. 2018, "Quantization and Training of Neural Networks for
Efficient Integer-Arithmetic-Only Inference"; gradients pass the rounding straight through), to agree with its own
FP32 self (distillation from a frozen copy), then quantized by ONNX Runtime as before.

The fake quantization mirrors the shipped QDQ format (:data:`mnv2_core.runtime.int8_onnx.FORMAT`):
- weights per output channel, symmetric, 7 bits (reduce_range). With BatchNorm frozen this equals quantizing the
  BN-folded weights that ONNX Runtime sees, since folding scales each output channel by a constant;
- activations per tensor, asymmetric uint8, with running min/max ranges, wherever the QDQ graph quantizes: the
  input, every conv + BN (+ ReLU6) output, every residual sum, the classifier's input and output.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import parametrize

from mnv2_core.images.views import Preprocess

WEIGHT_QMIN, WEIGHT_QMAX = -64, 63  # 7-bit signed weights (reduce_range)


class _WeightFakeQuant(nn.Module):
    """Per-output-channel symmetric fake quantization of a weight tensor."""

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        scale = w.detach().abs().flatten(1).amax(1).clamp_min(1e-8) / WEIGHT_QMAX
        zero = torch.zeros_like(scale, dtype=torch.int32)
        return torch.fake_quantize_per_channel_affine(w, scale, zero, 0, WEIGHT_QMIN, WEIGHT_QMAX)


class _ActivationFakeQuant:
    """Per-tensor asymmetric uint8 fake quantization with a running min/max (which always spans 0)."""

    def __init__(self, momentum: float = 0.05) -> None:
        self.low: float | None = None
        self.high: float | None = None
        self.momentum = momentum

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        low, high = min(float(x.detach().min()), 0.0), max(float(x.detach().max()), 0.0)
        if self.low is None:
            self.low, self.high = low, high
        else:
            self.low += self.momentum * (low - self.low)
            self.high += self.momentum * (high - self.high)
        scale = max(self.high - self.low, 1e-8) / 255.0
        zero = int(min(max(round(-self.low / scale), 0), 255))
        return torch.fake_quantize_per_tensor_affine(x, scale, zero, 0, 255)


def _quantization_points(model: nn.Module) -> list[tuple[nn.Module, str]]:
    """(module, "input" | "output") for every tensor the QDQ graph quantizes (see the module docstring)."""
    from mnv2_core.models.mobilenetv2 import ConvBNActivation, InvertedResidual

    points: list[tuple[nn.Module, str]] = [(model, "input")]
    for module in model.modules():
        if isinstance(module, ConvBNActivation):
            points.append((module, "output"))
        elif isinstance(module, InvertedResidual):
            points.append((module.conv[-1], "output"))  # the linear projection's BN
            if module.use_res_connect:
                points.append((module, "output"))
    linear = model.classifier[-1]
    return points + [(linear, "input"), (linear, "output")]


@dataclass
class FakeQuantized:
    """A model with fake quantization attached; :meth:`remove` leaves it a plain float model (trained weights)."""

    model: nn.Module
    handles: list[Any]

    def remove(self) -> nn.Module:
        for handle in self.handles:
            handle.remove()
        for module in self.model.modules():
            if parametrize.is_parametrized(module, "weight"):
                parametrize.remove_parametrizations(module, "weight", leave_parametrized=False)
        return self.model


def fake_quantize(model: nn.Module) -> FakeQuantized:
    """Attach weight and activation fake quantization to a MobileNetV2 (in place)."""
    handles = []
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            parametrize.register_parametrization(module, "weight", _WeightFakeQuant())
    for module, where in _quantization_points(model):
        quant = _ActivationFakeQuant()
        if where == "input":
            handles.append(module.register_forward_pre_hook(lambda m, args, q=quant: (q(args[0]), *args[1:])))
        else:
            handles.append(module.register_forward_hook(lambda m, args, out, q=quant: q(out)))
    return FakeQuantized(model, handles)


@dataclass(frozen=True)
class QatConfig:
    """A short fine-tune: distillation from the frozen FP32 model, AdamW, cosine decay, BN frozen."""

    steps: int = 300
    batch_size: int = 32
    lr: float = 2e-5
    photos: int = 2048  # training photos, spread over the classes
    temperature: float = 1.0
    seed: int = 0


def qat_finetune(model: nn.Module, samples: list[tuple[Path, int]], preprocess: Preprocess,
                 cfg: QatConfig = QatConfig(), *, log: Callable[[str], None] = print) -> tuple[nn.Module, dict]:
    """A copy of ``model`` fine-tuned with INT8 rounding in the loop to match ``model``'s outputs; and a summary."""
    import time

    from mnv2_core.images.augment import load_bank, train_batch
    from mnv2_core.images.flowers import spread_over_classes

    started = time.perf_counter()
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    teacher = copy.deepcopy(model).eval()
    student = copy.deepcopy(model).eval()  # eval: BN keeps the running statistics ONNX Runtime folds in
    for p in teacher.parameters():
        p.requires_grad_(False)
    bank = load_bank(spread_over_classes(samples, cfg.photos), preprocess.resize, desc="QAT photos")
    attached = fake_quantize(student)
    params = [p for p in student.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    losses = []
    for step in range(cfg.steps):
        for group in optimizer.param_groups:
            group["lr"] = cfg.lr * 0.5 * (1 + math.cos(math.pi * step / cfg.steps))
        index = torch.randint(len(bank), (cfg.batch_size,), generator=gen)
        x = preprocess.normalize(train_batch(bank, index, preprocess.resolution, gen))
        with torch.no_grad():
            target = F.log_softmax(teacher(x) / cfg.temperature, 1)
        loss = F.kl_div(F.log_softmax(student(x) / cfg.temperature, 1), target, reduction="batchmean",
                        log_target=True)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
        if (step + 1) % 50 == 0 or step == 0:
            log(f"QAT step {step + 1}/{cfg.steps}: KL to FP32 {sum(losses[-50:]) / len(losses[-50:]):.4f}")
    tuned = attached.remove().eval()
    summary = {"steps": cfg.steps, "batch_size": cfg.batch_size, "lr": cfg.lr, "photos": len(bank),
               "temperature": cfg.temperature, "first_kl": losses[0], "last_kl": sum(losses[-50:]) / len(losses[-50:]),
               "seconds": round(time.perf_counter() - started, 1)}
    return tuned, summary
