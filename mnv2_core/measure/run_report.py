"""One training run, shaped for reading: how it was made in words, its learning curves with the phase boundaries,
and its per-class accuracy worst first (the Training page renders these as they are)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CURVE_METRICS = ("train_loss", "train_top1", "valid_top1", "valid_phone_top1")


def run_summary(run: dict[str, Any]) -> str:
    """Recipe, start, machine, time, data, commit and the command that reproduces the run, in one line."""
    prov = run.get("provenance", {})
    return (f"{run.get('recipe')}; init {run.get('init')}; {prov.get('device')}; {prov.get('seconds')} s; "
            f"data {prov.get('data_source')}; commit {str(prov.get('git_commit'))[:8]}. Reproduce: "
            f"`{prov.get('command')}`")


def phase_summaries(run: dict[str, Any]) -> list[str]:
    """One sentence per training phase: what trained, for how long, how, and its best valid top-1."""
    return [f"Phase {p['phase']}: {p.get('what')}; {p.get('epochs')} epochs, lr {p.get('lr')}, augmentation "
            f"{p.get('augmentation')}; best valid top-1 {p.get('best_valid_top1', 0):.2%}."
            for p in run.get("phases", [])]


@dataclass
class Curves:
    """Per-epoch rows, the metrics they hold (in :data:`CURVE_METRICS` order), and where each later phase starts
    (x = half an epoch before its first epoch, for a dashed line)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    phase_starts: list[tuple[float, int]] = field(default_factory=list)


def learning_curves(run: dict[str, Any]) -> Curves:
    rows = list(run.get("history", []))
    metrics = [m for m in CURVE_METRICS if any(m in r for r in rows)]
    starts = [(r["epoch"] - 0.5, int(r["phase"])) for prev, r in zip(rows, rows[1:])
              if "phase" in r and r.get("phase") != prev.get("phase")]
    return Curves(rows, metrics, starts)


def worst_classes_first(run: dict[str, Any]) -> list[dict[str, Any]]:
    """Per-class test accuracy, lowest first (ties in class order)."""
    return sorted(run.get("per_class", []), key=lambda r: (r.get("accuracy", 0.0), r.get("class_id", 0)))

