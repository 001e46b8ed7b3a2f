"""Photos as a phone takes them: the augmentation that trains for them and the proxy that measures them.

Oxford-102 photos are tidy: one flower, centred, filling the frame, well exposed. A student's phone photo is not:
the flower is small or off-centre, the phone is tilted, focus and white balance are off, and the file went through
JPEG once more. :func:`phone_like` draws one such distortion per image from a seeded generator (so training stays
repeatable and resumable), on uint8 CHW tensors:

- framing: a random-resized crop (scale 0.15..1, off-centre), or a zoom-out that pastes the shrunken photo into a
  blurred copy of itself, so that the flower covers a small part of the frame;
- a tilt of up to 25 degrees (cropped inside the rotated frame, so no black corners);
- colour: brightness, contrast, saturation and a per-channel gain (a white-balance cast);
- optics: Gaussian blur (focus, motion) or a downscale (a low-resolution or digitally zoomed photo);
- sensor noise, then JPEG at quality 30..90.

The **phone proxy** is the test split with one fixed draw of these distortions per image (seed = image index), then
the app's own centre-crop view: a measurable stand-in for real photos from outside the dataset, reported beside the
clean test split. The proxy's seeds never meet training, which draws from its own generator.
"""

from __future__ import annotations

import math

import torch
from torchvision.transforms.v2 import functional as TF

CROP_SCALE = (0.15, 1.0)
CROP_RATIO = (3 / 4, 4 / 3)
MAX_TILT_DEGREES = 25.0
PROXY_SEED = 20261125  # fixed: the proxy is the same set of distorted images in every run


def _u(gen: torch.Generator, low: float = 0.0, high: float = 1.0) -> float:
    return low + (high - low) * float(torch.rand(1, generator=gen))


def _crop(image: torch.Tensor, gen: torch.Generator) -> tuple[int, int, int, int]:
    """A random-resized crop box (top, left, h, w) with scale in CROP_SCALE, anywhere in the frame."""
    _, height, width = image.shape
    for _ in range(10):
        area = height * width * _u(gen, *CROP_SCALE)
        ratio = math.exp(_u(gen, math.log(CROP_RATIO[0]), math.log(CROP_RATIO[1])))
        w, h = round(math.sqrt(area * ratio)), round(math.sqrt(area / ratio))
        if 0 < w <= width and 0 < h <= height:
            return int(_u(gen) * (height - h + 1)), int(_u(gen) * (width - w + 1)), h, w
    side = min(height, width)
    return (height - side) // 2, (width - side) // 2, side, side


def _zoom_out(square: torch.Tensor, size: int, gen: torch.Generator) -> torch.Tensor:
    """The photo shrunk to 45..85% of the frame at a random place, on a heavily blurred copy of itself."""
    background = TF.gaussian_blur(TF.resize(square, [size // 8, size // 8], antialias=True), [5, 5], [3.0, 3.0])
    canvas = TF.resize(background, [size, size], antialias=True)
    inner = max(8, round(size * _u(gen, 0.45, 0.85)))
    top, left = int(_u(gen) * (size - inner + 1)), int(_u(gen) * (size - inner + 1))
    canvas[:, top:top + inner, left:left + inner] = TF.resize(square, [inner, inner], antialias=True)
    return canvas


def phone_like(image: torch.Tensor, size: int, gen: torch.Generator) -> torch.Tensor:
    """One phone-photo distortion of ``image`` (uint8 [3, H, W]) as a uint8 [3, size, size] tensor."""
    tilt = _u(gen, -MAX_TILT_DEGREES, MAX_TILT_DEGREES) if _u(gen) < 0.5 else 0.0
    # Render larger than needed, rotate, then keep the centre square that the rotated frame covers fully.
    cover = abs(math.cos(math.radians(tilt))) + abs(math.sin(math.radians(tilt)))
    render = math.ceil(size * cover)
    top, left, h, w = _crop(image, gen)
    view = TF.resized_crop(image, top, left, h, w, [render, render], antialias=True)
    if _u(gen) < 0.25:
        view = _zoom_out(view, render, gen)
    if tilt:
        view = TF.center_crop(TF.rotate(view, tilt, interpolation=TF.InterpolationMode.BILINEAR), [size, size])
    elif render != size:
        view = TF.center_crop(view, [size, size])
    if _u(gen) < 0.5:
        view = TF.horizontal_flip(view)

    x = view.float()
    if _u(gen) < 0.8:  # exposure, contrast, saturation, white-balance cast
        x = x * _u(gen, 0.7, 1.3)
        mean = x.mean()
        x = (x - mean) * _u(gen, 0.7, 1.3) + mean
        grey = x.mean(0, keepdim=True)
        x = (x - grey) * _u(gen, 0.6, 1.4) + grey
        x = x * torch.tensor([_u(gen, 0.85, 1.15) for _ in range(3)]).view(3, 1, 1)
    x = x.clamp(0, 255)
    optics = _u(gen)
    if optics < 0.25:
        sigma = _u(gen, 0.5, 2.0)
        k = 2 * math.ceil(2 * sigma) + 1
        x = TF.gaussian_blur(x, [k, k], [sigma, sigma])
    elif optics < 0.4:
        small = max(16, round(size * _u(gen, 0.3, 0.7)))
        x = TF.resize(TF.resize(x, [small, small], antialias=True), [size, size], antialias=True)
    if _u(gen) < 0.2:
        x = x + torch.randn(x.shape, generator=gen) * _u(gen, 2.0, 8.0)
    out = x.round().clamp(0, 255).to(torch.uint8)
    if _u(gen) < 0.6:
        out = TF.jpeg(out, round(_u(gen, 30, 90)))
    return out


def phone_batch(images: list[torch.Tensor], index: torch.Tensor, size: int, gen: torch.Generator) -> torch.Tensor:
    """uint8 [B, 3, size, size]: one :func:`phone_like` draw for each indexed image."""
    out = torch.empty(len(index), 3, size, size, dtype=torch.uint8)
    for row, i in enumerate(index.tolist()):
        out[row] = phone_like(images[i], size, gen)
    return out


def proxy_image(image: torch.Tensor, index: int, size: int = 224) -> torch.Tensor:
    """The phone proxy's version of test image number ``index``: the same distortion in every run.

    The distortion is drawn at the photo's own short side, then the app's view (short side to size*256/224,
    centre crop) is taken, as for an upload.
    """
    from PIL import Image

    from mnv2_core.images.views import center_crop_view

    gen = torch.Generator().manual_seed(PROXY_SEED + index)
    photo = phone_like(image, min(image.shape[1:]), gen)
    view = center_crop_view(Image.fromarray(photo.permute(1, 2, 0).numpy()), size)
    return TF.pil_to_tensor(view)


def proxy_bank(samples, size: int = 224, *, desc: str = "phone proxy"):
    """The phone proxy of a split (``[(path, label)]``) as an :class:`~mnv2_core.images.augment.ImageBank` of views."""
    from mnv2_core.images.augment import ImageBank
    from mnv2_core.images.flowers import load_rgb
    from mnv2_core.progress import track

    views = []
    for index, (path, _) in enumerate(track(samples, desc)):
        views.append(proxy_image(TF.pil_to_tensor(load_rgb(path)), index, size))
    return ImageBank(views, torch.tensor([label for _, label in samples], dtype=torch.long), size)
