"""Recorded runs: which run's numbers stand for a model, and how a run is shaped for the Training page."""

from __future__ import annotations

from mnv2_core.measure.records import FAMILY_STEPS, comparison_rows, derivation_steps, measured_run, with_values
from mnv2_core.measure.run_record import RunRecord
from mnv2_core.measure.run_report import learning_curves, phase_summaries, run_summary, worst_classes_first


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


def test_chart_points_are_the_rows_with_every_value_measured() -> None:
    rows = [{"a": 1, "b": 2}, {"a": None, "b": 2}, {"a": float("nan"), "b": 1}, {"b": 3}, {"a": 0, "b": 0}]
    assert with_values(rows, "a", "b") == [{"a": 1, "b": 2}, {"a": 0, "b": 0}]


def test_the_comparison_columns_lead_with_what_how_well_and_at_what_cost() -> None:
    (row,) = comparison_rows([RunRecord.from_json({"id": "r", "model": "mobilenet_v2", "width": 0.5, "kind": "prune",
                                                   "resolution": 224, "train_resolution": 160,
                                                   "metrics": {"test_top1": 0.8}})])
    assert list(row)[:8] == ["title", "training", "test_top1", "test_top5", "valid_top1", "params", "macs", "epochs"]
    assert row["title"] == "MobileNetV2 0.5" and (row["train_resolution"], row["resolution"]) == (160, 224)


def _history_run() -> RunRecord:
    return RunRecord.from_json({"recipe": "transfer", "init": "imagenet", "provenance": {"device": "cpu", "seconds": 60.0,
            "git_commit": "0123456789ab", "command": "python -m mnv2_core train", "data_source": "d"},
            "phases": [{"phase": 1, "what": "head", "epochs": 2, "lr": 1e-3, "augmentation": "none",
                        "best_valid_top1": 0.5}],
            "history": [{"epoch": 1, "phase": 1, "train_loss": 2.0, "valid_top1": 0.4},
                        {"epoch": 2, "phase": 1, "train_loss": 1.0, "valid_top1": 0.5},
                        {"epoch": 3, "phase": 2, "train_loss": 0.5, "train_top1": 0.7, "valid_top1": 0.6}],
            "per_class": [{"class_id": 1, "accuracy": 0.9}, {"class_id": 2, "accuracy": 0.2},
                          {"class_id": 3, "accuracy": 0.2}]})


def test_learning_curves_mark_where_each_later_phase_starts_and_hold_only_recorded_metrics() -> None:
    curves = learning_curves(_history_run())
    assert curves.phase_starts == [(2.5, 2)] and curves.metrics == ["train_loss", "train_top1", "valid_top1"]
    assert len(curves.rows) == 3 and learning_curves(RunRecord.from_json({})).rows == []


def test_a_run_reads_as_one_line_with_its_command_and_one_sentence_per_phase() -> None:
    run = _history_run()
    assert run_summary(run).endswith("commit 01234567. Reproduce: `python -m mnv2_core train`")
    assert phase_summaries(run) == ["Phase 1: head; 2 epochs, lr 0.001, augmentation none; best valid top-1 50.00%."]


def test_per_class_accuracy_is_worst_first_with_ties_in_class_order() -> None:
    assert [r["class_id"] for r in worst_classes_first(_history_run())] == [2, 3, 1]


def test_the_routes_lesson_compares_a_cut_down_width_with_one_that_learned_imagenet_itself() -> None:
    from mnv2_core.measure.records import ROUTE_WORDS, RouteRow, routes_lesson

    rows = [RouteRow(0.35, ROUTE_WORDS["prune"], 0.769, 0.62, 0.335, False),
            RouteRow(0.35, ROUTE_WORDS["transfer2"], 0.938, 0.82, 0.516, True)]
    said = routes_lesson(rows)
    assert "76.9%" in said and "33.5%" in said and "93.8%" in said and "51.6%" in said
    assert routes_lesson(rows[:1]) is None  # one route alone teaches nothing


def test_a_widest_width_that_scores_as_the_1_0_says_so_and_what_online_weights_give() -> None:
    from mnv2_core.measure.records import FamilyRow, widest_note

    same = [FamilyRow(1.0, "t", test_top1=0.961, real_top1=0.58), FamilyRow(1.4, "w", test_top1=0.961, real_top1=0.58)]
    assert "does not earn its width" in widest_note(same) and "76.5%" in widest_note(same)
    better = [FamilyRow(1.0, "t", test_top1=0.961, real_top1=0.58), FamilyRow(1.4, "w", test_top1=0.965, real_top1=0.6)]
    assert widest_note(better) is None


def test_a_family_chart_shows_only_the_steps_some_width_took_in_the_order_they_are_taken() -> None:
    from mnv2_core.measure.records import step_order

    steps = [{"step": FAMILY_STEPS[4]}, {"step": FAMILY_STEPS[0]}, {"step": FAMILY_STEPS[3]}]
    assert step_order(steps) == [FAMILY_STEPS[0], FAMILY_STEPS[3], FAMILY_STEPS[4]]
