"""An upright RGB image -> exactly what the model sees: the resized centre crop, and that crop as a normalised tensor.

The one place the ImageNet mean and std are written down (torchvision's weights use them; the TFLite import uses
``x / 127.5 - 1``, carried by its weights' metadata). Imports torch lazily: decoding and cropping need none.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from mnv2_core.images.decode import DecodedImage, to_rgb

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def center_crop_view(image: Image.Image | DecodedImage, size: int = 224, resize: int | None = None) -> Image.Image:
    """Exactly what the model sees: shorter side -> ``resize`` (default size*256/224), bilinear, centre crop.

    Matches torchvision's ``Resize(resize)`` + ``CenterCrop(size)`` on PIL images (Pillow's bilinear filter
    widens its support when shrinking, i.e. it antialiases).
    """
    if isinstance(image, DecodedImage):
        image = image.image
    if image.mode != "RGB":
        image = to_rgb(image)
    resize = round(size * 256 / 224) if resize is None else resize
    if resize < size:
        raise ValueError(f"resize ({resize}) must be at least the crop size ({size})")
    w, h = image.size
    if w <= h:
        new_w, new_h = resize, int(resize * h / w)
    else:
        new_w, new_h = int(resize * w / h), resize
    if (new_w, new_h) != (w, h):
        image = image.resize((new_w, new_h), Image.Resampling.BILINEAR)
    left = int(round((new_w - size) / 2.0))
    top = int(round((new_h - size) / 2.0))
    return image.crop((left, top, left + size, top + size))


def to_tensor(
    image: Image.Image | DecodedImage,
    size: int = 224,
    mean: tuple[float, float, float] = IMAGENET_MEAN,
    std: tuple[float, float, float] = IMAGENET_STD,
    resize: int | None = None,
):
    """The model input: a [1, 3, size, size] float32 tensor from ``center_crop_view``, normalised by mean/std."""
    import torch

    view = center_crop_view(image, size=size, resize=resize)
    arr = np.asarray(view, dtype=np.float32) * np.float32(1.0 / 255.0)
    arr = (arr - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    chw = np.ascontiguousarray(arr.transpose(2, 0, 1))[None]
    return torch.from_numpy(chw)
