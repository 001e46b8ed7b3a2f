"""The official TFLite MobileNetV2 imported into our float model agrees with Google's own uint8 interpreter.

tests/fixtures/tflite_reference.npz comes from scripts/make_tflite_reference.py (the official interpreter on every
6th Oxford-102 test image, 1001 outputs with background at 0). Here we rerun those images through our float import.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mnv2_core.models.mobilenetv2 import TFSamePadConv2d, mobilenet_v2
from mnv2_core.models.tflite import (
    TFLITE_MEAN,
    TFLITE_STD,
    TFLiteImportError,
    cache_path,
    convert_tflite_mobilenet_v2,
    load_tflite_mobilenet_v2,
    tflite_provenance,
)

FIXTURE = Path(__file__).parent / "fixtures" / "tflite_reference.npz"
IMAGENET_DAISY = 985


def _preprocess(path: Path) -> torch.Tensor:
    """torchvision's Resize(256) + CenterCrop(224), which the fixture script reimplements in plain PIL."""
    import torchvision.transforms as T
    from PIL import Image

    transform = T.Compose([T.Resize(256, interpolation=T.InterpolationMode.BILINEAR), T.CenterCrop(224),
                           T.ToTensor(), T.Normalize(TFLITE_MEAN, TFLITE_STD)])
    with Image.open(path) as img:
        return transform(img.convert("RGB"))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MNV2_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def state(tflite_path: Path) -> dict[str, torch.Tensor]:
    return convert_tflite_mobilenet_v2(tflite_path)


