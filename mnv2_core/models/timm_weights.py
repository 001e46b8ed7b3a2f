"""timm's ImageNet MobileNetV2 weights (0.5, 1.0, 1.4) in our MobileNetV2.

timm is the one library with ImageNet MobileNetV2 weights at more than one width. Its model is the same network
under other names (``conv_stem``/``blocks``/``conv_head`` for torchvision's ``features``), and its channel rounding
gives torchvision's shapes at these widths, so the state_dict maps by module order: the i-th tensor of timm's goes to
the i-th of ours, each pair checked for the same role (weight, bias, running stats) and the same shape. (A
safetensors file keeps no module order, so timm's own model, built without weights, gives it; BN's
``num_batches_tracked`` counters, which some files leave out, play no part in inference and are skipped.) The weights live
on the Hugging Face hub (``timm/<name>.<tag>``, file ``model.safetensors``) and are cached by ``huggingface_hub``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from mnv2_core.images.views import Preprocess

# width -> timm's model name and pretrained tag; 0.35 and 0.75 have no ImageNet weights in timm
TIMM_MODELS: dict[float, str] = {0.5: "mobilenetv2_050.lamb_in1k", 1.0: "mobilenetv2_100.ra_in1k",
                                 1.4: "mobilenetv2_140.ra_in1k"}
WEIGHTS_FILE = "model.safetensors"


class TimmMappingError(ValueError):
    """timm's state_dict does not fit our MobileNetV2 at this width; the message says where."""


def hub_repo(width: float) -> str:
    """The Hugging Face repository of timm's weights at ``width``."""
    return f"timm/{TIMM_MODELS[width]}"


def _weights_only(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}


def timm_state_to_ours(state: dict[str, torch.Tensor], ours: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """timm's MobileNetV2 state_dict (in module order) under our keys, every pair's role and shape checked."""
    state, ours = _weights_only(state), _weights_only(ours)
    if len(state) != len(ours):
        raise TimmMappingError(f"timm's MobileNetV2 has {len(state)} tensors, ours {len(ours)}.")
    mapped = {}
    for (theirs, tensor), (key, target) in zip(state.items(), ours.items()):
        if theirs.rsplit(".", 1)[-1] != key.rsplit(".", 1)[-1] or tensor.shape != target.shape:
            raise TimmMappingError(f"timm's {theirs} {tuple(tensor.shape)} does not fit our {key} "
                                   f"{tuple(target.shape)}.")
        mapped[key] = tensor
    return mapped


def timm_preprocess(pretrained_cfg: dict[str, Any]) -> Preprocess:
    """The preprocessing timm publishes with a model's weights (its pretrained_cfg), as ours."""
    return Preprocess(int(pretrained_cfg["input_size"][-1]), float(pretrained_cfg["crop_pct"]),
                      tuple(pretrained_cfg["mean"]), tuple(pretrained_cfg["std"]),
                      str(pretrained_cfg["interpolation"]))


def pretrained_cfg(width: float) -> dict[str, Any]:
    """timm's published configuration of the weights at ``width`` (no download: it ships with timm)."""
    import timm

    return dict(timm.models.get_pretrained_cfg(TIMM_MODELS[width]).to_dict())


def cached_file(width: float) -> Path | None:
    """The weights file in the Hugging Face cache, or None."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(hub_repo(width), WEIGHTS_FILE)
    return Path(found) if isinstance(found, str) else None


def download(width: float) -> Path:
    """Download (or find in the cache) timm's weights at ``width``; raises OSError offline."""
    from huggingface_hub import hf_hub_download

    return Path(hf_hub_download(hub_repo(width), WEIGHTS_FILE))


def load_timm_weights(model: torch.nn.Module, path: Path, width: float) -> None:
    """Load timm's safetensors file at ``path`` (timm's MobileNetV2 at ``width``) into our ``model``."""
    import timm
    from safetensors.torch import load_file

    stored = load_file(str(path))
    order = _weights_only(timm.create_model(TIMM_MODELS[width].split(".")[0], pretrained=False).state_dict())
    missing = [k for k in order if k not in stored]
    if missing:
        raise TimmMappingError(f"timm's weights file lacks {missing[0]} (and {len(missing) - 1} more).")
    result = model.load_state_dict(timm_state_to_ours({k: stored[k] for k in order}, model.state_dict()),
                                   strict=False)
    if result.unexpected_keys or any(not k.endswith("num_batches_tracked") for k in result.missing_keys):
        raise TimmMappingError(f"timm's weights left {result.missing_keys[:1] or result.unexpected_keys[:1]} "
                               f"unmapped.")


def fits(name: str, width: float | None) -> bool:
    """Whether timm publishes ImageNet weights for this model and width (MobileNetV2 at :data:`TIMM_MODELS`)."""
    return name == "mobilenet_v2" and width in TIMM_MODELS
