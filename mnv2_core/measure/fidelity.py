"""How faithful a lower precision (INT8, BF16) is to FP32 on a split: each one's top-1, and how often their top-1
answers agree, on every engine that runs it; the headline is the worse engine's, since the app may run either.
INT8's are written beside each shipped INT8 file (:mod:`mnv2_core.runtime.int8_files`); BF16's, computed on the fly
from the float weights, in ``assets/results/fidelity.json``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from mnv2_core import config
from mnv2_core.measure.accuracy import agreement, top1
from mnv2_core.typed_json import Record, read_list


@dataclass(frozen=True)
class EngineScore:
    top1: float
    agreement: float


@dataclass(frozen=True)
class PrecisionTest:
    """FP32's and the lower precision's top-1 on a split, their top-1 agreement and the drop in points: the worse
    engine's, and each engine's own."""

    images: int
    fp32_top1: float
    top1: float
    agreement: float
    drop_points: float
    by_engine: dict[str, EngineScore] = field(default_factory=dict)


def precision_test(fp32: np.ndarray, by_engine: Mapping[str, np.ndarray], labels: Sequence[int]) -> PrecisionTest:
    """FP32 logits against each engine's logits of the same images, in the same order."""
    scores = {e: EngineScore(top1(logits, labels), agreement(fp32, logits)) for e, logits in by_engine.items()}
    fp32_top1, low_top1 = top1(fp32, labels), min(s.top1 for s in scores.values())
    return PrecisionTest(len(labels), fp32_top1, low_top1, min(s.agreement for s in scores.values()),
                         100 * (fp32_top1 - low_top1), scores)


@dataclass(frozen=True)
class FidelityRecord(Record):
    """A precision computed on the fly from the float weights (BF16), measured against FP32 on the test split: on
    which checkpoint, on which CPU (its bfloat16 kernels decide the rounding) and by which command."""

    model: str
    width: float | None
    init: str
    precision: str
    checkpoint: str
    float_sha256: str
    test: PrecisionTest
    cpu: str
    command: str = ""
    date: str = ""

    @property
    def title(self) -> str:
        from mnv2_core.models import model_title

        return model_title(self.model, self.width, self.init)


def fidelity_path() -> Path:
    return config.RESULTS_DIR / "fidelity.json"


def load_fidelity(path: Path | None = None) -> list[FidelityRecord]:
    """Every recorded measurement (none when the file is missing or does not read)."""
    return read_list(path or fidelity_path(), FidelityRecord.from_json)


def save_fidelity(records: Sequence[FidelityRecord], path: Path | None = None) -> Path:
    """Keep the newest record of each (model, width, init, precision), written atomically."""
    from mnv2_core.files import atomic_write_json

    path = path or fidelity_path()
    kept = {(r.model, r.width, r.init, r.precision): r for r in [*load_fidelity(path), *records]}
    rows = sorted(kept.values(), key=lambda r: (r.precision, r.model, r.width or 0, r.init))
    atomic_write_json([asdict(r) for r in rows], path)
    return path


def fidelity_for(model: str, width: float | None, precision: str, float_sha256: str,
                 init: str = "default") -> FidelityRecord | None:
    """The record measured on these very weights (None when they were not measured, or were replaced since)."""
    return next((r for r in load_fidelity() if (r.model, r.width, r.init, r.precision, r.float_sha256)
                 == (model, width, init, precision, float_sha256)), None)
