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


from mnv2_core import config
from mnv2_core.images.views import Preprocess
from mnv2_core.models import build_model, get_spec, labels, model_title
from mnv2_core.models.checkpoints import (MAX_INT8_SHIPPED_BYTES, MAX_SHIPPED_BYTES, checkpoint_path,  # noqa: F401
                                          checkpoint_preprocess, find_checkpoint, load_checkpoint_file,
                                          save_checkpoint, update_checkpoint_meta)
from mnv2_core.models.loaded import (ACCURACY_KEYS, PROVENANCE_KEYS, LoadedModel, Source, WeightsError,  # noqa: F401
                                     WeightsInfo)
from mnv2_core.models.imagenet_weights import (from_keras, from_tflite, from_timm, from_torchvision,
                                               keras_here, tflite_file, timm_cached, timm_download, timm_width,
                                               torchvision_cache_file, torchvision_weights)
from mnv2_core.models.registry import normalise_width

# The names above are this module's face too: the app and the CLI ask ``weights`` for a checkpoint's path, as for a
# model's weights.


def _untrained(name: str, width: float | None, classes: str, why: str) -> LoadedModel:
    model = build_model(name, num_classes=labels.num_classes(classes), width=width).eval()
    info = WeightsInfo("untrained", False, f"Untrained (random) weights: {why} Its predictions are meaningless.", classes,
                       preprocess=Preprocess(get_spec(name).resolution))
    return LoadedModel(name, width, model, info)


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
    tv = torchvision_weights(name, width)
    return tv if tv is not None and torchvision_cache_file(tv).exists() else None


def _tflite_here(name: str, width: float | None) -> Path | None:
    from mnv2_core.models import tflite

    return tflite_file() if tflite.fits(name, width) and tflite_file().exists() else None


def _downloadable(find: Callable[[str, float | None], Any | None]) -> Callable[[str, float | None], Any | None]:
    return lambda name, width: find(name, width) if config.downloads_allowed() else None


SOURCES: tuple[WeightsSource, ...] = (
    WeightsSource("checkpoint", "trained by this project on Oxford-102", find_checkpoint,
                  lambda name, width, classes, path: load_checkpoint_file(path, name, width, classes)),
    WeightsSource("torchvision-cache", "torchvision ImageNet (hub cache)", _imagenet(_tv_cached),
                  lambda name, width, classes, tv: from_torchvision(name, width, tv, "torchvision-cache")),
    WeightsSource("timm-cache", "timm ImageNet (Hugging Face cache)",
                  _imagenet(lambda name, width: timm_cached(width) if timm_width(name, width) else None),
                  lambda name, width, classes, path: from_timm(width, path, "timm-cache")),
    WeightsSource("tflite", "official TFLite ImageNet, imported", _imagenet(_tflite_here),
                  lambda name, width, classes, path: from_tflite(path)),
    WeightsSource("keras", "Keras ImageNet backbone, imported", _imagenet(keras_here),
                  lambda name, width, classes, folder: from_keras(folder), classifier=False),
    WeightsSource("torchvision-download", "torchvision ImageNet (will download)",
                  _imagenet(_downloadable(torchvision_weights)),
                  lambda name, width, classes, tv: from_torchvision(name, width, tv, "torchvision-download")),
    WeightsSource("timm-download", "timm ImageNet (will download)", _imagenet(_downloadable(timm_width)),
                  lambda name, width, classes, found: timm_download(width)),
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
