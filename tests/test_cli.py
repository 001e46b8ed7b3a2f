"""The command line (python -m mnv2_core): predict, bench and their one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mnv2_core.models.labels import flower_names

REPO = Path(__file__).resolve().parent.parent


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "mnv2_core", *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


def test_cli_predict_json_imagenet(tflite_path: Path, sample_flower: Path, tmp_path: Path) -> None:
    out = _cli("predict", str(sample_flower), "--classes", "imagenet", "--json", "--top", "3",
               env={"MNV2_CACHE": str(tmp_path), "MNV2_DOWNLOAD": "0"})
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert rows[0]["file"] == str(sample_flower)
    assert rows[0]["top"][0] == {"label": "daisy", "class_id": 985, "prob": pytest.approx(rows[0]["top"][0]["prob"])}
    assert len(rows[0]["top"]) == 3 and rows[0]["latency_ms"] > 0 and "TFLite" in rows[0]["weights"]


def test_cli_predict_bad_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "notes.jpg"
    bad.write_text("hello")
    out = _cli("predict", str(bad), "--model", "lenet5", env={"MNV2_DOWNLOAD": "0"})
    assert out.returncode == 1 and "Traceback" not in out.stderr and "notes.jpg" in out.stderr


def test_cli_bench_json() -> None:
    out = _cli("bench", "--models", "lenet5", "mobilenet_v2", "--widths", "0.35", "--runs", "3", "--warmup", "1",
               "--threads", "1", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    # every engine installed, by default
    assert [(r["model"], r["width"], r["engine"]) for r in rows] == [
        ("lenet5", None, "torch"), ("lenet5", None, "onnxruntime"), ("lenet5", None, "openvino"),
        ("mobilenet_v2", 0.35, "torch"), ("mobilenet_v2", 0.35, "onnxruntime"), ("mobilenet_v2", 0.35, "openvino")]
    keys = {"model", "width", "precision", "engine", "params", "macs", "median_ms", "p90_ms", "cv", "threads",
            "x_ort_fp32"}
    assert keys <= set(rows[0]) and rows[3]["threads"] == 1 and rows[3]["macs"] == pytest.approx(59.3e6, rel=0.005)
    assert rows[4]["x_ort_fp32"] == 1.0 and rows[3]["x_ort_fp32"] == pytest.approx(
        rows[3]["median_ms"] / rows[4]["median_ms"])


def test_cli_unknown_model_is_an_error_not_a_traceback() -> None:
    out = _cli("bench", "--models", "vgg16", "--runs", "2")
    assert out.returncode == 2 and "unknown model" in out.stderr and "Traceback" not in out.stderr


def test_cli_int8_without_calibration_photos_is_one_line(sample_flower: Path, tmp_path: Path) -> None:
    out = _cli("predict", str(sample_flower), "--model", "lenet5", "--precision", "int8",
               env={"MNV2_DATA": str(tmp_path / "nowhere"), "MNV2_DOWNLOAD": "0"})
    assert out.returncode == 2 and "Traceback" not in out.stderr and "MNV2_DATA" in out.stderr


def test_cli_predict_answers_from_the_shipped_0_5_checkpoint_and_says_how_it_was_made(sample_flower: Path, tmp_path: Path) -> None:
    out = _cli("predict", str(sample_flower), "--width", "0.5", "--json", "--engine", "torch",
               env={"MNV2_CACHE": str(tmp_path), "MNV2_DOWNLOAD": "0"})
    assert out.returncode == 0, out.stderr
    row = json.loads(out.stdout)[0]
    assert "mobilenet_v2_0.5_flowers102.pt" in row["weights"] and "widened from mobilenet_v2_0.35" in row["weights"]
    assert row["top"][0]["label"] in flower_names() and 0 < row["top"][0]["prob"] <= 1
