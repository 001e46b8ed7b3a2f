"""The comparison shaped for the pages: the table's columns and rows, the charts' points, and the from-scratch runs
side by side (their accuracy, time per epoch and recipe, and their valid curves)."""

from __future__ import annotations

from typing import Any

from mnv2_core.jobs.comparison import ComparisonRow, Entry, comparison_rows
from mnv2_core.measure.run_record import PhaseRecord, RunRecord


# The table's columns, short enough for a projector: (header, what it holds)
TABLE_COLUMNS = {
    "Model": "the network and width", "Training": "how this project trained it on Oxford-102",
    "px": "input resolution", "Test %": "Oxford-102 test top-1 (819 photos)",
    "Phone %": "test top-1 on the phone-like proxy of the same photos",
    "ImageNet %": "published ImageNet-1k top-1 (source below the charts)", "Params M": "parameters, millions",
    "MACs M": "multiply-accumulates per image, millions", "MB": "checkpoint size on disk",
    "FP32 ms": "median latency here, fastest FP32 engine", "INT8 ms": "median latency here, fastest INT8 engine",
    "% per M params": "test top-1 per million params", "% per GMAC": "test top-1 per billion MACs",
}


def table_records(rows: list[ComparisonRow]) -> list[dict[str, Any]]:
    """The comparison as the page's table: one dict per model, keyed by :data:`TABLE_COLUMNS`, None where unknown."""

    def pct(v: float | None) -> float | None:
        return None if v is None else 100 * v

    def millions(v: int | None) -> float | None:
        return None if v is None else v / 1e6

    return [dict(zip(TABLE_COLUMNS, (
        r.title, r.training or "not trained here", r.resolution, pct(r.test_top1), pct(r.phone_top1),
        r.imagenet_top1, millions(r.params), millions(r.macs), millions(r.size_bytes), r.fp32_ms, r.int8_ms,
        r.top1_per_mparams, r.top1_per_gmac))) for r in rows]


def chart_points(rows: list[ComparisonRow], x: str) -> list[tuple[ComparisonRow, float, float]]:
    """(row, x, test top-1 %) for every trained row that has ``x`` ("fp32_ms" or "params", params in millions)."""
    out = []
    for r in rows:
        value = getattr(r, x)
        if r.test_top1 is not None and value:
            out.append((r, value / 1e6 if x == "params" else value, 100 * r.test_top1))
    return out


def from_scratch_runs(runs: list[RunRecord] | None = None) -> list[tuple[str, RunRecord]]:
    """(model title, run) for every model of the comparison whose checkpoint was trained from random weights, by the
    run that made that checkpoint."""
    from mnv2_core.measure.records import load_runs

    runs = runs if runs is not None else load_runs()
    by_id = {r.id: r for r in runs}
    return [(row.title, by_id[row.run_id]) for row in comparison_rows()
            if row.from_imagenet is False and row.run_id in by_id]


def _recipe_words(run: RunRecord) -> str:
    """The from-scratch phase's recipe in one line: epochs, crops, optimiser, teacher, bf16."""
    phase = next((p for p in run.phases if p.phase == 1), PhaseRecord())
    words = (f"{phase.epochs} epochs, {phase.train_resolution} px crops, tested at {run.resolution} px, AdamW lr "
             f"{phase.lr}, batch {phase.batch_size}, {phase.warmup_epochs} warm-up epochs, label smoothing "
             f"{phase.label_smoothing}")
    if run.distill_from:
        seen = phase.distill_resolution or phase.train_resolution
        words += (f"; distilled from {run.distill_from.rsplit('/', 1)[-1]} (T {phase.distill_temperature}, "
                  f"alpha {phase.distill_alpha}, teacher input {seen} px)")
    return words + ("; bf16 autocast" if phase.bf16 else "")


def from_scratch_table(runs: list[RunRecord] | None = None) -> list[dict[str, Any]]:
    """The from-scratch runs side by side: accuracy, epochs, wall time on the CPU that ran them, the recipe."""
    rows = []
    for title, run in from_scratch_runs(runs):
        seconds = run.epoch_seconds
        shipped, valid = run.metrics.shipped_top1, run.metrics.valid_top1  # the file the app loads, as Benchmark
        rows.append({"Model": title, "Test %": None if shipped is None else 100 * shipped,
                     "Best valid %": None if valid is None else 100 * valid, "Epochs": run.epochs,
                     "s per epoch": sorted(seconds)[len(seconds) // 2] if seconds else None,
                     "Minutes": run.provenance.minutes, "Machine": run.provenance.device,
                     "Recipe": _recipe_words(run)})
    return rows


def from_scratch_curves(runs: list[RunRecord] | None = None) -> list[dict[str, Any]]:
    """Valid top-1 (percent) per epoch of each from-scratch run, one row per (model, epoch)."""
    return [{"Model": title, "epoch": h["epoch"], "valid top-1 %": 100 * h["valid_top1"]}
            for title, run in from_scratch_runs(runs) for h in run.history if "valid_top1" in h]


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def lesson(rows: list[ComparisonRow]) -> list[str]:
    """The comparison's lesson in two sentences, from the measured rows (none where a figure is missing):
    MobileNetV2 against ResNet50 trained the same way, and what starting from ImageNet is worth."""
    by_entry = {r.entry: r for r in rows}
    scratch, resnet = by_entry.get(Entry("mobilenet_v2", 1.0, "scratch")), by_entry.get(Entry("resnet50"))
    transfer = by_entry.get(Entry("mobilenet_v2", 1.0))
    said = []
    if scratch and resnet and scratch.test_top1 and resnet.test_top1 and resnet.from_imagenet is False:
        params, macs = _ratio(resnet.params, scratch.params), _ratio(resnet.macs, scratch.macs)
        speed = _ratio(resnet.fp32_ms, scratch.fp32_ms)
        if params and macs:
            said.append(
                f"**Trained the same way** (from scratch, one recipe), MobileNetV2 1.0 gets {100 * scratch.test_top1:.1f}% "
                f"of the flowers right against ResNet50's {100 * resnet.test_top1:.1f}%, with {params:.0f}x fewer "
                f"parameters and {macs:.0f}x less compute" + (f", and runs {speed:.1f}x faster on this CPU." if speed
                                                                else "."))
    if transfer and scratch and transfer.test_top1 and scratch.test_top1 and transfer.from_imagenet:
        said.append(f"**Starting from ImageNet** matters more than the architecture: the same MobileNetV2 1.0 "
                    f"transfer-learned gets {100 * transfer.test_top1:.1f}% (at {transfer.resolution} px), against "
                    f"{100 * scratch.test_top1:.1f}% from scratch (at {scratch.resolution} px) on these 6,552 photos.")
    return said
