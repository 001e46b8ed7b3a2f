"""The Training page's tables and sentences: the table of runs, chart points, the routes' lesson, the widest
width's note and the family chart's steps."""

from __future__ import annotations

from mnv2_core.measure.records import FAMILY_STEPS
from mnv2_core.measure.run_record import RunRecord
from mnv2_core.display.training import (ROUTE_WORDS, FamilyRow, RouteRow, routes_lesson, runs_table, step_order,
                                      widest_note, with_values)


def test_chart_points_are_the_rows_with_every_value_measured() -> None:
    rows = [{"a": 1, "b": 2}, {"a": None, "b": 2}, {"a": float("nan"), "b": 1}, {"b": 3}, {"a": 0, "b": 0}]
    assert with_values(rows, "a", "b") == [{"a": 1, "b": 2}, {"a": 0, "b": 0}]


def test_the_comparison_columns_lead_with_what_how_well_and_at_what_cost() -> None:
    (row,) = runs_table([RunRecord.from_json({"id": "r", "model": "mobilenet_v2", "width": 0.5, "kind": "prune",
                                                   "resolution": 224, "train_resolution": 160,
                                                   "metrics": {"test_top1": 0.8}})])
    assert list(row)[:8] == ["title", "training", "test_top1", "test_top5", "valid_top1", "params", "macs", "epochs"]
    assert row["title"] == "MobileNetV2 0.5" and (row["train_resolution"], row["resolution"]) == (160, 224)


def test_the_routes_lesson_compares_a_cut_down_width_with_one_that_learned_imagenet_itself() -> None:
    rows = [RouteRow(0.35, ROUTE_WORDS["prune"], 0.769, 0.62, 0.335, False),
            RouteRow(0.35, ROUTE_WORDS["transfer2"], 0.938, 0.82, 0.516, True)]
    said = routes_lesson(rows)
    assert "76.9%" in said and "33.5%" in said and "93.8%" in said and "51.6%" in said
    assert routes_lesson(rows[:1]) is None  # one route alone teaches nothing


def test_a_widest_width_that_scores_as_the_1_0_says_so_and_what_online_weights_give() -> None:
    same = [FamilyRow(1.0, "t", test_top1=0.961, real_top1=0.58), FamilyRow(1.4, "w", test_top1=0.961, real_top1=0.58)]
    assert "does not earn its width" in widest_note(same) and "76.5%" in widest_note(same)
    better = [FamilyRow(1.0, "t", test_top1=0.961, real_top1=0.58), FamilyRow(1.4, "w", test_top1=0.965, real_top1=0.6)]
    assert widest_note(better) is None


def test_a_family_chart_shows_only_the_steps_some_width_took_in_the_order_they_are_taken() -> None:
    steps = [{"step": FAMILY_STEPS[4]}, {"step": FAMILY_STEPS[0]}, {"step": FAMILY_STEPS[3]}]
    assert step_order(steps) == [FAMILY_STEPS[0], FAMILY_STEPS[3], FAMILY_STEPS[4]]
