"""One run for reading: its summary line, its phases in sentences, its learning curves and its worst classes."""

from __future__ import annotations

from mnv2_core.measure.run_record import RunRecord
from mnv2_core.measure.run_report import learning_curves, phase_summaries, run_summary, worst_classes_first


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
