"""One training loop for every recipe: transfer phase 2, from scratch, and distillation.

AdamW with a linear warm-up and cosine decay per step, label smoothing, and an optional teacher whose softened
outputs join the labels (Hinton et al. 2015, "Distilling the Knowledge in a Neural Network": loss =
alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE). The epoch with the best valid top-1 is kept.

After every epoch the loop writes its whole state (weights, optimiser, RNG, history, best epoch) atomically, and the
per-epoch metrics to a CSV; a run started again with the same state file continues where it stopped and ends with
the same numbers as an uninterrupted run.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn
from torch.nn import functional as F

from mnv2_core.images.augment import ImageBank, train_batch
from mnv2_core.images.phone import phone_batch
from mnv2_core.images.views import Preprocess
from mnv2_core.measure.accuracy import top1
from mnv2_core.train.distill import Teacher, distill_loss
from mnv2_core.train.epochs import Best, SavedState, keep_if_better, lr_at, set_lr, write_history_csv
from mnv2_core.runtime.passes import bank_logits

@dataclass
class FitConfig:
    """Hyper-parameters of one phase; ``asdict`` of it goes into the run's provenance."""

    epochs: int
    lr: float
    weight_decay: float = 0.05
    label_smoothing: float = 0.1
    batch_size: int = 64
    warmup_epochs: float = 1.0
    train_resolution: int = 224  # the training crop
    resolution: int = 224  # valid and test
    seed: int = 0
    distill_alpha: float = 0.7
    distill_temperature: float = 4.0
    # The teacher sees the student's crop upsampled to this size (None: as the student sees it). A teacher
    # fine-tuned at 224 px is less accurate on small crops, and its mistakes would be taught.
    distill_resolution: int | None = None
    # BatchNorm layers keep their running statistics (eval mode) while the rest trains. Needed for the imported
    # TFLite backbone, whose BN is folded into the convolutions: batch statistics would change the function.
    freeze_bn: bool = False
    # "crop": random-resized crop + flip; "phone": :func:`mnv2_core.images.phone.phone_like` (framing, tilt, colour cast,
    # blur, noise, JPEG), for photos taken outside the dataset.
    augment: str = "crop"
    # Autocast to bfloat16 on the CPU (or CUDA): about 2x faster where the CPU has AMX/AVX512-BF16. Weights and the
    # optimiser stay float32.
    bf16: bool = False


@dataclass
class FitResult:
    history: list[dict[str, Any]]
    best_valid_top1: float
    best_epoch: int
    resumed_from: int = 0  # epochs already done when this process started
    seconds: float = 0.0
    finished: bool = True  # False: stopped after ``stop_after`` epochs; the state file lets a later call finish it


def augmented_batch(bank: ImageBank, index: torch.Tensor, cfg: FitConfig, gen: torch.Generator) -> torch.Tensor:
    """The training view of each indexed image, by ``cfg.augment``."""
    if cfg.augment == "phone":
        return phone_batch(bank.images, index, cfg.train_resolution, gen)
    if cfg.augment == "crop":
        return train_batch(bank, index, cfg.train_resolution, gen)
    raise ValueError(f"unknown augmentation {cfg.augment!r}; choose crop or phone")


def _layout(x: torch.Tensor) -> torch.Tensor:
    # channels-last feeds oneDNN's fast convolution kernels on the CPU; the result is the same function.
    return x.contiguous(memory_format=torch.channels_last)


def _resized(raw: torch.Tensor, size: int | None) -> torch.Tensor:
    if size is None or size == raw.shape[-1]:
        return raw
    return F.interpolate(raw.float(), size=(size, size), mode="bilinear", align_corners=False)


@dataclass(frozen=True)
class ValidScores:
    """Clean valid top-1, the phone-proxy valid top-1 when measured, and the score that picks the kept epoch."""

    valid_top1: float
    valid_phone_top1: float | None = None

    @property
    def score(self) -> float:
        phone = self.valid_phone_top1
        return self.valid_top1 if phone is None else (self.valid_top1 + phone) / 2

    def phone_column(self) -> dict[str, float]:
        """The history row's phone column, where it was measured."""
        phone = self.valid_phone_top1
        return {} if phone is None else {"valid_phone_top1": phone}

    def __str__(self) -> str:
        phone = self.valid_phone_top1
        return f"valid top-1 {self.valid_top1:.2%}" + (f", phone proxy {phone:.2%}" if phone is not None else "")


def _valid_scores(model: nn.Module, valid: ImageBank, valid_phone: ImageBank | None, preprocess: Preprocess,
                  device: torch.device) -> ValidScores:
    clean = top1(bank_logits(model, valid, preprocess, device), valid.labels)
    if valid_phone is None:
        return ValidScores(clean)
    return ValidScores(clean, top1(bank_logits(model, valid_phone, preprocess, device), valid_phone.labels))


def _train_mode(model: nn.Module, freeze_bn: bool) -> None:
    model.train()
    if freeze_bn:
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()


