"""Our MobileNetV2 against torchvision's, at every width the paper reports."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode
from torchvision.models import mobilenet_v2 as tv_mobilenet_v2

from mnv2_core.models import MOBILENET_WIDTHS, mobilenet_v2
from mnv2_core.models.mobilenetv2 import PAPER_TABLE_2, InvertedResidual, make_divisible

PUBLISHED_MACS_M = {0.35: 59.3, 0.5: 97.1, 0.75: 209.1, 1.0: 300.8, 1.4: 582.2}


def _macs(model: torch.nn.Module, size: int = 224) -> float:
    model.eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    return counter.get_total_flops() / 2


@pytest.mark.parametrize("width", MOBILENET_WIDTHS)
def test_same_structure_params_and_outputs_as_torchvision(width: float) -> None:
    torch.manual_seed(0)
    ref = tv_mobilenet_v2(width_mult=width).eval()
    ours = mobilenet_v2(width=width).eval()
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in ref.parameters())
    assert list(ours.state_dict()) == list(ref.state_dict())
    ours.load_state_dict(ref.state_dict(), strict=True)
    # Fresh BN stats make a random net's logits ~1e-9; give BN realistic statistics so the comparison means something.
    for bn_ours, bn_ref in zip((m for m in ours.modules() if isinstance(m, torch.nn.BatchNorm2d)),
                               (m for m in ref.modules() if isinstance(m, torch.nn.BatchNorm2d))):
        stats = torch.rand(2, bn_ref.num_features) + 0.5
        for bn in (bn_ours, bn_ref):
            bn.running_var.copy_(stats[0])
            bn.running_mean.copy_(stats[1] - 1.0)
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, got = ref(x), ours(x)
    assert expected.abs().max() > 1e-3
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("width", MOBILENET_WIDTHS)
def test_macs_match_published(width: float) -> None:
    assert _macs(mobilenet_v2(width=width)) / 1e6 == pytest.approx(PUBLISHED_MACS_M[width], rel=0.005)


def test_make_divisible_rounds_to_eight_without_losing_ten_percent() -> None:
    assert make_divisible(32 * 0.35) == 16  # 11.2 -> 8 would lose more than 10%, so 16
    assert make_divisible(24 * 0.75) == 24
    assert make_divisible(1280 * 1.4) == 1792
    assert all(make_divisible(c * w) % 8 == 0 for c in (16, 24, 32, 64, 96, 160, 320) for w in MOBILENET_WIDTHS)


def test_last_conv_keeps_1280_below_width_one() -> None:
    assert mobilenet_v2(width=0.35).last_channel == 1280
    assert mobilenet_v2(width=1.4).last_channel == 1792


def test_blocks_follow_the_paper_table_and_residuals_only_where_shapes_match() -> None:
    model = mobilenet_v2()
    blocks = [m for m in model.features if isinstance(m, InvertedResidual)]
    assert len(blocks) == sum(spec.n for spec in PAPER_TABLE_2) == 17
    i = 0
    for spec in PAPER_TABLE_2:
        for r in range(spec.n):
            block = blocks[i]
            assert block.stride == (spec.s if r == 0 else 1)
            assert block.out_channels == spec.c
            assert block.use_res_connect == (block.stride == 1 and block.in_channels == block.out_channels)
            i += 1
    assert [b.use_res_connect for b in blocks].count(True) == 10


def test_block_shapes_and_linear_projection() -> None:
    block = InvertedResidual(24, 24, stride=1, expand_ratio=6).eval()
    x = torch.randn(1, 24, 56, 56)
    assert block(x).shape == (1, 24, 56, 56)
    assert isinstance(block.conv[-1], torch.nn.BatchNorm2d)  # linear bottleneck: no activation after projection
    down = InvertedResidual(24, 32, stride=2, expand_ratio=6).eval()
    assert down(x).shape == (1, 32, 28, 28) and not down.use_res_connect
    hidden = down.conv[0][0]
    assert hidden.out_channels == 144 and hidden.kernel_size == (1, 1)
    assert down.conv[1][0].groups == 144  # depthwise


def test_ablations_change_behaviour_not_parameters() -> None:
    base = mobilenet_v2()
    n = sum(p.numel() for p in base.parameters())
    for kwargs in ({"activation": "relu"}, {"residual": False}, {"linear_bottleneck": False}):
        variant = mobilenet_v2(**kwargs)
        assert sum(p.numel() for p in variant.parameters()) == n
        variant.load_state_dict(base.state_dict(), strict=True)
    assert not any(b.use_res_connect for b in mobilenet_v2(residual=False).modules() if isinstance(b, InvertedResidual))
    assert any(isinstance(m, torch.nn.ReLU) and not isinstance(m, torch.nn.ReLU6) for m in mobilenet_v2(activation="relu").modules())


def test_tf_same_padding_keeps_shapes_and_parameters() -> None:
    model = mobilenet_v2(padding="tf_same").eval()
    assert list(model.state_dict()) == list(mobilenet_v2().state_dict())
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 224, 224)).shape == (1, 1000)
        assert model.features[:2](torch.zeros(1, 3, 225, 225)).shape[-1] == 113
