"""Honest latency bookkeeping: warm-up, runs, threads and time budget, and a phone photo's path split into parts."""

from __future__ import annotations

import time

import pytest
import torch

from mnv2_core.measure import latency, probe


def test_measure_latency_bookkeeping() -> None:
    calls = []
    stats = latency.measure_latency(lambda: calls.append(sum(range(2000))), warmup=3, runs=12)
    assert len(calls) == 15
    assert stats.runs == 12 and stats.warmup == 3
    assert 0 < stats.min_ms <= stats.median_ms <= stats.p90_ms
    assert stats.min_ms <= stats.mean_ms and stats.cv >= 0


def test_measure_latency_sets_and_restores_threads() -> None:
    before = torch.get_num_threads()
    seen = []
    stats = latency.measure_latency(lambda: seen.append(torch.get_num_threads()), warmup=1, runs=3, threads=1)
    assert set(seen) == {1} and stats.threads == 1
    assert torch.get_num_threads() == before

    def boom() -> None:
        raise RuntimeError("model failed")

    with pytest.raises(RuntimeError):
        latency.measure_latency(boom, threads=1)
    assert torch.get_num_threads() == before


def test_measure_latency_respects_max_seconds() -> None:
    stats = latency.measure_latency(lambda: time.sleep(0.02), warmup=5, runs=1000, max_seconds=0.3)
    assert 3 <= stats.runs < 1000
    # A call slower than the whole budget still gets 3 timed runs, and warm-up is cut short.
    slow = latency.measure_latency(lambda: time.sleep(0.05), warmup=10, runs=50, max_seconds=0.01)
    assert slow.runs == 3 and slow.warmup <= 1


def test_measure_latency_rejects_bad_settings() -> None:
    for kw in ({"runs": 0}, {"warmup": -1}, {"threads": 0}, {"max_seconds": 0}):
        with pytest.raises(probe.BenchError):
            latency.measure_latency(lambda: None, **kw)


def test_a_phone_photo_s_path_is_split_into_decode_floor_model_and_the_app_s_own_time(sample_flower) -> None:
    from mnv2_core.measure.latency import phone_jpeg, photo_to_prediction
    from mnv2_core.models.model_config import ModelConfig
    from mnv2_core.runtime.predictor import Predictor

    jpeg = phone_jpeg(sample_flower, size=(1600, 1200))
    path = photo_to_prediction(Predictor(ModelConfig("lenet5", None, engine="torch")), jpeg, runs=3, warmup=1)
    assert path.whole.runs == path.decode_floor.runs == path.model.runs == 3
    assert path.overhead_ms == path.whole.median_ms - path.decode_floor.median_ms - path.model.median_ms
