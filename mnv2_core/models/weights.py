"""Where a model's weights come from, in one place.

Order of preference for a (model, width, classes):
1. a checkpoint this project trained and shipped in ``assets/checkpoints`` (flowers classes), else one trained on this
   machine that is too large to ship (``MNV2_CACHE/checkpoints``);
2. ImageNet weights already cached (ImageNet classes): torchvision's in the torch hub cache (MobileNetV2 1.0, the
   ResNets, EfficientNet-B0), else timm's in the Hugging Face cache (MobileNetV2 0.5, 1.0, 1.4);
3. the official TFLite MobileNetV2 1.0 from the shared weights folder, converted to float (ImageNet classes, width 1.0);
4. a download, for users with internet (ImageNet classes): torchvision's, else timm's;
5. untrained weights, which the UI must label as meaningless.

Each source's :class:`WeightsInfo` carries what its weights expect and what is known of them, as torchvision's weights
enums do: the preprocessing (resolution, crop ratio, mean, std), the class set, the accuracy measured here and the
provenance. The Predictor, the CLI and the pages read them from there.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from mnv2_core import config
from mnv2_core.files import atomic_torch_save
from mnv2_core.images.views import Preprocess
from mnv2_core.models import build_model, model_title, get_spec, labels, stored_weights
from mnv2_core.models.registry import format_width, normalise_width

Source = Literal["checkpoint", "torchvision-cache", "timm-cache", "tflite", "torchvision-download", "timm-download",
                 "untrained"]


class WeightsError(ValueError):
    """A checkpoint exists but cannot be used; the message is one sentence for the UI."""


@dataclass(frozen=True)
class WeightsInfo:
    """Which weights a model carries, where they came from, and how to feed it."""

    source: Source
    trained: bool
    description: str
    classes: str
    path: str | None = None
    preprocess: Preprocess = Preprocess()
    accuracy: dict[str, float] = field(default_factory=dict)  # measured by this project (ACCURACY_KEYS)
    provenance: dict[str, Any] = field(default_factory=dict)  # how the weights were made, or where they come from
    meta: dict[str, Any] = field(default_factory=dict)  # a checkpoint's metadata, whole

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LoadedModel:
    """A float model in eval mode, its weights' provenance, and what its outputs mean."""

    name: str
    width: float | None
    model: nn.Module
    info: WeightsInfo

    @property
    def title(self) -> str:
        return model_title(self.name, self.width)

    @property
    def resolution(self) -> int:
        return self.info.preprocess.resolution


# What a checkpoint's metadata records of the accuracy measured here (Oxford-102), and of how it was made.
ACCURACY_KEYS = ("test_top1", "test_top5", "test_phone_top1", "test_phone_top5", "valid_top1", "fp32_test_top1")
PROVENANCE_KEYS = ("run_id", "recipe", "init", "kind")


def checkpoint_preprocess(meta: dict[str, Any], name: str) -> Preprocess:
    """The preprocessing a checkpoint was trained and scored with (checkpoints before the ``resolution`` key
    recorded it as ``input_size``; the crop ratio has always been 224/256)."""
    default = Preprocess(get_spec(name).resolution)
    return Preprocess(int(meta.get("resolution", meta.get("input_size", default.resolution))),
                      float(meta.get("crop_ratio", default.crop_ratio)), tuple(meta.get("mean", default.mean)),
                      tuple(meta.get("std", default.std)), str(meta.get("interpolation", default.interpolation)))


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
        meta = dict(blob.get("meta", {}))
    except Exception as exc:  # a corrupt or truncated file is the user's to fix, not a crash
        raise WeightsError(f"The checkpoint {path.name} could not be loaded ({type(exc).__name__}); "
                           f"delete or replace it.") from exc
    if name is None:
        name, width = (meta["model"], meta.get("width")) if "model" in meta else _identity_from_name(path)
    try:
        # Fine-tuned from the TFLite backbone, a model keeps TF 'SAME' padding: the checkpoint says so.
        options = {"padding": meta["padding"]} if meta.get("padding") else {}
        model = build_model(name, num_classes=labels.num_classes(classes), width=width, **options)
        model.load_state_dict(state, strict=True)
    except Exception as exc:  # a mismatched file is the user's to fix, not a crash
        raise WeightsError(f"The checkpoint {path.name} could not be loaded ({type(exc).__name__}); "
                           f"delete or replace it.") from exc
    scored = (f"; {meta['recipe']}, test top-1 {meta['test_top1']:.1%}" if isinstance(meta.get("test_top1"), float)
              and meta.get("recipe") else "")
    info = WeightsInfo("checkpoint", True, f"Trained by this project on Oxford-102 ({path.name}{scored}).", classes,
                       str(path), checkpoint_preprocess(meta, name),
                       {k: meta[k] for k in ACCURACY_KEYS if isinstance(meta.get(k), float)},
                       {k: meta[k] for k in PROVENANCE_KEYS if k in meta}, meta)
    return LoadedModel(name, width, model.eval(), info)


