"""Structured pruning of MobileNetV2 to a narrower width: channels chosen by measured importance, then every
layer refit by least squares (:mod:`mnv2_core.models.refit`) so the pruned network reproduces the 1.0 on the kept
channels (see width_family)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from mnv2_core.models.mobilenetv2 import MobileNetV2, mobilenet_v2, padding_of
from mnv2_core.models.refit import copy_rows, pre_activation, refit_1x1, refit_depthwise
from mnv2_core.models.surgery import (
    bn_scale,
    depthwise,
    expansion,
    inverted_residuals,
    projection,
    stage_of_blocks,
)


@dataclass
class ChannelPlan:
    """Which of the 1.0's channels a narrower network keeps (indices, sorted)."""

    stem: torch.Tensor  # outputs of the first conv (= the first block's depthwise channels)
    streams: list[torch.Tensor]  # one residual-stream subset per stage
    hidden: list[torch.Tensor]  # expansion channels per block (the first block: the stem's)


@torch.no_grad()
def _importance(teacher: MobileNetV2, images: torch.Tensor, batch_size: int) -> tuple[list[torch.Tensor],
                                                                                          list[torch.Tensor]]:
    """Per block: hidden-channel contribution scores; per stage: stream-channel RMS (summed over its blocks)."""
    blocks, stages = inverted_residuals(teacher), stage_of_blocks(teacher)
    hidden_sq = [torch.zeros(depthwise(b)[0].out_channels, dtype=torch.float64) for b in blocks]
    stream_sq = [torch.zeros(b.out_channels, dtype=torch.float64) for b in blocks]
    count = 0
    for start in range(0, len(images), batch_size):
        x = teacher.features[0](images[start:start + batch_size])
        for i, block in enumerate(blocks):
            a = depthwise(block)(expansion(block)(x) if expansion(block) is not None else x)
            hidden_sq[i] += a.double().pow(2).mean((2, 3)).sum(0)
            x = block(x)
            stream_sq[i] += x.double().pow(2).mean((2, 3)).sum(0)
        count += len(x)
    hidden = []
    for block, sq in zip(blocks, hidden_sq):
        conv, bn = projection(block)
        outgoing = (conv.weight.detach()[:, :, 0, 0] * bn_scale(bn)[:, None]).double().norm(dim=0)
        hidden.append((sq / count).sqrt() * outgoing)
    streams = [torch.zeros_like(stream_sq[stages.index(s)]) for s in range(len(teacher.stages))]
    for i, s in enumerate(stages):
        streams[s] += (stream_sq[i] / count).sqrt()
    return hidden, streams


def _top(scores: torch.Tensor, k: int) -> torch.Tensor:
    return scores.topk(k).indices.sort().values


def plan_channels(teacher: MobileNetV2, student: MobileNetV2, images: torch.Tensor, *,
                  batch_size: int = 32) -> ChannelPlan:
    """Choose, from activations on ``images``, which of the teacher's channels each student layer keeps."""
    hidden_scores, stream_scores = _importance(teacher.eval(), images, batch_size)
    s_blocks = inverted_residuals(student)
    streams = [_top(stream_scores[s], s_blocks[stage_of_blocks(student).index(s)].out_channels)
               for s in range(len(student.stages))]
    hidden = [_top(score, depthwise(b)[0].out_channels) for score, b in zip(hidden_scores, s_blocks)]
    return ChannelPlan(stem=hidden[0], streams=streams, hidden=hidden)


# --------------------------------------------------------------------------------------------- least squares


