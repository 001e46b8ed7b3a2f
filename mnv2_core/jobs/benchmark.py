"""Side-by-side measurement on this machine: models x widths x precisions x engines, one row each.

Every (model, width) is also timed on ONNX Runtime FP32 in the same run, so each row can state its speed as a
ratio to that peer (timings drift 5-10% between runs on these machines; ratios measured together do not).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import torch
from torch import nn

from mnv2_core.measure.counts import count_macs, count_params
from mnv2_core.measure.latency import time_model
from mnv2_core.measure.probe import Resolution
from mnv2_core.models import build_model, get_spec
from mnv2_core.models.labels import num_classes
from mnv2_core.models.model_config import BF16_ENGINES, ModelConfig
from mnv2_core.runtime.int8_onnx import FORMAT


@dataclass(frozen=True)
class BenchRow:
    """One line of the benchmark table: what was measured and how, ready for CSV/JSON."""

    model: str
    width: float | None
    precision: str
    engine: str
    params: int
    macs: int
    median_ms: float
    p90_ms: float
    cv: float
    threads: int
    runs: int
    variant: str | None = None  # INT8: the format timed (the timing records key on it)
    resolution: int | None = None  # the input size timed

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def bench_row(model: nn.Module, name: str, resolution: Resolution, *, width: float | None = None,
              precision: str = "fp32", engine: str = "torch", in_channels: int = 3, **kw) -> BenchRow:
    """Count and time an eager torch model in one go; ``kw`` go to :func:`measure_latency`."""
    stats = time_model(model, resolution, in_channels=in_channels, **kw)
    return BenchRow(model=name, width=width, precision=precision, engine=engine, params=count_params(model),
                    macs=count_macs(model, resolution, in_channels), median_ms=stats.median_ms, p90_ms=stats.p90_ms,
                    cv=stats.cv, threads=stats.threads, runs=stats.runs, resolution=resolution)


def bench_classes(model: str) -> str:
    """ImageNet-shaped (1000 classes) where the model has that form, so params and MACs compare with published
    figures; else its flower head."""
    return "imagenet" if "imagenet" in get_spec(model).class_sets else "flowers"


def expand_configs(models: Iterable[str], widths: Iterable[float], precisions: Iterable[str],
                   engines: Iterable[str] = ("torch",), *, with_ort_reference: bool = True) -> list[ModelConfig]:
    """Every (model, width, precision, engine); widths apply to models that have them (MobileNetV2), BF16 to the
    engines that have BF16 kernels.

    ``with_ort_reference`` adds ONNX Runtime FP32 for each (model, width) when ONNX Runtime is installed. BF16 on a
    CPU without it raises EngineError (one sentence).
    """
    from mnv2_core.runtime.availability import require_bf16
    from mnv2_core.runtime.engines import ort_available

    precisions, engines = list(precisions), list(engines)
    if "bf16" in precisions:
        require_bf16()
    configs = []
    for name in models:
        spec = get_spec(name)
        model_widths = [w for w in widths if w in spec.widths] if spec.has_widths else [None]
        for width in model_widths:
            classes = bench_classes(name)
            batch = [ModelConfig(name, width, p, classes, e) for e in engines for p in precisions
                     if p != "bf16" or e in BF16_ENGINES]
            reference = ModelConfig(name, width, "fp32", classes, "onnxruntime")
            if with_ort_reference and ort_available() and reference not in batch:
                batch.append(reference)
            configs.extend(batch)
    return configs


def _timing_call(config: ModelConfig, float_model: torch.nn.Module, workdir: Path,
                 threads: int) -> Callable[[torch.Tensor], object]:
    """The deployed model as a callable. ImageNet-shaped (1000 classes) so params and MACs compare with published
    figures; weight values do not change the time a dense forward pass takes, so untrained weights are timed, and
    INT8 is calibrated on real images after re-estimating BN statistics (else activations are near zero and the
    ranges are not real)."""
    from mnv2_core.runtime import engines

    size = get_spec(config.model).resolution
    if config.engine == "torch":
        if config.precision != "int8":
            return engines.make_runner("torch", float_model, config.precision)
        from mnv2_core.runtime.int8_torch import calibrated_int8

        return engines.make_runner("torch", calibrated_int8(float_model, size), "int8")
    fp32 = engines.export_onnx(float_model, size, workdir / f"{config.model}_{config.width}_fp32.onnx")
    if config.precision != "int8":  # FP32, or BF16 compiled from the FP32 file
        return engines.make_runner(config.engine, fp32, config.precision, threads)
    import copy

    from mnv2_core.images.views import Preprocess
    from mnv2_core.runtime.calibration import calibration_arrays, calibration_paths, calibration_tensors
    from mnv2_core.runtime.int8_onnx import quantize_qdq
    from mnv2_core.runtime.int8_torch import reestimate_bn_stats

    int8 = workdir / f"{config.model}_{config.width}_int8.onnx"
    if not int8.is_file():  # ONNX Runtime and OpenVINO time the same INT8 file
        calibrated = copy.deepcopy(float_model)
        reestimate_bn_stats(calibrated, calibration_tensors(Preprocess(size)))
        with_bn = engines.export_onnx(calibrated, size, workdir / f"{config.model}_{config.width}_bn.onnx")
        quantize_qdq(with_bn, int8, calibration_arrays(calibration_paths(32), Preprocess(size)))
    return engines.make_runner(config.engine, int8, "int8", threads)


def run_benchmark(configs: list[ModelConfig], *, runs: int = 30, warmup: int = 5, threads: int | None = None,
                  max_seconds: float | None = 20.0,
                  progress: Callable[[int, int, ModelConfig], None] | None = None) -> list[BenchRow]:
    """Measure each configuration in turn (params and MACs on the float model, latency on the deployed one)."""
    import tempfile

    from mnv2_core.measure.latency import measure_latency

    rows = []
    threads = threads or torch.get_num_threads()
    with tempfile.TemporaryDirectory() as tmp:
        for i, config in enumerate(configs):
            if progress:
                progress(i, len(configs), config)
            spec = get_spec(config.model)
            torch.manual_seed(0)
            float_model = build_model(config.model, num_classes=num_classes(config.classes),
                                      width=config.width).eval()
            params, macs = count_params(float_model), count_macs(float_model, spec.resolution)
            call = _timing_call(config, float_model, Path(tmp), threads)
            x = torch.randn(1, 3, spec.resolution, spec.resolution)
            stats = measure_latency(lambda: call(x), warmup=warmup, runs=runs, threads=threads,
                                    max_seconds=max_seconds)
            variant = None if config.precision != "int8" else "fx" if config.engine == "torch" else FORMAT
            rows.append(BenchRow(config.model, config.width, config.precision, config.engine, params, macs,
                                 stats.median_ms, stats.p90_ms, stats.cv, stats.threads, stats.runs, variant,
                                 spec.resolution))
    if progress:
        progress(len(configs), len(configs), None)  # type: ignore[arg-type]
    return rows


def ort_ratios(rows: list[BenchRow]) -> list[float | None]:
    """Each row's median over the ONNX Runtime FP32 median of the same model and width in the same run."""
    reference = {(r.model, r.width): r.median_ms for r in rows if r.engine == "onnxruntime" and r.precision == "fp32"}
    return [r.median_ms / reference[(r.model, r.width)] if (r.model, r.width) in reference else None for r in rows]


def save_bench_rows(rows: list[BenchRow], source: str) -> Path:
    """Record a benchmark's timings for this CPU: the app's automatic engine choice reads them."""
    from mnv2_core.runtime.timings import save_timings

    return save_timings([r.as_dict() for r in rows], source)


def quick_sweep(widths: Iterable[float], precisions: Iterable[str],
                progress: Callable[[int, int, str], None] | None = None) -> list[str]:
    """Time every engine for each MobileNetV2 flower model the way Classify runs it (the shipped INT8 files), where
    this CPU has no timing yet; returns the configurations that were measured now."""
    from mnv2_core.runtime.predictor import Predictor

    configs = [ModelConfig("mobilenet_v2", w, p) for w in widths for p in precisions]
    measured = []
    for i, config in enumerate(configs):
        if progress:
            progress(i, len(configs), config.title)
        if Predictor(config).measured_here:
            measured.append(config.title)
    return measured
