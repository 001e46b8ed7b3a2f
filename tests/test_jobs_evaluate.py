"""`python -m mnv2_core evaluate`: the shipped checkpoints scored from the image files, clean and phone-like."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_evaluate_scores_the_shipped_checkpoint_clean_and_on_the_phone_proxy(two_class_test_split: Path) -> None:
    row = evaluate("lenet5", None, data=two_class_test_split)
    assert row["images"] == 6 and row["checkpoint"].endswith("lenet5_flowers102.pt") and row["resolution"] == 32
    assert all(0.0 <= row[k] <= 1.0 for k in ("top1", "top5", "phone_top1", "phone_top5"))
    assert row["top1"] <= row["top5"] and isinstance(row["recorded_top1"], float)


def test_evaluate_refuses_a_model_with_no_trained_checkpoint(two_class_test_split: Path, offline: Path) -> None:
    with pytest.raises(ValueError, match="nothing to evaluate"):
        evaluate("resnet50", None, data=two_class_test_split)


def test_cli_evaluate_prints_one_json_row_per_width(two_class_test_split: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "mnv2_core", "evaluate", "--model", "lenet5", "--no-phone", "--json",
                          "--data", str(two_class_test_split)], cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, "MNV2_DOWNLOAD": "0"}, timeout=300)
    assert out.returncode == 0, out.stderr
    (row,) = json.loads(out.stdout)
    assert row["model"] == "lenet5" and row["images"] == 6 and "phone_top1" not in row
