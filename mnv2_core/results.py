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
