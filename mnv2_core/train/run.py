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

import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mnv2_core import config
from mnv2_core.files import atomic_write_json
from mnv2_core.images.augment import CROP_SCALE
from mnv2_core.images.flowers import FLOWER_SPLITS, describe_source, split_samples
from mnv2_core.images.phone import CROP_SCALE as PHONE_CROP_SCALE
from mnv2_core.images.phone import proxy_bank
from mnv2_core.images.views import IMAGENET_MEAN, IMAGENET_STD
from mnv2_core.measure.accuracy import classification_report
from mnv2_core.models import weights
from mnv2_core.models.registry import format_width
from mnv2_core.train.derive import derived_start, load_teacher
from mnv2_core.train.features import HeadConfig, backbone_sha, cached_features, evaluate_model, train_head
from mnv2_core.train.loop import fit, write_history_csv
from mnv2_core.train.provenance import device_string, git_commit
from mnv2_core.train.spec import (
    DERIVED,
    MAX_SHIPPED_BYTES,
    NUM_CLASSES,
    RunSpec,
    TrainError,
    TrainInterrupted,
    resolve_device,
)


@dataclass
class RunResult:
    checkpoint: Path
    results_file: Path
    shipped: bool
    run: dict[str, Any] = field(default_factory=dict)



def build_start(spec: RunSpec, *, samples: dict[str, list[tuple[Path, int]]] | None = None,
                state_dir: Path | None = None, device: torch.device | None = None,
                log=print) -> tuple[nn.Module, dict[str, Any]]:
    """The model to start from, with how to feed it (ImageNet backbone, a trained checkpoint or random init)."""
    from mnv2_core.models import build_model

    if spec.recipe in DERIVED:
        return derived_start(spec, samples=samples, state_dir=state_dir, device=device, log=log)
    if spec.init == "imagenet":
        if spec.model != "mobilenet_v2" or spec.width != 1.0:
            raise TrainError("ImageNet initialisation is available offline only for MobileNetV2 1.0 (the official "
                             "TFLite weights); use --init scratch for other models or widths.")
        from mnv2_core.models import tflite

        model = tflite.load_tflite_mobilenet_v2(tflite.default_path())
        return model, {"mean": tflite.TFLITE_MEAN, "std": tflite.TFLITE_STD, "padding": "tf_same",
                       "init": "imagenet (official TFLite MobileNetV2 1.0)"}
    torch.manual_seed(spec.fit.seed)
    model = build_model(spec.model, num_classes=NUM_CLASSES, width=spec.width)
    return model, {"mean": IMAGENET_MEAN, "std": IMAGENET_STD, "padding": None,
                   "init": "scratch (random initialisation)"}


def new_head(model: nn.Module, seed: int) -> None:
    """Replace the classifier's last Linear with a fresh 102-way layer (small normal init, zero bias)."""
    torch.manual_seed(seed)
    layer = nn.Linear(model.classifier[-1].in_features, NUM_CLASSES)
    nn.init.normal_(layer.weight, 0, 0.01)
    nn.init.zeros_(layer.bias)
    model.classifier[-1] = layer


def phase1(model: nn.Module, samples: dict[str, list[tuple[Path, int]]], cfg: HeadConfig, *, img_size: int,
           stats: tuple, device: torch.device, cache: Path | None, log) -> tuple[list[dict[str, Any]], float, dict]:
    """Transfer phase 1: a new head on the frozen backbone's cached features. Returns history, valid top-1, info."""
    if not hasattr(model, "forward_features"):
        raise TrainError("Phase 1 needs a backbone with forward_features(); this model has none.")
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    new_head(model, cfg.seed)
    model.to(device)
    backbone = backbone_sha(model)
    feats = {s: cached_features(model, samples[s], s, img_size, *stats, cache=cache, backbone=backbone,
                                device=device) for s in ("train", "valid")}
    log("features: " + ", ".join(f"{s} {tuple(f.x.shape)}" for s, f in feats.items()))
    model.cpu()
    history, valid_top1 = train_head(model.classifier, feats["train"], feats["valid"], cfg, log=log)
    return history, valid_top1, {"backbone_sha256": backbone,
                                 "features_from_cache": {s: f.from_cache for s, f in feats.items()}}


