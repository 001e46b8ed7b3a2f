"""A run's record, as written to ``results/runs/<id>.json``: what was trained, how, and every figure it measured,
with its provenance; and what the training phases hand to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import torch
from torch import nn

from mnv2_core.images.flowers import describe_source
from mnv2_core.images.views import Preprocess
from mnv2_core.measure.counts import count_macs, count_params
from mnv2_core.measure.run_record import CheckpointEntry, PhaseRecord, RunMetrics, RunProvenance, RunRecord
from mnv2_core.train.spec import RunSpec, Start

RECIPE_TITLES = {"transfer1": "transfer phase 1 (frozen backbone, linear head)",
                 "transfer2": "transfer: phase 1 head, phase 2 full fine-tune",
                 "scratch": "scratch (one recipe for every model)",
                 "distill": "distillation from the transfer-learned teacher (scratch recipe + soft targets)",
                 "finetune": "fine-tuned further from a trained flower checkpoint",
                 "prune": "pruned from the 1.0 (channels by activation, least-squares refit), then distilled",
                 "widen": "widened from the 1.0 (Net2WiderNet, same function), then distilled"}


def recipe_title(spec: RunSpec) -> str:
    """The run's recipe in words; a pruned or widened one names the checkpoint it was made from."""
    title = RECIPE_TITLES[spec.kind]
    if spec.recipe in ("prune", "widen") and spec.start_from is not None:
        title = title.replace("from the 1.0", f"from {spec.start_from.name}")
    return title


@dataclass
class Trained:
    """What the training phases leave: per-epoch history, each phase's description, the kept valid top-1."""

    history: list[dict[str, Any]] = field(default_factory=list)
    phases: list[dict[str, Any]] = field(default_factory=list)
    valid_top1: float | None = None
    provenance: dict[str, Any] = field(default_factory=dict)


def make_run_record(spec: RunSpec, run_id: str, date: datetime, how: Start, preprocess: Preprocess,
                model: nn.Module, done: Trained, test: dict[str, Any], phone: dict[str, float],
                reloaded: dict[str, Any], *, checkpoint: CheckpointEntry, code: dict[str, Any], device: str,
                split_sizes: dict[str, int], seconds: float) -> RunRecord:
    """The run's record as written to ``results/runs/<id>.json``: what was trained, how, and every measured figure
    with its provenance."""
    resolution = preprocess.resolution
    metrics = RunMetrics(test_top1=test.top1, test_top5=test.top5, valid_top1=done.valid_top1,
                         test_phone_top1=phone.top1, test_phone_top5=phone.top5,
                         checkpoint_test_top1=reloaded.top1, checkpoint_test_top5=reloaded.top5,
                         checkpoint_fp16_test_top1=reloaded.fp16_top1)
    provenance = RunProvenance.from_json({
        **code, "date": date.isoformat(timespec="seconds"), "device": device,
        "data_source": describe_source(spec.data), "split_sizes": split_sizes, "torch": torch.__version__,
        **done.provenance, **how.provenance, "command": spec.command, "seconds": seconds})
    return RunRecord(
        id=run_id, model=spec.model, width=spec.width, init=how.init, recipe=recipe_title(spec),
        kind=spec.kind, epochs=sum(p["epochs"] for p in done.phases), resolution=resolution,
        train_resolution=spec.fit.train_resolution if len(done.phases) > (spec.recipe == "transfer") else resolution,
        phases=tuple(PhaseRecord.from_json(p) for p in done.phases),
        params=count_params(model), macs=count_macs(model, resolution),
        hyperparameters={"optimizer": "AdamW", "schedule": "linear warm-up, cosine per step",
                         "selection": "best valid top-1 per phase", "seed": spec.fit.seed,
                         "preprocess": preprocess.as_dict(),
                         "distill_from": str(spec.distill_from) if spec.distill_from is not None else None},
        metrics=metrics, per_class=tuple(test.per_class), confused=tuple(test.confused),
        history=tuple(done.history), checkpoint=checkpoint, provenance=provenance)
