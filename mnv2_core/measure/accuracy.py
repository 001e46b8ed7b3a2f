"""Accuracy from logits: top-1 as an exact count ratio, top-5, per-class accuracy and the most-confused pairs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from mnv2_core.models import labels as class_labels


def top1(logits: torch.Tensor | np.ndarray, labels: torch.Tensor | np.ndarray | Sequence[int]) -> float:
    """Share of rows whose highest logit is the label; an exact count ratio (not a float32 mean)."""
    hits = np.asarray(logits).argmax(1) == np.asarray(labels)
    return int(hits.sum()) / len(hits) if len(hits) else 0.0


def agreement(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    """Share of images on which two models' top-1 classes are the same (INT8 vs FP32, say)."""
    same = np.asarray(a).argmax(1) == np.asarray(b).argmax(1)
    return int(same.sum()) / len(same) if len(same) else 0.0


@dataclass(frozen=True)
class Report:
    """Top-1 and top-5 (fractions), and, for a full report, per-class accuracy and the most-confused pairs."""

    top1: float
    top5: float
    per_class: list[dict[str, Any]] = field(default_factory=list)
    confused: list[dict[str, Any]] = field(default_factory=list)


def classification_report(logits: torch.Tensor, y: torch.Tensor, names: tuple[str, ...] | None = None,
                          *, top_confused: int = 10) -> Report:
    """Top-1, top-5, per-class accuracy and the most-confused pairs, with Oxford-102 ids (index + 1)."""
    names = names or class_labels.flower_names()
    num_classes = logits.shape[1]
    pred = logits.argmax(1)
    top5 = logits.topk(min(5, num_classes), dim=1).indices
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.long)
    confusion.index_put_((y, pred), torch.ones_like(y), accumulate=True)
    per_class = []
    for c in range(num_classes):
        n = int(confusion[c].sum())
        per_class.append({"class_id": c + 1, "name": names[c], "n": n,
                          "accuracy": float(confusion[c, c]) / n if n else None})
    off = confusion.clone()
    off.fill_diagonal_(0)
    pairs = sorted(((int(off[t, p]), t, p) for t, p in off.nonzero().tolist()), key=lambda r: (-r[0], r[1], r[2]))
    confused = [{"true_id": t + 1, "true_name": names[t], "pred_id": p + 1, "pred_name": names[p], "count": n}
                for n, t, p in pairs[:top_confused]]
    return Report(top1(logits, y), int((top5 == y[:, None]).any(1).sum()) / len(y) if len(y) else 0.0, per_class,
                  confused)
