"""Shipping a run's checkpoint: fp16, into assets/ only when it beats the one there on valid top-1 and fits the
repository's size limit (else into the local checkpoint folder), then scored again from the file the app loads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from mnv2_core.measure.accuracy import classification_report
from mnv2_core.images.views import Preprocess
from mnv2_core.models import weights
from mnv2_core.train.features import evaluate_model
from mnv2_core.train.spec import MAX_SHIPPED_BYTES, RunSpec

CHECKPOINT_STEP = "test (fp16 checkpoint)"


def _ship(ckpt: Path, valid_top1: float, *, replace: bool = False) -> tuple[bool, str]:
    """Whether a new checkpoint should replace the one at ``ckpt`` (best valid top-1 wins)."""
    if not ckpt.is_file():
        return True, "no checkpoint there yet"
    if replace:
        return True, "--replace was given"
    try:
        old = torch.load(ckpt, map_location="cpu", weights_only=True).get("meta", {}).get("valid_top1")
    except Exception:
        return True, "the checkpoint there does not load"
    if old is None or valid_top1 > old:
        return True, f"valid top-1 {valid_top1:.2%} beats {old if old is None else f'{old:.2%}'}"
    return False, f"valid top-1 {valid_top1:.2%} does not beat the shipped {old:.2%}"


def write_checkpoint(spec: RunSpec, model: nn.Module, meta: dict[str, Any], valid_top1: float, staging: Path,
                     *, log) -> tuple[Path, bool, bool, str]:
    """Stage the fp16 checkpoint, then ship it to ``<out>/checkpoints`` when it beats the one there on valid.

    One too large for the repository goes to the local checkpoint folder instead, where the app on this machine
    still finds it. Returns the checkpoint to use, whether it shipped, whether it went to the local folder, and why.
    """
    name = weights.checkpoint_path(spec.model, spec.width, "flowers").name
    staged = staging / "runs" / f"{meta['run_id']}.pt"
    weights.save_checkpoint(staged, model, meta, half=True)
    size_bytes = staged.stat().st_size
    fits = size_bytes <= MAX_SHIPPED_BYTES
    target = (spec.out / "checkpoints" if fits else staging / "checkpoints") / name
    better, why = _ship(target, valid_top1, replace=spec.replace)
    if better:
        weights.save_checkpoint(target, model, meta, half=True)
    if not fits:
        why = (f"{size_bytes / 1e6:.1f} MB is over the {MAX_SHIPPED_BYTES / 1e6:.0f} MB limit for assets/; "
               f"{'the app here loads it from the local checkpoint folder' if better else why}")
    shipped = fits and better
    ckpt = target if better else staged
    log(f"checkpoint {'shipped to' if shipped else 'kept at'} {ckpt} ({why})")
    return ckpt, shipped, better and not fits, why


def score_checkpoint(ckpt: Path, staged: Path, samples: list[tuple[Path, int]], test: dict[str, Any],
                     preprocess: Preprocess, device: torch.device, *, log) -> dict[str, Any]:
    """Reload the fp16 file the way the app does, score it end to end, and stamp its own figures into it."""
    loaded = weights.load_checkpoint_file(ckpt)
    y_test = torch.tensor([y for _, y in samples])
    reloaded = classification_report(evaluate_model(loaded.model.to(device), samples, preprocess,
                                                    desc=CHECKPOINT_STEP, device=device), y_test)
    log(f"fp16 checkpoint, end to end: test top-1 {reloaded['top1']:.2%}  top-5 {reloaded['top5']:.2%}  "
        f"({ckpt.stat().st_size / 1e6:.2f} MB)")
    if reloaded["top1"] < test["top1"]:
        log("warning: the fp16 checkpoint's test top-1 is below the fp32 model's")
    # The app runs the fp16 file: the accuracy it shows is the file's own, the fp32 model's is kept beside it.
    stamp = {"test_top1": reloaded["top1"], "test_top5": reloaded["top5"], "fp32_test_top1": test["top1"],
             "fp32_test_top5": test["top5"]}
    for path in {ckpt, staged}:
        if path.is_file():
            weights.update_checkpoint_meta(path, **stamp)
    return reloaded
