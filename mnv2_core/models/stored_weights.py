"""How a checkpoint's tensors are stored on disk: fp16, or per-channel int8 with fp16 scales for large networks.

fp16 halves a float32 checkpoint and rarely moves top-1. A network whose fp16 file is still over the repository's
limit (ResNet18 and ResNet50) keeps each convolution and linear weight as int8 with one fp16 scale per output
channel (symmetric, scale = max |w| / 127), and everything else (biases, BatchNorm) in fp16; loading multiplies the
scales back. This compresses only the file: the loaded model is float32 like any other.
"""

from __future__ import annotations

import torch

FP16, INT8 = "fp16", "int8-per-channel"
SCALES_KEY = "int8_scales"  # beside "state_dict" in an int8 checkpoint: {name: fp16 scale per output channel}


def _per_channel(tensor: torch.Tensor) -> bool:
    # Convolution and linear weights; BN, biases and scalars stay fp16 (small, and sensitive to rounding).
    return tensor.is_floating_point() and tensor.dim() >= 2


def pack(state: dict[str, torch.Tensor], storage: str) -> dict[str, dict[str, torch.Tensor]]:
    """A float state dict as stored: ``{"state_dict": ...}`` plus, for int8, ``{SCALES_KEY: ...}``."""
    if storage == FP16:
        return {"state_dict": {k: v.half() if v.is_floating_point() else v for k, v in state.items()}}
    if storage != INT8:
        raise ValueError(f"unknown weight storage {storage!r}; choose {FP16} or {INT8}")
    packed, scales = {}, {}
    for name, value in state.items():
        if not _per_channel(value):
            packed[name] = value.half() if value.is_floating_point() else value
            continue
        flat = value.detach().float().reshape(value.shape[0], -1)
        scale = (flat.abs().amax(1) / 127).clamp_min(1e-12).half()
        packed[name] = torch.round(flat / scale.float()[:, None]).clamp_(-127, 127).to(torch.int8).reshape(value.shape)
        scales[name] = scale
    return {"state_dict": packed, SCALES_KEY: scales}


def unpack(blob: dict) -> dict[str, torch.Tensor]:
    """The float32 state dict of a loaded checkpoint blob, whichever storage wrote it."""
    scales = blob.get(SCALES_KEY) or {}
    state = {}
    for name, value in blob["state_dict"].items():
        if name in scales:
            shape = (-1,) + (1,) * (value.dim() - 1)
            state[name] = value.float() * scales[name].float().reshape(shape)
        else:
            state[name] = value.float() if value.is_floating_point() else value
    return state


def storage_of(blob: dict) -> str:
    return INT8 if blob.get(SCALES_KEY) else FP16
