"""Where weights come from (models/weights.py, models/checkpoints.py): sources, checkpoints, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mnv2_core import config
from mnv2_core.images.decode import load_path
from mnv2_core.images.flowers import flower_samples
from mnv2_core.images.views import Preprocess
from mnv2_core.models import mobilenet_v2, weights
from mnv2_core.measure.accuracy import classification_report
from mnv2_core.models.labels import flower_names, imagenet_names
from mnv2_core.runtime.availability import availability
from mnv2_core.runtime.passes import split_logits
from mnv2_core.models.model_config import ModelConfig
from mnv2_core.runtime.predictor import Predictor

REPO = Path(__file__).resolve().parent.parent


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


@pytest.mark.parametrize("width", [0.35, 0.5, 0.75, 1.0, 1.4])
def test_every_width_ships_a_trained_flower_checkpoint_that_scores_as_recorded(width: float,
                                                                               flowers_dir: Path) -> None:
    from mnv2_core.images.flowers import flower_samples
    from mnv2_core.measure.accuracy import classification_report
    from mnv2_core.runtime.passes import split_logits

    path = weights.checkpoint_path("mobilenet_v2", width)
    assert path.is_file() and path.stat().st_size <= 15e6 and availability("mobilenet_v2", width).trained
    loaded = weights.load_model("mobilenet_v2", width, "flowers")  # strict load at this width
    assert loaded.info.source == "checkpoint" and loaded.model.width == width
    samples = flower_samples(flowers_dir, "test")[::2]  # every other test image: 410, a standard error of ~2 points
    logits = split_logits(loaded.model, samples, loaded.info.preprocess.at(224))
    top1 = classification_report(logits, torch.tensor([y for _, y in samples])).top1
    assert top1 >= loaded.info.meta["test_top1"] - 0.05, (top1, loaded.info.meta["test_top1"])


def test_weights_sources_are_one_ordered_list_that_planning_loading_and_words_share() -> None:
    assert [s.key for s in weights.SOURCES] == ["checkpoint", "torchvision-cache", "timm-cache", "tflite", "keras",
                                                "torchvision-download", "timm-download"]
    assert [s.key for s in weights.SOURCES if not s.classifier] == ["keras"]  # a backbone only
    assert list(weights.SOURCE_WORDS) == [s.key for s in weights.SOURCES] + ["untrained"]
    # a flower checkpoint is the first source; ImageNet sources never answer for the flower classes
    assert all(s.find("resnet50", None, "flowers") is None for s in weights.SOURCES[1:])


@pytest.mark.slow
def test_shipped_checkpoint_matches_its_reported_accuracy(flowers_dir: Path) -> None:
    path = weights.checkpoint_path("mobilenet_v2", 1.0, "flowers")
    assert path.is_file(), f"the Oxford-102 checkpoint {path.name} should ship in assets/checkpoints"
    assert path.stat().st_size <= 15e6
    loaded = weights.load_model("mobilenet_v2", 1.0, "flowers")
    assert loaded.info.source == "checkpoint" and loaded.info.trained
    meta = loaded.info.meta
    assert meta["padding"] == "tf_same" and loaded.resolution == 224
    samples = flower_samples(flowers_dir, "test")[::8]  # a fixed ~100-image subset keeps this fast
    logits = split_logits(loaded.model, samples, loaded.info.preprocess.at(224))
    top1 = classification_report(logits, torch.tensor([y for _, y in samples])).top1
    assert top1 >= meta["test_top1"] - 0.03, (top1, meta["test_top1"])
