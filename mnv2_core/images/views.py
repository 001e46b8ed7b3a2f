"""An upright RGB image -> exactly what the model sees: the resized centre crop, and that crop as a normalised tensor.

A model's weights say how they expect to be fed with a :class:`Preprocess` (resolution, crop ratio, mean, std), as
torchvision's weights carry their ``ImageClassification`` transform. The one place the ImageNet mean and std are
written down (torchvision's weights use them; the TFLite import uses ``x / 127.5 - 1``, carried by its weights).
Imports torch lazily: decoding and cropping need none.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from mnv2_core.images.decode import DecodedImage, to_rgb

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


RESAMPLING = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC}


def center_crop_view(image: Image.Image | DecodedImage, size: int = 224, resize: int | None = None,
                     interpolation: str = "bilinear") -> Image.Image:
    """Exactly what the model sees: shorter side -> ``resize`` (default size*256/224), then a centre crop.

    Matches torchvision's ``Resize(resize)`` + ``CenterCrop(size)`` on PIL images (Pillow's filters widen their
    support when shrinking, i.e. they antialias).
    """
    if isinstance(image, DecodedImage):
        image = image.image
    if image.mode != "RGB":
        image = to_rgb(image)
    resize = Preprocess(size).resize if resize is None else resize
    if resize < size:
        raise ValueError(f"resize ({resize}) must be at least the crop size ({size})")
    w, h = image.size
    if w <= h:
        new_w, new_h = resize, int(resize * h / w)
    else:
        new_w, new_h = int(resize * w / h), resize
    if (new_w, new_h) != (w, h):
        image = image.resize((new_w, new_h), RESAMPLING[interpolation])
    left = int(round((new_w - size) / 2.0))
    top = int(round((new_h - size) / 2.0))
    return image.crop((left, top, left + size, top + size))


def to_tensor(
    image: Image.Image | DecodedImage,
    size: int = 224,
    mean: tuple[float, float, float] = IMAGENET_MEAN,
    std: tuple[float, float, float] = IMAGENET_STD,
    resize: int | None = None,
    interpolation: str = "bilinear",
):
    """The model input: a [1, 3, size, size] float32 tensor from ``center_crop_view``, normalised by mean/std."""
    import torch

    view = center_crop_view(image, size=size, resize=resize, interpolation=interpolation)
    arr = np.asarray(view, dtype=np.float32) * np.float32(1.0 / 255.0)
    arr = (arr - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    chw = np.ascontiguousarray(arr.transpose(2, 0, 1))[None]
    return torch.from_numpy(chw)


@dataclass(frozen=True)
class Preprocess:
    """How a model's weights expect an image: shorter side to ``resolution / crop_ratio``, centre crop
    ``resolution``, then ``(x / 255 - mean) / std``. The defaults are torchvision's ImageNet ones (224 of 256)."""

    resolution: int = 224
    crop_ratio: float = 224 / 256
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    interpolation: str = "bilinear"  # or "bicubic" (torchvision's EfficientNet weights)

    @property
    def resize(self) -> int:
        """The shorter side before the centre crop (256 for 224)."""
        return round(self.resolution / self.crop_ratio)

    def at(self, resolution: int) -> Preprocess:
        """The same recipe at another resolution (a train crop, a test resolution)."""
        return replace(self, resolution=int(resolution))

    def view(self, image: Image.Image | DecodedImage) -> Image.Image:
        """Exactly what the model sees, as a picture."""
        return center_crop_view(image, self.resolution, self.resize, self.interpolation)

    def tensor(self, image: Image.Image | DecodedImage):
        """The model input: a [1, 3, resolution, resolution] float32 tensor."""
        return to_tensor(image, self.resolution, self.mean, self.std, self.resize, self.interpolation)

    def normalize(self, batch):
        """A uint8 [N, 3, H, W] batch (already cropped) -> the model's float input."""
        import torch

        mean = torch.tensor(self.mean, device=batch.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=batch.device).view(1, 3, 1, 1)
        return (batch.float().div_(255) - mean) / std

    def as_dict(self) -> dict:
        return {"resolution": self.resolution, "crop_ratio": self.crop_ratio, "mean": list(self.mean),
                "std": list(self.std),
                "interpolation": self.interpolation}


PREVIEW_SIDE = 640  # wider than the page's photo column on a 1920 px screen; a phone photo is 4000 px or more


def preview(image: Image.Image, max_side: int = PREVIEW_SIDE) -> Image.Image:
    """A copy at most ``max_side`` px on its longer side, to show: the browser would scale a full-size photo down
    anyway, after the server had encoded, and the browser fetched and decoded, every pixel of it."""
    if max(image.size) <= max_side:
        return image
    copy = image.copy()
    copy.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    return copy
