"""Every width from the 1.0: pruning keeps consistent channels and refits, widening keeps the function."""

from __future__ import annotations

import io

import pytest
import torch

from mnv2_core.models import mobilenet_v2, width_family
from mnv2_core.models.mobilenetv2 import InvertedResidual


def _teacher(seed: int = 0) -> torch.nn.Module:
    """A 1.0 with TF 'SAME' padding (like the shipped flower model) and realistic, varied BN statistics."""
    torch.manual_seed(seed)
    model = mobilenet_v2(1.0, num_classes=102, padding="tf_same").eval()
    gen = torch.Generator().manual_seed(seed)
    for bn in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        bn.running_var.copy_(torch.rand(bn.num_features, generator=gen) + 0.5)
        bn.running_mean.copy_(torch.rand(bn.num_features, generator=gen) - 0.5)
        bn.weight.data.copy_(torch.rand(bn.num_features, generator=gen) + 0.5)
        bn.bias.data.copy_(torch.rand(bn.num_features, generator=gen) * 0.2 - 0.1)
    return model


def _images(n: int = 16, size: int = 64) -> torch.Tensor:
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(7))


def test_widening_to_1_4_preserves_the_logits() -> None:
    teacher = _teacher()
    wide = width_family.widen(teacher, 1.4)
    assert sum(p.numel() for p in wide.parameters()) == sum(p.numel() for p in mobilenet_v2(1.4, num_classes=102)
                                                               .parameters())
    x = _images(4, 96)
    with torch.no_grad():
        expected, got = teacher(x), wide(x)
    assert expected.abs().max() > 1e-2  # the comparison means something
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)


def test_widened_copies_differ_in_their_outgoing_weights() -> None:
    """Random shares (not halves) so that the copies get different gradients and can specialise."""
    wide = width_family.widen(_teacher(), 1.4)
    fc = wide.classifier[-1].weight
    # Columns 1280.. copy earlier ones; with equal halves a copy's column would equal its original's.
    ratios = set()
    for j in range(1280, 1290):
        matches = [(fc[:, i] / fc[:, j]).mean().item() for i in range(1280)
                   if torch.allclose(fc[:, i] / fc[:, i].norm(), fc[:, j] / fc[:, j].norm(), atol=1e-5)]
        ratios.update(round(r, 3) for r in matches)
    assert ratios and ratios != {1.0}


@pytest.mark.parametrize("width", [0.75, 0.5, 0.35])
def test_pruned_network_loads_strictly_at_its_width_and_exports_to_onnx(width: float) -> None:
    teacher = _teacher()
    student, _ = width_family.prune(teacher, width, _images(), per_image=64)
    fresh = mobilenet_v2(width, num_classes=102, padding="tf_same")
    fresh.load_state_dict(student.state_dict(), strict=True)
    pytest.importorskip("onnx")
    buffer = io.BytesIO()
    torch.onnx.export(fresh.eval(), (torch.zeros(1, 3, 64, 64),), buffer, dynamo=False)
    assert buffer.tell() > 100_000


def test_channel_plan_keeps_one_stream_subset_per_stage() -> None:
    teacher = _teacher()
    student = mobilenet_v2(0.5, num_classes=102, padding="tf_same")
    plan = width_family.plan_channels(teacher, student, _images())
    blocks = [m for m in student.modules() if isinstance(m, InvertedResidual)]
    stages = width_family.stage_of_blocks(student)
    assert len(plan.streams) == 7 and len(plan.hidden) == 17
    for stage, kept in enumerate(plan.streams):
        # Every block of the stage writes the same channels of the stream: one subset, sized for this width.
        sizes = {blocks[i].out_channels for i, s in enumerate(stages) if s == stage}
        assert sizes == {len(kept)}
        assert torch.equal(kept, kept.sort().values) and len(set(kept.tolist())) == len(kept)
    assert torch.equal(plan.stem, plan.hidden[0])  # the first block (t = 1) filters the stem's channels


def test_least_squares_refit_brings_the_pruned_net_closer_to_the_teacher() -> None:
    teacher = _teacher()
    images = _images(24)
    copied, _ = width_family.prune(teacher, 0.75, images, refit=False)
    refit, _ = width_family.prune(teacher, 0.75, images, per_image=256)
    held_out = torch.randn(8, 3, 64, 64, generator=torch.Generator().manual_seed(99))
    with torch.no_grad():
        target = teacher.forward_features(held_out)
        err_copied = (copied.forward_features(held_out) - target).pow(2).mean()
        err_refit = (refit.forward_features(held_out) - target).pow(2).mean()
    assert err_refit < 0.5 * err_copied


def test_pruning_refuses_to_change_the_last_conv_width() -> None:
    with pytest.raises(ValueError):
        width_family.prune(_teacher(), 1.4, _images(4))


def test_widening_refuses_to_shrink() -> None:
    with pytest.raises(ValueError):
        width_family.widen(_teacher(), 0.5)
