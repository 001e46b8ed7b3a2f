"""Training on Oxford-102: two-phase transfer learning, one from-scratch recipe for every model, distillation.

``python -m mnv2_core train --recipe transfer|scratch [--distill-from CKPT] --model M --width W ...``

- transfer: phase 1 trains a fresh 102-way head on the frozen ImageNet backbone. Its input is the pooled features
  of every image, extracted once with the app's own preprocessing (resize 256, centre crop 224) and cached, so the
  phase costs seconds after the first run (the probe needs no augmentation). Phase 2 unfreezes everything and
  fine-tunes at lr 1e-4 with random-resized crops (:mod:`mnv2_core.fit`).
- scratch: random initialisation, one recipe for every architecture (AdamW 2e-3, warm-up + cosine, label
  smoothing 0.1, 112 px crops), so that the comparison between architectures is fair.
- distillation: the scratch recipe plus a frozen teacher checkpoint's softened outputs.

Every phase keeps its best-valid epoch. The test split is then scored from the image files exactly as the app
prepares an upload, the fp16 checkpoint is written (shipped to ``<out>/checkpoints`` only when it beats the one
there on valid top-1), and a results JSON with provenance plus a per-epoch CSV go to ``<out>/results/runs``.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import platform
import shlex
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import config, labels, weights
from .data import FLOWER_SPLITS, FlowerDataset, describe_source, split_samples
from .files import atomic_torch_save, atomic_write_json
from .fit import FitConfig, Teacher, fit, write_history_csv
from .augment import CROP_SCALE
from .phone import CROP_SCALE as PHONE_CROP_SCALE
from .phone import proxy_bank
from .models.zoo import build_model, format_width, get_spec
from .preprocess import to_tensor

NUM_CLASSES = 102


class TrainError(ValueError):
    """A training request that cannot run as asked; ``str()`` is one sentence."""


@dataclass
class HeadConfig:
    """Phase 1 hyper-parameters: AdamW, cosine decay per step, label smoothing, a fixed seed."""

    epochs: int = 40
    lr: float = 1e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1
    batch_size: int = 128
    seed: int = 0


@dataclass
class Features:
    """Pooled backbone features of one split, with labels, in :func:`flower_samples` order."""

    x: torch.Tensor
    y: torch.Tensor
    from_cache: bool = False


@dataclass
class RunResult:
    checkpoint: Path
    results_file: Path
    shipped: bool
    run: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------------- features


def image_transform(size: int, mean: tuple[float, float, float], std: tuple[float, float, float]):
    """PIL image -> [3, size, size] tensor, exactly as the Classify page prepares an upload."""

    def transform(image) -> torch.Tensor:
        return to_tensor(image, size=size, mean=mean, std=std)[0]

    return transform


def backbone_sha(model: nn.Module) -> str:
    """A hash of the backbone's weights (everything but the classifier), to key the feature cache."""
    from .engines import state_sha

    return state_sha(model, skip_prefix="classifier.")


def _samples_sha(samples: list[tuple[Path, int]]) -> str:
    digest = hashlib.sha256()
    for path, label in samples:
        digest.update(f"{path.parent.parent.name}/{path.parent.name}/{path.name}:{path.stat().st_size}:{label}\n"
                      .encode())
    return digest.hexdigest()


