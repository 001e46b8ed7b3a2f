"""A model run over image files as the app prepares an upload: logits for evaluation, and the frozen backbone's
pooled features, cached per backbone, files and size, on which transfer phase 1 trains a new linear head."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mnv2_core import config
from mnv2_core.files import atomic_torch_save
from mnv2_core.images.flowers import Splits
from mnv2_core.images.views import Preprocess
from mnv2_core.measure.accuracy import top1
from mnv2_core.progress import track
from mnv2_core.train.epochs import Best, keep_if_better, lr_at, set_lr
from mnv2_core.train.spec import NUM_CLASSES, HeadConfig, TrainError


@dataclass
class Features:
    """Pooled backbone features of one split, with labels, in :func:`flower_samples` order."""

    x: torch.Tensor
    y: torch.Tensor
    from_cache: bool = False
    engine: str = ""  # what extracted them (empty when read from the cache)


def head_name(model: nn.Module) -> str:
    """The module holding the classifier: ``classifier`` (MobileNetV2, EfficientNet, LeNet-5) or ``fc`` (ResNet)."""
    for name in ("classifier", "fc"):
        if isinstance(getattr(model, name, None), nn.Module):
            return name
    raise TrainError(f"{type(model).__name__} has no classifier or fc layer to replace.")


def pooled_features(model: nn.Module):
    """The frozen backbone as a function: images -> pooled features [N, C], whatever the architecture
    (``forward_features`` of ours; everything but ``fc`` of a torchvision ResNet; ``features`` + ``avgpool`` of a
    torchvision EfficientNet)."""
    if hasattr(model, "forward_features"):
        return model.forward_features
    if head_name(model) == "fc":
        body = nn.Sequential(*[m for name, m in model.named_children() if name != "fc"])
        return lambda x: torch.flatten(body(x), 1)
    if hasattr(model, "features") and hasattr(model, "avgpool"):
        return lambda x: torch.flatten(model.avgpool(model.features(x)), 1)
    raise TrainError(f"Phase 1 cannot find the pooled features of {type(model).__name__}.")


def head_module(model: nn.Module) -> nn.Module:
    """What phase 1 trains: the classifier (a Sequential ending in a Linear) or ResNet's ``fc``."""
    return getattr(model, head_name(model))


def backbone_sha(model: nn.Module) -> str:
    """A hash of the backbone's weights (everything but the classifier), to key the feature cache."""
    from mnv2_core.runtime.engines import state_sha

    return state_sha(model, skip_prefix=head_name(model) + ".")


def _samples_sha(samples: list[tuple[Path, int]]) -> str:
    digest = hashlib.sha256()
    for path, label in samples:
        digest.update(f"{path.parent.parent.name}/{path.parent.name}/{path.name}:{path.stat().st_size}:{label}\n"
                      .encode())
    return digest.hexdigest()


class PooledFeatures(nn.Module):
    """The frozen backbone of ``model`` as a module of its own (:func:`pooled_features`), so that it exports."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        pooled_features(model)  # refuses, in one sentence, a model whose features it cannot find
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # looked up on every call, so that a copy of this module (made to export it) runs its own copy of the model
        return pooled_features(self.model)(x)


@torch.inference_mode()
def extract_features(model: nn.Module, samples: list[tuple[Path, int]], preprocess: Preprocess, *, batch_size: int = 32,
                     desc: str = "features", device: torch.device | str = "cpu") -> Features:
    """Run the frozen backbone (:func:`pooled_features`) over every sample, with a progress bar and ETA."""
    from mnv2_core.runtime.passes import model_outputs

    x, y, engine = model_outputs(PooledFeatures(model), samples, preprocess, batch_size=batch_size, desc=desc,
                                 device=device)
    return Features(x, y, engine=engine)


def cached_features(model: nn.Module, samples: list[tuple[Path, int]], split: str, preprocess: Preprocess, *,
                    cache: Path | None = None,
                    batch_size: int = 32, backbone: str | None = None,
                    device: torch.device | str = "cpu") -> Features:
    """Features of ``split``, from ``cache`` when the same backbone saw the same files, prepared alike, before."""
    backbone = backbone or backbone_sha(model)
    p = preprocess
    key = hashlib.sha256(f"{_samples_sha(samples)}|{p.resolution}|{p.crop_ratio}|{p.mean}|{p.std}".encode()).hexdigest()
    folder = (cache or config.cache_dir()) / "features"
    target = folder / f"{split}_{backbone[:12]}_{key[:12]}_{p.resolution}px.pt"
    if target.is_file():
        try:
            blob = torch.load(target, map_location="cpu", weights_only=True)
            if blob["x"].shape[0] == len(samples):
                return Features(blob["x"], blob["y"], from_cache=True)
        except Exception:  # a truncated cache file is recomputed, never fatal
            pass
    feats = extract_features(model, samples, preprocess, batch_size=batch_size, desc=features_step(split), device=device)
    try:
        atomic_torch_save({"x": feats.x, "y": feats.y}, target)
    except OSError:  # a read-only cache only costs the next run another pass
        pass
    return feats


HEAD_STEP = "head"


def features_step(split: str) -> str:
    """The progress step that extracts one split's features."""
    return f"{split} features"


