"""Training on Oxford-102: transfer learning phase 1, a linear head on a frozen ImageNet backbone.

``python -m mnv2_core.train --recipe transfer --phases 1 --model mobilenet_v2 --width 1.0 --init imagenet
--data DIR --out assets`` extracts the pooled 1280-d features of every image once (cached under
``config.cache_dir()``), trains the model's own ``classifier`` on them in seconds, keeps the epoch with the best
valid top-1, evaluates on the test split, and writes an fp16 checkpoint plus a results JSON with provenance.

Preprocessing is the app's own (``preprocess.to_tensor``: resize 256, centre crop 224, the backbone's mean/std) and
deterministic: with a frozen backbone and a linear probe, augmentation would only cost a feature pass per epoch.
Phase 2 (fine-tuning the whole network) needs a GPU-sized budget and is not implemented here.
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
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import config, labels, weights
from .data import FLOWER_SPLITS, FlowerDataset, flower_samples
from .files import atomic_torch_save, atomic_write_json
from .models.zoo import format_width
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
class PhaseOneResult:
    checkpoint: Path
    results_file: Path
    run: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------------- features


def image_transform(size: int, mean: tuple[float, float, float], std: tuple[float, float, float]):
    """PIL image -> [3, size, size] tensor, exactly as the Classify page prepares an upload."""

    def transform(image) -> torch.Tensor:
        return to_tensor(image, size=size, mean=mean, std=std)[0]

    return transform


def backbone_sha(model: nn.Module) -> str:
    """A hash of the backbone's weights (everything but the classifier), to key the feature cache."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        if not name.startswith("classifier."):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _samples_sha(samples: list[tuple[Path, int]]) -> str:
    digest = hashlib.sha256()
    for path, label in samples:
        digest.update(f"{path.parent.parent.name}/{path.parent.name}/{path.name}:{path.stat().st_size}:{label}\n"
                      .encode())
    return digest.hexdigest()


@torch.inference_mode()
def extract_features(model: nn.Module, samples: list[tuple[Path, int]], size: int,
                     mean: tuple[float, float, float], std: tuple[float, float, float], *, batch_size: int = 32,
                     desc: str = "features") -> Features:
    """Run the frozen backbone (``model.forward_features``) over every sample, with a progress bar and ETA."""
    from torch.utils.data import DataLoader
    from tqdm import tqdm

    model.eval()
    loader = DataLoader(FlowerDataset(samples, image_transform(size, mean, std)), batch_size=batch_size,
                        shuffle=False, num_workers=0)
    xs, ys = [], []
    with tqdm(total=len(samples), desc=desc, unit="img", file=sys.stderr, dynamic_ncols=True) as bar:
        for images, targets in loader:
            xs.append(model.forward_features(images).float())
            ys.append(targets)
            bar.update(len(targets))
    return Features(torch.cat(xs), torch.cat(ys).long())


def cached_features(model: nn.Module, root: Path, split: str, size: int, mean: tuple[float, float, float],
                    std: tuple[float, float, float], *, cache: Path | None = None, batch_size: int = 32,
                    backbone: str | None = None) -> Features:
    """Features of ``split``, from ``cache`` when the same backbone saw the same files at the same size before."""
    samples = flower_samples(root, split)
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
    feats = extract_features(model, samples, size, mean, std, batch_size=batch_size, desc=split)
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
                   std: tuple[float, float, float], *, batch_size: int = 32, desc: str = "test") -> torch.Tensor:
    """Logits of the whole model (backbone + head) on ``samples``, straight from the image files."""
    from torch.utils.data import DataLoader
    from tqdm import tqdm

    model.eval()
    loader = DataLoader(FlowerDataset(samples, image_transform(size, mean, std)), batch_size=batch_size)
    out = []
    with tqdm(total=len(samples), desc=desc, unit="img", file=sys.stderr, dynamic_ncols=True) as bar:
        for images, targets in loader:
            out.append(model(images).float())
            bar.update(len(targets))
    return torch.cat(out)


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


def device_string() -> str:
    return f"cpu, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}"


# ----------------------------------------------------------------------------------------------------- phase 1


