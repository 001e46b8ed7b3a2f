"""What every training loop here shares, epoch by epoch: the learning-rate schedule (linear warm-up, cosine decay
per step), the best-epoch rule, and the per-epoch CSV."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mnv2_core.files import atomic_write


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


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of the weights, to load back the best epoch at the end."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def keep_if_better(best: dict[str, Any], score: float, epoch: int, model: nn.Module, **extra: Any) -> dict[str, Any]:
    """The best epoch so far: this one if it scores strictly higher (on ties the earlier, less trained one wins)."""
    if score > best["top1"]:
        return {"top1": score, "epoch": epoch, "state": snapshot(model), **extra}
    return best