def _train_epoch(model: nn.Module, train: ImageBank, cfg: FitConfig, optimizer: torch.optim.Optimizer,
                 gen: torch.Generator, *, first_step: int, total: int, warmup: int,
                 preprocess: Preprocess, device: torch.device, teacher: Teacher | None, bar) -> tuple[float, float]:
    """One pass over ``train`` in a seeded random order; returns the mean loss and the train top-1."""
    _train_mode(model, cfg.freeze_bn)
    order = torch.randperm(len(train), generator=gen)
    loss_sum, correct = 0.0, 0
    for i, start in enumerate(range(0, len(order), cfg.batch_size)):
        set_lr(optimizer, lr_at(first_step + i, total, warmup, cfg.lr))
        index = order[start:start + cfg.batch_size]
        raw = augmented_batch(train, index, cfg, gen).to(device, non_blocking=True)
        target = train.labels[index].to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
            logits = model(_layout(preprocess.normalize(raw))).float()
            if teacher is not None:
                with torch.no_grad():
                    teacher_logits = teacher.model(_layout(teacher.preprocess.normalize(
                        _resized(raw, cfg.distill_resolution)))).float()
        if teacher is not None:
            loss = distill_loss(logits, teacher_logits, target, cfg)
        else:
            loss = F.cross_entropy(logits, target, label_smoothing=cfg.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += float(loss.detach()) * len(index)
        correct += int((logits.detach().argmax(1) == target).sum())
        bar.update(1)
    return loss_sum / len(order), correct / len(order)


def _resume_or_start(model: nn.Module, optimizer: torch.optim.Optimizer, gen: torch.Generator, cfg: FitConfig,
                     phase: int, state_file: Path, valid_scores: Callable[[], ValidScores],
                     log: Callable[[str], None]) -> tuple[list[dict[str, Any]], Best, int]:
    """The rows, best epoch and epochs done of a saved state (restored into model, optimiser and generator), or of a
    fresh start, where the starting weights count as "epoch 0": a phase never ends worse on valid than it began."""
    if not state_file.is_file():
        start = valid_scores()
        log(f"phase {phase}: before training {start}")
        return [], keep_if_better(Best(), start.score, 0, model, valid_top1=start.valid_top1), 0
    saved = SavedState.load(state_file)
    if saved.config != asdict(cfg) or saved.phase != phase:
        raise ValueError(f"The saved training state {state_file} is from a different configuration; "
                         f"delete it to start this run afresh.")
    model.load_state_dict(saved.model)
    optimizer.load_state_dict(saved.optimizer)
    gen.set_state(saved.generator)
    log(f"phase {phase}: resuming after epoch {saved.epoch} of {cfg.epochs} from {state_file}")
    return saved.rows, saved.best, saved.epoch


def _prepare(model: nn.Module, teacher: Teacher | None, cfg: FitConfig,
             device: torch.device) -> tuple[torch.optim.Optimizer, torch.Generator]:
    """Both networks on the device, channels-last; the optimiser over what trains; the run's seeded generator."""
    model.to(device).to(memory_format=torch.channels_last)
    if teacher is not None:
        teacher.model.to(device).to(memory_format=torch.channels_last).eval()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr,
                                  weight_decay=cfg.weight_decay)
    return optimizer, torch.Generator().manual_seed(cfg.seed)


def fit(model: nn.Module, train: ImageBank, valid: ImageBank, cfg: FitConfig, *, preprocess: Preprocess, phase: int,
        device: torch.device, state_file: Path, csv_file: Path | None = None, teacher: Teacher | None = None,
        history: list[dict[str, Any]] | None = None, stop_after: int | None = None,
        valid_phone: ImageBank | None = None, log: Callable[[str], None] = print) -> FitResult:
    """Train every parameter of ``model`` that requires grad; leave it holding the best-valid epoch's weights.

    ``preprocess`` is the test recipe at ``cfg.resolution`` (its mean and std also normalise the training crops).

    With ``valid_phone`` (the valid split through the phone proxy) the kept epoch is the one with the best mean of
    clean and phone valid top-1, since the app's users send phone photos.
    ``history`` holds earlier phases' rows (written to the same CSV). ``stop_after`` ends the process's work after
    that many epochs (a deliberate interruption, for tests and time-boxed machines); the state file lets a later
    call finish the run.
    """
    from mnv2_core.progress import Bar

    started = time.perf_counter()
    optimizer, gen = _prepare(model, teacher, cfg, device)
    steps = math.ceil(len(train) / cfg.batch_size)
    total, warmup = cfg.epochs * steps, round(cfg.warmup_epochs * steps)
    earlier = list(history or [])
    rows, best, done = _resume_or_start(model, optimizer, gen, cfg, phase, state_file,
                                        lambda: _valid_scores(model, valid, valid_phone, preprocess, device), log)
    resumed_from = done

    with Bar(cfg.epochs * steps, f"phase {phase}", unit="step", initial=done * steps) as bar:
        for epoch in range(done + 1, cfg.epochs + 1):
            if stop_after is not None and epoch > resumed_from + stop_after:
                break
            epoch_start = time.perf_counter()
            loss, train_top1 = _train_epoch(model, train, cfg, optimizer, gen, first_step=(epoch - 1) * steps,
                                            total=total, warmup=warmup, preprocess=preprocess, device=device,
                                            teacher=teacher, bar=bar)
            scores = _valid_scores(model, valid, valid_phone, preprocess, device)
            rows.append({"epoch": len(earlier) + epoch, "phase": phase,
                         "lr": lr_at((epoch - 1) * steps, total, warmup, cfg.lr), "train_loss": loss,
                         "train_top1": train_top1, "valid_top1": scores.valid_top1,
                         "seconds": round(time.perf_counter() - epoch_start, 1), **scores.phone_column()})
            log(f"phase {phase} epoch {epoch:3d}/{cfg.epochs}  loss {loss:.4f}  train top-1 {train_top1:.2%}  {scores}")
            best = keep_if_better(best, scores.score, epoch, model, valid_top1=scores.valid_top1)
            SavedState(asdict(cfg), phase, epoch, rows, best, model.state_dict(), optimizer.state_dict(),
                       gen.get_state()).save(state_file)
            if csv_file is not None:
                write_history_csv(earlier + rows, csv_file)
    finished = len(rows) == cfg.epochs
    if finished:
        model.load_state_dict(best.state)
    model.eval()
    return FitResult(earlier + rows, best.clean_top1, best.epoch, resumed_from,
                     time.perf_counter() - started, finished)