@torch.inference_mode()
def _run_over_files(fn, samples: list[tuple[Path, int]], size: int, mean: tuple[float, float, float],
                    std: tuple[float, float, float], *, batch_size: int, desc: str,
                    device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """``fn(batch)`` over every sample, prepared from its file as the app prepares an upload, with a progress bar."""
    from torch.utils.data import DataLoader
    from tqdm import tqdm

    loader = DataLoader(FlowerDataset(samples, image_transform(size, mean, std)), batch_size=batch_size,
                        shuffle=False, num_workers=0)
    out, ys = [], []
    with tqdm(total=len(samples), desc=desc, unit="img", file=sys.stderr, dynamic_ncols=True) as bar:
        for images, targets in loader:
            out.append(fn(images.to(device)).float().cpu())
            ys.append(targets)
            bar.update(len(targets))
    return torch.cat(out), torch.cat(ys).long()


@torch.inference_mode()
def extract_features(model: nn.Module, samples: list[tuple[Path, int]], size: int,
                     mean: tuple[float, float, float], std: tuple[float, float, float], *, batch_size: int = 32,
                     desc: str = "features", device: torch.device | str = "cpu") -> Features:
    """Run the frozen backbone (``model.forward_features``) over every sample, with a progress bar and ETA."""
    model.eval()
    x, y = _run_over_files(model.forward_features, samples, size, mean, std, batch_size=batch_size, desc=desc,
                           device=device)
    return Features(x, y)


def cached_features(model: nn.Module, samples: list[tuple[Path, int]], split: str, size: int,
                    mean: tuple[float, float, float], std: tuple[float, float, float], *, cache: Path | None = None,
                    batch_size: int = 32, backbone: str | None = None,
                    device: torch.device | str = "cpu") -> Features:
    """Features of ``split``, from ``cache`` when the same backbone saw the same files at the same size before."""
    backbone = backbone or backbone_sha(model)
    key = hashlib.sha256(f"{_samples_sha(samples)}|{size}|{mean}|{std}".encode()).hexdigest()
    folder = (cache or config.cache_dir()) / "features"
    target = folder / f"{split}_{backbone[:12]}_{key[:12]}_{size}px.pt"
    if target.is_file():
        try:
            blob = torch.load(target, map_location="cpu", weights_only=True)
            if blob["x"].shape[0] == len(samples):
                return Features(blob["x"], blob["y"], from_cache=True)
        except Exception:  # a truncated cache file is recomputed, never fatal
            pass
    feats = extract_features(model, samples, size, mean, std, batch_size=batch_size, desc=split, device=device)
    try:
        atomic_torch_save({"x": feats.x, "y": feats.y}, target)
    except OSError:  # a read-only cache only costs the next run another pass
        pass
    return feats


# ---------------------------------------------------------------------------------------------------- head


def _top1(logits: torch.Tensor, y: torch.Tensor) -> float:
    return int((logits.argmax(1) == y).sum()) / len(y) if len(y) else 0.0  # exact count ratio, not float32


def train_head(head: nn.Module, train: Features, valid: Features, cfg: HeadConfig,
               *, log=None) -> tuple[list[dict[str, Any]], float]:
    """Train ``head`` (the model's classifier) on cached features; load the best-valid epoch's weights back.

    Returns the per-epoch history and the best valid top-1.
    """
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    optimizer = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = max(1, math.ceil(len(train.y) / cfg.batch_size))
    total = cfg.epochs * steps_per_epoch
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * s / total)))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    history: list[dict[str, Any]] = []
    best_top1, best_state = -1.0, None
    for epoch in range(1, cfg.epochs + 1):
        head.train()
        lr = optimizer.param_groups[0]["lr"]
        order = torch.randperm(len(train.y), generator=gen)
        total_loss = 0.0
        for start in range(0, len(order), cfg.batch_size):
            idx = order[start:start + cfg.batch_size]
            loss = loss_fn(head(train.x[idx]), train.y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total_loss += float(loss.detach()) * len(idx)
        head.eval()
        with torch.inference_mode():
            valid_top1 = _top1(head(valid.x), valid.y)
        history.append({"epoch": epoch, "phase": 1, "lr": lr, "train_loss": total_loss / len(train.y),
                        "valid_top1": valid_top1})
        if log:
            log(f"epoch {epoch:3d}  lr {lr:.2e}  train loss {total_loss / len(train.y):.4f}  "
                f"valid top-1 {valid_top1:.2%}")
        if valid_top1 > best_top1:  # strict: on ties the earlier (less trained) epoch wins
            best_top1 = valid_top1
            best_state = {k: v.detach().clone() for k, v in head.state_dict().items()}
    assert best_state is not None
    head.load_state_dict(best_state)
    head.eval()
    return history, best_top1


# ------------------------------------------------------------------------------------------------ evaluation


def classification_report(logits: torch.Tensor, y: torch.Tensor, names: tuple[str, ...] | None = None,
                          *, top_confused: int = 10) -> dict[str, Any]:
    """Top-1, top-5, per-class accuracy and the most-confused pairs, with Oxford-102 ids (index + 1)."""
    names = names or labels.flower_names()
    num_classes = logits.shape[1]
    pred = logits.argmax(1)
    top5 = logits.topk(min(5, num_classes), dim=1).indices
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.long)
    confusion.index_put_((y, pred), torch.ones_like(y), accumulate=True)
    per_class = []
    for c in range(num_classes):
        n = int(confusion[c].sum())
        per_class.append({"class_id": c + 1, "name": names[c], "n": n,
                          "accuracy": float(confusion[c, c]) / n if n else None})
    off = confusion.clone()
    off.fill_diagonal_(0)
    pairs = sorted(((int(off[t, p]), t, p) for t, p in off.nonzero().tolist()), key=lambda r: (-r[0], r[1], r[2]))
    confused = [{"true_id": t + 1, "true_name": names[t], "pred_id": p + 1, "pred_name": names[p], "count": n}
                for n, t, p in pairs[:top_confused]]
    return {"top1": _top1(logits, y), "top5": int((top5 == y[:, None]).any(1).sum()) / len(y) if len(y) else 0.0,
            "per_class": per_class, "confused": confused}