def run_transfer_phase1(model: nn.Module, *, name: str, width: float | None, init: str, data_root: Path,
                        out_dir: Path, img_size: int = 224, mean: tuple[float, float, float],
                        std: tuple[float, float, float], padding: str | None = None, cfg: HeadConfig | None = None,
                        cache: Path | None = None, batch_size: int = 32, command: str = "",
                        log=print) -> PhaseOneResult:
    """Phase 1 of transfer learning on ``model`` (any backbone with ``forward_features`` and ``classifier``).

    The classifier's last Linear is replaced by a fresh 102-way layer; the backbone is never updated. Writes
    ``<out>/checkpoints/<weights.checkpoint_path name>`` (fp16) and ``<out>/results/runs/<run id>.json``.
    """
    cfg = cfg or HeadConfig()
    started = time.perf_counter()
    date = datetime.now(timezone.utc)
    run_id = f"{date:%Y%m%dT%H%M%SZ}_{name}" + (f"_{format_width(width)}" if width is not None else "") + "_transfer1"
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    in_features = model.classifier[-1].in_features
    torch.manual_seed(cfg.seed)
    model.classifier[-1] = nn.Linear(in_features, NUM_CLASSES)
    nn.init.normal_(model.classifier[-1].weight, 0, 0.01)
    nn.init.zeros_(model.classifier[-1].bias)

    backbone = backbone_sha(model)
    feats = {s: cached_features(model, data_root, s, img_size, mean, std, cache=cache, batch_size=batch_size,
                                backbone=backbone) for s in FLOWER_SPLITS}
    log("features: " + ", ".join(f"{s} {tuple(f.x.shape)}" for s, f in feats.items()))
    history, valid_top1 = train_head(model.classifier, feats["train"], feats["valid"], cfg, log=log)
    for p in model.parameters():
        p.requires_grad_(False)

    # model(x) is classifier(forward_features(x)): on the cached test features this is the full fp32 model.
    with torch.inference_mode():
        test = classification_report(model.classifier(feats["test"].x), feats["test"].y)
    log(f"test top-1 {test['top1']:.2%}  top-5 {test['top5']:.2%}  (best valid top-1 {valid_top1:.2%})")

    ckpt = out_dir / "checkpoints" / weights.checkpoint_path(name, width, "flowers").name
    meta = {"padding": padding, "mean": tuple(mean), "std": tuple(std), "input_size": img_size,
            "test_top1": test["top1"], "test_top5": test["top5"], "valid_top1": valid_top1, "run_id": run_id,
            "init": init, "recipe": "transfer phase 1 (frozen backbone, linear head)"}
    weights.save_checkpoint(ckpt, model, {k: v for k, v in meta.items() if v is not None}, half=True)

    # The shipped file is fp16: reload it the way the app does and measure it end to end from the image files.
    if ckpt.resolve() == weights.checkpoint_path(name, width, "flowers").resolve():
        loaded = weights.load_model(name, width, "flowers")
    else:
        loaded = weights._from_checkpoint(name, width, "flowers", ckpt)
    test_samples = flower_samples(data_root, "test")
    reloaded = classification_report(evaluate_model(loaded.model, test_samples, img_size, mean, std,
                                                    batch_size=batch_size, desc="test (fp16 checkpoint)"),
                                     feats["test"].y)
    log(f"fp16 checkpoint, end to end: test top-1 {reloaded['top1']:.2%}  top-5 {reloaded['top5']:.2%}  "
        f"({ckpt.stat().st_size / 1e6:.2f} MB)")
    if reloaded["top1"] < test["top1"]:
        log("warning: the fp16 checkpoint's test top-1 is below the fp32 model's")

    run = {
        "id": run_id, "model": name, "width": width, "init": init,
        "recipe": "transfer phase 1 (frozen backbone, linear head)", "epochs": cfg.epochs, "img_size": img_size,
        "hyperparameters": {"optimizer": "AdamW", "lr": cfg.lr, "weight_decay": cfg.weight_decay,
                            "schedule": "cosine per step, no warm-up", "label_smoothing": cfg.label_smoothing,
                            "batch_size": cfg.batch_size, "seed": cfg.seed, "selection": "best valid top-1",
                            "best_epoch": max(history, key=lambda h: (h["valid_top1"], -h["epoch"]))["epoch"],
                            "augmentation": "none (deterministic resize + centre crop; frozen backbone)",
                            "normalize": {"mean": list(mean), "std": list(std)}},
        "metrics": {"test_top1": test["top1"], "test_top5": test["top5"], "valid_top1": valid_top1,
                    "checkpoint_test_top1": reloaded["top1"], "checkpoint_test_top5": reloaded["top5"]},
        "per_class": test["per_class"], "confused": test["confused"], "history": history,
        "checkpoint": {"file": ckpt.name, "size_bytes": ckpt.stat().st_size, "dtype": "float16"},
        "provenance": {
            **git_commit(), "date": date.isoformat(timespec="seconds"), "device": device_string(),
            "data_source": f"{data_root} (Udacity split)",
            "split_sizes": {s: int(len(f.y)) for s, f in feats.items()}, "torch": torch.__version__,
            "backbone_sha256": backbone, "features_from_cache": {s: f.from_cache for s, f in feats.items()},
            "command": command, "seconds": round(time.perf_counter() - started, 1),
        },
    }
    results_file = out_dir / "results" / "runs" / f"{run_id}.json"
    atomic_write_json(run, results_file)
    log(f"wrote {ckpt} and {results_file} in {run['provenance']['seconds']:.0f} s")
    return PhaseOneResult(ckpt, results_file, run)


