"""Weights resolution, the Predictor and the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mnv2_core import config
from mnv2_core.images.decode import load_path
from mnv2_core.images.views import Preprocess
from mnv2_core.models import build_model, mobilenet_v2, weights
from mnv2_core.models.labels import flower_names, imagenet_names
from mnv2_core.models.weights import SOURCE_WORDS
from mnv2_core.runtime.availability import TOO_LARGE_WORDS, availability, weights_overview
from mnv2_core.models.model_config import ModelConfig
from mnv2_core.runtime.predictor import Predictor, footprint

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture()
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No downloads, an empty torch hub and conversion cache, and empty checkpoint and run-record folders."""
    monkeypatch.setenv("MNV2_DOWNLOAD", "0")
    monkeypatch.setenv("MNV2_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(config, "CHECKPOINT_DIR", tmp_path / "checkpoints")
    monkeypatch.setattr(config, "RESULTS_DIR", tmp_path / "results")
    return tmp_path


def test_labels() -> None:
    assert len(flower_names()) == 102 and flower_names()[0] == "pink primrose"
    assert len(imagenet_names()) == 1000 and imagenet_names()[985] == "daisy"


def test_without_checkpoint_the_flower_classes_are_untrained_and_say_so(offline: Path) -> None:
    loaded = weights.load_model("mobilenet_v2", 0.5, "flowers")
    assert loaded.info.source == "untrained" and not loaded.info.trained
    assert "meaningless" in loaded.info.description
    assert loaded.model.classifier[-1].out_features == 102


def test_checkpoint_round_trip_is_preferred_and_fp16(offline: Path) -> None:
    model = mobilenet_v2(width=0.35, num_classes=102).eval()
    path = weights.checkpoint_path("mobilenet_v2", 0.35)
    weights.save_checkpoint(path, model, {"test_top1": 0.5})
    assert all(v.dtype != torch.float32 for v in torch.load(path, weights_only=True)["state_dict"].values())
    assert weights.planned_source("mobilenet_v2", 0.35) == "checkpoint"
    loaded = weights.load_model("mobilenet_v2", 0.35)
    assert loaded.info.trained and loaded.info.meta["test_top1"] == 0.5
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), model(x), atol=2e-3, rtol=1e-2)


