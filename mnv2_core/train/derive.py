"""The start of a run from a trained flower checkpoint: the same width (finetune), a narrower one by pruning or a
wider one by widening (:mod:`mnv2_core.models.width_family`), each step measured on valid; and the teacher."""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

from mnv2_core.files import atomic_torch_save
from mnv2_core.images.flowers import Splits
from mnv2_core.images.views import Preprocess
from mnv2_core.measure.accuracy import top1
from mnv2_core.measure.run_record import Derivation
from mnv2_core.typed_json import present
from mnv2_core.models import weights
from mnv2_core.models.mobilenetv2 import padding_of
from mnv2_core.models.registry import build_model, get_spec
from mnv2_core.train.distill import Teacher
from mnv2_core.train.provenance import file_identity
from mnv2_core.train.spec import DECODE_VALID, DERIVED, NUM_CLASSES, RunSpec, Start, TrainError


def derived_start(spec: RunSpec, *, samples: Splits | None, state_dir: Path | None,
                  device: torch.device | None = None, log=print) -> tuple[nn.Module, Start]:
    """The start of a finetune, prune or widen run: the --start-from checkpoint, at this or a new width.

    Pruning and widening take a minute or two; their result is kept beside the run's resumable state, and the
    before/after of each step is measured on the valid split for the Training page's lesson.
    """
    source = weights.load_checkpoint_file(spec.start_from)
    if source.name != spec.model:
        raise TrainError(f"{spec.start_from.name} holds {source.name}, not {spec.model}.")
    scored = source.info.test_top1
    how = Start(source.info.preprocess, padding_of(source.model) if padding_of(source.model) == "tf_same" else None,
                f"{spec.start_from.name} ({source.info.recipe or 'trained'}"
                + (f", test top-1 {scored:.2%})" if scored is not None else ")"))
    _check_widths(spec, source.width)
    if spec.recipe == "finetune":
        return source.model, how
    from mnv2_core.models import width_family

    assert samples is not None and state_dir is not None
    # Keyed on what shapes the start alone, so that a run with other epochs or lr reuses a pruned network.
    start_key = hashlib.sha256(repr((spec.model, spec.width, spec.recipe, file_identity(spec.start_from),
                                     str(spec.data), spec.fit.seed, spec.fit.resolution, PRUNE_PHOTOS,
                                     width_family.VERSION)).encode()).hexdigest()[:16]
    cached = state_dir / f"start_{start_key}.pt"
    if spec.fresh:
        cached.unlink(missing_ok=True)
    student = build_model(spec.model, num_classes=NUM_CLASSES, width=spec.width, padding=how.padding) \
        if how.padding else build_model(spec.model, num_classes=NUM_CLASSES, width=spec.width)
    if cached.is_file():
        blob = torch.load(cached, map_location="cpu", weights_only=True)
        student.load_state_dict(blob["state_dict"])
        how = replace(how, provenance={"derived": blob["steps"]})
        log(f"{spec.recipe}: start model from {cached}")
        return student, how
    student, steps = _derive_width(spec, source.model, how.preprocess.at(spec.fit.resolution), samples, log)
    atomic_torch_save({"state_dict": student.state_dict(), "steps": steps}, cached)
    how = replace(how, provenance={"derived": steps})
    return student, how


def _check_widths(spec: RunSpec, width: float | None) -> None:
    """Refuse, in one sentence, a derivation that cannot go from ``width`` to the asked one."""
    if spec.recipe == "finetune":
        if width != spec.width:
            raise TrainError(f"--recipe finetune keeps the width: {spec.start_from.name} is width {width}.")
        return
    if not get_spec(spec.model).has_widths:
        raise TrainError("--recipe prune and widen change a MobileNetV2's width; use --model mobilenet_v2.")
    if spec.recipe == "prune" and not spec.width < width:
        raise TrainError(f"--recipe prune makes a narrower network: --width must be below {width}.")
    if spec.recipe == "widen" and not spec.width > width:
        raise TrainError(f"--recipe widen makes a wider network: --width must be above {width}.")


