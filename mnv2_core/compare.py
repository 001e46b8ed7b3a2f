"""Side-by-side measurement on this machine: models x widths x precisions, one row each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import torch

from .bench import BenchRow, count_macs, count_params, time_model
from .models import build_model, get_spec

DEFAULT_MODELS = ("mobilenet_v2", "resnet18", "resnet50", "efficientnet_b0", "lenet5")


@dataclass(frozen=True)
class BenchConfig:
    model: str
    width: float | None = None
    precision: str = "fp32"

    @property
    def label(self) -> str:
        from .models import display_name

        return f"{display_name(self.model, self.width)} {self.precision.upper()}"


def expand_configs(models: Iterable[str], widths: Iterable[float], precisions: Iterable[str]) -> list[BenchConfig]:
    """Every (model, width, precision); widths apply to models that have them (MobileNetV2)."""
    configs = []
    for name in models:
        spec = get_spec(name)
        model_widths = [w for w in widths if w in spec.widths] if spec.widths != (None,) else [None]
        for width in model_widths:
            configs.extend(BenchConfig(name, width, p) for p in precisions)
    return configs


def _bench_classes(model: str) -> int:
    return 102 if model == "lenet5" else 1000  # LeNet-5 has no ImageNet form; it is the flowers baseline


def _timing_model(config: BenchConfig, float_model: torch.nn.Module) -> torch.nn.Module:
    """ImageNet-shaped (1000 classes) so params and MACs compare with published figures; weight values do not
    change the time a dense forward pass takes, so untrained weights are timed, and INT8 is calibrated on real
    images after re-estimating BN statistics (otherwise activations are near zero and the ranges are not real)."""
    if config.precision == "fp32":
        return float_model
    from .quantize import calibrated_int8

    return calibrated_int8(float_model, get_spec(config.model).input_size)


def run_benchmark(configs: list[BenchConfig], *, runs: int = 30, warmup: int = 5, threads: int | None = None,
                  max_seconds: float | None = 20.0,
                  progress: Callable[[int, int, BenchConfig], None] | None = None) -> list[BenchRow]:
    """Measure each configuration in turn (params and MACs on the float model, latency on the deployed one)."""
    rows = []
    threads = threads or torch.get_num_threads()
    for i, config in enumerate(configs):
        if progress:
            progress(i, len(configs), config)
        spec = get_spec(config.model)
        float_model = build_model(config.model, num_classes=_bench_classes(config.model), width=config.width).eval()
        params, macs = count_params(float_model), count_macs(float_model, spec.input_size)
        model = _timing_model(config, float_model)
        stats = time_model(model, spec.input_size, warmup=warmup, runs=runs, threads=threads, max_seconds=max_seconds)
        rows.append(BenchRow(config.model, config.width, config.precision, "torch", params, macs, stats.median_ms,
                             stats.p90_ms, stats.cv, stats.threads, stats.runs))
    if progress:
        progress(len(configs), len(configs), None)  # type: ignore[arg-type]
    return rows


def results_frame(rows: list[BenchRow]):
    """Benchmark rows as a table, with the published ImageNet accuracy and its source beside each model."""
    import pandas as pd

    from .models import display_name
    from .references import imagenet_reference
    from .results import KIND_LABELS, best_flower_run, load_runs, run_kind

    runs = load_runs()
    records = []
    for r in rows:
        flower = best_flower_run(r.model, r.width, runs) if r.precision == "fp32" else None
        ref = imagenet_reference(r.model, r.width)
        top1 = (ref.top1 if r.precision == "fp32" else ref.int8_top1) if ref else None
        records.append({
            "label": f"{display_name(r.model, r.width)} {r.precision.upper()}", "model": r.model, "width": r.width,
            "precision": r.precision, "runtime": r.runtime, "params_m": r.params / 1e6, "macs_m": r.macs / 1e6,
            "median_ms": r.median_ms, "p90_ms": r.p90_ms, "cv": r.cv, "threads": r.threads, "runs": r.runs,
            "imagenet_top1": top1, "source": ref.source if top1 is not None else None,
            "flowers_top1": 100 * flower["metrics"]["test_top1"] if flower else None,
            "flowers_training": KIND_LABELS[run_kind(flower)] if flower else None,
            "flowers_run": f"{flower['id']} ({flower.get('recipe')}, init {flower.get('init')})" if flower else None,
        })
    return pd.DataFrame.from_records(records)