@torch.inference_mode()
def evaluate_model(model: nn.Module, samples: list[tuple[Path, int]], size: int, mean: tuple[float, float, float],
                   std: tuple[float, float, float], *, batch_size: int = 32, desc: str = "test",
                   device: torch.device | str = "cpu") -> torch.Tensor:
    """Logits of the whole model (backbone + head) on ``samples``, straight from the image files."""
    model.eval()
    return _run_over_files(model, samples, size, mean, std, batch_size=batch_size, desc=desc, device=device)[0]


# ------------------------------------------------------------------------------------------------- persisting


def git_commit() -> dict[str, Any]:
    """HEAD and whether the working tree had uncommitted changes when the run was made."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=config.REPO_ROOT, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        # Uncommitted or untracked library code means HEAD alone does not reproduce the run.
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--", "mnv2_core"], cwd=config.REPO_ROOT,
                                    capture_output=True, text=True, timeout=10).stdout.strip())
        return {"git_commit": head, "git_dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": None, "git_dirty": None}


def resolve_device(name: str) -> torch.device:
    """"auto" is CUDA when present, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise TrainError("--device cuda was asked for, but torch sees no CUDA GPU here.")
    return torch.device(name)


def device_string(device: torch.device | None = None) -> str:
    if device is not None and device.type == "cuda":
        return f"cuda, {torch.cuda.get_device_name(device)}"
    return f"cpu, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}"


# ------------------------------------------------------------------------------------------------------ recipes

SCRATCH = FitConfig(epochs=100, lr=2e-3, weight_decay=0.05, batch_size=128, warmup_epochs=3, img_size=112)
FINE_TUNE = FitConfig(epochs=10, lr=1e-4, weight_decay=0.01, batch_size=64, warmup_epochs=0.5, img_size=224,
                      freeze_bn=True)
MAX_SHIPPED_BYTES = weights.MAX_SHIPPED_BYTES
# Recipes that start from a trained flower checkpoint (--start-from): more fine-tuning at the same width, or a
# new width derived from it by pruning or widening (mnv2_core.width_family).
DERIVED = ("finetune", "prune", "widen")


@dataclass
class RunSpec:
    """What to train and how; one CLI invocation."""

    model: str
    width: float | None
    recipe: str  # "transfer" | "scratch"
    init: str  # "imagenet" | "scratch"
    data: str | Path | None
    out: Path
    phases: int = 2
    head: HeadConfig = field(default_factory=HeadConfig)
    fit: FitConfig = field(default_factory=lambda: FitConfig(**asdict(FINE_TUNE)))
    distill_from: Path | None = None
    start_from: Path | None = None  # finetune / prune / widen: the trained flower checkpoint to start from
    device: str = "auto"
    fresh: bool = False
    stop_after: int | None = None
    replace: bool = False  # ship even when the checkpoint there has a better valid top-1
    command: str = ""

    def key(self) -> str:
        """Identifies a run across restarts (for resuming): everything that changes its result."""
        fields = (self.model, self.width, self.recipe, self.init, str(self.data), self.phases, asdict(self.head),
                  asdict(self.fit), _file_identity(self.distill_from), _file_identity(self.start_from))
        return hashlib.sha256(repr(fields).encode()).hexdigest()[:16]

    @property
    def kind(self) -> str:
        if self.recipe in DERIVED:
            return self.recipe
        if self.distill_from is not None:
            return "distill"
        return f"transfer{self.phases}" if self.recipe == "transfer" else "scratch"


