"""Counting what a model costs: parameters, MACs, per-layer and per-block tables, and the depthwise separable cost
of the paper's Section 3.1 (activation memory: :mod:`mnv2_core.measure.memory`).

Everything takes any ``nn.Module``, so MobileNetV2, ResNet, EfficientNet and LeNet-5 are counted the same way. MACs
are multiply-adds of convolutions and linear layers only (what papers publish): ``FlopCounterMode`` total / 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import nn

from mnv2_core.measure.probe import BenchError, Resolution, check_runs, eval_mode, example_input


def count_params(model: nn.Module) -> int:
    """Number of parameters (trainable or not; buffers such as BN running stats are not parameters)."""
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, resolution: Resolution, in_channels: int = 3) -> int:
    """Multiply-accumulates for one image (batch 1): ``FlopCounterMode`` total FLOPs / 2, eval mode, no grad.

    FlopCounterMode counts convolutions and matrix products (not BN, activations, pooling or adds), which is the
    convention behind the published MACs (300M for MobileNetV2 1.0 at 224).
    """
    from torch.utils.flop_counter import FlopCounterMode

    x = example_input(resolution, in_channels, model)
    counter = FlopCounterMode(display=False)
    with eval_mode(model), torch.no_grad(), counter:
        check_runs(model, x)
    return int(counter.get_total_flops()) // 2


@dataclass(frozen=True)
class LayerRow:
    """One executed layer (or block): shapes without the batch dimension, own params, conv/linear MACs, output bytes."""

    index: int
    name: str
    kind: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    params: int
    macs: int
    activation_bytes: int


def _layer_kind(module: nn.Module) -> str:
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        parts = [f"Conv2d {kh}x{kw}"]
        if module.groups > 1:
            depthwise = module.groups == module.in_channels
            parts.append("dw" if depthwise else f"g{module.groups}")
        stride = module.stride[0] if module.stride[0] == module.stride[1] else "x".join(map(str, module.stride))
        if (kh, kw) != (1, 1) or stride != 1:
            parts.append(f"s{stride}")
        return " ".join(parts)
    return type(module).__name__


def _layer_macs(module: nn.Module, out: torch.Tensor) -> int:
    """Analytic MACs, the same convention as FlopCounterMode/2 (bias adds are not counted)."""
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        per_output = (module.in_channels // module.groups) * kh * kw
        return out.numel() // out.shape[0] * per_output
    if isinstance(module, nn.Linear):
        rows = out.numel() // out.shape[0] // module.out_features  # >1 when Linear runs on a sequence
        return rows * module.in_features * module.out_features
    return 0


def _first_tensor(value: object) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (tuple, list)) and value:
        return _first_tensor(value[0])
    return None


@dataclass
class _Call:
    name: str
    module: nn.Module
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    out_numel: int
    macs: int


def trace_calls(model: nn.Module, resolution: Resolution, in_channels: int,
           modules: Sequence[tuple[str, nn.Module]]) -> list[_Call]:
    """Run one batch-1 forward pass and record each call of the given modules, in execution order."""
    calls: list[_Call] = []

    def hook(name: str) -> Callable:
        def record(module: nn.Module, args: tuple, output: object) -> None:
            inp, out = _first_tensor(args), _first_tensor(output)
            if out is None:
                return
            calls.append(_Call(name, module, tuple(inp.shape[1:]) if inp is not None else (), tuple(out.shape[1:]),
                               out.numel() // out.shape[0], _layer_macs(module, out)))
        return record

    handles = [m.register_forward_hook(hook(n)) for n, m in modules]
    x = example_input(resolution, in_channels, model)
    try:
        with eval_mode(model), torch.no_grad():
            check_runs(model, x)
    finally:
        for h in handles:
            h.remove()
    return calls


def layer_table(model: nn.Module, resolution: Resolution, *, in_channels: int = 3,
                leaf_types: tuple[type[nn.Module], ...] = (nn.Conv2d, nn.Linear),
                bytes_per_value: int = 4) -> list[LayerRow]:
    """One row per executed module of ``leaf_types`` (default: every conv and linear layer), in execution order.

    ``params`` are the module's own (weight + bias; BN is a separate module), ``macs`` are analytic for Conv2d
    (out_h*out_w*out_c*(in_c/groups)*kh*kw) and Linear (in*out), and ``activation_bytes`` is the output tensor's size
    at ``bytes_per_value`` bytes per number (4 = fp32, 2 = fp16, 1 = int8).
    """
    leaves = [(n, m) for n, m in model.named_modules() if isinstance(m, leaf_types)]
    return [LayerRow(i, c.name, _layer_kind(c.module), c.in_shape, c.out_shape, count_params(c.module), c.macs,
                     c.out_numel * bytes_per_value)
            for i, c in enumerate(trace_calls(model, resolution, in_channels, leaves))]


def block_kind(module: nn.Module) -> str:
    # Duck-typed on our InvertedResidual's attributes so torchvision's MobileNetV2 gets the same labels where it can.
    if hasattr(module, "use_res_connect") and hasattr(module, "stride"):
        t = getattr(module, "expand_ratio", None)
        label = f"bottleneck t={t:g} s={module.stride}" if t is not None else f"bottleneck s={module.stride}"
        return label + (" (residual)" if module.use_res_connect else "")
    convs = [m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    if len(convs) == 1:
        return _layer_kind(convs[0])
    return type(module).__name__


def block_table(model: nn.Module, resolution: Resolution, *, in_channels: int = 3,
                bytes_per_value: int = 4) -> list[LayerRow]:
    """One row per child of ``model.features`` (stem, each bottleneck, last conv) plus ``model.classifier``.

    Made for MobileNetV2 (ours or torchvision's; EfficientNet has the same shape); any other model gets one row per
    top-level child. ``params`` include BN, so the rows sum to :func:`count_params`; ``macs`` are the block's
    conv + linear MACs; ``activation_bytes`` is the block's output size.
    """
    features = getattr(model, "features", None)
    classifier = getattr(model, "classifier", None)
    if isinstance(features, nn.Sequential) and isinstance(classifier, nn.Module):
        blocks = [(f"features.{n}", m) for n, m in features.named_children()] + [("classifier", classifier)]
    else:
        blocks = list(model.named_children())
    block_ids = {id(m) for _, m in blocks}
    leaves = [(n, m) for n, m in model.named_modules()
              if isinstance(m, (nn.Conv2d, nn.Linear)) and id(m) not in block_ids]
    calls = trace_calls(model, resolution, in_channels, blocks + leaves)  # one forward pass records both
    block_calls = [c for c in calls if id(c.module) in block_ids]
    leaf_calls = [c for c in calls if id(c.module) not in block_ids]
    rows = []
    for i, c in enumerate(block_calls):
        prefix = c.name + "."
        macs = c.macs + sum(leaf.macs for leaf in leaf_calls if leaf.name.startswith(prefix))
        rows.append(LayerRow(i, c.name, block_kind(c.module), c.in_shape, c.out_shape, count_params(c.module),
                             macs, c.out_numel * bytes_per_value))
    return rows


def depthwise_separable_cost(k: int, c_in: int, c_out: int, h: int = 1, w: int = 1) -> dict:
    """Standard k x k conv vs depthwise k x k + pointwise 1x1 (no bias), for an h x w output (paper Section 3.1).

    Standard: h*w*d_i*d_j*k^2 MACs; separable: h*w*d_i*(k^2 + d_j). ``ratio`` is standard / separable (how many
    times cheaper), which is k^2*d_j/(k^2 + d_j): about 8-9x for k = 3.
    """
    if min(k, c_in, c_out, h, w) < 1:
        raise BenchError("Kernel size, channels and spatial size must all be at least 1.")
    standard_params = k * k * c_in * c_out
    depthwise_params = k * k * c_in
    pointwise_params = c_in * c_out
    separable_params = depthwise_params + pointwise_params
    return {
        "standard_params": standard_params,
        "depthwise_params": depthwise_params,
        "pointwise_params": pointwise_params,
        "separable_params": separable_params,
        "standard_macs": h * w * standard_params,
        "separable_macs": h * w * separable_params,
        "ratio": standard_params / separable_params,
    }
