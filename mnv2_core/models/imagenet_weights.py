"""ImageNet weights from outside this project, each found from files alone and loaded into our model: torchvision's
(hub cache, or a download), timm's MobileNetV2 (Hugging Face cache, or a download), the official TFLite MobileNetV2
1.0 and the Keras MobileNetV2 0.35 backbone (the shared weights folder). :mod:`mnv2_core.models.weights` orders
them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from mnv2_core.images.views import Preprocess
from mnv2_core.models import build_model, get_spec
from mnv2_core.models.loaded import LoadedModel, Source, WeightsError, WeightsInfo


def torchvision_weights(name: str, width: float | None) -> Any | None:
    spec = get_spec(name)
    if spec.torchvision_name is None or (spec.has_widths and width != 1.0):
        return None
    from torchvision.models import get_model_weights

    return get_model_weights(spec.torchvision_name).DEFAULT


def torchvision_cache_file(weights: Any) -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name


def torchvision_preprocess(weights: Any) -> Preprocess:
    """The preprocessing torchvision publishes with ``weights`` (its ImageClassification transform), as ours."""
    recipe = weights.transforms()
    crop, resize = recipe.crop_size[0], recipe.resize_size[0]
    return Preprocess(int(crop), crop / resize, tuple(recipe.mean), tuple(recipe.std), recipe.interpolation.value)


def from_torchvision(name: str, width: float | None, weights: Any, source: Source) -> LoadedModel:
    model = build_model(name, num_classes=1000, width=width)
    model.load_state_dict(weights.get_state_dict(progress=False, check_hash=True), strict=True)
    metrics = weights.meta.get("_metrics", {}).get("ImageNet-1K", {})
    where = "torch hub cache" if source == "torchvision-cache" else "downloaded by torchvision"
    preprocess = torchvision_preprocess(weights)
    provenance = {"published_top1": metrics.get("acc@1"), "weights": str(weights), "recipe": weights.meta.get("recipe")}
    info = WeightsInfo(source, True, f"torchvision ImageNet weights {weights.name} ({where}; published top-1 "
                       f"{metrics.get('acc@1', '?')}%).", "imagenet", str(torchvision_cache_file(weights)),
                       preprocess, provenance=provenance, meta=provenance)
    return LoadedModel(name, width, model.eval(), info)


def timm_width(name: str, width: float | None) -> float | None:
    """The width if timm has ImageNet weights for this MobileNetV2, else None."""
    from mnv2_core.models.timm_weights import fits

    return width if fits(name, width) else None


def from_timm(width: float, path: Path, source: Source) -> LoadedModel:
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


def from_tflite(path: Path) -> LoadedModel:
    from mnv2_core.models import tflite

    model = tflite.load_tflite_mobilenet_v2(path)
    provenance = tflite.tflite_provenance(path)
    info = WeightsInfo("tflite", True, f"Official TFLite MobileNetV2 1.0/224 ImageNet weights (Google), imported from "
                       f"{path.name} (uint8, dequantized to float).", "imagenet", str(path),
                       tflite.TFLITE_PREPROCESS, provenance=provenance, meta=provenance)
    return LoadedModel("mobilenet_v2", 1.0, model, info)


def from_keras(folder: Path) -> LoadedModel:
    from mnv2_core.models import keras_weights

    provenance = keras_weights.keras_provenance(folder)
    info = WeightsInfo("keras", True, "Keras applications MobileNetV2 0.35 ImageNet backbone, imported from the "
                       "Teachable Machine export (no ImageNet classifier: a start for transfer learning).", "imagenet",
                       str(folder), keras_weights.KERAS_PREPROCESS, provenance=provenance, meta=provenance)
    return LoadedModel("mobilenet_v2", keras_weights.KERAS_WIDTH, keras_weights.load_keras_mobilenet_v2(folder), info)


def keras_here(name: str, width: float | None) -> Path | None:
    from mnv2_core.models import keras_weights

    folder = keras_weights.default_folder()
    return folder if keras_weights.fits(name, width) and (folder / "weights.bin").is_file() else None


def tflite_file() -> Path:
    from mnv2_core.models import tflite

    return tflite.default_path()


def timm_cached(width: float) -> Path | None:
    from mnv2_core.models.timm_weights import cached_file

    return cached_file(width)


def timm_download(width: float) -> LoadedModel:
    from mnv2_core.models.timm_weights import download

    return from_timm(width, download(width), "timm-download")
