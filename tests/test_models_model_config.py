"""A model configuration is one validated value: the width is checked where the configuration is made."""

from __future__ import annotations

import pytest

from mnv2_core.models.model_config import ModelConfig


def test_the_default_is_the_flower_mobilenet_v2_1_0_in_fp32_on_the_auto_engine() -> None:
    assert ModelConfig() == ModelConfig("mobilenet_v2", 1.0, "fp32", "flowers", "auto")


def test_a_model_without_widths_takes_width_none_whatever_it_was_given() -> None:
    assert ModelConfig("lenet5", 1.0).width is None and ModelConfig("resnet18", None).width is None


@pytest.mark.parametrize("bad", [dict(width=0.6), dict(precision="fp16"), dict(classes="cars"), dict(engine="tvm"),
                                 dict(model="vgg16")])
def test_a_bad_choice_fails_where_the_configuration_is_made(bad: dict) -> None:
    with pytest.raises((ValueError, KeyError)):
        ModelConfig(**bad)


def test_title_and_cache_key_name_the_whole_configuration() -> None:
    config = ModelConfig("mobilenet_v2", 0.5, "int8", "flowers", "onnxruntime")
    assert config.title == "MobileNetV2 0.5 INT8 (ONNX Runtime)"
    assert config.cache_key[:5] == ("mobilenet_v2", 0.5, "int8", "flowers", "onnxruntime")
    assert ModelConfig(width=0.5).cache_key != config.cache_key


def test_the_cache_key_changes_when_a_new_checkpoint_is_written(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model trained while the app runs must not be hidden behind the cached old one."""
    import torch

    from mnv2_core import config as settings
    from mnv2_core.models import build_model, weights

    monkeypatch.setattr(settings, "CHECKPOINT_DIR", tmp_path)
    monkeypatch.setenv("MNV2_CACHE", str(tmp_path / "cache"))
    untrained = ModelConfig("lenet5").cache_key
    path = weights.checkpoint_path("lenet5", None, "flowers")
    assert path.parent == tmp_path
    torch.manual_seed(0)
    weights.save_checkpoint(path, build_model("lenet5", num_classes=102), {"model": "lenet5"})
    first = ModelConfig("lenet5").cache_key
    weights.save_checkpoint(path, build_model("lenet5", num_classes=102), {"model": "lenet5", "run_id": "again"})
    assert len({untrained, first, ModelConfig("lenet5").cache_key}) == 3


def test_every_title_is_made_one_way() -> None:
    from mnv2_core.models.model_config import config_title

    assert config_title("resnet18", None, "fp32") == "ResNet18 FP32"
    assert config_title("mobilenet_v2", 1.0, "int8", variant="u8s8-rr") == "MobileNetV2 1.0 INT8 (U8S8-RR)"
    assert config_title("mobilenet_v2", 0.5, "int8", "openvino") == "MobileNetV2 0.5 INT8 (OpenVINO)"
    assert ModelConfig("lenet5", None, "fp32", "flowers", "torch").title == "LeNet-5 FP32 (PyTorch eager)"
