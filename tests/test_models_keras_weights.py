"""The Keras MobileNetV2 0.35 ImageNet backbone imported into our model gives Keras's own outputs.

tests/fixtures/keras_reference.npz comes from scripts/make_keras_reference.py: Keras builds MobileNetV2(alpha=0.35)
itself (its padding, BatchNorm epsilon and layouts), loads the export's weights by layer name, and runs 8 fixed
Oxford-102 test images. Here the same images go through our import.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from mnv2_core.models import weights
from mnv2_core.models.keras_weights import (KERAS_PREPROCESS, KerasImportError, convert_keras_mobilenet_v2,
                                            load_keras_mobilenet_v2)
from mnv2_core.models.mobilenetv2 import TFSamePadConv2d, mobilenet_v2, padding_of

FIXTURE = Path(__file__).parent / "fixtures" / "keras_reference.npz"


def _preprocess(path: Path) -> torch.Tensor:
    """torchvision's Resize(256) + CenterCrop(224) with the model's normalisation (x / 127.5 - 1)."""
    import torchvision.transforms as T
    from PIL import Image

    transform = T.Compose([T.Resize(256, interpolation=T.InterpolationMode.BILINEAR), T.CenterCrop(224),
                           T.ToTensor(), T.Normalize(KERAS_PREPROCESS.mean, KERAS_PREPROCESS.std)])
    with Image.open(path) as img:
        return transform(img.convert("RGB"))


@pytest.fixture(scope="module")
def model(keras_folder: Path) -> torch.nn.Module:
    return load_keras_mobilenet_v2(keras_folder)


def test_backbone_has_the_keras_parameter_count(keras_folder: Path) -> None:
    state = convert_keras_mobilenet_v2(keras_folder)
    # Keras counts BatchNorm's moving mean and variance as (non-trainable) parameters: 410,208 in all
    counted = sum(v.numel() for k, v in state.items() if not k.endswith("num_batches_tracked"))
    assert counted == 410_208
    reference = mobilenet_v2(width=0.35, padding="tf_same").state_dict()
    assert set(reference) - set(state) == {"classifier.1.weight", "classifier.1.bias"}
    assert all(state[k].shape == reference[k].shape for k in state)


def test_keeps_torchvision_structure_with_tf_same_padding(model: torch.nn.Module) -> None:
    assert padding_of(model) == "tf_same"
    assert isinstance(model.features[0][0], TFSamePadConv2d)
    assert model.features[0][1].eps == 1e-5  # Keras's 1e-3 is carried by the running variance instead


def test_matches_keras_forward_pass(model: torch.nn.Module, flowers_dir: Path) -> None:
    with np.load(FIXTURE, allow_pickle=False) as data:
        reference = {key: data[key] for key in data.files}
    meta = json.loads(str(reference["meta"]))
    assert meta["weights_sha256"].startswith("840c97a2")
    images = torch.stack([_preprocess(flowers_dir / rel) for rel in reference["paths"]])
    with torch.no_grad():
        fmap = model.features(images).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(fmap.mean((1, 2)), reference["pooled"], rtol=0, atol=2e-4)
    np.testing.assert_allclose(fmap[..., :16], reference["fmap16"], rtol=0, atol=5e-4)


def test_a_missing_or_truncated_export_is_one_sentence(keras_folder: Path, tmp_path: Path) -> None:
    with pytest.raises(KerasImportError, match="is not in"):
        convert_keras_mobilenet_v2(tmp_path / "nowhere")
    broken = tmp_path / "broken"
    shutil.copytree(keras_folder, broken)
    (broken / "weights.bin").write_bytes((keras_folder / "weights.bin").read_bytes()[:1000])
    with pytest.raises(KerasImportError, match="does not hold"):
        convert_keras_mobilenet_v2(broken)


def test_is_a_transfer_start_not_an_imagenet_answer(keras_folder: Path, offline: Path) -> None:
    assert weights.planned_source("mobilenet_v2", 0.35, "imagenet") == "untrained"
    assert weights.planned_source("mobilenet_v2", 0.35, "imagenet", backbone=True) == "keras"
    loaded = weights.load_backbone("mobilenet_v2", 0.35)
    assert loaded.info.source == "keras" and loaded.info.preprocess == KERAS_PREPROCESS
    assert weights.load_backbone("mobilenet_v2", 1.0).info.source == "tflite"  # a full classifier comes first
