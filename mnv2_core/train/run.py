"""Training on Oxford-102: two-phase transfer learning, one from-scratch recipe for every model, distillation.

``python -m mnv2_core train --recipe transfer|scratch [--distill-from CKPT] --model M --width W ...``

- transfer: phase 1 trains a fresh 102-way head on the frozen ImageNet backbone. Its input is the pooled features
  of every image, extracted once with the app's own preprocessing (resize 256, centre crop 224) and cached, so the
  phase costs seconds after the first run (the probe needs no augmentation). Phase 2 unfreezes everything and
  fine-tunes at lr 1e-4 with random-resized crops (:mod:`mnv2_core.train.loop`).
- scratch: random initialisation, one recipe for every architecture (AdamW 2e-3, warm-up + cosine, label
  smoothing 0.1, 112 px crops), so that the comparison between architectures is fair.
- distillation: the scratch recipe plus a frozen teacher checkpoint's softened outputs.

Every phase keeps its best-valid epoch. The test split is then scored from the image files exactly as the app
prepares an upload, the fp16 checkpoint is written (shipped to ``<out>/checkpoints`` only when it beats the one
there on valid top-1), and a results JSON with provenance plus a per-epoch CSV go to ``<out>/results/runs``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mnv2_core import config
from mnv2_core.files import atomic_write_json
from mnv2_core.images.augment import CROP_SCALE, load_bank
from mnv2_core.images.flowers import Splits
from mnv2_core.images.phone import CROP_SCALE as PHONE_CROP_SCALE
from mnv2_core.images.phone import proxy_bank
from mnv2_core.images.views import Preprocess
from mnv2_core.measure.accuracy import Report, classification_report
from mnv2_core.measure.run_record import CheckpointEntry, RunRecord
from mnv2_core.models.registry import format_width
from mnv2_core import progress
from mnv2_core.train.derive import build_start, load_teacher
from mnv2_core.runtime.passes import split_logits
from mnv2_core.train.features import HEAD_STEP, features_step, phase1
from mnv2_core.train.epochs import write_history_csv
from mnv2_core.train.loop import fit
from mnv2_core.train.provenance import device_string, git_commit
from mnv2_core.train.record import Trained, make_run_record, recipe_title
from mnv2_core.train.ship import CHECKPOINT_STEP, score_checkpoint, write_checkpoint
from mnv2_core.train.spec import (DECODE_TRAIN, DECODE_VALID, DERIVED, PHONE_STEP, TEST_STEP, VALID_PHONE, RunSpec,
                                  TrainError, TrainInterrupted, resolve_device)


@dataclass
class RunResult:
    checkpoint: Path
    results_file: Path
    shipped: bool
    run: RunRecord


def phone_proxy_scores(model: nn.Module, samples: list[tuple[Path, int]], preprocess: Preprocess,
                       device: torch.device | str = "cpu") -> Report:
    """Top-1 and top-5 on the phone proxy of ``samples`` (:mod:`mnv2_core.images.phone`)."""
    from mnv2_core.runtime.passes import bank_logits

    bank = proxy_bank(samples, preprocess.resolution, desc=PHONE_STEP)
    report = classification_report(bank_logits(model, bank, preprocess, torch.device(device), fastest=True),
                                   bank.labels)
    return Report(report.top1, report.top5)




def run_steps(spec: RunSpec) -> list[str]:
    """The progress steps a run takes, in order, by their bars' names (a cached features step never shows)."""
    steps = [features_step("train"), features_step("valid"), HEAD_STEP] if spec.recipe == "transfer" else []
    if not (spec.recipe == "transfer" and spec.phases < 2):
        steps += [DECODE_TRAIN, DECODE_VALID, *([VALID_PHONE] if spec.fit.augment == "phone" else []),
                  f"phase {2 if spec.recipe == 'transfer' else 1}"]
    return steps + [TEST_STEP, PHONE_STEP, CHECKPOINT_STEP]