@torch.no_grad()
def prune(teacher: MobileNetV2, width: float, images: torch.Tensor, *, batch_size: int = 32,
          per_image: int = 1024, seed: int = 0, refit: bool = True,
          log: Callable[[str], None] = lambda _: None) -> tuple[MobileNetV2, ChannelPlan]:
    """A ``mobilenet_v2(width)`` made of the teacher's most important channels, refit by least squares.

    ``images`` are normalised training photos [N, 3, H, W] (a few hundred is enough: each layer has at most
    961 unknowns per output and sees up to ``per_image`` pixels of every photo). With ``refit=False`` the kept
    channels are only copied (the "before" of the lesson).
    """
    teacher = teacher.eval()
    student = mobilenet_v2(width=width, num_classes=teacher.classifier[-1].out_features,
                           padding=padding_of(teacher)).eval()
    if student.last_channel != teacher.last_channel:
        raise ValueError(f"pruning keeps the last conv's {teacher.last_channel} channels; width {width} has "
                         f"{student.last_channel}")
    plan = plan_channels(teacher, student, images, batch_size=batch_size)
    gen = torch.Generator().manual_seed(seed)
    stages = stage_of_blocks(teacher)
    t_blocks, s_blocks = inverted_residuals(teacher), inverted_residuals(student)

    copy_rows(student.features[0], teacher.features[0], plan.stem)
    chunks = [images[i:i + batch_size] for i in range(0, len(images), batch_size)]
    t_in = [teacher.features[0](x) for x in chunks]  # the 1.0's activations at the current block boundary
    s_in = [t[:, plan.stem] for t in t_in]  # the pruned net's (exact here: the stem is copied)
    in_idx = plan.stem
    for i, (tb, sb) in enumerate(zip(t_blocks, s_blocks)):
        hid, out_idx = plan.hidden[i], plan.streams[stages[i]]
        t_exp, s_exp = expansion(tb), expansion(sb)
        t_dw, s_dw = depthwise(tb), depthwise(sb)
        (t_pc, t_pbn), (s_pc, s_pbn) = projection(tb), projection(sb)
        # Start from the kept slices of the 1.0's weights (the whole story when refit=False).
        if t_exp is not None:
            s_exp[0].weight.copy_(t_exp[0].weight[hid][:, in_idx])
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(s_exp[1], name).copy_(getattr(t_exp[1], name)[hid])
        copy_rows(s_dw, t_dw, hid)
        s_pc.weight.copy_(t_pc.weight[out_idx][:, hid])
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(s_pbn, name).copy_(getattr(t_pbn, name)[out_idx])

        if refit:
            def t_hidden(c: int) -> torch.Tensor:
                return t_exp(t_in[c]) if t_exp is not None else t_in[c]

            def s_hidden(c: int) -> torch.Tensor:
                return s_exp(s_in[c]) if s_exp is not None else s_in[c]

            if t_exp is not None:
                refit_1x1(s_exp[0], s_exp[1], lambda c: s_in[c],
                           lambda c: pre_activation(t_exp, t_in[c])[:, hid], len(chunks), per_image, gen)
            if t_exp is not None or i > 0:  # the first block's depthwise input is exact: nothing to correct
                refit_depthwise(s_dw, s_hidden, lambda c: pre_activation(t_dw, t_hidden(c))[:, hid],
                                 len(chunks), per_image, gen)

            def projection_target(c: int) -> torch.Tensor:
                projected = t_pbn(t_pc(t_dw(t_hidden(c))))[:, out_idx]
                if tb.use_res_connect:  # the block must bring the pruned stream to the 1.0's stream
                    return t_in[c][:, out_idx] + projected - s_in[c]
                return projected

            refit_1x1(s_pc, s_pbn, lambda c: s_dw(s_hidden(c)), projection_target, len(chunks), per_image, gen)
        t_in = [tb(x) for x in t_in]
        s_in = [sb(x) for x in s_in]
        in_idx = out_idx
        if refit:
            err = sum(float((t[:, out_idx] - s).pow(2).mean()) for t, s in zip(t_in, s_in)) / len(chunks)
            ref = sum(float(t[:, out_idx].pow(2).mean()) for t in t_in) / len(chunks)
            log(f"block {i + 1:2d}: relative error of the kept stream {err / max(ref, 1e-12):.4f}")

    t_last, s_last = teacher.features[-1], student.features[-1]
    s_last[0].weight.copy_(t_last[0].weight[:, in_idx])
    for name in ("weight", "bias", "running_mean", "running_var"):
        getattr(s_last[1], name).copy_(getattr(t_last[1], name))
    if refit:
        refit_1x1(s_last[0], s_last[1], lambda c: s_in[c], lambda c: pre_activation(t_last, t_in[c]),
                   len(chunks), per_image, gen)
    student.classifier.load_state_dict(teacher.classifier.state_dict())
    return student.eval(), plan
