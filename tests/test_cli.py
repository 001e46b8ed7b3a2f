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
    # PyTorch INT8 calibrates here (the ONNX engines run the shipped file, which needs no photos)
    out = _cli("predict", str(sample_flower), "--model", "lenet5", "--precision", "int8", "--engine", "torch",
               env={"MNV2_DATA": str(tmp_path / "nowhere"), "MNV2_DOWNLOAD": "0"})
    assert out.returncode == 2 and "Traceback" not in out.stderr and "MNV2_DATA" in out.stderr


def test_cli_predict_answers_from_the_shipped_0_5_checkpoint_and_says_how_it_was_made(sample_flower: Path, tmp_path: Path) -> None:
    out = _cli("predict", str(sample_flower), "--width", "0.5", "--json", "--engine", "torch",
               env={"MNV2_CACHE": str(tmp_path), "MNV2_DOWNLOAD": "0"})
    assert out.returncode == 0, out.stderr
    row = json.loads(out.stdout)[0]
    assert "mobilenet_v2_0.5_flowers102.pt" in row["weights"] and "widened from mobilenet_v2_0.35" in row["weights"]
    assert row["top"][0]["label"] in flower_names() and 0 < row["top"][0]["prob"] <= 1


@pytest.mark.parametrize("model", ["resnet50", "efficientnet_b0", "resnet18", "lenet5"])
def test_cli_predict_int8_answers_from_the_shipped_int8_file_of_every_comparison_model(
        model: str, sample_flower: Path, tmp_path: Path) -> None:
    out = _cli("predict", str(sample_flower), "--model", model, "--precision", "int8", "--json",
               env={"MNV2_CACHE": str(tmp_path), "MNV2_DOWNLOAD": "0", "MNV2_DATA": str(tmp_path / "no photos")})
    assert out.returncode == 0, out.stderr
    row = json.loads(out.stdout)[0]
    assert row["precision"] == "int8" and row["engine"] in ("onnxruntime", "openvino")
    assert row["runs_as"].startswith("static QDQ INT8, calibrated offline") and row["trained"]
    assert row["top"][0]["label"] in flower_names()


def test_cli_predict_bf16_answers_on_a_cpu_with_bf16_and_refuses_in_one_sentence_on_one_without(
        sample_flower: Path, tmp_path: Path, cpuinfo_files: dict[str, Path]) -> None:
    env = {"MNV2_CACHE": str(tmp_path), "MNV2_DOWNLOAD": "0"}
    out = _cli("predict", str(sample_flower), "--precision", "bf16", "--width", "0.35", "--json",
               env={**env, "MNV2_CPUINFO": str(cpuinfo_files["zen4"])})
    assert out.returncode == 0, out.stderr
    row = json.loads(out.stdout)[0]
    assert row["precision"] == "bf16" and row["engine"] in ("torch", "openvino") and "BF16" in row["runs_as"]
    assert row["top"][0]["label"] in flower_names()
    out = _cli("predict", str(sample_flower), "--precision", "bf16", "--json",
               env={**env, "MNV2_CPUINFO": str(cpuinfo_files["zen1"])})
    assert out.returncode == 2 and out.stdout == "" and "Traceback" not in out.stderr
    assert out.stderr.count(".") == 1 and "AVX512-BF16 or AMX" in out.stderr


def test_cli_bench_times_bf16_only_on_engines_with_bf16_kernels_and_refuses_it_on_a_cpu_without(
        tmp_path: Path, cpuinfo_files: dict[str, Path]) -> None:
    args = ("bench", "--models", "lenet5", "--precisions", "fp32", "bf16", "--runs", "3", "--warmup", "1", "--json")
    out = _cli(*args, env={"MNV2_CPUINFO": str(cpuinfo_files["zen4"]), "MNV2_CACHE": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    timed = {(r["precision"], r["engine"]) for r in json.loads(out.stdout)}
    assert {("bf16", "torch"), ("bf16", "openvino")} <= timed and ("bf16", "onnxruntime") not in timed
    out = _cli(*args, env={"MNV2_CPUINFO": str(cpuinfo_files["zen1"]), "MNV2_CACHE": str(tmp_path)})
    assert out.returncode == 2 and "AVX512-BF16 or AMX" in out.stderr and "Traceback" not in out.stderr


def test_cli_roofline_prints_this_cpus_peaks_and_every_kind_of_layer(tmp_path: Path) -> None:
    out = _cli("roofline", "--model", "mobilenet_v2", "--width", "0.35", "--precisions", "fp32", "int8", "--runs",
               "3", env={"MNV2_CACHE": str(tmp_path), "MNV2_DOWNLOAD": "0"})
    assert out.returncode == 0, out.stderr
    assert "peak GMAC/s" in out.stdout and "ridge point" in out.stdout and "This CPU multiplies at" in out.stdout
    for kind in ("depthwise", "pointwise (1x1)", "full convolution", "fully connected"):
        assert kind in out.stdout
    assert "MobileNetV2 0.35 INT8 (OpenVINO)" in out.stdout