def check(spec: RunSpec) -> None:
    """Refuse, in one sentence each, the combinations of flags that cannot make sense."""
    if spec.init == "imagenet" and spec.recipe != "transfer":
        raise TrainError("--init imagenet goes with --recipe transfer; from-scratch runs start from random weights.")
    if spec.recipe == "transfer" and spec.init != "imagenet":
        raise TrainError("--recipe transfer needs --init imagenet (there is nothing to transfer from scratch).")
    if (spec.recipe in DERIVED) != (spec.start_from is not None):
        raise TrainError(f"--start-from CHECKPOINT goes with --recipe {', '.join(DERIVED)}, and they need it.")


def run_identity(spec: RunSpec, state_dir: Path) -> tuple[str, datetime]:
    """The run's id and start date; an interrupted run resumes under the id and date it started with."""
    ticket = state_dir / f"{spec.key()}.json"
    if spec.fresh:
        for stale in state_dir.glob(f"{spec.key()}*"):
            stale.unlink()
    if ticket.is_file():
        saved = json.loads(ticket.read_text())
        return saved["run_id"], datetime.fromisoformat(saved["date"])
    date = datetime.now(timezone.utc)
    width = f"_{format_width(spec.width)}" if spec.width is not None else ""
    run_id = f"{date:%Y%m%dT%H%M%SZ}_{spec.model}{width}_{spec.kind}"
    atomic_write_json({"run_id": run_id, "date": date.isoformat()}, ticket)
    return run_id, date


def train_phases(spec: RunSpec, model: nn.Module, samples: Splits,
                 preprocess: Preprocess, teacher, *, device: torch.device, state_dir: Path, csv_file: Path, cache: Path | None,
                 log) -> Trained:
    """Transfer phase 1 (head on cached features) when asked, then the full-network phase of every recipe."""
    done = Trained()
    if spec.recipe == "transfer":
        done.history, done.valid_top1, done.provenance = phase1(model, samples, spec.head, preprocess=preprocess,
                                                                device=device, cache=cache, log=log)
        done.phases.append({"phase": 1, "what": "frozen backbone, new linear head (cached features)",
                            "epochs": spec.head.epochs, "lr": spec.head.lr, "weight_decay": spec.head.weight_decay,
                            "batch_size": spec.head.batch_size, "label_smoothing": spec.head.label_smoothing,
                            "augmentation": "none (features of the centre crop)", "best_valid_top1": done.valid_top1})
        log(f"phase 1 done: best valid top-1 {done.valid_top1:.2%}; phase 2 starts at epoch {len(done.history) + 1}")
    if spec.recipe == "transfer" and spec.phases < 2:
        return done
    for p in model.parameters():
        p.requires_grad_(True)
    phase = 2 if spec.recipe == "transfer" else 1
    train_bank = load_bank(samples.train, preprocess.at(spec.fit.train_resolution).resize, desc=DECODE_TRAIN)
    valid_bank = load_bank(samples.valid, preprocess.resize, eval_crop=preprocess.resolution, desc=DECODE_VALID)
    valid_phone = proxy_bank(samples.valid, preprocess.resolution, desc=VALID_PHONE) \
        if spec.fit.augment == "phone" else None
    result = fit(model, train_bank, valid_bank, spec.fit, preprocess=preprocess, phase=phase, device=device,
                 state_file=state_dir / f"{spec.key()}_phase{phase}.pt", csv_file=csv_file, teacher=teacher,
                 history=done.history, stop_after=spec.stop_after, valid_phone=valid_phone, log=log)
    model.cpu()
    if not result.finished:
        raise TrainInterrupted(f"Stopped after epoch {len(result.history) - len(done.history)} of {spec.fit.epochs}; "
                               f"run the same command again to resume.")
    done.history, done.valid_top1 = result.history, result.best_valid_top1
    what = {"transfer": "all layers fine-tuned", "scratch": "all layers from random initialisation",
            "finetune": f"all layers fine-tuned from {spec.start_from.name if spec.start_from else ''}",
            "prune": "the pruned network fine-tuned", "widen": "the widened network fine-tuned"}[spec.recipe]
    augmentation = (f"phone-like: framing (crop scale {PHONE_CROP_SCALE}, zoom-out), tilt, colour cast, blur, "
                    f"noise, JPEG; {spec.fit.train_resolution} px" if spec.fit.augment == "phone" else
                    f"random-resized crop {spec.fit.train_resolution} px (scale {CROP_SCALE}), flip")
    done.phases.append({"phase": phase, "what": what + (f", distilled from {spec.distill_from.name}" if teacher
                                                         else ""), **asdict(spec.fit),
                        "augmentation": augmentation, "best_epoch": result.best_epoch,
                        "best_valid_top1": done.valid_top1, "resumed_after_epoch": result.resumed_from or None})
    return done


