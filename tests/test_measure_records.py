"""Recorded runs: which run's numbers stand for a model, and the steps a derived width took."""

from __future__ import annotations

from mnv2_core.measure.records import FAMILY_STEPS, derivation_steps, measured_run
from mnv2_core.measure.run_record import RunRecord


def _run(run_id: str, date: str, shipped: bool) -> RunRecord:
    return RunRecord.from_json({"id": run_id, "model": "resnet18", "width": None, "checkpoint": {"shipped": shipped},
                                "provenance": {"date": date}})


def test_a_model_whose_checkpoint_could_not_ship_is_still_measured_by_its_newest_run() -> None:
    runs = [_run("old", "2026-11-01T00:00:00", False), _run("new", "2026-12-01T00:00:00", False)]
    assert measured_run("resnet18", None, runs).id == "new"


def test_the_shipped_run_stands_for_the_model_over_newer_unshipped_ones() -> None:
    runs = [_run("shipped", "2026-11-01T00:00:00", True), _run("newer", "2026-12-01T00:00:00", False)]
    assert measured_run("resnet18", None, runs).id == "shipped"


def test_a_model_never_trained_has_no_measured_run() -> None:
    assert measured_run("resnet50", None, [_run("x", "2026-12-01T00:00:00", True)]) is None


def test_a_pruned_width_s_steps_run_from_the_source_through_copy_and_refit_to_distilled() -> None:
    run = RunRecord.from_json({"metrics": {"valid_top1": 0.88}, "provenance": {"derived": {
        "source_valid_top1": 0.96, "copied_valid_top1": 0.05, "refit_valid_top1": 0.78}}})
    source, copied, refit, _, distilled = FAMILY_STEPS
    assert derivation_steps(run) == [(source, 0.96), (copied, 0.05), (refit, 0.78), (distilled, 0.88)]


def test_a_widened_width_has_one_step_between_source_and_distilled_and_a_trained_one_none() -> None:
    run = RunRecord.from_json({"metrics": {"valid_top1": 0.95}, "provenance": {"derived": {
        "source_valid_top1": 0.96, "widened_valid_top1": 0.96}}})
    assert [step for step, _ in derivation_steps(run)] == [FAMILY_STEPS[0], FAMILY_STEPS[3], FAMILY_STEPS[4]]
    assert derivation_steps(RunRecord.from_json({"metrics": {"valid_top1": 0.9}})) == []