def _torchvision_weights(name: str, width: float | None) -> Any | None:
    spec = get_spec(name)
    if spec.torchvision_name is None or (spec.has_widths and width != 1.0):
        return None
    from torchvision.models import get_model_weights

    return get_model_weights(spec.torchvision_name).DEFAULT


def _torchvision_cache_file(weights: Any) -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name


def torchvision_preprocess(weights: Any) -> Preprocess:
    """The preprocessing torchvision publishes with ``weights`` (its ImageClassification transform), as ours."""
    recipe = weights.transforms()
    crop, resize = recipe.crop_size[0], recipe.resize_size[0]
    return Preprocess(int(crop), crop / resize, tuple(recipe.mean), tuple(recipe.std), recipe.interpolation.value)


def _from_torchvision(name: str, width: float | None, weights: Any, source: Source) -> LoadedModel:
    model = build_model(name, num_classes=1000, width=width)
    model.load_state_dict(weights.get_state_dict(progress=False, check_hash=True), strict=True)
    metrics = weights.meta.get("_metrics", {}).get("ImageNet-1K", {})
    where = "torch hub cache" if source == "torchvision-cache" else "downloaded by torchvision"
    preprocess = torchvision_preprocess(weights)
    provenance = {"published_top1": metrics.get("acc@1"), "weights": str(weights), "recipe": weights.meta.get("recipe")}
    info = WeightsInfo(source, True, f"torchvision ImageNet weights {weights.name} ({where}; published top-1 "
                       f"{metrics.get('acc@1', '?')}%).", "imagenet", str(_torchvision_cache_file(weights)),
                       preprocess, provenance=provenance, meta=provenance)
    return LoadedModel(name, width, model.eval(), info)


def _timm_width(name: str, width: float | None) -> float | None:
    """The width if timm has ImageNet weights for this MobileNetV2, else None."""
    from mnv2_core.models.timm_weights import TIMM_MODELS

    return width if name == "mobilenet_v2" and width in TIMM_MODELS else None


def _from_timm(width: float, path: Path, source: Source) -> LoadedModel:
    from mnv2_core.models.references import TIMM_SOURCE, timm_top1
    from mnv2_core.models.timm_weights import TIMM_MODELS, load_timm_weights, pretrained_cfg, timm_preprocess

    model = build_model("mobilenet_v2", num_classes=1000, width=width)
    try:
        load_timm_weights(model, path, width)
    except Exception as exc:  # a partial download or a changed file is the user's to fix, not a crash
        raise WeightsError(f"timm's weights at {path} could not be loaded ({type(exc).__name__}); delete them and "
                           f"try again.") from exc
    where = "Hugging Face cache" if source == "timm-cache" else "downloaded from the Hugging Face hub"
    provenance = {"published_top1": timm_top1(width), "weights": f"timm {TIMM_MODELS[width]}",
                  "published_in": TIMM_SOURCE}
    info = WeightsInfo(source, True, f"timm ImageNet weights {TIMM_MODELS[width]} ({where}; published top-1 "
                       f"{timm_top1(width)}%).", "imagenet", str(path), timm_preprocess(pretrained_cfg(width)),
                       provenance=provenance, meta=provenance)
    return LoadedModel("mobilenet_v2", width, model.eval(), info)


def _from_tflite(path: Path) -> LoadedModel:
    from mnv2_core.models import tflite

    model = tflite.load_tflite_mobilenet_v2(path)
    provenance = tflite.tflite_provenance(path)
    info = WeightsInfo("tflite", True, f"Official TFLite MobileNetV2 1.0/224 ImageNet weights (Google), imported from "
                       f"{path.name} (uint8, dequantized to float).", "imagenet", str(path),
                       tflite.TFLITE_PREPROCESS, provenance=provenance, meta=provenance)
    return LoadedModel("mobilenet_v2", 1.0, model, info)


