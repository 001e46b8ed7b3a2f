"""Teach it your own classes, in the spirit of Teachable Machine: a linear head on MobileNetV2 features, in seconds.

A class brings 2-10 classes of its own (at least MIN_PHOTOS photos each). Every photo goes once through the frozen
backbone (and once mirrored, which doubles the few photos a class has); one photo in five per class is held out;
a linear head is trained on the rest and scored on the held-out ones. Nothing is written to disk: the taught head
is a small file the user may download and load back (:mod:`mnv2_core.train.teach_file`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from PIL import Image, ImageOps
from torch import nn

from mnv2_core.images.views import Preprocess
from mnv2_core.train.epochs import set_lr

MIN_CLASSES, MAX_CLASSES, MIN_PHOTOS = 2, 10, 5
HOLD_OUT_EVERY = 5  # one photo in five per class is kept for the held-out check
OXFORD_PHOTOS = 10  # training photos per ready-made Oxford-102 class


class TeachError(ValueError):
    """The classes or photos cannot be taught as given; ``str()`` is one sentence for the UI."""


@dataclass
class TeachConfig:
    epochs: int = 60
    lr: float = 1e-3  # measured: 1e-2 drives the loss to 0 in 10 epochs and every answer to 100%
    weight_decay: float = 1e-3
    seed: int = 0


@dataclass(frozen=True)
class TeachEpoch:
    """One epoch of teaching a head: its loss, and its accuracy on the training and the held-out photos."""

    epoch: int
    loss: float
    train_accuracy: float
    held_out_accuracy: float


@dataclass
class TaughtModel:
    """A taught head: its class names, the linear layer, how it learned and how it did on the held-out photos."""

    names: list[str]
    head: nn.Linear
    backbone: str  # which weights made the features (the head only fits those)
    history: list[TeachEpoch] = field(default_factory=list)
    held_out: int = 0
    held_out_correct: int = 0
    seconds: float = 0.0

    @property
    def held_out_accuracy(self) -> float | None:
        return self.held_out_correct / self.held_out if self.held_out else None


def backbone_id(loaded) -> str:
    """Names the features a head is taught on: the model and a hash of its backbone's weights."""
    from mnv2_core.train.features import backbone_sha

    return f"{loaded.title} backbone {backbone_sha(loaded.model)[:12]}"


def check_classes(classes: Sequence[tuple[str, Sequence[Any]]]) -> None:
    """Raise TeachError (one sentence) unless there are 2-10 named, distinct classes of MIN_PHOTOS photos or more."""
    if not MIN_CLASSES <= len(classes) <= MAX_CLASSES:
        raise TeachError(f"Teach between {MIN_CLASSES} and {MAX_CLASSES} classes (got {len(classes)}).")
    names = [name.strip() for name, _ in classes]
    if any(not name for name in names):
        raise TeachError("Every class needs a name.")
    if len(set(n.lower() for n in names)) < len(names):
        raise TeachError("Two classes have the same name; give each its own.")
    for name, photos in classes:
        if len(photos) < MIN_PHOTOS:
            raise TeachError(f"'{name.strip()}' has {len(photos)} photo{'s' * (len(photos) != 1)}; each class "
                             f"needs at least {MIN_PHOTOS}.")


def decode_photos(files: Sequence[tuple[str, bytes | Path]]) -> list[Image.Image]:
    """(name, uploaded bytes or a file) -> RGB images, as Classify decodes an upload; TeachError names a file that
    is not a photo. Files are read only here, when a class is taught, not on every rerun of the page."""
    from mnv2_core.images.decode import ImageDecodeError, decode_image

    images = []
    for name, data in files:
        try:
            images.append(decode_image(data if isinstance(data, bytes) else Path(data).read_bytes()).image)
        except (ImageDecodeError, OSError) as exc:
            raise TeachError(f"{name}: {exc}") from None
    return images


def feature_size(model: nn.Module) -> int:
    """How many features the backbone gives per photo (1280 for MobileNetV2 1.0)."""
    from mnv2_core.train.features import head_module

    head = head_module(model)
    return (head[-1] if isinstance(head, nn.Sequential) else head).in_features


