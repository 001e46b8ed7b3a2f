"""One training run, shaped for reading: how it was made in words, its learning curves with the phase boundaries,
and its per-class accuracy worst first (the Training page renders these as they are)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mnv2_core.measure.run_record import RunRecord

CURVE_METRICS = ("train_loss", "train_top1", "valid_top1", "valid_phone_top1")


def run_summary(run: RunRecord) -> str:
    """Recipe, start, machine, time, data, commit and the command that reproduces the run, in one line."""
    prov = run.provenance
    return (f"{run.recipe}; init {run.init}; {prov.device}; {prov.seconds} s; data {prov.data_source}; commit "
            f"{str(prov.git_commit)[:8]}. Reproduce: `{prov.command}`")


def phase_summaries(run: RunRecord) -> list[str]:
    """One sentence per training phase: what trained, for how long, how, and its best valid top-1."""
    return [f"Phase {p.phase}: {p.what}; {p.epochs} epochs, lr {p.lr}, augmentation {p.augmentation}; best valid "
            f"top-1 {p.best_valid_top1 or 0:.2%}." for p in run.phases]


@dataclass
class Curves:
    """Per-epoch rows, the metrics they hold (in :data:`CURVE_METRICS` order), and where each later phase starts
    (x = half an epoch before its first epoch, for a dashed line)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    phase_starts: list[tuple[float, int]] = field(default_factory=list)


def learning_curves(run: RunRecord) -> Curves:
    rows = list(run.history)
    metrics = [m for m in CURVE_METRICS if any(m in r for r in rows)]
    starts = [(r["epoch"] - 0.5, int(r["phase"])) for prev, r in zip(rows, rows[1:])
              if "phase" in r and r.get("phase") != prev.get("phase")]
    return Curves(rows, metrics, starts)


def worst_classes_first(run: RunRecord) -> list[dict[str, Any]]:
    """Per-class test accuracy, lowest first (ties in class order)."""
    return sorted(run.per_class, key=lambda r: (r.get("accuracy", 0.0), r.get("class_id", 0)))

