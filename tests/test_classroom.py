"""The classroom load test, small: a few browser sessions at once get the answers each gets alone, without errors."""

from __future__ import annotations

import pytest
from app_server import chromium_path
from conftest import IN_CI

pytestmark = pytest.mark.slow  # training runs / real browsers: see pytest.ini


def test_three_sessions_at_once_get_the_answers_each_gets_alone(flowers_dir, tmp_path) -> None:
    if chromium_path() is None:
        (pytest.fail if IN_CI else pytest.skip)("needs the system Chromium (apt-get install chromium)")
    import os

    from classroom import run_load_test

    cores = os.sched_getaffinity(0)
    alone, together = run_load_test([3], timeout=600, answer_timeout=180, cache=tmp_path / "cache")
    assert os.sched_getaffinity(0) == cores  # the browsers' cores were this process's only while it drove them
    for phase in (alone, together):
        assert phase["errors"] == 0, phase["error_list"]
        assert phase["answers"] == 6  # two uploads per session: 1.0 FP32, then 0.75 INT8
        assert not phase.get("server_traceback")
    assert together["sessions"] == 3 and together["differing"] == 0, together["differing_list"]
    assert together["peak_rss_mb"] > 0 and together["server_cpu_s"] > 0  # the server was sampled
    assert together["server_top5_p95_s"] > 0 and together["heat_after_top5_p95_s"] >= 0  # and timed its answers