def build_start(spec: RunSpec, *, samples: dict[str, list[tuple[Path, int]]] | None = None,
                state_dir: Path | None = None, device: torch.device | None = None,
                log=print) -> tuple[nn.Module, dict[str, Any]]:
    """The model to start from, with how to feed it (ImageNet backbone, a trained checkpoint or random init)."""
    from .models import build_model

    if spec.recipe in DERIVED:
        return derived_start(spec, samples=samples, state_dir=state_dir, device=device, log=log)
    if spec.init == "imagenet":
        if spec.model != "mobilenet_v2" or spec.width != 1.0:
            raise TrainError("ImageNet initialisation is available offline only for MobileNetV2 1.0 (the official "
                             "TFLite weights); use --init scratch for other models or widths.")
        from . import tflite_import

        model = tflite_import.load_tflite_mobilenet_v2(config.weights_dir() / tflite_import.TFLITE_FILE)
        return model, {"mean": tflite_import.TFLITE_MEAN, "std": tflite_import.TFLITE_STD, "padding": "tf_same",
                       "init": "imagenet (official TFLite MobileNetV2 1.0)"}
    torch.manual_seed(spec.fit.seed)
    model = build_model(spec.model, num_classes=NUM_CLASSES, width=spec.width)
    return model, {"mean": weights.IMAGENET_MEAN, "std": weights.IMAGENET_STD, "padding": None,
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
    """Top-1 and top-5 on the phone proxy of ``samples`` (:mod:`mnv2_core.phone`)."""
    from .fit import bank_logits

    bank = proxy_bank(samples, size, desc="test phone proxy")
    report = classification_report(bank_logits(model, bank, size, stats, torch.device(device)), bank.labels)
    return {"top1": report["top1"], "top5": report["top5"]}


def derived_start(spec: RunSpec, *, samples: dict[str, list[tuple[Path, int]]] | None, state_dir: Path | None,
                  device: torch.device | None = None, log=print) -> tuple[nn.Module, dict[str, Any]]:
    """The start of a finetune, prune or widen run: the --start-from checkpoint, at this or a new width.

    Pruning and widening take a minute or two; their result is kept beside the run's resumable state, and the
    before/after of each step is measured on the valid split for the Training page's lesson.
    """
    source = weights.load_checkpoint_file(spec.start_from)
    if source.name != spec.model:
        raise TrainError(f"{spec.start_from.name} holds {source.name}, not {spec.model}.")
    scored = source.info.meta.get("test_top1")
    how: dict[str, Any] = {"mean": source.info.mean, "std": source.info.std, "padding": source.info.meta.get("padding"),
                           "init": f"{spec.start_from.name} ({source.info.meta.get('recipe', 'trained')}"
                                   + (f", test top-1 {scored:.2%})" if isinstance(scored, float) else ")")}
    if spec.recipe == "finetune":
        if source.width != spec.width:
            raise TrainError(f"--recipe finetune keeps the width: {spec.start_from.name} is width {source.width}.")
        return source.model, how
    if spec.model != "mobilenet_v2":
        raise TrainError("--recipe prune and widen change a MobileNetV2's width; use --model mobilenet_v2.")
    if spec.recipe == "prune" and not spec.width < source.width:
        raise TrainError(f"--recipe prune makes a narrower network: --width must be below {source.width}.")
    if spec.recipe == "widen" and not spec.width > source.width:
        raise TrainError(f"--recipe widen makes a wider network: --width must be above {source.width}.")
    from . import width_family
    from .augment import load_bank
    from .fit import bank_logits

    assert samples is not None and state_dir is not None
    # Keyed on what shapes the start alone, so that a run with other epochs or lr reuses a pruned network.
    start_key = hashlib.sha256(repr((spec.model, spec.width, spec.recipe, _file_identity(spec.start_from),
                                     str(spec.data), spec.fit.seed, spec.fit.eval_size, PRUNE_PHOTOS,
                                     width_family.VERSION)).encode()).hexdigest()[:16]
    cached = state_dir / f"start_{start_key}.pt"
    if spec.fresh:
        cached.unlink(missing_ok=True)
    student = build_model(spec.model, num_classes=NUM_CLASSES, width=spec.width, padding=how["padding"]) \
        if how["padding"] else build_model(spec.model, num_classes=NUM_CLASSES, width=spec.width)
    if cached.is_file():
        blob = torch.load(cached, map_location="cpu", weights_only=True)
        student.load_state_dict(blob["state_dict"])
        how["provenance"] = {"derived": blob["steps"]}
        log(f"{spec.recipe}: start model from {cached}")
        return student, how
    started = time.perf_counter()
    stats = (how["mean"], how["std"])
    size = spec.fit.eval_size
    valid = load_bank(samples["valid"], round(size * 256 / 224), eval_crop=size, desc="decode valid")

    def valid_top1(model: nn.Module) -> float:
        return _top1(bank_logits(model, valid, size, stats, torch.device("cpu")), valid.labels)

    steps: dict[str, Any] = {"source": spec.start_from.name, "source_valid_top1": valid_top1(source.model)}
    if spec.recipe == "widen":
        student = width_family.widen(source.model, spec.width, seed=spec.fit.seed)
        steps["widened_valid_top1"] = valid_top1(student)
        log(f"widen: valid top-1 {steps['source_valid_top1']:.2%} (1.0) -> {steps['widened_valid_top1']:.2%} "
            f"(width {spec.width}, before fine-tuning)")
    else:
        images = calibration_images(samples["train"], PRUNE_PHOTOS, size, stats, seed=spec.fit.seed)
        copied, _ = width_family.prune(source.model, spec.width, images, refit=False)
        steps["copied_valid_top1"] = valid_top1(copied)
        student, plan = width_family.prune(source.model, spec.width, images, log=log)
        steps["refit_valid_top1"] = valid_top1(student)
        steps["calibration_photos"] = len(images)
        log(f"prune: valid top-1 {steps['source_valid_top1']:.2%} (source) -> {steps['copied_valid_top1']:.2%} "
            f"(channels kept, weights copied) -> {steps['refit_valid_top1']:.2%} (least-squares refit)")
    steps["seconds"] = round(time.perf_counter() - started, 1)
    atomic_torch_save({"state_dict": student.state_dict(), "steps": steps}, cached)
    how["provenance"] = {"derived": steps}
    return student, how


PRUNE_PHOTOS = 512


def calibration_images(samples: list[tuple[Path, int]], count: int, size: int, stats: tuple, *,
                       seed: int = 0) -> torch.Tensor:
    """``count`` training photos, round-robin over the classes, half as the app's view and half phone-like."""
    from .augment import load_bank, normalize
    from .phone import phone_batch

    by_class: dict[int, list[tuple[Path, int]]] = {}
    for sample in samples:
        by_class.setdefault(sample[1], []).append(sample)
    picked: list[tuple[Path, int]] = []
    rank = 0
    while len(picked) < count and rank < max(len(v) for v in by_class.values()):
        picked += [v[rank] for _, v in sorted(by_class.items()) if rank < len(v)][:count - len(picked)]
        rank += 1
    clean = load_bank(picked, round(size * 256 / 224), eval_crop=size, desc="calibration photos")
    raw = load_bank(picked, round(size * 256 / 224), desc="calibration photos (phone-like)")
    half = torch.arange(0, len(picked), 2)
    views = torch.stack(clean.images)
    views[half] = phone_batch(raw.images, half, size, torch.Generator().manual_seed(seed))
    return normalize(views, *stats)


def load_teacher(path: Path) -> Teacher:
    """A trained flower checkpoint as a frozen distillation teacher."""
    loaded = weights.load_checkpoint_file(path)
    for p in loaded.model.parameters():
        p.requires_grad_(False)
    return Teacher(loaded.model.eval(), (loaded.info.mean, loaded.info.std))


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


def _file_identity(path: Path | None) -> str:
    """A checkpoint's path and a hash of its bytes: a run keyed on it notices when the file is replaced."""
    if path is None or not Path(path).is_file():
        return str(path)
    return f"{path}:{hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]}"


class TrainInterrupted(RuntimeError):
    """A run stopped on purpose (``--stop-after``); its state is saved and the same command resumes it."""


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
        from .augment import load_bank

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

    from .bench import count_macs, count_params

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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m mnv2_core train", description=__doc__.split("\n\n")[0])
    p.add_argument("--recipe", choices=("transfer", "scratch") + DERIVED, default="transfer",
                   help="finetune/prune/widen start from --start-from (prune/widen change the width to --width)")
    p.add_argument("--start-from", type=Path, default=None,
                   help="trained flower checkpoint that finetune, prune and widen start from (and, for prune and "
                        "widen, distil from unless --distill-from says otherwise)")
    p.add_argument("--augment", choices=("crop", "phone"), default="crop",
                   help="crop: random-resized crop + flip; phone: phone-photo distortions (mnv2_core.phone)")
    p.add_argument("--bf16", action="store_true", help="autocast to bfloat16 (fast on CPUs with AMX/AVX512-BF16)")
    p.add_argument("--replace", action="store_true",
                   help="ship the checkpoint even if the one in assets/ has a better valid top-1")
    p.add_argument("--model", default="mobilenet_v2")
    p.add_argument("--width", type=float, default=1.0, help="MobileNetV2 width multiplier (ignored by others)")
    p.add_argument("--init", choices=("imagenet", "scratch"), default=None,
                   help="default: imagenet for --recipe transfer, scratch otherwise")
    p.add_argument("--phases", type=int, choices=(1, 2), default=2, help="transfer only: 1 = head only")
    p.add_argument("--distill-from", type=Path, default=None, help="teacher checkpoint (scratch recipe + KD)")
    p.add_argument("--epochs", type=int, default=None,
                   help=f"phase-2 epochs for transfer (default {FINE_TUNE.epochs}), all epochs for scratch "
                        f"(default {SCRATCH.epochs})")
    p.add_argument("--head-epochs", type=int, default=HeadConfig.epochs, help="transfer phase-1 epochs")
    p.add_argument("--img-size", type=int, default=None,
                   help=f"training crop (default {FINE_TUNE.img_size} transfer, {SCRATCH.img_size} scratch; "
                        f"LeNet-5 always 32)")
    p.add_argument("--eval-size", type=int, default=None, help="test resolution (default 224; LeNet-5 32)")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=None, help="peak lr of the full-network phase")
    p.add_argument("--warmup-epochs", type=float, default=None, help="linear warm-up before the cosine decay")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=None,
                   help="Oxford-102 folder in the Udacity layout (default: MNV2_DATA or ../shared/data/flowers102), "
                        "or 'torchvision' for the official split downloaded by torchvision")
    p.add_argument("--out", type=Path, default=config.ASSETS_DIR, help="writes checkpoints/ and results/runs/ here")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    p.add_argument("--fresh", action="store_true", help="discard a saved state instead of resuming it")
    p.add_argument("--stop-after", type=int, default=None, help="stop after N epochs of this process (resumable)")
    return p


