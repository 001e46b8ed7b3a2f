"""Training images held in memory as uint8 tensors, and the batch augmentation that feeds the training loop.

Decoding a JPEG costs more than a training step of a small network on two cores, so every training image is
decoded once (through the app's own decoder: EXIF rotation, RGB) and kept at a short side a little above the crop
size. Each epoch then draws ImageNet-style random-resized crops and horizontal flips from those tensors with one
seeded generator, which makes a run repeatable and resumable to the bit on the same machine. Normalisation happens
last, per model, so a student and its teacher can each see the inputs their weights expect.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torchvision.transforms.v2 import functional as TF

from mnv2_core.images.flowers import load_rgb

CROP_SCALE = (0.25, 1.0)  # ImageNet uses (0.08, 1); a 6.5k-image set with centred flowers keeps more of each one
CROP_RATIO = (3 / 4, 4 / 3)


@dataclass
class ImageBank:
    """Decoded images of one split (uint8, CHW, short side ``short_side``) and their labels."""

    images: list[torch.Tensor]
    labels: torch.Tensor
    short_side: int

    def __len__(self) -> int:
        return len(self.images)


def load_bank(samples: list[tuple[Path, int]], short_side: int, *, eval_crop: int | None = None,
              desc: str = "decode") -> ImageBank:
    """Decode every sample once and resize it so that its shorter side is ``short_side`` pixels.

    With ``eval_crop`` each image is stored as the app's own centre-crop view at that size
    (``preprocess.center_crop_view``), so that validation scores exactly what the app and the test split see.
    """
    from PIL import Image

    from mnv2_core.progress import track

    from mnv2_core.images.views import center_crop_view

    images = []
    for path, _ in track(samples, desc):
        image = load_rgb(path)
        if eval_crop is not None:
            image = center_crop_view(image, eval_crop, resize=short_side)
        elif (scale := short_side / min(image.size)) != 1:
            size = (max(short_side, round(image.width * scale)), max(short_side, round(image.height * scale)))
            image = image.resize(size, Image.Resampling.BILINEAR)
        images.append(TF.pil_to_tensor(image))
    return ImageBank(images, torch.tensor([label for _, label in samples], dtype=torch.long), short_side)


def _crop_box(height: int, width: int, gen: torch.Generator) -> tuple[int, int, int, int]:
    """One RandomResizedCrop box (top, left, h, w), drawn from ``gen`` (torchvision's algorithm, seeded)."""
    area = height * width
    log_ratio = (math.log(CROP_RATIO[0]), math.log(CROP_RATIO[1]))
    for _ in range(10):
        u = torch.rand(3, generator=gen).tolist()
        target = area * (CROP_SCALE[0] + u[0] * (CROP_SCALE[1] - CROP_SCALE[0]))
        ratio = math.exp(log_ratio[0] + u[1] * (log_ratio[1] - log_ratio[0]))
        w, h = round(math.sqrt(target * ratio)), round(math.sqrt(target / ratio))
        if 0 < w <= width and 0 < h <= height:
            top = int(u[2] * (height - h + 1))
            left = int(torch.randint(0, width - w + 1, (1,), generator=gen))
            return top, left, h, w
    side = min(height, width)  # fallback: the central square, as torchvision does for extreme ratios
    return (height - side) // 2, (width - side) // 2, side, side


def train_batch(bank: ImageBank, index: torch.Tensor, size: int, gen: torch.Generator) -> torch.Tensor:
    """uint8 [B, 3, size, size]: a random-resized crop and a coin-flip mirror of each indexed image."""
    out = torch.empty(len(index), 3, size, size, dtype=torch.uint8)
    for row, i in enumerate(index.tolist()):
        image = bank.images[i]
        top, left, h, w = _crop_box(image.shape[1], image.shape[2], gen)
        crop = TF.resized_crop(image, top, left, h, w, [size, size], antialias=True)
        out[row] = TF.horizontal_flip(crop) if bool(torch.rand(1, generator=gen) < 0.5) else crop
    return out


def eval_batch(bank: ImageBank, index: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 [B, 3, size, size] from a bank loaded with ``eval_crop=size``."""
    images = [bank.images[i] for i in index.tolist()]
    if any(im.shape[1:] != (size, size) for im in images):
        raise ValueError(f"this bank does not hold {size} px centre crops; load it with eval_crop={size}")
    return torch.stack(images)
