"""Calibration photos for INT8: one picker (real training photos spread over the classes) and one decoder (the
app's own, so that activation ranges are measured on inputs prepared exactly as an upload is)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image

if TYPE_CHECKING:
    from mnv2_core.images.views import Preprocess

CALIBRATION_IMAGES = 32  # one photo from each of 32 classes of the training split


class QuantizationError(ValueError):
    """A model could not be quantized; the message is one sentence a user can act on."""


def calibration_paths(count: int = CALIBRATION_IMAGES, split: str = "train") -> list[Path]:
    """``count`` real flower photos spread over the classes of ``split`` (deterministic: the same every run)."""
    from mnv2_core import config
    from mnv2_core.images.flowers import FlowerDataError, flower_samples, spread_over_classes

    root = config.data_dir()
    try:
        return [path for path, _ in spread_over_classes(flower_samples(root, split), count)]
    except FlowerDataError:
        raise QuantizationError(f"INT8 calibration needs real photos, and none were found in {root / split} "
                                "(set MNV2_DATA to the Oxford-102 folder)") from None


def calibration_batches(paths: Sequence[Path], transform: Callable[[Image.Image], torch.Tensor],
                        batch_size: int = 16) -> Iterator[torch.Tensor]:
    """Decode each photo as the app does, apply ``transform`` (giving [3,H,W] or [1,3,H,W]), yield stacked batches."""
    from mnv2_core.images.decode import ImageDecodeError, load_path

    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    pending: list[torch.Tensor] = []
    for path in paths:
        try:
            image = load_path(path).image
        except (OSError, ImageDecodeError) as exc:
            raise QuantizationError(f"cannot read calibration image {path} ({exc})") from exc
        tensor = transform(image)
        pending.append(tensor[0] if tensor.dim() == 4 else tensor)
        if len(pending) == batch_size:
            yield torch.stack(pending)
            pending = []
    if pending:
        yield torch.stack(pending)


def calibration_tensors(preprocess: Preprocess, count: int = CALIBRATION_IMAGES) -> list[torch.Tensor]:
    """Batches of ``count`` calibration photos as the model's input (PyTorch INT8, BN re-estimation)."""
    return list(calibration_batches(calibration_paths(count), preprocess.tensor))


def calibration_arrays(paths: Sequence[Path], preprocess: Preprocess) -> list[np.ndarray]:
    """One [1, 3, H, W] float32 array per photo (ONNX Runtime's calibration reader takes one image per call)."""
    return [batch.numpy() for batch in calibration_batches(paths, preprocess.tensor, batch_size=1)]
