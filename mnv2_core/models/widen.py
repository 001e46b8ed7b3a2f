"""Net2WiderNet widening of MobileNetV2: copied channels, split outgoing weights, the same function (see
width_family)."""

from __future__ import annotations

import torch
from torch import nn

from mnv2_core.models.mobilenetv2 import ConvBNActivation, MobileNetV2, mobilenet_v2, padding_of
from mnv2_core.models.surgery import depthwise, expansion, inverted_residuals, projection, stage_of_blocks


def _mapping(old: int, new: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Net2Net's mapping g (new channel -> old channel: the old ones first, then random copies) and the share of
    each new channel in its old channel's outgoing weights (random positive shares summing to one per old channel).
    """
    if new < old:
        raise ValueError(f"widening cannot shrink {old} channels to {new}")
    g = torch.cat([torch.arange(old), torch.randint(0, old, (new - old,), generator=gen)])
    raw = 0.5 + torch.rand(new, generator=gen)  # shares between 1/3 and 2/3 of each other: no copy is starved
    totals = torch.zeros(old).index_add_(0, g, raw)
    return g, raw / totals[g]


def _widen_rows(dst: ConvBNActivation | tuple[nn.Conv2d, nn.BatchNorm2d], src, rows: torch.Tensor,
                columns: tuple[torch.Tensor, torch.Tensor] | None) -> None:
    """dst conv/BN = src's ``rows`` (output channels); input channels by ``columns`` (g, share) unless depthwise."""
    d_conv, d_bn = dst[0], dst[1]
    s_conv, s_bn = src[0], src[1]
    weight = s_conv.weight[rows]
    if columns is not None:
        g, share = columns
        weight = weight[:, g] * share.view(1, -1, 1, 1)
    d_conv.weight.copy_(weight)
    for name in ("weight", "bias", "running_mean", "running_var"):
        getattr(d_bn, name).copy_(getattr(s_bn, name)[rows])


@torch.no_grad()
def widen(teacher: MobileNetV2, width: float, *, seed: int = 0) -> MobileNetV2:
    """A ``mobilenet_v2(width)`` (width >= the teacher's) that computes the teacher's function (Net2WiderNet)."""
    teacher = teacher.eval()
    student = mobilenet_v2(width=width, num_classes=teacher.classifier[-1].out_features,
                           padding=padding_of(teacher)).eval()
    gen = torch.Generator().manual_seed(seed)
    stages = stage_of_blocks(teacher)
    t_stem, s_stem = teacher.features[0], student.features[0]
    stem_map = _mapping(t_stem[0].out_channels, s_stem[0].out_channels, gen)
    _widen_rows(s_stem, t_stem, stem_map[0], None)
    t_blocks, s_blocks = inverted_residuals(teacher), inverted_residuals(student)
    stream_maps = [_mapping(t_blocks[stages.index(s)].out_channels, s_blocks[stages.index(s)].out_channels, gen)
                   for s in range(len(teacher.stages))]
    in_map = stem_map
    for i, (tb, sb) in enumerate(zip(t_blocks, s_blocks)):
        out_map = stream_maps[stages[i]]
        t_exp, s_exp = expansion(tb), expansion(sb)
        if t_exp is not None:
            hid_map = _mapping(t_exp[0].out_channels, s_exp[0].out_channels, gen)
            _widen_rows(s_exp, t_exp, hid_map[0], in_map)
        else:  # t = 1: the depthwise channels are the block's input channels
            hid_map = in_map
        _widen_rows(depthwise(sb), depthwise(tb), hid_map[0], None)
        _widen_rows(projection(sb), projection(tb), out_map[0], hid_map)
        in_map = out_map
    t_last, s_last = teacher.features[-1], student.features[-1]
    last_map = _mapping(t_last[0].out_channels, s_last[0].out_channels, gen)
    _widen_rows(s_last, t_last, last_map[0], in_map)
    t_fc, s_fc = teacher.classifier[-1], student.classifier[-1]
    s_fc.weight.copy_(t_fc.weight[:, last_map[0]] * last_map[1].view(1, -1))
    s_fc.bias.copy_(t_fc.bias)
    return student.eval()
