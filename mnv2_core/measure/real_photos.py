"""How a flower checkpoint does on the real-photo dev set (:mod:`mnv2_core.images.real_photos`): top-1 and top-5 on
the labelled photos, and the share of the flowers outside the 102 that the "not sure" warning flags. Measured by
``python -m mnv2_core evaluate`` and recorded per checkpoint in ``assets/results/real_photos.json``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from mnv2_core import config
from mnv2_core.measure.open_set import max_probability
from mnv2_core.typed_json import Record, read_list


@dataclass(frozen=True)
class RealPhotoScore(Record):
    """One checkpoint's figures on the dev set (fractions) and what they were measured with."""

    model: str
    width: float | None
    init: str
    checkpoint: str  # the checkpoint's identity (open_set.checkpoint_identity)
    top1: float
    top5: float
    labelled: int
    unknown: int
    unknown_flagged: float | None  # None: no "not sure" threshold was measured for this checkpoint
    threshold: float | None
    command: str = ""



def score(model: str, width: float | None, init: str, checkpoint: str, logits: np.ndarray, labels: np.ndarray,
          unknown_logits: np.ndarray, threshold: float | None, command: str = "") -> RealPhotoScore:
    """The figures from the labelled photos' logits and labels and the unknown flowers' logits."""
    top5 = np.argsort(-logits, axis=1)[:, :5]
    flagged = float((max_probability(unknown_logits) < threshold).mean()) \
        if threshold is not None and len(unknown_logits) else None
    return RealPhotoScore(model, width, init, checkpoint, float((top5[:, 0] == labels).mean()),
                          float((top5 == labels[:, None]).any(1).mean()), len(labels), len(unknown_logits), flagged,
                          threshold, command)


def results_path() -> Path:
    return config.RESULTS_DIR / "real_photos.json"


def load_scores(path: Path | None = None) -> list[RealPhotoScore]:
    return read_list(path or results_path(), RealPhotoScore.from_json)


def save_scores(scores: Sequence[RealPhotoScore], path: Path | None = None) -> Path:
    """Keep the newest score of each checkpoint (a replaced checkpoint's stays, for the routes it compares),
    written atomically."""
    from mnv2_core.files import atomic_write_json

    path = path or results_path()
    kept = {(s.model, s.width, s.init, s.checkpoint): s for s in [*load_scores(path), *scores]}
    rows = sorted(kept.values(), key=lambda s: (s.model, s.width or 0, s.init, s.checkpoint))
    atomic_write_json([asdict(s) for s in rows], path)
    return path


def score_for(model: str, width: float | None, checkpoint: str, init: str = "default") -> RealPhotoScore | None:
    """The recorded score of this very checkpoint (None when it was not measured, or a newer file replaced it)."""
    return next((s for s in load_scores() if (s.model, s.width, s.init, s.checkpoint)
                 == (model, width, init, checkpoint)), None)