@pytest.fixture(scope="module")
def model(state: dict[str, torch.Tensor]) -> torch.nn.Module:
    net = mobilenet_v2(width=1.0, num_classes=1000, padding="tf_same")
    net.load_state_dict(state, strict=True)
    return net.eval()


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(FIXTURE, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def test_state_dict_loads_strict_with_expected_shapes(state: dict[str, torch.Tensor]) -> None:
    net = mobilenet_v2(width=1.0, num_classes=1000, padding="tf_same")
    assert net.load_state_dict(state, strict=True)
    assert all(v.dtype == torch.float32 for k, v in state.items() if not k.endswith("num_batches_tracked"))
    assert state["features.0.0.weight"].shape == (32, 3, 3, 3)
    assert state["features.1.conv.0.0.weight"].shape == (32, 1, 3, 3)  # first block: depthwise first, no expansion
    assert state["features.2.conv.1.0.weight"].shape == (96, 1, 3, 3)
    assert state["features.18.0.weight"].shape == (1280, 320, 1, 1)
    assert state["classifier.1.weight"].shape == (1000, 1280)
    assert state["classifier.1.bias"].shape == (1000,)
    assert isinstance(net.features[0][0], TFSamePadConv2d)


def test_batchnorm_is_identity_plus_folded_bias(state: dict[str, torch.Tensor]) -> None:
    bn = torch.nn.BatchNorm2d(32).eval()
    bn.load_state_dict({k.removeprefix("features.0.1."): v for k, v in state.items() if k.startswith("features.0.1.")})
    x = torch.randn(2, 32, 4, 4)
    torch.testing.assert_close(bn(x), x + state["features.0.1.bias"].view(1, -1, 1, 1), rtol=0, atol=1e-6)


def test_daisy_is_imagenet_daisy(model: torch.nn.Module, flowers_dir: Path) -> None:
    for class_id in ("49", "50"):  # oxeye daisy, common dandelion
        image = sorted((flowers_dir / "test" / class_id).glob("*.jpg"))[0]
        with torch.no_grad():
            assert model(_preprocess(image)[None]).argmax(1).item() == IMAGENET_DAISY, image


def test_fixture_preprocessing_matches_torchvision(reference: dict[str, np.ndarray], flowers_dir: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_ref", Path(__file__).parent.parent / "scripts" /
                                                  "make_tflite_reference.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    for rel in reference["paths"][:3]:
        ours = script.centre_crop(flowers_dir / rel).astype(np.float32) / 127.5 - 1
        expected = _preprocess(flowers_dir / rel).permute(1, 2, 0).numpy()
        np.testing.assert_allclose(ours, expected, atol=1e-5)


def test_agrees_with_official_interpreter(model: torch.nn.Module, reference: dict[str, np.ndarray],
                                          flowers_dir: Path) -> None:
    torch.set_num_threads(2)
    meta = json.loads(str(reference["meta"]))
    paths = [flowers_dir / rel for rel in reference["paths"]]
    missing = [p for p in paths if not p.is_file()]
    assert not missing, f"fixture images missing from the data dir: {missing[:3]}"
    logits = []
    with torch.no_grad():
        for start in range(0, len(paths), 32):
            batch = torch.stack([_preprocess(p) for p in paths[start:start + 32]])
            logits.append(model(batch))
    probs = torch.cat(logits).softmax(1).numpy()

    # The interpreter's quantized logits rank classes like its softmax, but with fewer ties; column 0 is background.
    ref_logits = reference["logits_u8"][:, 1:].astype(np.int32)
    ref_top5 = np.argsort(-ref_logits, axis=1, kind="stable")[:, :5]
    ref_probs = reference["softmax_u8"][:, 1:].astype(np.float64) * float(reference["softmax_scale"])
    ref_probs /= ref_probs.sum(1, keepdims=True)  # renormalise after dropping background
    our_top5 = np.argsort(-probs, axis=1, kind="stable")[:, :5]

    top1 = float(np.mean(our_top5[:, 0] == ref_top5[:, 0]))
    tied = ref_logits == ref_logits.max(1, keepdims=True)
    top1_ties = float(np.mean(tied[np.arange(len(paths)), our_top5[:, 0]]))
    overlap5 = float(np.mean([len(set(a) & set(b)) / 5 for a, b in zip(our_top5, ref_top5)]))
    ref1_in_our5 = float(np.mean([r in o for r, o in zip(ref_top5[:, 0], our_top5)]))
    mad = float(np.abs(probs - ref_probs).mean())
    l1 = float(np.abs(probs - ref_probs).sum(1).mean())
    print(f"\n{len(paths)} images vs {meta['interpreter']}: top-1 agreement {top1:.1%} "
          f"({top1_ties:.1%} counting interpreter ties), top-5 set overlap {overlap5:.1%}, interpreter top-1 in our "
          f"top-5 {ref1_in_our5:.1%}, mean |softmax diff| {mad:.2e} per class, mean L1 {l1:.3f} per image")
    assert len(paths) >= 120
    assert top1 >= 0.90
    assert ref1_in_our5 >= 0.97
    assert l1 < 0.35  # measured 0.18; symmetric padding gives 0.82, classes shifted by one 1.84


def test_load_caches_converted_weights(tflite_path: Path, _isolated_cache: Path,
                                       state: dict[str, torch.Tensor]) -> None:
    first = load_tflite_mobilenet_v2(tflite_path)
    cached = cache_path(tflite_path)
    assert cached.parent == _isolated_cache and cached.name.startswith("mobilenet_v2_1.0_tflite_")
    assert cached.name == f"mobilenet_v2_1.0_tflite_{tflite_provenance(tflite_path)['sha256'][:12]}.pt"
    assert cached.is_file() and not first.training
    assert isinstance(first.features[0][0], TFSamePadConv2d)
    on_disk = torch.load(cached, weights_only=True)
    assert set(on_disk) == set(state) and all(torch.equal(on_disk[k], state[k]) for k in state)

    cached.write_bytes(b"not a checkpoint")  # a damaged cache is rebuilt, not fatal
    second = load_tflite_mobilenet_v2(tflite_path)
    assert torch.equal(second.classifier[1].weight, first.classifier[1].weight)
    assert torch.load(cached, weights_only=True).keys() == state.keys()
    assert not list(_isolated_cache.glob("*.tmp"))


def test_load_without_cache_writes_nothing(tflite_path: Path, _isolated_cache: Path) -> None:
    load_tflite_mobilenet_v2(tflite_path, cache=False)
    assert not _isolated_cache.exists() or not any(_isolated_cache.iterdir())


def test_default_path_comes_from_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MNV2_WEIGHTS", str(tmp_path / "nowhere"))
    with pytest.raises(TFLiteImportError, match="does not exist"):
        load_tflite_mobilenet_v2()


def test_provenance(tflite_path: Path) -> None:
    info = tflite_provenance(tflite_path)
    assert info["official"] is True and info["size_bytes"] == 3_610_798  # the file in ../shared/weights (SOURCE.md)
    assert info["file"] == tflite_path.name and "MobileNetV2" in info["what"]


def _empty_tflite() -> bytes:
    """A valid TFLite flatbuffer with one empty subgraph: readable, but not MobileNetV2."""
    import flatbuffers
    import tflite

    builder = flatbuffers.Builder(256)
    tflite.SubGraphStart(builder)
    subgraph = tflite.SubGraphEnd(builder)
    tflite.ModelStartSubgraphsVector(builder, 1)
    builder.PrependUOffsetTRelative(subgraph)
    subgraphs = builder.EndVector()
    tflite.ModelStart(builder)
    tflite.ModelAddVersion(builder, 3)
    tflite.ModelAddSubgraphs(builder, subgraphs)
    builder.Finish(tflite.ModelEnd(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_bad_files_raise_one_clear_error(tmp_path: Path, tflite_path: Path) -> None:
    cases = {
        "missing.tflite": None,
        "text.tflite": b"hello, this is not a model\n",
        "truncated.tflite": tflite_path.read_bytes()[:4000],
        "half.tflite": tflite_path.read_bytes()[:1_800_000],
        "other_network.tflite": _empty_tflite(),
    }
    for name, content in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        with pytest.raises(TFLiteImportError) as info:
            load_tflite_mobilenet_v2(path)
        message = str(info.value)
        assert "\n" not in message and message.endswith("."), message
    assert issubclass(TFLiteImportError, ValueError)


def test_layer_origins_map_every_layer_to_a_tflite_op(tflite_path: Path) -> None:
    from mnv2_core.models import mobilenet_v2
    from mnv2_core.models.tflite import layer_origins

    rows = layer_origins(tflite_path)
    ours = [n for n, m in mobilenet_v2().named_modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert [r["layer"] for r in rows] == ours
    assert rows[0]["tflite_tensor"].startswith("MobilenetV2/Conv/") and rows[1]["kind"] == "depthwise conv"
    assert rows[-1]["shape"].startswith("1001 x 1280")