def test_a_checkpoint_s_weights_carry_their_preprocessing_accuracy_and_provenance(offline: Path) -> None:
    model = mobilenet_v2(width=0.35, num_classes=102).eval()
    meta = {"resolution": 160, "crop_ratio": 0.875, "mean": [0.5] * 3, "std": [0.5] * 3, "test_top1": 0.77,
            "test_phone_top1": 0.62, "recipe": "pruned", "run_id": "r1", "padding": None}
    weights.save_checkpoint(weights.checkpoint_path("mobilenet_v2", 0.35), model, meta)
    info = weights.load_model("mobilenet_v2", 0.35).info
    assert info.preprocess == Preprocess(160, 0.875, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    assert info.accuracy == {"test_top1": 0.77, "test_phone_top1": 0.62}
    assert info.provenance == {"run_id": "r1", "recipe": "pruned"} and info.classes == "flowers"


def test_a_checkpoint_from_before_the_resolution_key_reads_its_input_size(offline: Path) -> None:
    model = mobilenet_v2(width=0.35, num_classes=102).eval()
    weights.save_checkpoint(weights.checkpoint_path("mobilenet_v2", 0.35), model, {"input_size": 128})
    loaded = weights.load_model("mobilenet_v2", 0.35)
    assert loaded.resolution == 128 and loaded.info.preprocess.resize == 146


def test_the_imported_tflite_weights_expect_inputs_in_minus_one_to_one() -> None:
    from mnv2_core.models.tflite import TFLITE_PREPROCESS

    x = TFLITE_PREPROCESS.normalize(torch.tensor([0, 255], dtype=torch.uint8).view(1, 1, 1, 2).expand(1, 3, 1, 2))
    assert x.flatten().tolist() == [-1.0, 1.0, -1.0, 1.0, -1.0, 1.0]


def test_a_checkpoint_too_large_to_ship_is_loaded_from_the_local_folder(offline: Path) -> None:
    model = mobilenet_v2(width=0.35, num_classes=102).eval()
    local = config.local_checkpoint_dir() / weights.checkpoint_path("mobilenet_v2", 0.35).name
    weights.save_checkpoint(local, model, {"test_top1": 0.5})
    assert weights.find_checkpoint("mobilenet_v2", 0.35) == local
    assert weights.load_model("mobilenet_v2", 0.35).info.path == str(local)


def test_the_shipped_checkpoint_wins_over_a_local_one(offline: Path) -> None:
    model = mobilenet_v2(width=0.35, num_classes=102).eval()
    shipped = weights.checkpoint_path("mobilenet_v2", 0.35)
    for path in (shipped, config.local_checkpoint_dir() / shipped.name):
        weights.save_checkpoint(path, model, {})
    assert weights.find_checkpoint("mobilenet_v2", 0.35) == shipped


def test_a_model_trained_too_large_to_ship_says_so(offline: Path) -> None:
    runs = offline / "results" / "runs"
    runs.mkdir(parents=True)
    (runs / "r.json").write_text(json.dumps({"model": "resnet18", "width": None, "checkpoint": {
        "shipped": False, "size_bytes": 22_400_000}}))
    available = availability("resnet18")
    assert not available.trained and "(22.4 MB) is too large to ship" in available.reason
    assert available.command.startswith("python -m mnv2_core train --recipe scratch --model resnet18")


def test_the_sidebar_overview_groups_models_by_where_their_weights_come_from(offline: Path) -> None:
    runs = offline / "results" / "runs"
    runs.mkdir(parents=True)
    (runs / "r.json").write_text(json.dumps({"model": "resnet18", "width": None, "checkpoint": {
        "shipped": False, "size_bytes": 22_400_000}}))
    weights.save_checkpoint(weights.checkpoint_path("lenet5", None), build_model("lenet5", num_classes=102), {})
    overview = dict(weights_overview(["lenet5", "resnet18", "resnet50"], "flowers"))
    assert overview == {SOURCE_WORDS["checkpoint"]: ["LeNet-5"], TOO_LARGE_WORDS: ["ResNet18"],
                        SOURCE_WORDS["untrained"]: ["ResNet50"]}


def test_corrupt_checkpoint_is_one_sentence(offline: Path) -> None:
    path = weights.checkpoint_path("lenet5", None)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(weights.WeightsError, match="could not be loaded"):
        weights.load_model("lenet5")


def test_bad_width_and_model_are_user_errors() -> None:
    with pytest.raises(ValueError, match="widths"):
        weights.load_model("mobilenet_v2", 0.6)
    with pytest.raises(KeyError, match="unknown model"):
        weights.load_model("vgg16")


def test_imagenet_classes_without_any_source_are_untrained(offline: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MNV2_WEIGHTS", str(offline / "nothing"))
    assert weights.planned_source("resnet18", None, "imagenet") == "untrained"
    assert weights.load_model("mobilenet_v2", 1.0, "imagenet").info.source == "untrained"


def test_imagenet_classes_use_the_imported_tflite_weights(offline: Path, tflite_path: Path, sample_flower: Path) -> None:
    predictor = Predictor(ModelConfig("mobilenet_v2", 1.0, "fp32", "imagenet"))
    assert predictor.info.source == "tflite" and predictor.info.preprocess.mean == (0.5, 0.5, 0.5)
    result = predictor.predict(load_path(sample_flower).image)
    assert result.top[0].label == "daisy" and result.top[0].class_id == 985
    assert 0 < result.top[0].prob <= 1 and result.latency_ms > 0
    heat = predictor.explain(load_path(sample_flower).image)
    assert heat.shape == (224, 224) and heat.max() == pytest.approx(1.0)


def test_predictor_top_k_and_footprint(offline: Path, sample_flower: Path) -> None:
    predictor = Predictor(ModelConfig("lenet5", None, "fp32", "flowers"))
    result = predictor.predict(load_path(sample_flower).image, top_k=3)
    assert len(result.top) == 3 and all(1 <= p.class_id <= 102 for p in result.top)
    assert [p.prob for p in result.top] == sorted((p.prob for p in result.top), reverse=True)
    fp = footprint(predictor)
    # LeNet-5 on 3 x 32 x 32 with 102 classes. Params: C1 3*6*25+6, C3 6*16*25+16, C5 400*120+120, F6 120*84+84,
    # output 84*102+102. MACs: C1 28*28*6*75, C3 10*10*16*150, then the three linear layers' weights.
    assert fp.params == 456 + 2_416 + 48_120 + 10_164 + 8_670 == 69_826
    assert fp.macs == 352_800 + 240_000 + 48_000 + 10_080 + 8_568 == 659_448 and fp.size_bytes > fp.params * 4


def test_warm_latency_reports_the_timed_runs_after_warm_up(offline: Path) -> None:
    stats = Predictor(ModelConfig("lenet5", None, "fp32", "flowers")).warm_latency(runs=4, warmup=2)
    assert (stats.runs, stats.warmup) == (4, 2) and 0 < stats.median_ms <= stats.p90_ms


def test_a_checkpoint_right_on_under_half_the_test_photos_is_flagged(offline: Path) -> None:
    from mnv2_core.models import lenet5

    path = weights.checkpoint_path("lenet5", None)
    weights.save_checkpoint(path, lenet5(num_classes=102), {"test_top1": 0.476, "recipe": "scratch"})
    assert "only 48% of Oxford-102 test photos" in Predictor(ModelConfig("lenet5", None)).accuracy_warning()
    weights.save_checkpoint(path, lenet5(num_classes=102), {"test_top1": 0.9})
    assert Predictor(ModelConfig("lenet5", None)).accuracy_warning() is None


def test_untrained_weights_get_no_accuracy_warning_they_say_meaningless_instead(offline: Path) -> None:
    assert Predictor(ModelConfig("lenet5", None)).accuracy_warning() is None


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


def test_a_model_without_trained_weights_says_why_and_how_to_train_it(offline: Path) -> None:
    for name, width in [("mobilenet_v2", 0.5), ("mobilenet_v2", 1.4), ("resnet18", None), ("lenet5", None)]:
        available = availability(name, width, "flowers")
        assert not available.trained and "no Oxford-102 checkpoint" in available.reason
        assert available.command.startswith("python -m mnv2_core train")
    assert "--recipe prune --width 0.5" in availability("mobilenet_v2", 0.5).command
    assert "--recipe widen --width 1.4" in availability("mobilenet_v2", 1.4).command
    assert "--model resnet18" in availability("resnet18").command
    assert "timm publishes them" in availability("mobilenet_v2", 0.5, "imagenet").reason
    assert "width 1.0 only" in availability("mobilenet_v2", 0.75, "imagenet").reason
    assert "never trained on ImageNet" in availability("lenet5", None, "imagenet").reason


@pytest.mark.parametrize("width", [0.35, 0.5, 0.75, 1.0, 1.4])
def test_every_width_ships_a_trained_flower_checkpoint_that_scores_as_recorded(width: float,
                                                                               flowers_dir: Path) -> None:
    from mnv2_core.images.flowers import flower_samples
    from mnv2_core.measure.accuracy import classification_report
    from mnv2_core.train.features import evaluate_model

    path = weights.checkpoint_path("mobilenet_v2", width)
    assert path.is_file() and path.stat().st_size <= 15e6 and availability("mobilenet_v2", width).trained
    loaded = weights.load_model("mobilenet_v2", width, "flowers")  # strict load at this width
    assert loaded.info.source == "checkpoint" and loaded.model.width == width
    samples = flower_samples(flowers_dir, "test")[::2]  # every other test image: 410, a standard error of ~2 points
    logits = evaluate_model(loaded.model, samples, loaded.info.preprocess.at(224))
    top1 = classification_report(logits, torch.tensor([y for _, y in samples]))["top1"]
    assert top1 >= loaded.info.meta["test_top1"] - 0.05, (top1, loaded.info.meta["test_top1"])


def test_cli_predict_answers_from_the_pruned_checkpoint(sample_flower: Path, tmp_path: Path) -> None:
    out = _cli("predict", str(sample_flower), "--width", "0.5", "--json", "--engine", "torch",
               env={"MNV2_CACHE": str(tmp_path), "MNV2_DOWNLOAD": "0"})
    assert out.returncode == 0, out.stderr
    row = json.loads(out.stdout)[0]
    assert "mobilenet_v2_0.5_flowers102.pt" in row["weights"] and "pruned from the 1.0" in row["weights"]
    assert row["top"][0]["label"] in flower_names() and 0 < row["top"][0]["prob"] <= 1


def test_bf16_is_read_from_the_cpu_flags(tmp_path: Path) -> None:
    from mnv2_core.runtime.availability import has_fast_bf16

    (tmp_path / "zen3").write_text("flags\t\t: fpu sse avx2 fma vaes\n")
    (tmp_path / "xeon").write_text("flags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n")
    assert not has_fast_bf16(tmp_path / "zen3") and has_fast_bf16(tmp_path / "xeon")
    assert not has_fast_bf16(tmp_path / "missing")


@pytest.mark.parametrize("bf16", [True, False])
def test_the_training_command_asks_for_bf16_only_where_the_cpu_has_it(bf16: bool,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from mnv2_core.runtime import availability as module

    monkeypatch.setattr(module, "has_fast_bf16", lambda: bf16)
    assert ("--bf16" in module.train_command("mobilenet_v2", 0.5)) is bf16


def test_the_shipped_recipes_and_the_training_scripts_agree() -> None:
    from mnv2_core.runtime.availability import PEER_RECIPE, WIDTH_RECIPES

    family = (REPO / "scripts" / "train_width_family.sh").read_text().splitlines()
    for width, (recipe, flags) in WIDTH_RECIPES.items():
        case = "teacher)" if width == 1.0 else f"{width:g})"
        (line,) = [line for line in family if line.strip().startswith(case)]
        assert f"--recipe {recipe}" in line and flags in line, (width, line)
    peers = (REPO / "scripts" / "train_peers.sh").read_text()
    assert all(flag in peers.replace("\\\n", " ") for flag in PEER_RECIPE.split(" --"))


def test_weights_sources_are_one_ordered_list_that_planning_loading_and_words_share() -> None:
    assert [s.key for s in weights.SOURCES] == ["checkpoint", "torchvision-cache", "timm-cache", "tflite",
                                                "torchvision-download", "timm-download"]
    assert list(weights.SOURCE_WORDS) == [s.key for s in weights.SOURCES] + ["untrained"]
    # a flower checkpoint is the first source; ImageNet sources never answer for the flower classes
    assert all(s.find("resnet50", None, "flowers") is None for s in weights.SOURCES[1:])
