"""Recorded runs: which run's numbers stand for a model."""

from __future__ import annotations

from mnv2_core.measure.records import measured_run


def _run(run_id: str, date: str, shipped: bool) -> dict:
    return {"id": run_id, "model": "resnet18", "width": None, "checkpoint": {"shipped": shipped},
            "provenance": {"date": date}}


def test_a_model_whose_checkpoint_could_not_ship_is_still_measured_by_its_newest_run() -> None:
    runs = [_run("old", "2026-11-01T00:00:00", False), _run("new", "2026-12-01T00:00:00", False)]
    assert measured_run("resnet18", None, runs)["id"] == "new"


def test_the_shipped_run_stands_for_the_model_over_newer_unshipped_ones() -> None:
    runs = [_run("shipped", "2026-11-01T00:00:00", True), _run("newer", "2026-12-01T00:00:00", False)]
    assert measured_run("resnet18", None, runs)["id"] == "shipped"


def test_a_model_never_trained_has_no_measured_run() -> None:
    assert measured_run("resnet50", None, [_run("x", "2026-12-01T00:00:00", True)]) is None
