"""Uploaded bytes -> upright RGB PIL image.

Phone photos arrive sideways (EXIF orientation), as HEIC, as 12 MP JPEGs, with alpha, in 16-bit grey or CMYK,
and sometimes as PDFs renamed to .jpg. ``decode_image`` handles all of these from the bytes alone (the browser's
MIME type and the file name are not trusted) and turns every failure a user can cause into one
``ImageDecodeError`` sentence. This module imports neither torch nor streamlit.
"""

from __future__ import annotations

import io
import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, features

from mnv2_core.images.sniff import sniff

_BASE_FORMATS: tuple[str, ...] = ("jpg", "jpeg", "png", "webp", "heic", "heif", "bmp", "tif", "tiff", "gif")
# AVIF decodes through Pillow's own plugin when the wheel has it (Pillow >= 11.3); the uploader only offers it then.
SUPPORTED_FORMATS: tuple[str, ...] = _BASE_FORMATS + (("avif",) if features.check("avif") else ())


_FRIENDLY_LIST = "JPEG, PNG, WebP, HEIC, BMP, TIFF or GIF"
_ORIENTATION_TAG = 0x0112
_SWAPPING_ORIENTATIONS = {5, 6, 7, 8}  # transpose/rotate 90/270: width and height trade places


class ImageDecodeError(ValueError):
    """An upload that cannot be turned into an image; ``str()`` is one sentence fit for the UI."""


@dataclass(frozen=True)
class DecodedImage:
    """A decoded upload: the upright RGB image plus what the UI may want to say about it."""

    image: Image.Image  # RGB, upright, possibly reduced (see decode_image's min_side)
    format: str  # detected from the bytes: "JPEG", "PNG", "WEBP", "HEIF", "AVIF", "BMP", "TIFF", "GIF"
    original_size: tuple[int, int]  # (w, h) upright, before any reduction
    exif_rotated: bool  # True if an EXIF orientation other than 1 was applied


# ------------------------------------------------------------------------------------------------ HEIF plugin

_heif_lock = threading.Lock()
_heif_registered = False


def _ensure_heif_opener() -> None:
    """Register pillow-heif once, on the first HEIC upload, so apps that never see one never import it."""
    global _heif_registered
    with _heif_lock:
        if _heif_registered:
            return
        try:
            import pillow_heif
        except ImportError as exc:
            raise ImageDecodeError(
                "HEIC/HEIF photos need the pillow-heif package (pip install pillow-heif); "
                "please install it or upload a JPEG instead."
            ) from exc
        pillow_heif.register_heif_opener()
        _heif_registered = True


# ----------------------------------------------------------------------------------------------- mode handling


def _flatten_on_white(im: Image.Image) -> Image.Image:
    rgba = im.convert("RGBA")
    out = Image.new("RGB", rgba.size, (255, 255, 255))
    out.paste(rgba, mask=rgba.getchannel("A"))
    return out


def _high_bit_depth_to_l(im: Image.Image) -> Image.Image:
    """16/32-bit integer or float grey -> 8-bit L by scaling, because Pillow's convert() clips to white."""
    arr = np.asarray(im)
    if im.mode.startswith("I;16"):
        scaled = arr.astype(np.float32) / 257.0
    else:
        arr = arr.astype(np.float64)
        lo, hi = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 0.0)
        if im.mode == "F" and lo >= 0.0 and hi <= 1.0:
            scaled = arr * 255.0
        elif im.mode == "I" and lo >= 0.0 and hi <= 255.0:
            scaled = arr
        elif im.mode == "I" and lo >= 0.0 and hi <= 65535.0:
            scaled = arr / 257.0  # a 16-bit image held in a 32-bit container
        else:
            scaled = (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(arr)
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), mode="L")


