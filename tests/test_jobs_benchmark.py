"""A benchmark row: a model's counts and latency in one row, measured without leaving the model in eval mode."""

from __future__ import annotations

from mnv2_core.jobs import benchmark
from mnv2_core.measure import counts
from mnv2_core.models import lenet5


def test_time_model_and_bench_row() -> None:
    model = lenet5(10, 1)
    model.train()
    row = benchmark.bench_row(model, "lenet5", 32, in_channels=1, warmup=1, runs=5, threads=1)
    assert model.training  # measuring does not leave the model in eval mode
    d = row.as_dict()
    assert d["model"] == "lenet5" and d["runs"] == 5 and d["threads"] == 1 and d["width"] is None
    assert d["params"] == counts.count_params(model) and d["macs"] == 416_520
    assert 0 < d["median_ms"] <= d["p90_ms"]
