"""The comparison a teacher presents: one row per trained model (MobileNetV2 at every width and from scratch,
ResNet18, ResNet50, EfficientNet-B0, LeNet-5) with how it was trained, its measured accuracy, its cost and its
latency on this CPU, and the Pareto frontier of accuracy against latency and against params.

Accuracy comes from each checkpoint's own metadata (stamped by the run that made it, scored from the file the app
loads); params and MACs from the run record (else counted); latency from this CPU's engine timings
(:mod:`mnv2_core.runtime.timings`), which :func:`time_missing` fills where this CPU has not timed a model yet.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from mnv2_core.measure.run_record import IMAGENET_KINDS, KIND_LABELS, RunRecord
from mnv2_core.models import REGISTRY, model_title
from mnv2_core.models.references import imagenet_reference

if TYPE_CHECKING:
    from mnv2_core.models.checkpoints import CheckpointMeta
    from mnv2_core.runtime.timings import TimingRow

PRECISIONS_TIMED = ("fp32", "int8")
SWEEP_TRIAL_SECONDS = 0.4  # per engine on first open: a stable median for a model of a few ms, the sweep near 30 s


@dataclass(frozen=True)
class Entry:
    """One model of the comparison: a registry name, a width, and which of its flower checkpoints."""

    model: str
    width: float | None = None
    init: str = "default"  # "scratch": the from-scratch checkpoint of a model whose default one is transfer-learned

    @property
    def title(self) -> str:
        return model_title(self.model, self.width, self.init)


def entries() -> tuple[Entry, ...]:
    """Every model in the registry at every width, plus the from-scratch 1.0 of a transfer-learned family."""
    found: list[Entry] = []
    for spec in REGISTRY.values():
        found += [Entry(spec.name, w) for w in spec.widths]
        if spec.flowers_init != "scratch":
            found.append(Entry(spec.name, 1.0 if spec.has_widths else None, "scratch"))
    return tuple(found)


@dataclass(frozen=True)
class ComparisonRow:
    """What the comparison table shows for one model; None where this machine has no figure (yet)."""

    entry: Entry
    checkpoint: str | None
    training: str | None
    resolution: int | None
    test_top1: float | None  # Oxford-102 test split, 0-1
    phone_top1: float | None
    imagenet_top1: float | None  # published, percent
    imagenet_source: str | None
    params: int | None
    macs: int | None
    size_bytes: int | None
    fp32_ms: float | None
    fp32_engine: str | None
    int8_ms: float | None
    int8_engine: str | None
    run_id: str | None
    from_imagenet: bool | None = None  # its weights started from ImageNet (transfer, or cut/widened from it)

    @property
    def title(self) -> str:
        return self.entry.title

    @property
    def top1_per_mparams(self) -> float | None:
        """Test top-1 (percent) per million parameters: the efficiency measure of seed lesson 7."""
        return 100 * self.test_top1 / (self.params / 1e6) if self.test_top1 and self.params else None

    @property
    def top1_per_gmac(self) -> float | None:
        return 100 * self.test_top1 / (self.macs / 1e9) if self.test_top1 and self.macs else None

    @property
    def fastest_ms(self) -> float | None:
        return self.fp32_ms


@functools.lru_cache(maxsize=64)
def _counted(model: str, width: float | None, resolution: int) -> tuple[int, int]:
    from mnv2_core.measure.counts import count_macs, count_params
    from mnv2_core.models import build_model

    net = build_model(model, num_classes=102, width=width).eval()
    return count_params(net), count_macs(net, resolution)


def _training_words(meta: CheckpointMeta, run: RunRecord | None) -> str | None:
    if run is not None:
        return run.kind_label
    return KIND_LABELS.get(meta.kind or "", meta.recipe)


def comparison_row(entry: Entry, runs: list[RunRecord] | None = None, cpu=None) -> ComparisonRow:
    """One model's row, from its checkpoint, its run record and this CPU's timings."""
    from mnv2_core.measure.records import load_runs
    from mnv2_core.models.checkpoints import CheckpointMeta, checkpoint_meta, find_checkpoint
    from mnv2_core.runtime.timings import fastest_row

    path = find_checkpoint(entry.model, entry.width, "flowers", entry.init)
    meta = checkpoint_meta(path) if path else CheckpointMeta()
    run = next((r for r in (runs if runs is not None else load_runs()) if meta.run_id and r.id == meta.run_id), None)
    resolution = meta.resolution
    params, macs = (run.params, run.macs) if run else (None, None)
    if path and resolution and (params is None or macs is None):
        params, macs = _counted(entry.model, entry.width, int(resolution))
    fp32, int8 = (fastest_row(entry.model, entry.width, p, resolution, cpu) if path else None
                  for p in PRECISIONS_TIMED)
    reference = imagenet_reference(entry.model, entry.width)
    return ComparisonRow(
        entry, str(path) if path else None, _training_words(meta, run), resolution, meta.test_top1,
        meta.test_phone_top1, reference.top1 if reference else None,
        reference.source if reference and reference.top1 is not None else None, params, macs,
        path.stat().st_size if path else None, *_timing(fp32), *_timing(int8), meta.run_id,
        _from_imagenet(meta, run) if path else None)


def _from_imagenet(meta: CheckpointMeta, run: RunRecord | None) -> bool:
    return run.from_imagenet if run is not None else meta.kind in IMAGENET_KINDS


def _timing(row: TimingRow | None) -> tuple[float | None, str | None]:
    return (row.median_ms, row.engine) if row else (None, None)


def comparison_rows(cpu=None) -> list[ComparisonRow]:
    """Every model of :func:`entries`, in registry order."""
    from mnv2_core.measure.records import load_runs

    runs = load_runs()
    return [comparison_row(e, runs, cpu) for e in entries()]


def int8_shipped(entry: Entry) -> bool:
    """Whether an INT8 model is shipped for this entry's flower checkpoint (the default one only)."""
    from mnv2_core.runtime.int8_files import int8_meta

    return entry.init == "default" and int8_meta(entry.model, entry.width) is not None