def phone_proxy_scores(model: nn.Module, samples: list[tuple[Path, int]], size: int, stats: tuple,
                       device: torch.device | str = "cpu") -> dict[str, float]:
    """Top-1 and top-5 on the phone proxy of ``samples`` (:mod:`mnv2_core.images.phone`)."""
    from mnv2_core.train.loop import bank_logits

    bank = proxy_bank(samples, size, desc="test phone proxy")
    report = classification_report(bank_logits(model, bank, size, stats, torch.device(device)), bank.labels)
    return {"top1": report["top1"], "top5": report["top5"]}


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


def run(spec: RunSpec, *, log=print, cache: Path | None = None) -> RunResult:
    """Train, evaluate and record one run; resumes from its saved state when an earlier attempt stopped."""
    started = time.perf_counter()
    code = git_commit()  # the code that runs is the code at the start, whatever changes on disk meanwhile
    device = resolve_device(spec.device)
    if spec.init == "imagenet" and spec.recipe != "transfer":
        raise TrainError("--init imagenet goes with --recipe transfer; from-scratch runs start from random weights.")
    if spec.recipe == "transfer" and spec.init != "imagenet":
        raise TrainError("--recipe transfer needs --init imagenet (there is nothing to transfer from scratch).")
    if (spec.recipe in DERIVED) != (spec.start_from is not None):
        raise TrainError(f"--start-from CHECKPOINT goes with --recipe {', '.join(DERIVED)}, and they need it.")
    samples = {s: split_samples(spec.data, s) for s in FLOWER_SPLITS}
    teacher = load_teacher(spec.distill_from) if spec.distill_from is not None else None
    state_dir = (cache or config.cache_dir()) / "train_state"
    model, how = build_start(spec, samples=samples, state_dir=state_dir, device=device, log=log)

    ticket = state_dir / f"{spec.key()}.json"
    if spec.fresh:
        for stale in state_dir.glob(f"{spec.key()}*"):
            stale.unlink()
    if ticket.is_file():  # an earlier attempt of this exact run: resume it under its own id and date
        import json

        saved = json.loads(ticket.read_text())
        run_id, date = saved["run_id"], datetime.fromisoformat(saved["date"])
    else:
        date = datetime.now(timezone.utc)
        width = f"_{format_width(spec.width)}" if spec.width is not None else ""
        run_id = f"{date:%Y%m%dT%H%M%SZ}_{spec.model}{width}_{spec.kind}"
        atomic_write_json({"run_id": run_id, "date": date.isoformat()}, ticket)

    stats = (how["mean"], how["std"])
    eval_size = spec.fit.eval_size
    runs_dir = spec.out / "results" / "runs"
    csv_file = runs_dir / f"{run_id}.csv"
    history: list[dict[str, Any]] = []
    phases: list[dict[str, Any]] = []
    extra_provenance: dict[str, Any] = {}
    valid_top1 = None

    if spec.recipe == "transfer":
        history, valid_top1, extra_provenance = phase1(model, samples, spec.head, img_size=eval_size, stats=stats,
                                                       device=device, cache=cache, log=log)
        phases.append({"phase": 1, "what": "frozen backbone, new linear head (cached features)",
                       "epochs": spec.head.epochs, "lr": spec.head.lr, "weight_decay": spec.head.weight_decay,
                       "batch_size": spec.head.batch_size, "label_smoothing": spec.head.label_smoothing,
                       "augmentation": "none (features of the centre crop)", "best_valid_top1": valid_top1})
        log(f"phase 1 done: best valid top-1 {valid_top1:.2%}; phase 2 starts at epoch {len(history) + 1}")
    else:
        for p in model.parameters():
            p.requires_grad_(True)

    if spec.recipe != "transfer" or spec.phases >= 2:
        for p in model.parameters():
            p.requires_grad_(True)
        from mnv2_core.images.augment import load_bank

        phase = 2 if spec.recipe == "transfer" else 1
        train_bank = load_bank(samples["train"], round(spec.fit.img_size * 256 / 224), desc="decode train")
        valid_bank = load_bank(samples["valid"], round(eval_size * 256 / 224), eval_crop=eval_size,
                               desc="decode valid")
        valid_phone = proxy_bank(samples["valid"], eval_size, desc="valid phone proxy") \
            if spec.fit.augment == "phone" else None
        result = fit(model, train_bank, valid_bank, spec.fit, stats=stats, phase=phase, device=device,
                     state_file=state_dir / f"{spec.key()}_phase{phase}.pt", csv_file=csv_file, teacher=teacher,
                     history=history, stop_after=spec.stop_after, valid_phone=valid_phone, log=log)
        model.cpu()
        if not result.extra["finished"]:
            raise TrainInterrupted(f"Stopped after epoch {len(result.history) - len(history)} of {spec.fit.epochs}; "
                                   f"run the same command again to resume.")
        history, valid_top1 = result.history, result.best_valid_top1
        what = {"transfer": "all layers fine-tuned", "scratch": "all layers from random initialisation",
                "finetune": f"all layers fine-tuned from {spec.start_from.name if spec.start_from else ''}",
                "prune": "the pruned network fine-tuned", "widen": "the widened network fine-tuned"}[spec.recipe]
        augmentation = (f"phone-like: framing (crop scale {PHONE_CROP_SCALE}, zoom-out), tilt, colour cast, blur, "
                        f"noise, JPEG; {spec.fit.img_size} px" if spec.fit.augment == "phone" else
                        f"random-resized crop {spec.fit.img_size} px (scale {CROP_SCALE}), flip")
        phases.append({"phase": phase, "what": what + (f", distilled from {spec.distill_from.name}" if teacher
                                                        else ""), **asdict(spec.fit),
                       "augmentation": augmentation,
                       "best_epoch": result.best_epoch, "best_valid_top1": valid_top1,
                       "resumed_after_epoch": result.resumed_from or None})
    if history and not csv_file.is_file():
        write_history_csv(history, csv_file)

    with torch.inference_mode():
        test_logits = evaluate_model(model.to(device), samples["test"], eval_size, *stats, device=device)
    model.cpu()
    y_test = torch.tensor([y for _, y in samples["test"]])
    test = classification_report(test_logits, y_test)
    log(f"test top-1 {test['top1']:.2%}  top-5 {test['top5']:.2%}  (best valid top-1 {valid_top1:.2%})")
    phone = phone_proxy_scores(model.to(device), samples["test"], eval_size, stats, device)
    model.cpu()
    log(f"test phone proxy: top-1 {phone['top1']:.2%}  top-5 {phone['top5']:.2%}")

    recipe = {"transfer1": "transfer phase 1 (frozen backbone, linear head)",
              "transfer2": "transfer: phase 1 head, phase 2 full fine-tune",
              "scratch": "scratch (one recipe for every model)",
              "distill": "distillation from the transfer-learned teacher (scratch recipe + soft targets)",
              "finetune": "fine-tuned further from a trained flower checkpoint",
              "prune": "pruned from the 1.0 (channels by activation, least-squares refit), then distilled",
              "widen": "widened from the 1.0 (Net2WiderNet, same function), then distilled"}[spec.kind]
    meta = {"model": spec.model, "width": spec.width, "padding": how["padding"], "mean": tuple(how["mean"]),
            "std": tuple(how["std"]), "input_size": eval_size, "test_top1": test["top1"], "test_top5": test["top5"],
            "valid_top1": valid_top1, "test_phone_top1": phone["top1"], "test_phone_top5": phone["top5"],
            "run_id": run_id, "init": how["init"], "recipe": recipe, "kind": spec.kind}
    meta = {k: v for k, v in meta.items() if v is not None}
    name = weights.checkpoint_path(spec.model, spec.width, "flowers").name
    staged = (cache or config.cache_dir()) / "runs" / f"{run_id}.pt"
    weights.save_checkpoint(staged, model, meta, half=True)
    size_bytes = staged.stat().st_size
    # Too large for the repository: the app on this machine still gets it, from the local checkpoint folder.
    fits = size_bytes <= MAX_SHIPPED_BYTES
    target = (spec.out / "checkpoints" if fits else (cache or config.cache_dir()) / "checkpoints") / name
    better, why = _ship(target, valid_top1, replace=spec.replace)
    shipped = fits and better
    ckpt = target if better else staged
    if better:
        weights.save_checkpoint(target, model, meta, half=True)
    if not fits:
        why = (f"{size_bytes / 1e6:.1f} MB is over the {MAX_SHIPPED_BYTES / 1e6:.0f} MB limit for assets/; "
               f"{'the app here loads it from the local checkpoint folder' if better else why}")
    log(f"checkpoint {'shipped to' if shipped else 'kept at'} {ckpt} ({why})")

    # The file is fp16: reload it the way the app does and score it end to end from the image files.
    loaded = weights.load_checkpoint_file(ckpt)
    reloaded = classification_report(evaluate_model(loaded.model.to(device), samples["test"], eval_size, *stats,
                                                    desc="test (fp16 checkpoint)", device=device), y_test)
    log(f"fp16 checkpoint, end to end: test top-1 {reloaded['top1']:.2%}  top-5 {reloaded['top5']:.2%}  "
        f"({ckpt.stat().st_size / 1e6:.2f} MB)")
    if reloaded["top1"] < test["top1"]:
        log("warning: the fp16 checkpoint's test top-1 is below the fp32 model's")
    # The app runs the fp16 file: the accuracy it shows is the file's own, the fp32 model's is kept beside it.
    stamp = {"test_top1": reloaded["top1"], "test_top5": reloaded["top5"], "fp32_test_top1": test["top1"],
             "fp32_test_top5": test["top5"]}
    weights.update_checkpoint_meta(ckpt, **stamp)
    if ckpt != staged:
        weights.update_checkpoint_meta(staged, **stamp)

    from mnv2_core.measure.counts import count_macs, count_params

    run_record = {
        "id": run_id, "model": spec.model, "width": spec.width, "init": how["init"], "recipe": recipe,
        "kind": spec.kind, "epochs": sum(p["epochs"] for p in phases), "img_size": eval_size,
        "train_img_size": spec.fit.img_size if len(phases) > (spec.recipe == "transfer") else eval_size,
        "phases": phases,
        "params": count_params(model), "macs": count_macs(model, eval_size),
        "hyperparameters": {"optimizer": "AdamW", "schedule": "linear warm-up, cosine per step",
                            "selection": "best valid top-1 per phase", "seed": spec.fit.seed,
                            "normalize": {"mean": list(how["mean"]), "std": list(how["std"])},
                            "distill_from": str(spec.distill_from) if teacher else None},
        "metrics": {"test_top1": test["top1"], "test_top5": test["top5"], "valid_top1": valid_top1,
                    "test_phone_top1": phone["top1"], "test_phone_top5": phone["top5"],
                    "checkpoint_test_top1": reloaded["top1"], "checkpoint_test_top5": reloaded["top5"]},
        "per_class": test["per_class"], "confused": test["confused"], "history": history,
        "checkpoint": {"file": ckpt.name, "shipped": shipped, "local": better and not fits,
                       "size_bytes": ckpt.stat().st_size, "dtype": "float16"},
        "provenance": {
            **code, "date": date.isoformat(timespec="seconds"), "device": device_string(device),
            "data_source": describe_source(spec.data),
            "split_sizes": {s: len(v) for s, v in samples.items()}, "torch": torch.__version__,
            **extra_provenance, **how.get("provenance", {}), "command": spec.command, "seconds": round(time.perf_counter() - started, 1),
        },
    }
    results_file = runs_dir / f"{run_id}.json"
    atomic_write_json(run_record, results_file)
    for done in state_dir.glob(f"{spec.key()}*"):
        done.unlink()
    log(f"wrote {results_file} in {run_record['provenance']['seconds']:.0f} s")
    return RunResult(ckpt, results_file, shipped, run_record)


