"""Measured results with their provenance: one JSON file per run under assets/results/runs/."""

from __future__ import annotations

import json
from pathlib import Path

from mnv2_core import config
from mnv2_core.measure.run_record import KIND_LABELS, RunRecord  # noqa: F401  (KIND_LABELS: the records' face)


def runs_dir() -> Path:
    return config.RESULTS_DIR / "runs"


def load_runs(folder: Path | None = None) -> list[RunRecord]:
    """Every recorded run, newest first; files that do not parse are skipped rather than breaking the app."""
    folder = folder or runs_dir()
    runs = []
    for path in sorted(folder.glob("*.json")) if folder.exists() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                runs.append(RunRecord.from_json(data, fallback_id=path.stem))
        except (OSError, ValueError, TypeError):
            continue
    return sorted(runs, key=lambda r: r.provenance.date, reverse=True)


def shipped_run(model: str, width: float | None, runs: list[RunRecord] | None = None) -> RunRecord | None:
    """The run whose checkpoint is the one in assets/checkpoints (the checkpoint names its run); for files that do
    not, the newest run of this model and width that shipped."""
    from mnv2_core.models.checkpoints import checkpoint_meta, checkpoint_path

    candidates = [r for r in (runs if runs is not None else load_runs())
                  if (r.model, r.width) == (model, width) and r.checkpoint.shipped]
    path = checkpoint_path(model, width)
    if path.is_file():
        run_id = checkpoint_meta(path).run_id
        named = [r for r in candidates if r.id == run_id]
        if named:
            return named[0]
    return max(candidates, key=lambda r: r.provenance.date, default=None)


def shipped_run_ids() -> set[str]:
    """The runs behind the checkpoints in assets/checkpoints (each file names the run that made it)."""
    from mnv2_core import config
    from mnv2_core.models.checkpoints import checkpoint_meta

    folder = config.CHECKPOINT_DIR
    ids = (checkpoint_meta(p).run_id for p in sorted(folder.glob("*.pt"))) if folder.is_dir() else ()
    return {i for i in ids if i}


def measured_run(model: str, width: float | None, runs: list[RunRecord] | None = None) -> RunRecord | None:
    """The run behind the shipped checkpoint; for a model whose checkpoint could not ship (too large for the
    repository), the newest run recorded for it: its accuracy was still measured by this project."""
    runs = runs if runs is not None else load_runs()
    found = shipped_run(model, width, runs)
    if found is not None:
        return found
    recorded = [r for r in runs if (r.model, r.width) == (model, width)]
    return max(recorded, key=lambda r: r.provenance.date, default=None)


FAMILY_STEPS = ("source network", "pruned: weights copied", "pruned: least-squares refit", "widened (Net2WiderNet)",
                "after distillation")  # the order in which a width is made, for charts


def derivation_steps(run: RunRecord) -> list[tuple[str, float | None]]:
    """(step, valid top-1) in order for a width derived from the 1.0: the source network, the pruned or widened one
    before training (for pruning: weights only copied, then refit by least squares), and the final one after
    distillation. Empty for a model that was not derived."""
    derived = run.provenance.derived
    if derived is None:
        return []
    source, copied, refit, widened, distilled = FAMILY_STEPS
    steps = [(source, derived.source_valid_top1)]
    if derived.copied_valid_top1 is not None:
        steps += [(copied, derived.copied_valid_top1), (refit, derived.refit_valid_top1)]
    if derived.widened_valid_top1 is not None:
        steps.append((widened, derived.widened_valid_top1))
    return steps + [(distilled, run.metrics.valid_top1)]
