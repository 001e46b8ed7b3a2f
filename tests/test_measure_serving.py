"""The server's own time per answer: recorded by the app one line per answer, read back by the load test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mnv2_core.measure.serving import AnswerClock, answer_times, serving_log


def test_an_answer_is_recorded_with_its_top5_and_heat_map_times_and_read_back_after_earlier_lines(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MNV2_CACHE", str(tmp_path))
    first = AnswerClock()
    first.top5_sent()
    first.heat_sent()
    first.record("a.jpg", "MobileNetV2 1.0 FP32")
    silent = AnswerClock()  # a run that answered nothing (no photo yet) records nothing
    silent.record("", "MobileNetV2 1.0 FP32")
    second = AnswerClock()
    second.top5_sent()
    second.record("b.jpg", "MobileNetV2 0.75 INT8")
    assert serving_log() == tmp_path / "serving" / f"answers_{os.getpid()}.jsonl"
    (a, b) = answer_times(os.getpid())
    assert (a.photo, b.photo, b.heat_s) == ("a.jpg", "b.jpg", None)
    assert 0 <= a.top5_s <= a.heat_s and a.at > 0
    assert [t.photo for t in answer_times(os.getpid(), skip=1)] == ["b.jpg"]
    assert answer_times(os.getpid() + 1) == []  # another server's file: none