def spec_from_args(args: argparse.Namespace, command: str = "") -> RunSpec:
    get_spec(args.model)  # unknown names fail here, in one sentence
    width = args.width if get_spec(args.model).widths != (None,) else None
    base = SCRATCH if args.recipe == "scratch" else FINE_TUNE
    native = get_spec(args.model).input_size
    small = native < 100  # LeNet-5 sees 32 px images, train and test
    overrides = {k: v for k, v in {"epochs": args.epochs, "lr": args.lr, "batch_size": args.batch_size,
                                   "warmup_epochs": args.warmup_epochs,
                                   "img_size": native if small else args.img_size,
                                   "eval_size": native if small else args.eval_size, "seed": args.seed,
                                   "augment": args.augment, "bf16": args.bf16}.items()
                 if v is not None}
    distill_from = args.distill_from
    if args.recipe in ("prune", "widen") and distill_from is None:
        distill_from = args.start_from
    return RunSpec(model=args.model, width=width, recipe=args.recipe,
                   init=args.init or {"transfer": "imagenet", "scratch": "scratch"}.get(args.recipe, "checkpoint"),
                   data=args.data,
                   out=args.out, phases=args.phases,
                   head=HeadConfig(epochs=args.head_epochs, seed=args.seed),
                   fit=FitConfig(**{**asdict(base), **overrides}), distill_from=distill_from,
                   start_from=args.start_from, replace=args.replace,
                   device=args.device, fresh=args.fresh, stop_after=args.stop_after, command=command)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    shown = sys.argv[1:] if argv is None else argv
    command = "python -m mnv2_core train " + " ".join(shlex.quote(a) for a in shown)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        run(spec_from_args(args, command))
    except TrainInterrupted as exc:
        print(str(exc), file=sys.stderr)
        return 3
    except (ValueError, KeyError) as exc:  # user errors: missing data, unknown model, bad width, bad checkpoint
        print(f"error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    return 0