def _test_scores(model: nn.Module, samples: list[tuple[Path, int]], preprocess: Preprocess, device: torch.device,
                 valid_top1: float, log) -> tuple[dict[str, Any], dict[str, float]]:
    """The finished model's test report (top-1, top-5, per class, confusions) and its phone-proxy scores."""
    with torch.inference_mode():
        test_logits = split_logits(model.to(device), samples, preprocess, desc=TEST_STEP, device=device)
    model.cpu()
    test = classification_report(test_logits, torch.tensor([y for _, y in samples]))
    log(f"test top-1 {test.top1:.2%}  top-5 {test.top5:.2%}  (best valid top-1 {valid_top1:.2%})")
    phone = phone_proxy_scores(model.to(device), samples, preprocess, device)
    model.cpu()
    log(f"test phone proxy: top-1 {phone.top1:.2%}  top-5 {phone.top5:.2%}")
    return test, phone


def run(spec: RunSpec, *, log=print, cache: Path | None = None) -> RunResult:
    """Train, evaluate and record one run; resumes from its saved state when an earlier attempt stopped."""
    started = time.perf_counter()
    code = git_commit()  # the code that runs is the code at the start, whatever changes on disk meanwhile
    device = resolve_device(spec.device)
    check(spec)
    progress.plan(run_steps(spec))
    samples = Splits.read(spec.data)
    teacher = load_teacher(spec.distill_from) if spec.distill_from is not None else None
    staging = cache or config.cache_dir()
    state_dir = staging / "train_state"
    model, how = build_start(spec, samples=samples, state_dir=state_dir, device=device, log=log)
    run_id, date = run_identity(spec, state_dir)
    preprocess = how.preprocess.at(spec.fit.resolution)
    runs_dir = spec.out / "results" / "runs"
    csv_file = runs_dir / f"{run_id}.csv"

    done = train_phases(spec, model, samples, preprocess, teacher, device=device, state_dir=state_dir,
                        csv_file=csv_file, cache=cache, log=log)
    if done.history and not csv_file.is_file():
        write_history_csv(done.history, csv_file)

    test, phone = _test_scores(model, samples.test, preprocess, device, done.valid_top1, log)
    recipe = recipe_title(spec)
    meta = {"model": spec.model, "width": spec.width, "padding": how.padding, **preprocess.as_dict(),
            "test_top1": test.top1, "test_top5": test.top5,
            "valid_top1": done.valid_top1, "test_phone_top1": phone.top1, "test_phone_top5": phone.top5,
            "run_id": run_id, "init": how.init, "recipe": recipe, "kind": spec.kind}
    meta = {k: v for k, v in meta.items() if v is not None}
    ckpt, shipped, local, why = write_checkpoint(spec, model, meta, done.valid_top1, staging, log=log)
    reloaded = score_checkpoint(ckpt, staging / "runs" / f"{run_id}.pt", samples.test, test, preprocess, device,
                                log=log)

    run_record = make_run_record(spec, run_id, date, how, preprocess, model, done, test, phone, reloaded,
                             checkpoint=CheckpointEntry(ckpt.name, shipped, ckpt.stat().st_size, local, why,
                                                        reloaded.storage),
                             code=code, device=device_string(device),
                             split_sizes=samples.sizes(),
                             seconds=round(time.perf_counter() - started, 1))
    results_file = runs_dir / f"{run_id}.json"
    atomic_write_json(run_record.to_json(), results_file)
    for finished in state_dir.glob(f"{spec.key()}*"):
        finished.unlink()
    log(f"wrote {results_file} in {run_record.provenance.seconds:.0f} s")
    return RunResult(ckpt, results_file, shipped, run_record)


