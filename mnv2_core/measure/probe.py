"""What every measurement needs: a checked input size, a fixed example input, and eval mode for the duration."""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch
from torch import nn

Resolution = int | tuple[int, int]


class BenchError(ValueError):
    """A measuring request that cannot be honoured (bad size, bad run count); the message is for the user."""


def hw(resolution: Resolution) -> tuple[int, int]:
    if isinstance(resolution, int):
        h = w = resolution
    else:
        try:
            h, w = (int(v) for v in resolution)
        except (TypeError, ValueError):
            raise BenchError(f"The resolution must be a number or a (height, width) pair, got {resolution!r}.") from None
    if h < 1 or w < 1:
        raise BenchError(f"The resolution must be positive, got {h}x{w}.")
    return h, w


def example_input(resolution: Resolution, in_channels: int, model: nn.Module | None = None) -> torch.Tensor:
    h, w = hw(resolution)
    param = next(model.parameters(), None) if model is not None else None
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    device = param.device if param is not None else torch.device("cpu")
    # A fixed generator keeps repeated measurements comparable; the values themselves do not matter for cost.
    gen = torch.Generator().manual_seed(0)
    return torch.randn(1, in_channels, h, w, generator=gen).to(device=device, dtype=dtype)


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode for the duration, then give the caller back the mode it had (a training loop may be measuring)."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def check_runs(model: nn.Module, x: torch.Tensor) -> None:
    try:
        model(x)
    except RuntimeError as exc:  # shape mismatches are the user's choice of size/channels, not a bug
        raise BenchError(f"The model cannot run on a {tuple(x.shape[1:])} input: {str(exc).splitlines()[0]}") from exc
