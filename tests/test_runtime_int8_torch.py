"""INT8 post-training quantization: real INT8 layers, ~4x smaller, outputs that track the float model."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from torch import nn
from torchvision import transforms as T

from mnv2_core.models import build_model, mobilenet_v2
from mnv2_core.runtime.calibration import QuantizationError, calibration_batches
from mnv2_core.runtime.int8_torch import (
    fix_tf_same_padding,
    is_quantized,
    model_size_bytes,
    quantize_int8,
    reestimate_bn_stats,
)

N_IMAGES = 32
IMAGENET = dict(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])


def _transform(size: int) -> T.Compose:
    return T.Compose([T.Resize(round(size * 256 / 224)), T.CenterCrop(size), T.ToTensor(), T.Normalize(**IMAGENET)])


@pytest.fixture(scope="module")
def train_paths(flowers_dir: Path) -> list[Path]:
    """The first training photo of each of the first 32 classes."""
    classes = sorted((d for d in (flowers_dir / "train").iterdir() if d.is_dir()), key=lambda d: int(d.name))
    return [sorted(d.glob("*.jpg"))[0] for d in classes[:N_IMAGES]]


@pytest.fixture(scope="module")
def batches_224(train_paths: list[Path]) -> list[torch.Tensor]:
    return list(calibration_batches(train_paths, _transform(224), batch_size=16))


def _quantized_convs(model: nn.Module) -> int:
    import torch.ao.nn.quantized as nnq

    return sum(isinstance(m, nnq.Conv2d) for m in model.modules())  # the fused ConvReLU2d subclasses it too


def _cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return nn.functional.cosine_similarity(a, b, dim=1)


@pytest.mark.parametrize("width", [0.35, 1.0])
def test_mobilenet_v2_int8_tracks_float(width: float, batches_224: list[torch.Tensor]) -> None:
    torch.manual_seed(0)
    model = mobilenet_v2(width=width)
    reestimate_bn_stats(model, batches_224)  # untrained: without it the logits are ~1e-9 and any INT8 looks fine
    before = copy.deepcopy(model.state_dict())

    qmodel = quantize_int8(model, batches_224)

    x = torch.cat(batches_224)
    with torch.inference_mode():
        ref, out = model(x), qmodel(x)
    assert out.shape == ref.shape == (N_IMAGES, 1000)
    assert not qmodel.training
    assert is_quantized(qmodel) and not is_quantized(model)
    assert _quantized_convs(qmodel) == 52  # every conv of the network, fused with its BN
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items()), "the float model was modified"
    ratio = model_size_bytes(model) / model_size_bytes(qmodel)
    assert 3.4 < ratio < 4.2, ratio  # measured 3.56 (0.35) and 3.62 (1.0): biases, scales and the fp32 head add up
    cos = _cosine(ref, out)
    # Measured on these 32 photos: mean 0.955, min 0.936 (0.35); mean 0.954, min 0.942 (1.0). Top-1 agreement
    # (0.44-0.5) means little here: untrained logits are near-ties.
    assert cos.mean() > 0.9 and cos.min() > 0.85, cos


def test_tf_same_rewrite_is_exact_and_avoids_slow_depthwise() -> None:
    """TF-'SAME' convs (TFLite weights) become fixed pads + a padding-1 conv: same outputs, fast INT8 kernels."""
    torch.manual_seed(0)
    model = mobilenet_v2(width=0.35, padding="tf_same")
    reestimate_bn_stats(model, [torch.randn(4, 3, 64, 64)])
    rewritten = copy.deepcopy(model)
    fix_tf_same_padding(rewritten, torch.zeros(1, 3, 96, 96))
    for size in (96, 64):  # any multiple of 32 keeps the pads' parities
        x = torch.randn(2, 3, size, size)
        with torch.no_grad():
            torch.testing.assert_close(rewritten(x), model(x), rtol=1e-4, atol=1e-5)
    depthwise = [m for m in rewritten.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    # fbgemm's INT8 depthwise kernel is fast only with padding 1; padding 0 was ~100x slower per layer.
    assert depthwise and all(m.padding == (1, 1) for m in depthwise)


def test_lenet5_quantizes(train_paths: list[Path]) -> None:
    torch.manual_seed(0)
    batches = list(calibration_batches(train_paths, _transform(32), batch_size=16))
    model = build_model("lenet5", num_classes=102).eval()
    qmodel = quantize_int8(model, batches)
    x = torch.cat(batches)
    with torch.inference_mode():
        ref, out = model(x), qmodel(x)
    assert out.shape == (N_IMAGES, 102)
    assert _quantized_convs(qmodel) == 2
    assert _cosine(ref, out).mean() > 0.98  # measured 1.000


def test_resnet18_quantizes(train_paths: list[Path]) -> None:
    """torchvision models go through the same function (ResNet's adds and conv-bn-relu are handled by FX)."""
    torch.manual_seed(0)
    batches = list(calibration_batches(train_paths[:8], _transform(96), batch_size=8))
    model = build_model("resnet18")
    reestimate_bn_stats(model, batches)
    qmodel = quantize_int8(model, batches)
    with torch.inference_mode():
        ref, out = model(batches[0]), qmodel(batches[0])
    assert _quantized_convs(qmodel) == 20
    assert _cosine(ref, out).mean() > 0.95  # measured 0.99


def test_calibration_batches_sizes_and_shapes(train_paths: list[Path]) -> None:
    unbatched = list(calibration_batches(train_paths[:5], _transform(32), batch_size=2))
    assert [b.shape[0] for b in unbatched] == [2, 2, 1]
    assert unbatched[0].shape == (2, 3, 32, 32)

    def batched(image):  # transforms that already add the batch dimension, like preprocess.to_tensor
        return _transform(32)(image)[None]

    again = torch.cat(list(calibration_batches(train_paths[:5], batched, batch_size=4)))
    torch.testing.assert_close(again, torch.cat(unbatched))


def test_calibration_batches_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        next(calibration_batches([tmp_path / "x.jpg"], _transform(32), batch_size=0))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    with pytest.raises(QuantizationError, match="cannot read calibration image"):
        next(calibration_batches([broken], _transform(32)))


def test_errors_are_one_sentence() -> None:
    model = build_model("lenet5").eval()
    with pytest.raises(QuantizationError, match="at least one batch"):
        quantize_int8(model, [])
    with pytest.raises(QuantizationError, match="unknown INT8 backend"):
        quantize_int8(model, [torch.randn(1, 3, 32, 32)], backend="tensorrt")


def test_model_size_bytes_counts_the_weights() -> None:
    layer = nn.Linear(1000, 1000)
    size = model_size_bytes(layer)
    assert 4 * 1_001_000 <= size < 4 * 1_001_000 + 4096  # fp32 values plus a little pickle framing


def test_reestimate_bn_stats_gives_real_activations() -> None:
    torch.manual_seed(0)
    model = mobilenet_v2(width=0.35).eval()
    x = torch.randn(8, 3, 96, 96)
    with torch.no_grad():
        assert model(x).abs().max() < 1e-6  # fresh BN statistics: the signal dies layer by layer
    reestimate_bn_stats(model, [x[:4], x[4:]])
    assert not model.training
    assert all(m.momentum == 0.1 for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    with torch.no_grad():
        assert model(x).std() > 1e-2
    with pytest.raises(ValueError):
        reestimate_bn_stats(model, [])