@torch.inference_mode()
def features_of(model: nn.Module, images: Sequence[Image.Image], preprocess: Preprocess, *,
                mirrored: bool = False, batch_size: int = 8) -> torch.Tensor:
    """Pooled backbone features [N, C] of ``images`` (mirrored left-right first if ``mirrored``). ``model`` may be
    the app's shared cached one: each batch takes a slot of the bounded pool, and nothing on it is changed."""
    from mnv2_core.runtime.workers import model_slot
    from mnv2_core.train.features import pooled_features

    out = []
    for start in range(0, len(images), batch_size):
        batch = [ImageOps.mirror(im) if mirrored else im for im in images[start:start + batch_size]]
        x = torch.cat([preprocess.tensor(im) for im in batch])
        with model_slot():
            out.append(pooled_features(model)(x))
    return torch.cat(out)


def _split(count: int) -> tuple[list[int], list[int]]:
    """Indices to train on and to hold out: every HOLD_OUT_EVERY-th photo, at least one, is held out."""
    held = list(range(HOLD_OUT_EVERY - 1, count, HOLD_OUT_EVERY)) or [count - 1]
    return [i for i in range(count) if i not in held], held


def _features_split(model: nn.Module, preprocess: Preprocess, classes: Sequence[tuple[str, Sequence[Image.Image]]],
                    on_features: Callable[[int, int], None] | None) -> tuple[torch.Tensor, ...]:
    """Training features (each photo and its mirror image) and labels, and the held-out photos' features and labels:
    one photo in five per class is held out for the check."""
    train_x, train_y, held_x, held_y = [], [], [], []
    total, done = sum(len(p) for _, p in classes), 0
    for label, (_, photos) in enumerate(classes):
        feats = features_of(model, list(photos), preprocess)
        mirrored = features_of(model, list(photos), preprocess, mirrored=True)
        train_i, held_i = _split(len(photos))
        train_x += [feats[train_i], mirrored[train_i]]
        train_y += [torch.full((2 * len(train_i),), label)]
        held_x.append(feats[held_i])
        held_y.append(torch.full((len(held_i),), label))
        done += len(photos)
        if on_features:
            on_features(done, total)
    return torch.cat(train_x), torch.cat(train_y), torch.cat(held_x), torch.cat(held_y)


def teach(model: nn.Module, preprocess: Preprocess, classes: Sequence[tuple[str, Sequence[Image.Image]]], *,
          backbone: str, cfg: TeachConfig = TeachConfig(),
          on_epoch: Callable[[TeachEpoch, int], None] | None = None,
          on_features: Callable[[int, int], None] | None = None) -> TaughtModel:
    """Train a linear head for ``classes`` [(name, photos)] on ``model``'s features; ``on_epoch(row, epochs)``
    after each epoch (for a live curve), ``on_features(done, total)`` as photos go through the backbone."""
    import time

    check_classes(classes)
    start = time.perf_counter()
    x, y, hx, hy = _features_split(model, preprocess, classes, on_features)
    # Unit-length features: with a few dozen photos, per-feature statistics are too noisy to standardise by
    # (a feature that is nearly constant on them would dominate a new photo).
    torch.manual_seed(cfg.seed)
    linear = nn.Linear(x.shape[1], len(classes))
    head = nn.Sequential(UnitLength(), linear)
    optimizer = torch.optim.AdamW(linear.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    history = []
    for epoch in range(1, cfg.epochs + 1):
        set_lr(optimizer, cfg.lr * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / cfg.epochs)))  # cosine over epochs
        head.train()
        logits = head(x)
        loss = loss_fn(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        head.eval()
        with torch.inference_mode():
            row = TeachEpoch(epoch, float(loss.detach()), float((logits.argmax(1) == y).float().mean()),
                             float((head(hx).argmax(1) == hy).float().mean()))
        history.append(row)
        if on_epoch:
            on_epoch(row, cfg.epochs)
    with torch.inference_mode():
        correct = int((head(hx).argmax(1) == hy).sum())
    return TaughtModel([name.strip() for name, _ in classes], head.eval(), backbone, history, len(hy), correct,
                       time.perf_counter() - start)


class UnitLength(nn.Module):
    """Each feature vector scaled to length SCALE (a fixed temperature, so logits can grow large enough)."""

    SCALE = 10.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.SCALE * nn.functional.normalize(x, dim=1)


@torch.inference_mode()
def classify(taught: TaughtModel, model: nn.Module, preprocess: Preprocess, image: Image.Image,
             top_k: int = 3) -> list[tuple[str, float]]:
    """The taught classes for ``image``, most likely first: [(name, probability)]."""
    probs = torch.softmax(taught.head(features_of(model, [image], preprocess)), dim=1)[0]
    values, indices = probs.topk(min(top_k, len(taught.names)))
    return [(taught.names[i], float(p)) for p, i in zip(values.tolist(), indices.tolist())]
