"""What every training loop here shares, epoch by epoch: the learning-rate schedule (linear warm-up, cosine decay
per step), the best-epoch rule, the per-epoch CSV, and the state saved after each epoch to resume from."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mnv2_core.files import atomic_torch_save, atomic_write
from mnv2_core.typed_json import known


def lr_at(step: int, total: int, warmup: int, peak: float) -> float:
    """Linear warm-up to ``peak`` over ``warmup`` steps, then cosine decay to zero at ``total``."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def write_history_csv(history: list[dict[str, Any]], path: Path) -> None:
    """Per-epoch metrics of every phase as one CSV (a phase's missing columns stay empty)."""
    fields = list(dict.fromkeys(k for row in history for k in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, restval="")
    writer.writeheader()
    writer.writerows(history)
    atomic_write(path, lambda fh: fh.write(buffer.getvalue().encode()))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """The learning rate of every parameter group (the schedule sets it step by step)."""
    for group in optimizer.param_groups:
        group["lr"] = lr


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of the weights, to load back the best epoch at the end."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


@dataclass(frozen=True)
class Best:
    """The best epoch so far: its score (what picks it), its number (0: the starting weights), its weights and its
    clean valid top-1. Saved in a run's resumable state as the dict :meth:`saved` gives."""

    top1: float = -1.0
    epoch: int = 0
    state: dict[str, torch.Tensor] | None = None
    valid_top1: float | None = None

    def saved(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # no deep copy of the weights, as asdict makes

    @property
    def clean_top1(self) -> float:
        return self.top1 if self.valid_top1 is None else self.valid_top1


def keep_if_better(best: Best, score: float, epoch: int, model: nn.Module, valid_top1: float | None = None) -> Best:
    """The best epoch so far: this one if it scores strictly higher (on ties the earlier, less trained one wins)."""
    if score > best.top1:
        return Best(score, epoch, snapshot(model), valid_top1)
    return best


@dataclass(frozen=True)
class SavedState:
    """Everything a resumed phase needs to end with the same numbers as an uninterrupted one (saved after every
    epoch, atomically, as a dict of tensors and plain values: ``torch.load(weights_only=True)`` reads it back)."""

    config: dict[str, Any]
    phase: int
    epoch: int
    rows: list[dict[str, Any]]
    best: Best
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    generator: torch.Tensor

    def save(self, path: Path) -> None:
        atomic_torch_save({f.name: getattr(self, f.name) for f in fields(self)} | {"best": self.best.saved()}, path)

    @classmethod
    def load(cls, path: Path) -> SavedState:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        return cls(**{**known(cls, saved), "best": Best(**known(Best, saved.get("best")))})
