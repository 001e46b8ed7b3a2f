"""Parameter and multiply-add counts against published figures, and per-layer and per-block tables that add up."""

from __future__ import annotations

import pytest
from torch import nn

from mnv2_core.measure import counts, probe
from mnv2_core.models import lenet5, mobilenet_v2

# Measured with FlopCounterMode/2 (DESIGN.md), matching the TF-slim README's 59/97/209/300/582M.
MNV2_MACS_M = {0.35: 59.3, 0.5: 97.1, 0.75: 209.1, 1.0: 300.8, 1.4: 582.2}
WIDTHS = tuple(MNV2_MACS_M)


_MACS_CACHE: dict[float, int] = {}


def _mnv2_macs(models: dict[float, nn.Module], width: float) -> int:
    """count_macs at 224, computed once per width for the whole module (it is the slow part)."""
    if width not in _MACS_CACHE:
        _MACS_CACHE[width] = counts.count_macs(models[width], 224)
    return _MACS_CACHE[width]


def _conv_linear_params(model: nn.Module) -> int:
    return sum(counts.count_params(m) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))


def test_params_match_torchvision() -> None:
    import torchvision.models as tvm

    ours = counts.count_params(mobilenet_v2(1.0))
    assert ours == counts.count_params(tvm.mobilenet_v2(weights=None)) == 3_504_872


@pytest.mark.parametrize("width", WIDTHS)
def test_mobilenet_macs_match_published(mnv2_models, width: float) -> None:
    macs = _mnv2_macs(mnv2_models, width)
    assert macs / 1e6 == pytest.approx(MNV2_MACS_M[width], rel=0.005)


def test_lenet5_and_resnet18_macs() -> None:
    import torchvision.models as tvm

    lenet_macs = counts.count_macs(lenet5(num_classes=10, in_channels=1), 32, in_channels=1)
    assert lenet_macs / 1e6 == pytest.approx(0.42, rel=0.01)
    assert counts.count_macs(tvm.resnet18(weights=None), 224) / 1e6 == pytest.approx(1814, rel=0.005)


def test_count_macs_keeps_training_mode_and_rectangular_input() -> None:
    model = mobilenet_v2(0.35)
    model.train()
    square = counts.count_macs(model, (224, 224))
    assert model.training
    # Conv cost scales with output area, so 224x112 is about half (a bit over: odd sizes round up, 7x3.5 -> 7x4).
    assert 0.5 * square < counts.count_macs(model, (224, 112)) < 0.55 * square


def test_wrong_input_channels_is_a_clear_error() -> None:
    with pytest.raises(probe.BenchError, match="cannot run"):
        counts.count_macs(mobilenet_v2(0.35), 224, in_channels=1)
    with pytest.raises(probe.BenchError):
        counts.count_macs(mobilenet_v2(0.35), 0)


@pytest.mark.parametrize("width", WIDTHS)
def test_layer_table_adds_up(mnv2_models, width: float) -> None:
    model = mnv2_models[width]
    rows = counts.layer_table(model, 224)
    assert len(rows) == 53  # 52 convolutions (stem, 2 + 16*3 in bottlenecks, last 1x1) + the classifier
    assert sum(r.params for r in rows) == _conv_linear_params(model)
    assert sum(r.macs for r in rows) == _mnv2_macs(mnv2_models, width)
    assert [r.index for r in rows] == list(range(len(rows)))


def test_layer_table_kinds_shapes_and_bytes(mnv2_models) -> None:
    rows = counts.layer_table(mnv2_models[1.0], 224, bytes_per_value=2)
    stem, dw, project, expand, dw2 = rows[:5]
    assert stem.kind == "Conv2d 3x3 s2" and stem.in_shape == (3, 224, 224) and stem.out_shape == (32, 112, 112)
    assert dw.kind == "Conv2d 3x3 dw s1" and project.kind == "Conv2d 1x1" and expand.out_shape == (96, 112, 112)
    assert dw2.kind == "Conv2d 3x3 dw s2" and dw2.out_shape == (96, 56, 56)
    assert stem.activation_bytes == 32 * 112 * 112 * 2
    assert rows[-1].kind == "Linear" and rows[-1].in_shape == (1280,) and rows[-1].out_shape == (1000,)
    assert rows[-1].macs == 1280 * 1000


def test_layer_table_other_models() -> None:
    import torchvision.models as tvm

    for model, size, ch in ((tvm.resnet18(weights=None), 224, 3), (lenet5(10, 1), 32, 1)):
        rows = counts.layer_table(model, size, in_channels=ch)
        assert sum(r.macs for r in rows) == counts.count_macs(model, size, ch)
        assert sum(r.params for r in rows) == _conv_linear_params(model)


@pytest.mark.parametrize("width", (0.35, 1.0, 1.4))
def test_block_table(mnv2_models, width: float) -> None:
    model = mnv2_models[width]
    rows = counts.block_table(model, 224)
    assert len(rows) == 1 + 17 + 1 + 1
    assert sum(r.params for r in rows) == counts.count_params(model)
    assert sum(r.macs for r in rows) == _mnv2_macs(mnv2_models, width)
    assert rows[0].kind == "Conv2d 3x3 s2"
    assert rows[1].kind == "bottleneck t=1 s=1"
    assert rows[2].kind == "bottleneck t=6 s=2"
    assert rows[3].kind == "bottleneck t=6 s=1 (residual)"
    assert sum("(residual)" in r.kind for r in rows) == 10  # 17 blocks minus 7 stage openers
    assert rows[-1].name == "classifier" and rows[-1].out_shape == (1000,)
    assert rows[-2].kind == "Conv2d 1x1" and rows[-2].out_shape[0] == model.last_channel


def test_depthwise_separable_cost() -> None:
    cost = counts.depthwise_separable_cost(3, 64, 128)
    assert cost["standard_params"] == 73_728 and cost["separable_params"] == 8_768
    assert cost["depthwise_params"] == 576 and cost["pointwise_params"] == 8_192
    assert cost["ratio"] == pytest.approx(9 * 128 / (9 + 128))
    at_56 = counts.depthwise_separable_cost(3, 64, 128, 56, 56)
    assert at_56["standard_macs"] == 56 * 56 * 64 * 128 * 9
    assert at_56["separable_macs"] == 56 * 56 * 64 * (9 + 128)
    # The formula matches real layers: a dw 3x3 + 1x1 pair measured by layer_table.
    pair = nn.Sequential(nn.Conv2d(64, 64, 3, padding=1, groups=64, bias=False), nn.Conv2d(64, 128, 1, bias=False))
    assert sum(r.macs for r in counts.layer_table(pair, 56, in_channels=64)) == at_56["separable_macs"]
    with pytest.raises(probe.BenchError):
        counts.depthwise_separable_cost(0, 64, 128)