def _derive_width(spec: RunSpec, source: nn.Module, preprocess: Preprocess, samples: Splits,
                  log) -> tuple[nn.Module, Start]:
    """Prune or widen ``source`` to ``spec.width``, measuring valid top-1 after each step (the Training page's
    lesson)."""
    from mnv2_core.images.augment import load_bank
    from mnv2_core.models import width_family
    from mnv2_core.runtime.passes import bank_logits

    started = time.perf_counter()
    valid = load_bank(samples.valid, preprocess.resize, eval_crop=preprocess.resolution, desc=DECODE_VALID)

    def validtop1(model: nn.Module) -> float:
        return top1(bank_logits(model, valid, preprocess, torch.device("cpu")), valid.labels)

    source_top1 = validtop1(source)
    if spec.recipe == "widen":
        student = width_family.widen(source, spec.width, seed=spec.fit.seed)
        steps = Derivation(spec.start_from.name, source_top1, widened_valid_top1=validtop1(student))
        log(f"widen: valid top-1 {source_top1:.2%} ({spec.start_from.name}) -> "
            f"{steps.widened_valid_top1:.2%} (width {spec.width}, before fine-tuning)")
    else:
        images = calibration_images(samples.train, PRUNE_PHOTOS, preprocess, seed=spec.fit.seed)
        copied, _ = width_family.prune(source, spec.width, images, refit=False)
        copied_top1 = validtop1(copied)
        student, plan = width_family.prune(source, spec.width, images, log=log)
        steps = Derivation(spec.start_from.name, source_top1, copied_top1, validtop1(student),
                           calibration_photos=len(images))
        log(f"prune: valid top-1 {source_top1:.2%} (source) -> {copied_top1:.2%} "
            f"(channels kept, weights copied) -> {steps.refit_valid_top1:.2%} (least-squares refit)")
    steps = replace(steps, seconds=round(time.perf_counter() - started, 1))
    return student, present(steps)


PRUNE_PHOTOS = 512


def calibration_images(samples: list[tuple[Path, int]], count: int, preprocess: Preprocess, *,
                       seed: int = 0) -> torch.Tensor:
    """``count`` training photos, round-robin over the classes, half as the app's view and half phone-like."""
    from mnv2_core.images.augment import load_bank
    from mnv2_core.images.flowers import spread_over_classes
    from mnv2_core.images.phone import phone_batch

    picked = spread_over_classes(samples, count)
    clean = load_bank(picked, preprocess.resize, eval_crop=preprocess.resolution, desc="calibration photos")
    raw = load_bank(picked, preprocess.resize, desc="calibration photos (phone-like)")
    half = torch.arange(0, len(picked), 2)
    views = torch.stack(clean.images)
    views[half] = phone_batch(raw.images, half, preprocess.resolution, torch.Generator().manual_seed(seed))
    return preprocess.normalize(views)


def load_teacher(path: Path) -> Teacher:
    """A trained flower checkpoint as a frozen distillation teacher."""
    loaded = weights.load_checkpoint_file(path)
    for p in loaded.model.parameters():
        p.requires_grad_(False)
    return Teacher(loaded.model.eval(), loaded.info.preprocess)


def build_start(spec: RunSpec, *, samples: Splits | None = None,
                state_dir: Path | None = None, device: torch.device | None = None,
                log=print) -> tuple[nn.Module, Start]:
    """The model to start from, with how to feed it (ImageNet backbone, a trained checkpoint or random init)."""
    from mnv2_core.models import build_model

    if spec.recipe in DERIVED:
        return derived_start(spec, samples=samples, state_dir=state_dir, device=device, log=log)
    if spec.init == "imagenet":
        from mnv2_core.models.weights import load_backbone

        # Whatever ImageNet weights this machine has for the model: torchvision's or timm's (cache, then
        # download), the official TFLite file for MobileNetV2 1.0, the Keras backbone for the 0.35.
        loaded = load_backbone(spec.model, spec.width)
        if not loaded.info.trained:
            raise TrainError(f"There are no ImageNet weights for {loaded.title} here ({loaded.info.description}); "
                             f"use --init scratch, or connect to the internet once to download them.")
        where = {"tflite": "official TFLite MobileNetV2 1.0"}.get(loaded.info.source,
                                                                   loaded.info.provenance.get("weights", ""))
        padding = padding_of(loaded.model)
        return loaded.model, Start(loaded.info.preprocess, padding if padding == "tf_same" else None,
                                   f"imagenet ({where})")
    torch.manual_seed(spec.fit.seed)
    model = build_model(spec.model, num_classes=NUM_CLASSES, width=spec.width)
    return model, Start(Preprocess(), None, "scratch (random initialisation)")
