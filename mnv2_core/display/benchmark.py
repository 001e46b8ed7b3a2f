"""The Benchmark page's tables, shaped: the live run's results beside the published accuracy, the engine timings
saved for this CPU, and the shipped INT8 models' accuracy against FP32."""

from __future__ import annotations

from typing import Any

from mnv2_core.jobs.benchmark import BenchRow, ort_ratios
from mnv2_core.measure import machine
from mnv2_core.models.model_config import ENGINE_TITLES, config_title
from mnv2_core.runtime.int8_files import shipped_int8_records
from mnv2_core.runtime.timings import measured_timings


def results_frame(rows: list[BenchRow]):
    """Benchmark rows as a table, with the published ImageNet accuracy and its source beside each model."""
    import pandas as pd

    from mnv2_core.measure.records import load_runs, measured_run
    from mnv2_core.models.references import imagenet_reference

    runs = load_runs()
    records = []
    for r, ratio in zip(rows, ort_ratios(rows)):
        flower = measured_run(r.model, r.width, runs) if r.precision == "fp32" else None
        ref = imagenet_reference(r.model, r.width)
        # the published figure of this precision: ImageNet FP32, or a quantized model's; none is published for BF16
        top1 = ({"fp32": ref.top1, "int8": ref.int8_top1}.get(r.precision)) if ref else None
        records.append({
            "title": config_title(r.model, r.width, r.precision, r.engine),
            "model": r.model, "width": r.width, "precision": r.precision, "engine": r.engine,
            "params_m": r.params / 1e6, "macs_m": r.macs / 1e6, "median_ms": r.median_ms, "p90_ms": r.p90_ms,
            "p90_above_ms": r.p90_ms - r.median_ms,  # the error bar from the median up to p90
            "cv": r.cv, "x_ort_fp32": ratio, "threads": r.threads, "runs": r.runs,
            "imagenet_top1": top1, "source": ref.source if top1 is not None else None,
            "flowers_top1": 100 * flower.metrics.test_top1 if flower and flower.metrics.test_top1 else None,
            "flowers_training": flower.kind_label if flower else None,
            "flowers_run": f"{flower.id} ({flower.recipe}, init {flower.init})" if flower else None,
        })
    return pd.DataFrame.from_records(records)


def measured_rows(frame, column: str):
    """The rows of :func:`results_frame` with ``column`` measured or published: the points of its chart."""
    return frame[frame[column].notna()]


def frame_sources(frame) -> list[str]:
    """The published sources a :func:`results_frame` cites, each once, sorted."""
    return sorted({s for s in frame.source if isinstance(s, str)})


def timings_table(cpu: machine.CpuIdentity | None = None) -> list[dict[str, Any]]:
    """This CPU's rows for a chart: the configuration's title, the engine's title, median and p90, fastest first
    within each (model, width, precision)."""
    from mnv2_core.models.model_config import ENGINE_TITLES, config_title

    rows = [{"title": config_title(r.model, r.width, r.precision, variant=r.variant)
                      + (f" {r.resolution} px" if r.resolution else ""),
             "engine": ENGINE_TITLES.get(r.engine, r.engine), "median_ms": r.median_ms, "p90_ms": r.p90_ms,
             "source": r.source, "date": r.date} for r in measured_timings(cpu)]
    return sorted(rows, key=lambda r: (r["title"], r["median_ms"]))


def shipped_int8_rows() -> list[dict]:
    """One row per shipped INT8 model for a table: format, calibration, FP32 vs INT8 test top-1 (the worse engine's),
    agreement (overall and per engine), sizes."""
    return [{
        "model": r.title, "format": r.format_key.upper(),
        "calibration": f"{r.calibration.method_title}, {r.calibration.images} training photos",
        "FP32 top-1": r.test.fp32_top1, "INT8 top-1": r.test.top1, "drop (points)": r.test.drop_points,
        "top-1 agreement": r.test.agreement,
        # the headline is the worse engine's; each engine's own agreement beside it
        **{f"agreement, {ENGINE_TITLES[e]}": v.agreement for e, v in r.test.by_engine.items()},
        "FP32 MB": r.size_bytes["fp32_onnx"] / 1e6, "INT8 MB": r.size_bytes["int8_onnx"] / 1e6,
        "test images": r.test.images, "made": str(r.provenance.get("date", ""))[:10],
    } for r in shipped_int8_records()]


def bf16_rows() -> list[dict]:
    """One row per model measured in BF16 against FP32 on the test split: top-1 of each, agreement (the worse
    engine's, and each engine's), and the CPU it was measured on."""
    from mnv2_core.measure.fidelity import load_fidelity

    return [{
        "model": r.title, "FP32 top-1": r.test.fp32_top1, "BF16 top-1": r.test.top1,
        "drop (points)": r.test.drop_points, "top-1 agreement": r.test.agreement,
        **{f"agreement, {ENGINE_TITLES[e]}": v.agreement for e, v in r.test.by_engine.items()},
        "test images": r.test.images, "measured on": r.cpu,
    } for r in load_fidelity() if r.precision == "bf16"]


def precision_rows() -> list[dict]:
    """One row per model, INT8 and BF16 side by side against FP32 on the test split (the worse engine's agreement);
    None where a precision was not measured for the model."""
    from mnv2_core.measure.fidelity import load_fidelity

    rows: dict[str, dict[str, Any]] = {}
    for r in shipped_int8_records():
        rows.setdefault(r.title, {"model": r.title, "FP32 top-1": r.test.fp32_top1})
        rows[r.title] |= {"INT8 top-1": r.test.top1, "INT8 agreement": r.test.agreement,
                          "size FP32 -> INT8 (MB)": f"{r.size_bytes['fp32_onnx'] / 1e6:.1f} -> "
                                                    f"{r.size_bytes['int8_onnx'] / 1e6:.1f}"}
    for r in load_fidelity():
        if r.precision == "bf16":
            rows.setdefault(r.title, {"model": r.title, "FP32 top-1": r.test.fp32_top1})
            rows[r.title] |= {"BF16 top-1": r.test.top1, "BF16 agreement": r.test.agreement}
    from mnv2_core.jobs.comparison import entries

    columns = ("model", "FP32 top-1", "BF16 top-1", "BF16 agreement", "INT8 top-1", "INT8 agreement",
               "size FP32 -> INT8 (MB)")
    order = [e.title for e in entries()]  # the comparison's order: MobileNetV2 by width, then its peers
    ranked = sorted(rows.values(), key=lambda r: order.index(r["model"]) if r["model"] in order else len(order))
    return [{c: row.get(c) for c in columns} for row in ranked]


def unfaithful_note(rows: list[dict]) -> str | None:
    """One sentence naming the models whose BF16 changes more than 1 answer in 100 (None where none does)."""
    from mnv2_core.runtime.describe import FAITHFUL, changes_answers

    under = [r["model"] for r in rows if r["BF16 agreement"] is not None and r["BF16 agreement"] < FAITHFUL]
    return f"{', '.join(under)}: {changes_answers('bf16')}" if under else None


def bf16_commands() -> list[str]:
    """The commands that measured BF16, each once."""
    from mnv2_core.measure.fidelity import load_fidelity

    return list(dict.fromkeys(r.command for r in load_fidelity() if r.precision == "bf16" and r.command))
