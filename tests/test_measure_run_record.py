"""The typed run record reads every record this project has written and writes the same JSON back."""

from __future__ import annotations

import json

from mnv2_core.measure.records import runs_dir
from mnv2_core.measure.run_record import RunRecord


def test_every_shipped_record_reads_and_writes_back_the_same_json() -> None:
    files = sorted(runs_dir().glob("*.json"))
    assert files, "the repository ships its run records"
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        record = RunRecord.from_json(data)
        back = record.to_json()
        assert record.id == data["id"] and record.model == data["model"]
        assert back["metrics"] == data["metrics"], path.name
        assert back["checkpoint"] == {"shipped": True, **data["checkpoint"]}, path.name  # older files: shipped
        assert back["provenance"] == data["provenance"], path.name
        assert back["phases"] == data.get("phases", []), path.name


def test_a_record_from_before_kind_existed_reads_its_kind_from_its_recipe() -> None:
    old = RunRecord.from_json({"id": "x", "model": "mobilenet_v2", "recipe": "transfer phase 1 (frozen ...)",
                               "resolution": 224})
    assert old.kind == "transfer1" and old.from_imagenet and old.train_resolution == 224
    assert RunRecord.from_json({"id": "y", "model": "lenet5"}).kind == "scratch"


def test_the_shipped_file_s_own_score_stands_where_it_was_measured() -> None:
    run = RunRecord.from_json({"id": "z", "model": "resnet50",
                               "metrics": {"test_top1": 0.75, "checkpoint_test_top1": 0.74}})
    assert run.metrics.shipped_top1 == 0.74
    assert RunRecord.from_json({"id": "w", "model": "resnet50", "metrics": {"test_top1": 0.75}}).metrics.shipped_top1 \
        == 0.75