def to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode -> 8-bit RGB; transparency becomes white, not black."""
    mode = im.mode
    if mode == "RGB" and "transparency" not in im.info:
        return im
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        if mode.startswith(("I", "F")):  # a colour key on high-bit-depth grey: rare, drop it
            return _high_bit_depth_to_l(im).convert("RGB")
        return _flatten_on_white(im)
    if mode.startswith(("I", "F")):
        return _high_bit_depth_to_l(im).convert("RGB")
    return im.convert("RGB")  # L, 1, P, CMYK, YCbCr, ...


# ------------------------------------------------------------------------------------------------------ decode


def _exif_orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:  # a broken EXIF block must not make a good photo unreadable
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _orientation(im: Image.Image) -> int:
    """The orientation the file was stored with, including one a plugin has already applied and reset."""
    # pillow-heif lets libheif rotate, resets EXIF to 1 and keeps the original value here
    value = im.info.get("original_orientation")
    if isinstance(value, int) and 2 <= value <= 8:
        return value
    return _exif_orientation(im)


# The model's view needs a 256 px short side (resize 256, centre crop 224); decoding more only costs time. For a 12 MP
# JPEG this selects libjpeg's 1/8 DCT scaling, the fastest decode there is.
DECODE_MIN_SIDE = 256


def decode_image(data: bytes, *, max_pixels: int = 90_000_000, min_side: int = DECODE_MIN_SIDE) -> DecodedImage:
    """Decode uploaded bytes into an upright RGB image.

    The format comes from the magic bytes. Images over ``max_pixels`` (width x height in the header) are refused
    before any pixel is decoded. Large images are reduced while decoding (JPEG DCT scaling via ``draft``, a box
    ``reduce`` otherwise) but never below ``min_side`` px on the shorter side; ``min_side <= 0`` keeps full size.
    Raises ImageDecodeError (a ValueError) with one sentence for the user on anything that is not a readable image.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"decode_image expects bytes, got {type(data).__name__}")
    data = bytes(data)
    if not data:
        raise ImageDecodeError("The file is empty (0 bytes); please upload the photo again.")
    fmt, description = sniff(data[:64])
    if fmt is None:
        raise ImageDecodeError(f"This file is {description}; please upload a {_FRIENDLY_LIST} photo.")
    if fmt == "HEIF":
        _ensure_heif_opener()
    elif fmt == "AVIF" and not features.check("avif"):
        raise ImageDecodeError(
            f"AVIF images are not supported by this installation; please upload a {_FRIENDLY_LIST} photo."
        )
    try:
        with warnings.catch_warnings():
            # our own max_pixels check replaces Pillow's global bomb warning (and its -W error escalation)
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")  # "Corrupt EXIF data" noise
            return _decode(data, fmt, max_pixels, min_side)
    except ImageDecodeError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageDecodeError(_too_large_message(None, max_pixels)) from exc
    except MemoryError as exc:
        raise ImageDecodeError("This image is too large to decode in the memory available here.") from exc
    except Exception as exc:  # Pillow plugins raise OSError, SyntaxError, struct.error, EOFError, ... on bad data
        raise ImageDecodeError(
            f"This {_pretty(fmt)} file is damaged or incomplete and cannot be decoded; please upload it again."
        ) from exc


RESIZED_SIDE = 256  # the largest short side the app resizes a photo to before its centre crop


def _pretty(fmt: str) -> str:
    return {"HEIF": "HEIC/HEIF", "WEBP": "WebP"}.get(fmt, fmt)


def _too_large_message(size: tuple[int, int] | None, max_pixels: int) -> str:
    limit = f"{max_pixels / 1e6:.0f} megapixels"
    if size is None:
        return f"This image is too large to process (the limit is {limit}); please upload a smaller photo."
    w, h = size
    return (
        f"This image is too large to process ({w} x {h} = {w * h / 1e6:.0f} megapixels, the limit is {limit}); "
        "please upload a smaller photo."
    )


def _decode(data: bytes, fmt: str, max_pixels: int, min_side: int) -> DecodedImage:
    im = Image.open(io.BytesIO(data), formats=[fmt])  # header only; restricted to the sniffed format
    w, h = im.size
    if w <= 0 or h <= 0:
        raise ImageDecodeError(f"This {_pretty(fmt)} file says it has no pixels ({w} x {h}); it is damaged.")
    if w * h > max_pixels:
        raise ImageDecodeError(_too_large_message((w, h), max_pixels))
    most = max_pixels // RESIZED_SIDE**2  # longest side : shortest side that stays under the limit once resized
    if max(w, h) > most * min(w, h):  # a 100-byte 1 x 90000 strip, resized, would fill the memory
        raise ImageDecodeError(f"This image is {w} x {h} pixels, too long and thin to be a photo (at most "
                               f"{most}:1); please crop it.")

    orientation = _orientation(im)
    if fmt == "JPEG" and min_side > 0 and min(w, h) >= 2 * min_side:
        # DCT-domain scaling (1/2, 1/4, 1/8): keeps both sides >= min_side and makes a 12 MP photo several x faster
        im.draft("RGB", (min_side, min_side))
    im.load()  # GIF/TIFF: the first frame/page only

    # HEIF (pillow-heif) and TIFF (recent Pillow) rotate while loading, report the upright size from the header and
    # drop the tag; whatever orientation is still there after load() is ours to apply
    pending = _exif_orientation(im)
    upright = im
    if pending != 1:
        # before the mode conversion, which drops the EXIF block for alpha and 16-bit images
        upright = ImageOps.exif_transpose(im)
    rgb = to_rgb(upright)
    original = (h, w) if pending in _SWAPPING_ORIENTATIONS else (w, h)
    exif_rotated = orientation != 1 or pending != 1
    if min_side > 0:
        factor = min(rgb.size) // min_side
        if factor >= 2:
            rgb = rgb.reduce(factor)
    if rgb.mode != "RGB":
        rgb = rgb.convert("RGB")
    return DecodedImage(image=rgb, format=fmt, original_size=original, exif_rotated=exif_rotated)


def load_path(path: str | os.PathLike[str]) -> DecodedImage:
    """Read a file and decode it (CLI and tests); the name's extension is ignored, like an upload's."""
    return decode_image(Path(path).read_bytes())
