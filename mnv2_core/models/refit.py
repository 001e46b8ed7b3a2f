"""The least-squares half of pruning: refit a narrower layer so that, fed the pruned network's own inputs, it
reproduces the wide network's pre-activations on the kept channels (normal equations accumulated over sampled
pixels, then solved once; depthwise layers per channel over their 3x3 patches)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from mnv2_core.models.mobilenetv2 import ConvBNActivation, TFSamePadConv2d
from mnv2_core.models.surgery import bn_scale, set_affine


class _NormalEquations:
    """Accumulates X^T X and X^T Y (X with a column of ones) in float64; solves ridge-regularised least squares."""

    def __init__(self, inputs: int, outputs: int) -> None:
        self.xtx = torch.zeros(inputs + 1, inputs + 1, dtype=torch.float64)
        self.xty = torch.zeros(inputs + 1, outputs, dtype=torch.float64)

    def add(self, x: torch.Tensor, y: torch.Tensor) -> None:
        x = torch.cat([x.double(), torch.ones(len(x), 1, dtype=torch.float64)], 1)
        self.xtx += x.T @ x
        self.xty += x.T @ y.double()

    def solve(self, prior: torch.Tensor, ridge: float = 1e-4) -> tuple[torch.Tensor, torch.Tensor]:
        """(weight [out, in], bias [out]), pulled gently towards ``prior`` [out, in] (the copied weights), which
        also decides the weights of inputs that never fire on the photos."""
        n = self.xtx.shape[0] - 1
        lam = ridge * float(self.xtx.diagonal()[:n].mean().clamp_min(1e-8))
        reg = torch.zeros_like(self.xtx)
        reg.diagonal()[:n] = lam
        rhs = self.xty.clone()
        rhs[:n] += lam * prior.T.double()
        solution = torch.linalg.solve(self.xtx + reg, rhs)
        return solution[:n].T.float(), solution[n].float()


def _pixels(t: torch.Tensor, pick: torch.Tensor | None) -> torch.Tensor:
    """[N, C, H, W] -> [rows, C], every pixel or the sampled flat positions ``pick``."""
    flat = t.permute(0, 2, 3, 1).reshape(-1, t.shape[1])
    return flat if pick is None else flat[pick]


def _sample(n: int, h: int, w: int, per_image: int, gen: torch.Generator) -> torch.Tensor | None:
    if h * w <= per_image:
        return None
    positions = torch.randint(0, h * w, (n, per_image), generator=gen)
    return (positions + torch.arange(n)[:, None] * h * w).reshape(-1)


def _patches(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """Depthwise input patches [N, C, k*k, L] exactly as ``conv`` sees them (TF 'SAME' or symmetric padding)."""
    if isinstance(conv, TFSamePadConv2d):
        pads: list[int] = []
        for size, k, s in zip(reversed(x.shape[-2:]), reversed(conv.kernel_size), reversed(conv.stride)):
            total = max((-(-size // s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        x, padding = F.pad(x, pads), 0
    else:
        padding = conv.padding
    cols = F.unfold(x, conv.kernel_size, padding=padding, stride=conv.stride)
    k2 = conv.kernel_size[0] * conv.kernel_size[1]
    return cols.view(x.shape[0], x.shape[1], k2, -1)


def pre_activation(layer: ConvBNActivation, x: torch.Tensor) -> torch.Tensor:
    return layer[1](layer[0](x))


@torch.no_grad()
def refit_1x1(conv: nn.Conv2d, bn: nn.BatchNorm2d, inputs: Callable[[int], torch.Tensor],
               targets: Callable[[int], torch.Tensor], chunks: int, per_image: int, gen: torch.Generator) -> None:
    """Solve ``bn(conv(x))`` (a 1x1 conv + bias) so that it matches ``targets`` from the student's ``inputs``."""
    eq = None
    for c in range(chunks):
        x, y = inputs(c), targets(c)
        pick = _sample(x.shape[0], x.shape[2], x.shape[3], per_image, gen)
        if eq is None:
            eq = _NormalEquations(x.shape[1], y.shape[1])
        eq.add(_pixels(x, pick), _pixels(y, pick))
    weight, bias = eq.solve(conv.weight[:, :, 0, 0] * bn_scale(bn)[:, None])
    conv.weight.copy_(weight[:, :, None, None])
    set_affine(bn, bias)


@torch.no_grad()
def refit_depthwise(layer: ConvBNActivation, inputs: Callable[[int], torch.Tensor],
                     targets: Callable[[int], torch.Tensor], chunks: int, per_image: int,
                     gen: torch.Generator) -> None:
    """Solve each depthwise 3x3 kernel and its bias on its own channel (10 unknowns per channel)."""
    conv = layer[0]
    xtx = xty = None
    for c in range(chunks):
        x, y = inputs(c), targets(c)
        patches = _patches(conv, x)  # [N, C, 9, L]
        n, ch, k2, positions = patches.shape
        y = y.reshape(n, ch, -1)
        if positions > per_image:
            pick = torch.randint(0, positions, (per_image,), generator=gen)
            patches, y = patches[..., pick], y[..., pick]
        p = torch.cat([patches, torch.ones(n, ch, 1, patches.shape[-1])], 2).double()
        a = torch.einsum("nckl,ncjl->ckj", p, p)
        b = torch.einsum("nckl,ncl->ck", p, y.double())
        xtx, xty = (a, b) if xtx is None else (xtx + a, xty + b)
    # Ridge towards the copied kernel: a channel that never fires on the photos keeps it.
    diag = torch.arange(k2)
    lam = 1e-4 * xtx[:, diag, diag].mean().clamp_min(1e-8)
    reg = torch.zeros_like(xtx)
    reg[:, diag, diag] = lam
    prior = (conv.weight.view(ch, k2) * bn_scale(layer[1])[:, None]).double()
    rhs = xty.clone()
    rhs[:, :k2] += lam * prior
    solution = torch.linalg.solve(xtx + reg, rhs.unsqueeze(-1)).squeeze(-1).float()  # [C, 10]
    conv.weight.copy_(solution[:, :k2].view_as(conv.weight))
    set_affine(layer[1], solution[:, k2])


def copy_rows(dst: ConvBNActivation, src: ConvBNActivation, rows: torch.Tensor) -> None:
    with torch.no_grad():
        dst[0].weight.copy_(src[0].weight[rows])
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(dst[1], name).copy_(getattr(src[1], name)[rows])