def untimed(rows: list[ComparisonRow]) -> list[tuple[Entry, str]]:
    """(entry, precision) pairs this CPU has no timing for yet: FP32 for every trained model, INT8 where shipped."""
    missing = []
    for row in rows:
        if row.checkpoint is None or row.test_top1 is None:  # untrained, or a file that does not read: never timed
            continue
        if row.fp32_ms is None:
            missing.append((row.entry, "fp32"))
        if row.int8_ms is None and int8_shipped(row.entry):
            missing.append((row.entry, "int8"))
    return missing


def time_missing(missing: list[tuple[Entry, str]],
                 progress: Callable[[int, int, str], None] | None = None) -> None:
    """Time each (entry, precision) on every engine that runs it here, as Classify would, and record the rows."""
    from mnv2_core.models.weights import load_flower_model
    from mnv2_core.models.model_config import ModelConfig
    from mnv2_core.runtime.predictor import Predictor

    from mnv2_core.runtime import timings
    from mnv2_core.runtime.workers import model_slot

    for i, (entry, precision) in enumerate(missing):
        if progress:
            progress(i, len(missing), f"{entry.title} {precision.upper()}")
        # A slot of the app's model pool: a timing that shared the cores with other model work (the default
        # model's warm-up, a student's answer) would be off by the share it lost.
        with model_slot():
            try:
                loaded = load_flower_model(entry.model, entry.width, entry.init)
                predictor = Predictor(ModelConfig(entry.model, entry.width, precision), loaded=loaded,
                                      trial_seconds=SWEEP_TRIAL_SECONDS)
            except (ValueError, RuntimeError, OSError):  # one model that cannot run here: the rest are timed
                continue
            stats = None if predictor.measured_here else predictor.warm_latency()
        if stats is not None:  # one engine only (nothing to choose): record its time all the same
            timings.save_timings([timings.TimingRow(entry.model, loaded.width, precision, predictor.engine,
                                            predictor.plan.variant(predictor.engine), predictor.resolution,
                                            stats.median_ms, stats.p90_ms, stats.runs, stats.threads)],
                                 "the comparison's first-visit sweep")


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats on both axes (lower x and higher y), ordered by x."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], float("-inf")
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


_TIMING = threading.Lock()  # two visitors opening the page at once time each model once


def time_missing_once(progress: Callable[[int, int, str], None] | None = None) -> int:
    """Time what this CPU has not timed yet (one sweep at a time); returns how many configurations were timed."""
    with _TIMING:
        missing = untimed(comparison_rows())
        if missing:
            time_missing(missing, progress)
        return len(missing)
