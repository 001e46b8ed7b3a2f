"""`python -m mnv2_core evaluate`: the shipped checkpoints scored from the image files, clean and phone-like."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import require_shared_path
from mnv2_core.jobs.evaluate import evaluate

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture()
def two_class_test_split(flowers_dir: Path, tmp_path: Path) -> Path:
    for class_id in (1, 50):
        dest = tmp_path / "test" / str(class_id)
        dest.mkdir(parents=True)
        for path in sorted((flowers_dir / "test" / str(class_id)).glob("*.jpg"))[:3]:
            shutil.copy(path, dest / path.name)
    return tmp_path


def test_evaluate_scores_the_shipped_checkpoint_clean_on_the_phone_proxy_and_on_real_photos(
        two_class_test_split: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mnv2_core import config
    from mnv2_core.measure.real_photos import load_scores

    require_shared_path(config.real_photos_dir())
    monkeypatch.setattr(config, "RESULTS_DIR", tmp_path / "results")  # the repository's records stay as they are
    result = evaluate("lenet5", None, data=two_class_test_split, command="pytest")
    row = result.as_dict()  # what --json prints
    assert row["images"] == 6 and row["checkpoint"].endswith("lenet5_flowers102.pt") and row["resolution"] == 32
    assert all(0.0 <= row[k] <= 1.0 for k in ("top1", "top5", "phone_top1", "phone_top5", "real_top1", "real_top5"))
    assert row["top1"] <= row["top5"] and row["real_top1"] <= row["real_top5"]
    assert (row["real_photos"], row["real_unknown"]) == (188, 38)
    assert row["real_unknown_flagged"] is None  # no "not sure" threshold recorded in the empty results folder
    (saved,) = load_scores()
    assert (saved.model, saved.top1, saved.command) == ("lenet5", row["real_top1"], "pytest")
    assert "real photos (188)" in result.line() and "'not sure' not measured" in result.line()


def test_evaluate_refuses_a_model_with_no_trained_checkpoint(two_class_test_split: Path, offline: Path) -> None:
    with pytest.raises(ValueError, match="nothing to evaluate"):
        evaluate("resnet50", None, data=two_class_test_split)


def test_cli_evaluate_prints_one_json_row_per_width(two_class_test_split: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "mnv2_core", "evaluate", "--model", "lenet5", "--no-phone", "--no-real", "--json",
                          "--data", str(two_class_test_split)], cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, "MNV2_DOWNLOAD": "0"}, timeout=300)
    assert out.returncode == 0, out.stderr
    (row,) = json.loads(out.stdout)
    assert row["model"] == "lenet5" and row["images"] == 6 and "phone_top1" not in row


def test_evaluate_without_the_real_photo_set_scores_the_split_and_says_why_in_one_sentence(
        two_class_test_split: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MNV2_REAL_PHOTOS", str(tmp_path / "nowhere"))
    result = evaluate("lenet5", None, data=two_class_test_split, phone=False)
    assert result.images == 6 and result.real is None and "real_top1" not in result.as_dict()
    assert "real photos not measured: The real-photo dev set is not at" in result.line()
