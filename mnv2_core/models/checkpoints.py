"""Flower checkpoints on disk: where each ships, how it is written (atomically, fp16 or per-channel int8) and read
(strictly, with its metadata as a :class:`WeightsInfo`)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mnv2_core import config
from mnv2_core.files import atomic_torch_save
from mnv2_core.images.views import Preprocess
from mnv2_core.models import build_model, get_spec, labels, stored_weights
from mnv2_core.models.loaded import ACCURACY_KEYS, PROVENANCE_KEYS, LoadedModel, WeightsError, WeightsInfo
from mnv2_core.models.registry import format_width
from mnv2_core.typed_json import Open, known, rest

MAX_SHIPPED_BYTES = 15_000_000  # the largest fp16 checkpoint this repository ships in assets/
MAX_INT8_SHIPPED_BYTES = 30_000_000  # the largest one stored as per-channel int8 weights (a larger network's)


def checkpoint_preprocess(meta: CheckpointMeta, name: str) -> Preprocess:
    """The preprocessing a checkpoint was trained and scored with (what it does not record, the model's default)."""
    default = Preprocess(get_spec(name).resolution)
    return Preprocess(int(meta.resolution or default.resolution), float(meta.crop_ratio or default.crop_ratio),
                      tuple(meta.mean or default.mean), tuple(meta.std or default.std),
                      str(meta.interpolation or default.interpolation))


def checkpoint_path(name: str, width: float | None, classes: str = "flowers", init: str | None = None) -> Path:
    """Where the checkpoint of (name, width, classes) ships. ``init="scratch"`` names the from-scratch one of a model
    whose default checkpoint is transfer-learned (``mobilenet_v2_1.0_flowers102_scratch.pt``)."""
    spec = get_spec(name)
    suffix = f"_{format_width(width)}" if width is not None and spec.has_widths else ""
    own = "_scratch" if init == "scratch" and spec.flowers_init != "scratch" else ""
    return config.CHECKPOINT_DIR / f"{name}{suffix}_{'flowers102' if classes == 'flowers' else classes}{own}.pt"


def find_checkpoint(name: str, width: float | None, classes: str = "flowers", init: str | None = None) -> Path | None:
    """The shipped checkpoint, else the one trained on this machine (too large for the repository), else None."""
    shipped = checkpoint_path(name, width, classes, init)
    local = config.local_checkpoint_dir() / shipped.name
    return next((p for p in (shipped, local) if p.is_file()), None)


def save_checkpoint(path: Path, model: nn.Module, meta: dict[str, Any], *, storage: str = stored_weights.FP16) -> None:
    """Write ``{"state_dict", "meta"}`` atomically, stored as ``storage`` (:mod:`mnv2_core.models.stored_weights`)."""
    blob = stored_weights.pack(model.state_dict(), storage)
    atomic_torch_save({**blob, "meta": {**meta, "storage": storage}}, path)


@dataclass(frozen=True)
class CheckpointMeta(Open):
    """What a checkpoint says of itself: the model, how to feed it, what it scored here and the run that made it."""

    model: str | None = None
    width: float | None = None
    padding: str | None = None
    resolution: int | None = None
    crop_ratio: float | None = None
    mean: tuple[float, ...] | list[float] | None = None
    std: tuple[float, ...] | list[float] | None = None
    interpolation: str | None = None
    test_top1: float | None = None
    test_top5: float | None = None
    test_phone_top1: float | None = None
    test_phone_top5: float | None = None
    valid_top1: float | None = None
    fp32_test_top1: float | None = None
    run_id: str | None = None
    init: str | None = None
    kind: str | None = None
    recipe: str | None = None
    storage: str | None = None
    other: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any) -> CheckpointMeta:
        found = known(cls, data)
        if "resolution" not in found and isinstance(data, dict) and "input_size" in data:  # the key's older name
            found["resolution"] = data["input_size"]
        return cls(**found, other=rest(cls, data))


def checkpoint_meta(path: Path) -> CheckpointMeta:
    """A checkpoint's metadata alone, read once per version of the file (empty for one that does not read: loading
    it says why, in a sentence)."""
    path = Path(path)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return CheckpointMeta()
    return CheckpointMeta.from_json(_meta(str(path), stamp))


@functools.lru_cache(maxsize=64)
def _meta(path: str, mtime_ns: int) -> dict[str, Any]:
    try:
        return dict(torch.load(path, map_location="cpu", weights_only=True).get("meta", {}))
    except Exception:
        return {}


def update_checkpoint_meta(path: Path, **changes: Any) -> None:
    """Rewrite a checkpoint's metadata in place (atomically), leaving its tensors as they are."""
    blob = torch.load(path, map_location="cpu", weights_only=True)
    blob["meta"] = {**blob.get("meta", {}), **changes}
    atomic_torch_save(blob, path)


def _identity_from_name(path: Path) -> tuple[str, float | None]:
    """``mobilenet_v2_0.35_flowers102.pt`` -> ("mobilenet_v2", 0.35); ``lenet5_flowers102.pt`` -> ("lenet5", None)."""
    from mnv2_core.models.registry import REGISTRY

    stem = path.stem.removesuffix("_scratch").removesuffix("_flowers102")
    for name in sorted(REGISTRY, key=len, reverse=True):
        if stem == name:
            return name, None
        if stem.startswith(name + "_"):
            return name, float(stem[len(name) + 1:])
    raise WeightsError(f"The checkpoint {path.name} does not say which model it holds.")


def load_checkpoint_file(path: Path, name: str | None = None, width: float | None = None,
                         classes: str = "flowers") -> LoadedModel:
    """Load a checkpoint written by :func:`save_checkpoint`; the model is read from its meta or its file name."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"There is no checkpoint at {path}.")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        state = stored_weights.unpack(blob)
        raw = dict(blob.get("meta", {}))
    except Exception as exc:  # a corrupt or truncated file is the user's to fix, not a crash
        raise WeightsError(f"The checkpoint {path.name} could not be loaded ({type(exc).__name__}); "
                           f"delete or replace it.") from exc
    meta = CheckpointMeta.from_json(raw)
    if name is None:
        name, width = (meta.model, meta.width) if meta.model else _identity_from_name(path)
    try:
        # Fine-tuned from TensorFlow weights, a model keeps TF 'SAME' padding: the checkpoint says so.
        options = {"padding": meta.padding} if meta.padding else {}
        model = build_model(name, num_classes=labels.num_classes(classes), width=width, **options)
        model.load_state_dict(state, strict=True)
    except Exception as exc:  # a mismatched file is the user's to fix, not a crash
        raise WeightsError(f"The checkpoint {path.name} could not be loaded ({type(exc).__name__}); "
                           f"delete or replace it.") from exc
    scored = (f"; {meta.recipe}, test top-1 {meta.test_top1:.1%}" if isinstance(meta.test_top1, float)
              and meta.recipe else "")
    info = WeightsInfo("checkpoint", True, f"Trained by this project on Oxford-102 ({path.name}{scored}).", classes,
                       str(path), checkpoint_preprocess(meta, name),
                       {k: getattr(meta, k) for k in ACCURACY_KEYS if isinstance(getattr(meta, k), float)},
                       {k: getattr(meta, k) for k in PROVENANCE_KEYS if getattr(meta, k) is not None}, raw)
    return LoadedModel(name, width, model.eval(), info)