def train_head(head: nn.Module, train: Features, valid: Features, cfg: HeadConfig,
               *, log=None) -> tuple[list[dict[str, Any]], float]:
    """Train ``head`` (the model's classifier) on cached features; load the best-valid epoch's weights back.

    Returns the per-epoch history and the best valid top-1.
    """
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    optimizer = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = max(1, math.ceil(len(train.y) / cfg.batch_size))
    total = cfg.epochs * steps_per_epoch
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    history: list[dict[str, Any]] = []
    best = Best()
    for epoch in track(range(1, cfg.epochs + 1), HEAD_STEP, unit="epoch"):
        head.train()
        lr = lr_at((epoch - 1) * steps_per_epoch, total, 0, cfg.lr)  # cosine decay per step, no warm-up
        order = torch.randperm(len(train.y), generator=gen)
        total_loss = 0.0
        for i, start in enumerate(range(0, len(order), cfg.batch_size)):
            set_lr(optimizer, lr_at((epoch - 1) * steps_per_epoch + i, total, 0, cfg.lr))
            idx = order[start:start + cfg.batch_size]
            loss = loss_fn(head(train.x[idx]), train.y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total_loss += float(loss.detach()) * len(idx)
        head.eval()
        with torch.inference_mode():
            valid_top1 = top1(head(valid.x), valid.y)
        history.append({"epoch": epoch, "phase": 1, "lr": lr, "train_loss": total_loss / len(train.y),
                        "valid_top1": valid_top1})
        if log:
            log(f"epoch {epoch:3d}  lr {lr:.2e}  train loss {total_loss / len(train.y):.4f}  "
                f"valid top-1 {valid_top1:.2%}")
        best = keep_if_better(best, valid_top1, epoch, head)
    head.load_state_dict(best.state)
    head.eval()
    return history, best.top1


def new_head(model: nn.Module, seed: int) -> None:
    """Replace the classifier's last Linear with a fresh 102-way layer (small normal init, zero bias)."""
    torch.manual_seed(seed)
    head = head_module(model)
    old = head[-1] if isinstance(head, nn.Sequential) else head
    layer = nn.Linear(old.in_features, NUM_CLASSES)
    nn.init.normal_(layer.weight, 0, 0.01)
    nn.init.zeros_(layer.bias)
    if isinstance(head, nn.Sequential):
        head[-1] = layer
    else:
        setattr(model, head_name(model), layer)


def phase1(model: nn.Module, samples: Splits, cfg: HeadConfig, *,
           preprocess: Preprocess, device: torch.device, cache: Path | None, log) -> tuple[list[dict[str, Any]], float, dict]:
    """Transfer phase 1: a new head on the frozen backbone's cached features. Returns history, valid top-1, info."""
    pooled_features(model)  # refuses, in one sentence, a model whose features it cannot find
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    new_head(model, cfg.seed)
    model.to(device)
    backbone = backbone_sha(model)
    feats = {s: cached_features(model, split, s, preprocess, cache=cache, backbone=backbone, device=device)
             for s, split in (("train", samples.train), ("valid", samples.valid))}
    log("features: " + ", ".join(f"{s} {tuple(f.x.shape)}" for s, f in feats.items()))
    model.cpu()
    history, valid_top1 = train_head(head_module(model), *feats.values(), cfg, log=log)
    return history, valid_top1, {"backbone_sha256": backbone,
                                 "features_from_cache": {s: f.from_cache for s, f in feats.items()},
                                 "features_engine": {s: f.engine for s, f in feats.items() if f.engine}}
