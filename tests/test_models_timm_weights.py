"""timm's ImageNet MobileNetV2 weights in our MobileNetV2: mapped by order with every shape checked, preprocessed as
timm publishes, found in a (faked, offline) Hugging Face cache."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mnv2_core.models import timm_weights
from mnv2_core.models.mobilenetv2 import mobilenet_v2

WIDTHS = (0.5, 1.0, 1.4)


def _random_timm(width: float, seed: int = 0) -> torch.nn.Module:
    """timm's MobileNetV2, randomly initialised, with random BN statistics (so that they matter)."""
    import timm

    torch.manual_seed(seed)
    model = timm.create_model(timm_weights.TIMM_MODELS[width].split(".")[0], pretrained=False).eval()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    return model


@pytest.mark.parametrize("width", WIDTHS)
def test_timm_weights_mapped_onto_ours_give_timms_logits(width: float) -> None:
    theirs = _random_timm(width)
    ours = mobilenet_v2(width=width, num_classes=1000).eval()
    ours.load_state_dict(timm_weights.timm_state_to_ours(theirs.state_dict(), ours.state_dict()), strict=True)
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), atol=1e-5, rtol=1e-5)
    # the places where width rounding could differ: the stem, the first block and the head
    assert ours.features[0][0].weight.shape == theirs.conv_stem.weight.shape
    assert ours.features[1].conv[0][0].weight.shape == theirs.blocks[0][0].conv_dw.weight.shape
    assert ours.features[-1][0].out_channels == theirs.conv_head.out_channels == (1792 if width == 1.4 else 1280)


def test_a_state_dict_of_another_width_is_refused_with_the_layer_named() -> None:
    theirs = _random_timm(0.5)
    ours = mobilenet_v2(width=1.0, num_classes=1000)
    with pytest.raises(timm_weights.TimmMappingError, match="conv_stem.weight"):
        timm_weights.timm_state_to_ours(theirs.state_dict(), ours.state_dict())


def test_timm_preprocess_gives_timms_own_input_tensor(sample_flower: Path) -> None:
    import timm
    from PIL import Image

    model = _random_timm(1.0)
    config = timm.data.resolve_data_config({}, model=model)
    theirs = timm.data.create_transform(**config)
    ours = timm_weights.timm_preprocess(timm_weights.pretrained_cfg(1.0))
    assert (ours.interpolation, ours.crop_ratio) == ("bicubic", 0.875)
    image = Image.open(sample_flower).convert("RGB")
    torch.testing.assert_close(ours.tensor(image)[0], theirs(image), atol=1e-5, rtol=0)


def _fake_hub_cache(root: Path, width: float) -> torch.nn.Module:
    """A Hugging Face cache holding timm's weights file at ``width`` (random weights), laid out as the hub writes it."""
    from safetensors.torch import save_file

    model = _random_timm(width, seed=1)
    repo = root / ("models--" + timm_weights.hub_repo(width).replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abcd")
    snapshot = repo / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(snapshot / timm_weights.WEIGHTS_FILE))
    return model


def test_imagenet_classes_at_width_0_5_come_from_the_hugging_face_cache(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    from mnv2_core.models.weights import load_model, planned_source
    from mnv2_core.runtime.availability import availability, weights_overview

    monkeypatch.setenv("MNV2_DOWNLOAD", "0")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    assert planned_source("mobilenet_v2", 0.5, "imagenet") == "untrained"  # offline and nothing cached
    theirs = _fake_hub_cache(tmp_path / "hub", 0.5)
    assert planned_source("mobilenet_v2", 0.5, "imagenet") == "timm-cache"
    assert planned_source("mobilenet_v2", 0.75, "imagenet") == "untrained"  # timm has no 0.75 weights
    loaded = load_model("mobilenet_v2", 0.5, "imagenet")
    assert loaded.info.trained and loaded.info.preprocess.interpolation == "bicubic"
    assert "mobilenetv2_050.lamb_in1k" in loaded.info.description and "65.928" in loaded.info.description
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), theirs(x), atol=1e-5, rtol=1e-5)
    assert availability("mobilenet_v2", 0.5, "imagenet").trained
    overview = dict(weights_overview(["mobilenet_v2"], "imagenet"))
    assert "MobileNetV2 0.5" in overview["timm ImageNet (Hugging Face cache)"]


def test_online_users_are_offered_timms_download_where_only_timm_has_the_width(monkeypatch: pytest.MonkeyPatch,
                                                                                tmp_path: Path) -> None:
    import huggingface_hub.constants

    from mnv2_core.models.weights import planned_source

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("MNV2_DOWNLOAD", "1")
    assert planned_source("mobilenet_v2", 1.4, "imagenet") == "timm-download"
    assert planned_source("mobilenet_v2", 0.35, "imagenet") == "untrained"