def build_backbone(name: str, width: float | None, init: str) -> tuple[nn.Module, dict[str, Any]]:
    """The model to start from, with how to feed it: ``init`` is "imagenet" (official TFLite) or "random"."""
    from .models import build_model

    if init == "imagenet":
        if name != "mobilenet_v2" or width != 1.0:
            raise TrainError("ImageNet initialisation is available offline only for MobileNetV2 1.0 (the official "
                             "TFLite weights); use --init random for other models or widths.")
        from . import tflite_import

        model = tflite_import.load_tflite_mobilenet_v2(config.weights_dir() / tflite_import.TFLITE_FILE)
        return model, {"mean": tflite_import.TFLITE_MEAN, "std": tflite_import.TFLITE_STD, "padding": "tf_same",
                       "init": "imagenet (official TFLite MobileNetV2 1.0)"}
    model = build_model(name, num_classes=NUM_CLASSES, width=width)
    if not hasattr(model, "forward_features"):
        raise TrainError(f"{name} has no forward_features(); phase 1 needs a backbone that exposes pooled features.")
    return model, {"mean": weights.IMAGENET_MEAN, "std": weights.IMAGENET_STD, "padding": None,
                   "init": "random (untrained backbone: a sanity check, not a useful model)"}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m mnv2_core.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--recipe", choices=("transfer",), default="transfer")
    p.add_argument("--phases", type=int, choices=(1,), default=1,
                   help="1 = linear head on the frozen backbone (phase 2, fine-tuning, is not implemented on CPU)")
    p.add_argument("--model", default="mobilenet_v2")
    p.add_argument("--width", type=float, default=1.0)
    p.add_argument("--init", choices=("imagenet", "random"), default="imagenet")
    p.add_argument("--data", type=Path, default=None, help="Oxford-102 folder (default: config.data_dir())")
    p.add_argument("--out", type=Path, default=config.ASSETS_DIR, help="writes checkpoints/ and results/runs/ here")
    p.add_argument("--epochs", type=int, default=HeadConfig.epochs)
    p.add_argument("--lr", type=float, default=HeadConfig.lr)
    p.add_argument("--seed", type=int, default=HeadConfig.seed)
    p.add_argument("--img-size", type=int, default=224)
    p.add_argument("--threads", type=int, default=2)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    shown = sys.argv[1:] if argv is None else argv
    command = "python -m mnv2_core.train " + " ".join(shlex.quote(a) for a in shown)
    torch.set_num_threads(args.threads)
    try:
        model, how = build_backbone(args.model, args.width, args.init)
        run_transfer_phase1(model, name=args.model, width=args.width, init=how["init"],
                            data_root=args.data or config.data_dir(), out_dir=args.out, img_size=args.img_size,
                            mean=how["mean"], std=how["std"], padding=how["padding"],
                            cfg=HeadConfig(epochs=args.epochs, lr=args.lr, seed=args.seed), command=command)
    except (ValueError, KeyError) as exc:  # user errors: missing data, unknown model, bad width
        print(f"error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
