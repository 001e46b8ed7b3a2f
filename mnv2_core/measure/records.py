"""Measured results with their provenance: one JSON file per run under assets/results/runs/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mnv2_core import config


def runs_dir() -> Path:
    return config.RESULTS_DIR / "runs"


def load_runs(folder: Path | None = None) -> list[dict[str, Any]]:
    """Every recorded run, newest first; files that do not parse are skipped rather than breaking the app."""
    folder = folder or runs_dir()
    runs = []
    for path in sorted(folder.glob("*.json")) if folder.exists() else []:
        try:
            run = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(run, dict):
            run.setdefault("id", path.stem)
            runs.append(run)
    return sorted(runs, key=lambda r: str(r.get("provenance", {}).get("date", "")), reverse=True)


KIND_LABELS = {"transfer1": "transfer (head only)", "transfer2": "transfer (head + fine-tune)",
               "scratch": "from scratch", "distill": "from scratch + distillation",
               "finetune": "transfer + phone-photo fine-tune", "prune": "pruned + distilled",
               "widen": "widened + distilled"}


def run_kind(run: dict[str, Any]) -> str:
    """transfer1 | transfer2 | scratch | distill (runs recorded before ``kind`` existed were phase-1 transfer)."""
    kind = run.get("kind")
    if kind in KIND_LABELS:
        return kind
    return "transfer1" if str(run.get("recipe", "")).startswith("transfer phase 1") else "scratch"


def comparison_rows(runs: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """One row per run for the comparison table: what was trained, how, and what it scored on the test split."""
    from mnv2_core.models import model_title

    rows = []
    for r in runs if runs is not None else load_runs():
        metrics, prov = r.get("metrics", {}), r.get("provenance", {})
        rows.append({  # in the order the page shows the columns: what, how well, at what cost, then details
            "title": model_title(r["model"], r.get("width")), "training": KIND_LABELS[run_kind(r)],
            "test_top1": metrics.get("test_top1"), "test_top5": metrics.get("test_top5"),
            "valid_top1": metrics.get("valid_top1"), "params": r.get("params"), "macs": r.get("macs"),
            "epochs": r.get("epochs"), "run": r.get("id"), "model": r.get("model"), "width": r.get("width"),
            "init": r.get("init"), "train_resolution": r.get("train_resolution", r.get("resolution")),
            "resolution": r.get("resolution"), "phone_top1": metrics.get("test_phone_top1"),
            "shipped": r.get("checkpoint", {}).get("shipped", True), "device": prov.get("device"),
            "minutes": round(prov["seconds"] / 60, 1) if isinstance(prov.get("seconds"), (int, float)) else None,
            "commit": str(prov.get("git_commit") or "")[:8],
        })
    return rows


def shipped_run(model: str, width: float | None, runs: list[dict[str, Any]] | None = None) -> dict[str, Any] | None:
    """The run whose checkpoint is the one in assets/checkpoints (the checkpoint names its run); for files that do
    not, the newest run of this model and width that shipped."""
    from mnv2_core.models.checkpoints import checkpoint_meta, checkpoint_path

    candidates = [r for r in (runs if runs is not None else load_runs())
                  if r.get("model") == model and r.get("width") == width
                  and r.get("checkpoint", {}).get("shipped", True)]
    path = checkpoint_path(model, width)
    if path.is_file():
        run_id = checkpoint_meta(path).get("run_id")
        named = [r for r in candidates if r.get("id") == run_id]
        if named:
            return named[0]
    return max(candidates, key=lambda r: str(r.get("provenance", {}).get("date", "")), default=None)


def measured_run(model: str, width: float | None, runs: list[dict[str, Any]] | None = None) -> dict[str, Any] | None:
    """The run behind the shipped checkpoint; for a model whose checkpoint could not ship (too large for the
    repository), the newest run recorded for it: its accuracy was still measured by this project."""
    runs = runs if runs is not None else load_runs()
    found = shipped_run(model, width, runs)
    if found is not None:
        return found
    recorded = [r for r in runs if r.get("model") == model and r.get("width") == width]
    return max(recorded, key=lambda r: str(r.get("provenance", {}).get("date", "")), default=None)


FAMILY_STEPS = ("1.0 (source)", "pruned: weights copied", "pruned: least-squares refit", "widened (Net2WiderNet)",
                "after distillation")  # the order in which a width is made, for charts


def derivation_steps(run: dict[str, Any]) -> list[tuple[str, float | None]]:
    """(step, valid top-1) in order for a width derived from the 1.0: the source network, the pruned or widened one
    before training (for pruning: weights only copied, then refit by least squares), and the final one after
    distillation. Empty for a model that was not derived."""
    derived = run.get("provenance", {}).get("derived", {})
    if not derived:
        return []
    source, copied, refit, widened, distilled = FAMILY_STEPS
    steps = [(source, derived.get("source_valid_top1"))]
    if "copied_valid_top1" in derived:
        steps += [(copied, derived["copied_valid_top1"]), (refit, derived.get("refit_valid_top1"))]
    if "widened_valid_top1" in derived:
        steps.append((widened, derived["widened_valid_top1"]))
    return steps + [(distilled, run.get("metrics", {}).get("valid_top1"))]


def family_rows(widths: tuple[float, ...], runs: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The shipped MobileNetV2 of each width: how it was made, its cost and its accuracy."""
    runs = runs if runs is not None else load_runs()
    rows = []
    for width in widths:
        run = shipped_run("mobilenet_v2", width, runs)
        if run is None:
            rows.append({"width": width, "how": "not trained yet"})
            continue
        metrics, prov = run.get("metrics", {}), run.get("provenance", {})
        derived = prov.get("derived", {})
        seconds = prov.get("seconds")
        how = KIND_LABELS[run_kind(run)]
        if derived and run.get("phases") and run["phases"][-1].get("best_epoch") == 0:
            how += " (training did not beat its start on valid: the start ships)"
        rows.append({
            "width": width, "how": how, "params": run.get("params"), "macs": run.get("macs"),
            # the shipped file's own figures (fp16) where recorded: that file is what the app runs
            "test_top1": metrics.get("checkpoint_test_top1", metrics.get("test_top1")),
            "test_top5": metrics.get("checkpoint_test_top5", metrics.get("test_top5")),
            "phone_top1": metrics.get("test_phone_top1"), "phone_top5": metrics.get("test_phone_top5"),
            "valid_top1": metrics.get("valid_top1"), "epochs": run.get("epochs"),
            "minutes": round(seconds / 60, 1) if isinstance(seconds, (int, float)) else None,
            "device": prov.get("device"), "run": run.get("id"), "command": prov.get("command"),
        })
    return rows


def family_steps(widths: tuple[float, ...], runs: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Each shipped width's :func:`derivation_steps` as long-form rows (width, step, valid top-1) for a chart."""
    runs = runs if runs is not None else load_runs()
    return [{"width": f"{width:g}", "step": step, "valid_top1": value} for width in widths
            if (run := shipped_run("mobilenet_v2", width, runs)) is not None
            for step, value in derivation_steps(run) if value is not None]


def with_values(rows: list[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    """The rows that have every one of ``keys`` measured (not missing, not None, not NaN): the points of a chart."""
    return [r for r in rows if all(r.get(k) is not None and r.get(k) == r.get(k) for k in keys)]
