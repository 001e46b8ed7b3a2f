"""A training run's record, ``results/runs/<id>.json``, as typed values: written by :mod:`mnv2_core.train.record`,
read by :mod:`mnv2_core.measure.records`, the comparison and the Training page. :meth:`RunRecord.from_json` reads
every record this project has written (older ones lack ``kind``, ``train_resolution`` and the checkpoint's own
scores); :meth:`RunRecord.to_json` writes the same layout back."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from mnv2_core.typed_json import Open, parse, present

KIND_LABELS = {"transfer1": "transfer (head only)", "transfer2": "transfer (head + fine-tune)",
               "scratch": "from scratch", "distill": "from scratch + distillation",
               "finetune": "transfer + phone-photo fine-tune", "prune": "pruned + distilled",
               "widen": "widened + distilled"}
IMAGENET_KINDS = ("transfer1", "transfer2", "finetune", "prune", "widen")  # the rest start from random weights


@dataclass(frozen=True)
class RunMetrics:
    """Accuracy on Oxford-102 (fractions): the trained model's, and the shipped file's own (fp16 or int8-stored)."""

    test_top1: float | None = None
    test_top5: float | None = None
    valid_top1: float | None = None
    test_phone_top1: float | None = None
    test_phone_top5: float | None = None
    checkpoint_test_top1: float | None = None
    checkpoint_test_top5: float | None = None
    checkpoint_fp16_test_top1: float | None = None

    @property
    def shipped_top1(self) -> float | None:
        """The test top-1 of the file the app loads (the checkpoint's own where it was scored)."""
        return self.checkpoint_test_top1 if self.checkpoint_test_top1 is not None else self.test_top1

    @property
    def shipped_top5(self) -> float | None:
        return self.checkpoint_test_top5 if self.checkpoint_test_top5 is not None else self.test_top5


@dataclass(frozen=True)
class PhaseRecord(Open):
    """One training phase: what trained, for how long and how, and its best valid top-1."""

    phase: int = 1
    what: str = ""
    epochs: int | None = None
    lr: float | None = None
    batch_size: int | None = None
    warmup_epochs: float | None = None
    label_smoothing: float | None = None
    train_resolution: int | None = None
    distill_alpha: float | None = None
    distill_temperature: float | None = None
    distill_resolution: int | None = None
    bf16: bool | None = None
    augmentation: str | None = None
    best_epoch: int | None = None
    best_valid_top1: float | None = None
    other: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckpointEntry:
    """The checkpoint a run wrote: its file, whether it ships in assets/, and how it is stored."""

    file: str = ""
    shipped: bool = True
    size_bytes: int | None = None
    local: str | None = None
    why: str | None = None
    storage: str | None = None
    dtype: str | None = None


@dataclass(frozen=True)
class Derivation(Open):
    """A width made from the 1.0: valid top-1 of the source, after copying or widening, and after the refit."""

    source: str | None = None
    source_valid_top1: float | None = None
    copied_valid_top1: float | None = None
    refit_valid_top1: float | None = None
    widened_valid_top1: float | None = None
    calibration_photos: int | None = None
    seconds: float | None = None
    other: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunProvenance(Open):
    """Where, when, from which code and by which command the run was made."""

    date: str = ""
    device: str | None = None
    seconds: float | None = None
    command: str | None = None
    git_commit: str | None = None
    data_source: str | None = None
    derived: Derivation | None = None
    other: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = present(self)
        if self.derived is not None:
            out["derived"] = present(self.derived)
        return out

    @property
    def minutes(self) -> float | None:
        return round(self.seconds / 60, 1) if isinstance(self.seconds, (int, float)) else None


def _legacy_kind(data: dict[str, Any]) -> str:
    """Runs recorded before ``kind`` existed were phase-1 transfer or from scratch."""
    kind = data.get("kind")
    if kind in KIND_LABELS:
        return kind
    return "transfer1" if str(data.get("recipe", "")).startswith("transfer phase 1") else "scratch"


@dataclass(frozen=True)
class RunRecord:
    """What was trained, how, and every figure it measured, with its provenance."""

    id: str
    model: str
    width: float | None = None
    init: str = ""
    recipe: str = ""
    kind: str = "scratch"
    epochs: int | None = None
    resolution: int | None = None
    train_resolution: int | None = None
    params: int | None = None
    macs: int | None = None
    phases: tuple[PhaseRecord, ...] = ()
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    metrics: RunMetrics = RunMetrics()
    per_class: tuple[dict[str, Any], ...] = ()
    confused: tuple[dict[str, Any], ...] = ()
    history: tuple[dict[str, Any], ...] = ()
    checkpoint: CheckpointEntry = CheckpointEntry()
    provenance: RunProvenance = RunProvenance()

    @classmethod
    def from_json(cls, data: dict[str, Any], fallback_id: str = "") -> RunRecord:
        """A record from its JSON, whatever this project's version wrote it."""
        data = data if isinstance(data, dict) else {}
        return parse(cls, {**data, "id": str(data.get("id") or fallback_id), "model": str(data.get("model") or ""),
                           "kind": _legacy_kind(data),
                           "train_resolution": data.get("train_resolution", data.get("resolution"))})

    def to_json(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out |= {"phases": [present(p) for p in self.phases], "metrics": present(self.metrics),
                "checkpoint": present(self.checkpoint), "provenance": self.provenance.to_json(),
                "per_class": list(self.per_class), "confused": list(self.confused), "history": list(self.history)}
        return out

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def from_imagenet(self) -> bool:
        return self.kind in IMAGENET_KINDS

    @property
    def epoch_seconds(self) -> list[float]:
        """Each epoch's wall time, where the history recorded it."""
        return [h["seconds"] for h in self.history if isinstance(h.get("seconds"), (int, float))]

    @property
    def distill_from(self) -> str | None:
        teacher = self.hyperparameters.get("distill_from")
        return str(teacher) if teacher else None