def _untrained(name: str, width: float | None, classes: str, why: str) -> LoadedModel:
    model = build_model(name, num_classes=labels.num_classes(classes), width=width).eval()
    info = WeightsInfo("untrained", False, f"Untrained (random) weights: {why} Its predictions are meaningless.", classes,
                       preprocess=Preprocess(get_spec(name).resolution))
    return LoadedModel(name, width, model, info)


def _tflite_file() -> Path:
    from mnv2_core.models import tflite

    return tflite.default_path()


def planned_source(name: str, width: float | None = None, classes: str = "flowers") -> Source:
    """Which source :func:`load_model` will use, decided from files alone (cheap: nothing is loaded)."""
    width = normalise_width(name, width)
    labels.num_classes(classes)  # validates the classes
    if find_checkpoint(name, width, classes) is not None:
        return "checkpoint"
    if classes == "flowers":
        return "untrained"
    tv, timm_width = _torchvision_weights(name, width), _timm_width(name, width)
    if tv is not None and _torchvision_cache_file(tv).exists():
        return "torchvision-cache"
    if timm_width is not None and _timm_cached(timm_width) is not None:
        return "timm-cache"
    if name == "mobilenet_v2" and width == 1.0 and _tflite_file().exists():
        return "tflite"
    if config.downloads_allowed():
        if tv is not None:
            return "torchvision-download"
        if timm_width is not None:
            return "timm-download"
    return "untrained"


def weights_stamp(name: str, width: float | None = None, classes: str = "flowers") -> tuple:
    """What :func:`load_model` would load, as a value that changes when its checkpoint file does: caches of loaded
    models key on it, so a checkpoint trained while the app runs is picked up at once."""
    source = planned_source(name, width, classes)
    path = find_checkpoint(name, normalise_width(name, width), classes) if source == "checkpoint" else None
    try:
        stat = path.stat() if path is not None else None
    except OSError:  # replaced between the two looks: the next call sees the new file
        stat = None
    return (source, str(path), stat.st_mtime_ns, stat.st_size) if stat else (source,)


def _timm_cached(width: float) -> Path | None:
    from mnv2_core.models.timm_weights import cached_file

    return cached_file(width)


def load_model(name: str, width: float | None = None, classes: str = "flowers") -> LoadedModel:
    """Build ``name`` at ``width`` with the best weights available here for ``classes`` (see module docstring)."""
    width = normalise_width(name, width)
    source = planned_source(name, width, classes)
    title = model_title(name, width)
    if source == "checkpoint":
        return load_checkpoint_file(find_checkpoint(name, width, classes), name, width, classes)
    if source == "torchvision-cache":
        return _from_torchvision(name, width, _torchvision_weights(name, width), source)
    if source == "timm-cache":
        return _from_timm(width, _timm_cached(width), source)
    if source == "tflite":
        return _from_tflite(_tflite_file())
    if source in ("torchvision-download", "timm-download"):
        try:
            if source == "timm-download":
                from mnv2_core.models.timm_weights import download

                return _from_timm(width, download(width), source)
            return _from_torchvision(name, width, _torchvision_weights(name, width), source)
        except Exception:  # offline, a proxy, or a partial file: fall back to an honest "untrained"
            return _untrained(name, width, classes, "the ImageNet weights could not be downloaded (no internet?).")
    if classes == "flowers":
        return _untrained(name, width, classes, f"no Oxford-102 checkpoint for {title} in assets/checkpoints.")
    return _untrained(name, width, classes, f"no ImageNet weights for {title} are available here.")


MAX_SHIPPED_BYTES = 15_000_000  # the largest fp16 checkpoint this repository ships in assets/
MAX_INT8_SHIPPED_BYTES = 30_000_000  # the largest one stored as per-channel int8 weights (a larger network's)


def load_flower_model(name: str, width: float | None = None, init: str = "default") -> LoadedModel:
    """The flower model the app loads for (name, width), or with ``init="scratch"`` the from-scratch checkpoint of a
    model whose default one is transfer-learned (untrained, and saying so, when there is none)."""
    if init == "default" or get_spec(name).flowers_init == "scratch":
        return load_model(name, width, "flowers")
    width = normalise_width(name, width)
    found = find_checkpoint(name, width, "flowers", init)
    if found is None:
        return _untrained(name, width, "flowers", f"no from-scratch Oxford-102 checkpoint for {model_title(name, width)} "
                          f"in assets/checkpoints.")
    return load_checkpoint_file(found, name, width)
