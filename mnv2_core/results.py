"""Measured results with their provenance: one JSON file per run under assets/results/runs/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import config


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


def best_flower_run(model: str, width: float | None, runs: list[dict[str, Any]] | None = None) -> dict[str, Any] | None:
    """The recorded run with the highest Oxford-102 test top-1 for this model and width, if any."""
    candidates = [r for r in (runs if runs is not None else load_runs())
                  if r.get("model") == model and (width is None or r.get("width") == width)
                  and isinstance(r.get("metrics", {}).get("test_top1"), (int, float))]
    return max(candidates, key=lambda r: r["metrics"]["test_top1"], default=None)


KIND_LABELS = {"transfer1": "transfer (head only)", "transfer2": "transfer (head + fine-tune)",
               "scratch": "from scratch", "distill": "distilled"}


def run_kind(run: dict[str, Any]) -> str:
    """transfer1 | transfer2 | scratch | distill (runs recorded before ``kind`` existed were phase-1 transfer)."""
    kind = run.get("kind")
    if kind in KIND_LABELS:
        return kind
    return "transfer1" if str(run.get("recipe", "")).startswith("transfer phase 1") else "scratch"


def comparison_rows(runs: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """One row per run for the comparison table: what was trained, how, and what it scored on the test split."""
    rows = []
    for r in runs if runs is not None else load_runs():
        metrics, prov = r.get("metrics", {}), r.get("provenance", {})
        rows.append({
            "run": r.get("id"), "model": r.get("model"), "width": r.get("width"),
            "training": KIND_LABELS[run_kind(r)], "init": r.get("init"), "epochs": r.get("epochs"),
            "train_px": r.get("train_img_size", r.get("img_size")), "test_px": r.get("img_size"),
            "test_top1": metrics.get("test_top1"), "test_top5": metrics.get("test_top5"),
            "valid_top1": metrics.get("valid_top1"), "params": r.get("params"), "macs": r.get("macs"),
            "shipped": r.get("checkpoint", {}).get("shipped", True), "device": prov.get("device"),
            "minutes": round(prov["seconds"] / 60, 1) if isinstance(prov.get("seconds"), (int, float)) else None,
            "commit": str(prov.get("git_commit") or "")[:8],
        })
    return rows
