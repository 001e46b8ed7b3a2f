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


def from_scratch_runs(runs: list[dict[str, Any]] | None = None) -> list[tuple[str, dict[str, Any]]]:
    """(model title, run) for every model of the comparison whose checkpoint was trained from random weights, by the
    run that made that checkpoint."""
    from mnv2_core.measure.comparison import comparison_rows
    from mnv2_core.measure.records import load_runs

    runs = runs if runs is not None else load_runs()
    by_id = {r.get("id"): r for r in runs}
    return [(row.title, by_id[row.run_id]) for row in comparison_rows()
            if row.from_imagenet is False and row.run_id in by_id]


def _recipe_words(run: dict[str, Any]) -> str:
    """The from-scratch phase's recipe in one line: epochs, crops, optimiser, teacher, bf16."""
    phase = next((p for p in run.get("phases", []) if p.get("phase") == 1), {})
    teacher = run.get("hyperparameters", {}).get("distill_from")
    words = (f"{phase.get('epochs')} epochs, {phase.get('train_resolution')} px crops, tested at "
             f"{run.get('resolution')} px, AdamW lr {phase.get('lr')}, batch {phase.get('batch_size')}, "
             f"{phase.get('warmup_epochs')} warm-up epochs, label smoothing {phase.get('label_smoothing')}")
    if teacher:
        seen = phase.get("distill_resolution") or phase.get("train_resolution")
        words += (f"; distilled from {str(teacher).rsplit('/', 1)[-1]} (T {phase.get('distill_temperature')}, "
                  f"alpha {phase.get('distill_alpha')}, teacher input {seen} px)")
    return words + ("; bf16 autocast" if phase.get("bf16") else "")


def from_scratch_table(runs: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The from-scratch runs side by side: accuracy, epochs, wall time on the CPU that ran them, the recipe."""
    rows = []
    for title, run in from_scratch_runs(runs):
        metrics, prov = run.get("metrics", {}), run.get("provenance", {})
        seconds = [h["seconds"] for h in run.get("history", []) if isinstance(h.get("seconds"), (int, float))]
        rows.append({"Model": title, "Test %": 100 * metrics.get("test_top1", 0.0),
                     "Best valid %": 100 * metrics.get("valid_top1", 0.0), "Epochs": run.get("epochs"),
                     "s per epoch": sorted(seconds)[len(seconds) // 2] if seconds else None,
                     "Minutes": prov["seconds"] / 60 if isinstance(prov.get("seconds"), (int, float)) else None,
                     "Machine": prov.get("device"), "Recipe": _recipe_words(run)})
    return rows


def from_scratch_curves(runs: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Valid top-1 (percent) per epoch of each from-scratch run, one row per (model, epoch)."""
    return [{"Model": title, "epoch": h["epoch"], "valid top-1 %": 100 * h["valid_top1"]}
            for title, run in from_scratch_runs(runs) for h in run.get("history", []) if "valid_top1" in h]
