"""Whether a model answers with trained weights here and, when it does not, why and the command that trains it."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from mnv2_core.measure.records import load_runs, runs_dir
from mnv2_core.models import model_title, get_spec, weights
from mnv2_core.models.registry import normalise_width

@dataclass(frozen=True)
class Availability:
    """Whether a (model, width, classes) answers with trained weights here; if not, why and how to train it."""

    trained: bool
    reason: str = ""
    command: str = ""


def has_fast_bf16(cpuinfo: Path | None = None) -> bool:
    """Whether this CPU (or the one a saved /proc/cpuinfo describes) computes bfloat16 natively (AVX512-BF16 or
    AMX): only there are BF16 training (--bf16) and BF16 inference offered."""
    from mnv2_core.measure.machine import read_cpu, this_cpu

    return (this_cpu() if cpuinfo is None else read_cpu(cpuinfo, cores=1, engines=())).has_bf16


def precisions_here() -> tuple[str, ...]:
    """The precisions this CPU is offered, in PRECISIONS order: BF16 only where it computes bfloat16 natively."""
    from mnv2_core.models.model_config import PRECISIONS

    return tuple(p for p in PRECISIONS if p != "bf16" or has_fast_bf16())


def require_bf16() -> None:
    """Raise EngineError with BF16_REFUSAL on a CPU without native bfloat16: the one check every BF16 path makes."""
    from mnv2_core.runtime.engines import EngineError

    if not has_fast_bf16():
        raise EngineError(BF16_REFUSAL)


BF16_REFUSAL = ("BF16 is offered only on CPUs that compute bfloat16 natively (AVX512-BF16 or AMX); this one has "
                "neither, so BF16 would be emulated and slower than FP32.")


def train_command(name: str, width: float | None = None) -> str:
    """The commands that make this model's Oxford-102 checkpoint (the recipes of the shipped models,
    :mod:`mnv2_core.models.recipes`); --bf16 only where this CPU has native bfloat16."""
    from mnv2_core.models.recipes import recipes_for

    bf16 = has_fast_bf16()
    return " && ".join(r.command(bf16) for r in recipes_for(name, normalise_width(name, width)))


def _recorded_size_over_limit(name: str, width: float | None) -> int | None:
    """The size of this model's recorded checkpoint when a run made one too large for the repository."""
    folder = runs_dir()
    # The sidebar asks on every rerun: parse the run records again only when one of them changed.
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.json"))) if folder.is_dir() else ()
    return _oversized(str(folder), stamp).get((name, width))


@functools.lru_cache(maxsize=4)
def _oversized(folder: str, stamp: tuple) -> dict[tuple[str, float | None], int]:
    sizes: dict[tuple[str, float | None], int] = {}
    for r in load_runs(Path(folder)):
        size = r.checkpoint.size_bytes or 0
        if not r.checkpoint.shipped and size > weights.MAX_SHIPPED_BYTES:
            sizes[(r.model, r.width)] = max(size, sizes.get((r.model, r.width), 0))
    return sizes


def availability(name: str, width: float | None = None, classes: str = "flowers") -> Availability:
    """Decided from files alone (nothing is loaded), like :func:`planned_source`."""
    width = normalise_width(name, width)
    if weights.planned_source(name, width, classes) != "untrained":
        return Availability(True)
    title = model_title(name, width)
    if classes == "flowers":
        too_large = _recorded_size_over_limit(name, width)
        if too_large:
            return Availability(False, f"{title} was trained by this project, but its checkpoint "
                                       f"({too_large / 1e6:.1f} MB) is too large to ship in the repository; the "
                                       f"command below makes it on this machine, and until then it would only "
                                       f"guess.", train_command(name, width))
        return Availability(False, f"{title} has no Oxford-102 checkpoint in assets/checkpoints yet, so it would "
                                   f"only guess.", train_command(name, width))
    if name == "mobilenet_v2" and width != 1.0:
        from mnv2_core.models.timm_weights import TIMM_MODELS, hub_repo

        if width in TIMM_MODELS:
            return Availability(False, f"There are no ImageNet weights for {title} here: timm publishes them "
                                       f"({hub_repo(width)}), but they are not in the Hugging Face cache and "
                                       f"downloading is off (MNV2_DOWNLOAD=0).")
        return Availability(False, f"There are no ImageNet weights for {title}: torchvision publishes MobileNetV2 "
                                   f"ImageNet weights for width 1.0 only, and timm for 0.5, 1.0 and 1.4.")
    if get_spec(name).torchvision_name is None:
        return Availability(False, f"{title} has no ImageNet weights: it was never trained on ImageNet.")
    return Availability(False, f"There are no ImageNet weights for {title} here, and downloading them is off "
                               f"(MNV2_DOWNLOAD=0).")


TOO_LARGE_WORDS = "trained by this project, checkpoint too large to ship (Classify gives the command)"


def weights_overview(names: list[str], classes: str = "flowers") -> list[tuple[str, list[str]]]:
    """Every model and width grouped by where its weights come from here, in words: [(words, [titles])]."""
    groups: dict[str, list[str]] = {}
    for name in names:
        for width in get_spec(name).widths:
            source = weights.planned_source(name, width, classes)
            words = weights.SOURCE_WORDS[source]
            if source == "untrained" and classes == "flowers" and _recorded_size_over_limit(name, width):
                words = TOO_LARGE_WORDS
            groups.setdefault(words, []).append(model_title(name, width))
    return list(groups.items())


@dataclass(frozen=True)
class TransferChoice:
    """A (model, width) that phase 1 can start from here, and where its ImageNet weights come from, in words."""

    model: str
    width: float | None
    title: str
    weights: str


def transfer_choices(models: list[str]) -> tuple[list[TransferChoice], list[str]]:
    """Every (model, width) whose ImageNet weights are here or can be downloaded, and one sentence for each other."""

    ready, missing = [], []
    for name in models:
        for width in get_spec(name).widths:
            source = weights.planned_source(name, width, "imagenet", backbone=True)
            if source != "untrained":
                ready.append(TransferChoice(name, width, model_title(name, width), weights.SOURCE_WORDS[source]))
            else:
                missing.append(availability(name, width, "imagenet").reason)
    return ready, missing
