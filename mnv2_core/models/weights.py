"""Where a model's weights come from, as data: an ordered list of sources (as torchvision's weights enums and timm's
pretrained configs declare theirs), each able to say from files alone whether it has weights for a (model, width,
classes), to load them, and to name itself in words.

The order of preference:
1. a checkpoint this project trained (``assets/checkpoints``, else ``MNV2_CACHE/checkpoints`` for one too large to
   ship; :mod:`mnv2_core.models.checkpoints`);
2. ImageNet weights already cached: torchvision's (torch hub cache: MobileNetV2 1.0, the ResNets, EfficientNet-B0),
   else timm's (Hugging Face cache: MobileNetV2 0.5, 1.0, 1.4);
3. the official TFLite MobileNetV2 1.0 from the shared weights folder, converted to float;
4. a download, for users with internet: torchvision's, else timm's;
5. untrained weights, which the UI must label as meaningless.
A backbone without an ImageNet classifier (the Keras MobileNetV2 0.35 export) is no answer for the ImageNet classes:
only :func:`load_backbone`, the start of transfer learning, uses it.

Each source's :class:`WeightsInfo` carries what its weights expect and what is known of them: the preprocessing, the
class set, the accuracy measured here and the provenance. The Predictor, the CLI and the pages read them from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from mnv2_core import config
from mnv2_core.images.views import Preprocess
from mnv2_core.models import build_model, get_spec, labels, model_title
from mnv2_core.models.checkpoints import (MAX_INT8_SHIPPED_BYTES, MAX_SHIPPED_BYTES, checkpoint_path,  # noqa: F401
                                          checkpoint_preprocess, find_checkpoint, load_checkpoint_file,
                                          save_checkpoint, update_checkpoint_meta)
from mnv2_core.models.loaded import (ACCURACY_KEYS, PROVENANCE_KEYS, LoadedModel, Source, WeightsError,  # noqa: F401
                                     WeightsInfo)
from mnv2_core.models.registry import normalise_width

# The names above are this module's face too: the app and the CLI ask ``weights`` for a checkpoint's path, as for a
# model's weights.


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
    from mnv2_core.models.timm_weights import fits

    return width if fits(name, width) else None


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


def _from_keras(folder: Path) -> LoadedModel:
    from mnv2_core.models import keras_weights

    provenance = keras_weights.keras_provenance(folder)
    info = WeightsInfo("keras", True, "Keras applications MobileNetV2 0.35 ImageNet backbone, imported from the "
                       "Teachable Machine export (no ImageNet classifier: a start for transfer learning).", "imagenet",
                       str(folder), keras_weights.KERAS_PREPROCESS, provenance=provenance, meta=provenance)
    return LoadedModel("mobilenet_v2", keras_weights.KERAS_WIDTH, keras_weights.load_keras_mobilenet_v2(folder), info)


def _keras_here(name: str, width: float | None) -> Path | None:
    from mnv2_core.models import keras_weights

    folder = keras_weights.default_folder()
    return folder if keras_weights.fits(name, width) and (folder / "weights.bin").is_file() else None


def _untrained(name: str, width: float | None, classes: str, why: str) -> LoadedModel:
    model = build_model(name, num_classes=labels.num_classes(classes), width=width).eval()
    info = WeightsInfo("untrained", False, f"Untrained (random) weights: {why} Its predictions are meaningless.", classes,
                       preprocess=Preprocess(get_spec(name).resolution))
    return LoadedModel(name, width, model, info)


def _tflite_file() -> Path:
    from mnv2_core.models import tflite

    return tflite.default_path()


def _timm_cached(width: float) -> Path | None:
    from mnv2_core.models.timm_weights import cached_file

    return cached_file(width)


def _timm_download(width: float) -> LoadedModel:
    from mnv2_core.models.timm_weights import download

    return _from_timm(width, download(width), "timm-download")


@dataclass(frozen=True)
class WeightsSource:
    """One place weights can come from. ``find`` decides from files alone (cheap: nothing is loaded) and returns
    what ``load`` needs, or None where this source has nothing for (model, width, classes)."""

    key: Source
    words: str  # how the sidebar names it
    find: Callable[[str, float | None, str], Any | None]
    load: Callable[[str, float | None, str, Any], LoadedModel]
    classifier: bool = True  # False: a backbone only, whose classifier is not ImageNet's


def _imagenet(find: Callable[[str, float | None], Any | None]) -> Callable[[str, float | None, str], Any | None]:
    """An ImageNet-only finder: nothing for the flower classes."""
    return lambda name, width, classes: find(name, width) if classes == "imagenet" else None


def _tv_cached(name: str, width: float | None) -> Any | None:
    tv = _torchvision_weights(name, width)
    return tv if tv is not None and _torchvision_cache_file(tv).exists() else None


def _tflite_here(name: str, width: float | None) -> Path | None:
    from mnv2_core.models import tflite

    return _tflite_file() if tflite.fits(name, width) and _tflite_file().exists() else None


def _downloadable(find: Callable[[str, float | None], Any | None]) -> Callable[[str, float | None], Any | None]:
    return lambda name, width: find(name, width) if config.downloads_allowed() else None


SOURCES: tuple[WeightsSource, ...] = (
    WeightsSource("checkpoint", "trained by this project on Oxford-102", find_checkpoint,
                  lambda name, width, classes, path: load_checkpoint_file(path, name, width, classes)),
    WeightsSource("torchvision-cache", "torchvision ImageNet (hub cache)", _imagenet(_tv_cached),
                  lambda name, width, classes, tv: _from_torchvision(name, width, tv, "torchvision-cache")),
    WeightsSource("timm-cache", "timm ImageNet (Hugging Face cache)",
                  _imagenet(lambda name, width: _timm_cached(width) if _timm_width(name, width) else None),
                  lambda name, width, classes, path: _from_timm(width, path, "timm-cache")),
    WeightsSource("tflite", "official TFLite ImageNet, imported", _imagenet(_tflite_here),
                  lambda name, width, classes, path: _from_tflite(path)),
    WeightsSource("keras", "Keras ImageNet backbone, imported", _imagenet(_keras_here),
                  lambda name, width, classes, folder: _from_keras(folder), classifier=False),
    WeightsSource("torchvision-download", "torchvision ImageNet (will download)",
                  _imagenet(_downloadable(_torchvision_weights)),
                  lambda name, width, classes, tv: _from_torchvision(name, width, tv, "torchvision-download")),
    WeightsSource("timm-download", "timm ImageNet (will download)", _imagenet(_downloadable(_timm_width)),
                  lambda name, width, classes, found: _timm_download(width)),
)
UNTRAINED_WORDS = "not trained yet (Classify says how to train it)"
SOURCE_WORDS: dict[str, str] = {s.key: s.words for s in SOURCES} | {"untrained": UNTRAINED_WORDS}


def _planned(name: str, width: float | None, classes: str,
             backbone: bool = False) -> tuple[WeightsSource | None, Any]:
    for source in SOURCES:
        if not (source.classifier or backbone):
            continue
        found = source.find(name, width, classes)
        if found is not None:
            return source, found
    return None, None


def planned_source(name: str, width: float | None = None, classes: str = "flowers", backbone: bool = False) -> Source:
    """Which source :func:`load_model` (``backbone``: :func:`load_backbone`) will use: the first in :data:`SOURCES`
    that has weights here, else untrained."""
    width = normalise_width(name, width)
    labels.num_classes(classes)  # validates the classes
    source, _ = _planned(name, width, classes, backbone)
    return source.key if source else "untrained"


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


def load_model(name: str, width: float | None = None, classes: str = "flowers") -> LoadedModel:
    """Build ``name`` at ``width`` with the best weights available here for ``classes`` (see module docstring)."""
    width = normalise_width(name, width)
    labels.num_classes(classes)
    source, found = _planned(name, width, classes)
    title = model_title(name, width)
    if source is not None:
        try:
            return source.load(name, width, classes, found)
        except Exception:  # a download that fails (offline, a proxy, a partial file): an honest "untrained"
            if not source.key.endswith("download"):
                raise
            return _untrained(name, width, classes, "the ImageNet weights could not be downloaded (no internet?).")
    if classes == "flowers":
        return _untrained(name, width, classes, f"no Oxford-102 checkpoint for {title} in assets/checkpoints.")
    return _untrained(name, width, classes, f"no ImageNet weights for {title} are available here.")


def load_backbone(name: str, width: float | None = None) -> LoadedModel:
    """The model with the best ImageNet-trained backbone here, for transfer learning: as :func:`load_model` for the
    ImageNet classes, but a source whose classifier is not ImageNet's (the Keras 0.35 export) counts too."""
    width = normalise_width(name, width)
    source, found = _planned(name, width, "imagenet", backbone=True)
    if source is None or source.classifier:
        return load_model(name, width, "imagenet")
    return source.load(name, width, "imagenet", found)


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
