"""Shipping a run's checkpoint: fp16, into assets/ only when it beats the one there on valid top-1 and fits the
repository's size limit (else into the local checkpoint folder), then scored again from the file the app loads."""

from __future__ import annotations

from pathlib import Path
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from mnv2_core.measure.accuracy import Report, classification_report
from mnv2_core.images.views import Preprocess
from mnv2_core.models import stored_weights, weights
from mnv2_core.runtime.passes import split_logits
from mnv2_core.train.spec import MAX_SHIPPED_BYTES, RunSpec

CHECKPOINT_STEP = "test (fp16 checkpoint)"  # the stored file the app loads (int8 weights for large networks)
FP16_STEP = "test (fp16 weights, beside int8)"


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


def _stage(model: nn.Module, meta: dict[str, Any], staged: Path) -> tuple[Path, str, int]:
    """Write the fp16 file; a network whose fp16 file is over the limit also gets a per-channel int8 one, which is
    the one to ship. Returns the file to ship, its storage and the size limit it must meet."""
    weights.save_checkpoint(staged, model, meta)
    if staged.stat().st_size <= MAX_SHIPPED_BYTES:
        return staged, stored_weights.FP16, MAX_SHIPPED_BYTES
    compact = staged.with_suffix(".int8.pt")
    weights.save_checkpoint(compact, model, meta, storage=stored_weights.INT8)
    return compact, stored_weights.INT8, weights.MAX_INT8_SHIPPED_BYTES


def write_checkpoint(spec: RunSpec, model: nn.Module, meta: dict[str, Any], valid_top1: float, staging: Path,
                     *, log) -> tuple[Path, bool, bool, str]:
    """Stage the checkpoint, then ship it to ``<out>/checkpoints`` when it beats the one there on valid.

    fp16, or per-channel int8 weights where the fp16 file is over the repository's limit. One still too large goes
    to the local checkpoint folder (fp16), where the app on this machine still finds it. Returns the checkpoint to
    use, whether it shipped, whether it went to the local folder, and why.
    """
    name = weights.checkpoint_path(spec.model, spec.width, "flowers", spec.init).name
    staged = staging / "runs" / f"{meta['run_id']}.pt"
    candidate, storage, limit = _stage(model, meta, staged)
    size_bytes = candidate.stat().st_size
    fits = size_bytes <= limit
    target = (spec.out / "checkpoints" if fits else staging / "checkpoints") / name
    better, why = _ship(target, valid_top1, replace=spec.replace)
    if better:
        weights.save_checkpoint(target, model, meta, storage=storage if fits else stored_weights.FP16)
    if storage == stored_weights.INT8 and fits:
        why += (f"; stored as per-channel int8 weights ({size_bytes / 1e6:.1f} MB; fp16 would be "
                f"{staged.stat().st_size / 1e6:.1f} MB, over the {MAX_SHIPPED_BYTES / 1e6:.0f} MB limit)")
    if not fits:
        why = (f"{size_bytes / 1e6:.1f} MB is over the {limit / 1e6:.0f} MB limit for assets/; "
               f"{'the app here loads it from the local checkpoint folder' if better else why}")
    shipped = fits and better
    ckpt = target if better else staged
    log(f"checkpoint {'shipped to' if shipped else 'kept at'} {ckpt} ({why})")
    return ckpt, shipped, better and not fits, why


@dataclass(frozen=True)
class Reloaded:
    """The stored file's own test scores, how it is stored, and (int8 storage) the fp16 file's top-1."""

    top1: float
    top5: float
    storage: str
    fp16_top1: float | None = None


def score_checkpoint(ckpt: Path, staged: Path, samples: list[tuple[Path, int]], test: Report,
                     preprocess: Preprocess, device: torch.device, *, log) -> Reloaded:
    """Reload the stored file the way the app does, score it end to end, and stamp its own figures into it (and, for
    int8 storage, the fp16 file's, to show what the compact storage costs)."""
    loaded = weights.load_checkpoint_file(ckpt)
    y_test = torch.tensor([y for _, y in samples])
    storage = loaded.info.meta.get("storage", stored_weights.FP16)
    reloaded = classification_report(split_logits(loaded.model.to(device), samples, preprocess,
                                                    desc=CHECKPOINT_STEP, device=device), y_test)
    log(f"{storage} checkpoint, end to end: test top-1 {reloaded.top1:.2%}  top-5 {reloaded.top5:.2%}  "
        f"({ckpt.stat().st_size / 1e6:.2f} MB)")
    if reloaded.top1 < test.top1:
        log(f"warning: the {storage} checkpoint's test top-1 is below the fp32 model's")
    # The app runs the stored file: the accuracy it shows is the file's own, the fp32 model's is kept beside it.
    stamp = {"test_top1": reloaded.top1, "test_top5": reloaded.top5, "fp32_test_top1": test.top1,
             "fp32_test_top5": test.top5}
    fp16 = None
    if storage != stored_weights.FP16 and staged.is_file():  # what the compact storage costs, measured
        fp16 = classification_report(split_logits(weights.load_checkpoint_file(staged).model.to(device), samples,
                                                    preprocess, desc=FP16_STEP, device=device), y_test)
        stamp |= {"fp16_test_top1": fp16.top1, "fp16_test_top5": fp16.top5}
        log(f"the same weights in fp16: test top-1 {fp16.top1:.2%} ({100 * (reloaded.top1 - fp16.top1):+.2f} "
            f"points for {storage})")
    if ckpt.is_file():
        weights.update_checkpoint_meta(ckpt, **stamp)
    if staged.is_file() and staged != ckpt:  # the fp16 file keeps its own figures
        own = fp16 or reloaded
        weights.update_checkpoint_meta(staged, **{**stamp, "test_top1": own.top1, "test_top5": own.top5})
    staged.with_suffix(".int8.pt").unlink(missing_ok=True)  # shipped (or not) by now: no 24 MB copy left behind
    return Reloaded(reloaded.top1, reloaded.top5, storage, fp16.top1 if fp16 else None)
