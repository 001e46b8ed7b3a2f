"""Tests for mnv2_core.images.decode: every input is generated in memory except the one real flower photo."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image, features

from mnv2_core.images.decode import SUPPORTED_FORMATS, DecodedImage, ImageDecodeError, decode_image, load_path
from mnv2_core.images.views import center_crop_view, to_tensor

RED, GREEN, BLUE, GREY, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (128, 128, 128), (255, 255, 255)


def encode(im: Image.Image, fmt: str, **kwargs) -> bytes:
    if fmt == "HEIF":
        pillow_heif = pytest.importorskip("pillow_heif")
        pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def quadrants(w: int = 64, h: int = 48) -> Image.Image:
    """Red / green / blue / grey quadrants: survives lossy codecs and shows any flip or rotation."""
    im = Image.new("RGB", (w, h), GREY)
    im.paste(RED, (0, 0, w // 2, h // 2))
    im.paste(GREEN, (w // 2, 0, w, h // 2))
    im.paste(BLUE, (0, h // 2, w // 2, h))
    return im


def assert_close(pixel, expected, tol: int = 30) -> None:
    assert all(abs(int(a) - int(b)) <= tol for a, b in zip(pixel, expected)), (pixel, expected)


def assert_user_message(exc: ImageDecodeError) -> str:
    message = str(exc)
    assert isinstance(exc, ValueError)
    assert message.startswith(("This ", "The ")) and message.endswith(".")
    assert "\n" not in message and "Traceback" not in message and len(message) < 250
    return message


def png_header_only(width: int, height: int, bit_depth: int = 8, colour_type: int = 2) -> bytes:
    """A well-formed PNG whose header claims a size its (empty) data never delivers: a bomb that costs nothing."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def gif_claiming(width: int, height: int) -> bytes:
    """A valid 1x1 GIF whose logical screen (the size Pillow reports) is patched to width x height."""
    data = bytearray(encode(Image.new("P", (1, 1)), "GIF"))
    data[6:10] = struct.pack("<HH", width, height)
    return bytes(data)


@pytest.fixture(scope="module")
def jpeg_12mp() -> bytes:
    """A 4000x3000 JPEG (12 MP, like a phone photo) with smooth content so encoding stays quick."""
    yy, xx = np.mgrid[0:3000, 0:4000].astype(np.float32)
    arr = np.stack([xx / 4000 * 255, yy / 3000 * 255, np.full_like(xx, 96)], axis=-1).astype(np.uint8)
    return encode(Image.fromarray(arr), "JPEG", quality=85)


# --------------------------------------------------------------------------------------------- the module itself


def test_import_is_torch_free_and_heif_is_lazy():
    code = (
        "import sys, io; from PIL import Image; import mnv2_core.images.decode as p; "
        "assert 'torch' not in sys.modules, 'torch imported'; "
        "b = io.BytesIO(); Image.new('RGB', (8, 8)).save(b, 'PNG'); p.decode_image(b.getvalue()); "
        "assert 'pillow_heif' not in sys.modules, 'pillow_heif imported without a HEIC upload'; "
        "assert 'streamlit' not in sys.modules"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_supported_formats_cover_the_spec():
    for ext in ("jpg", "jpeg", "png", "webp", "heic", "heif", "bmp", "tif", "tiff", "gif"):
        assert ext in SUPPORTED_FORMATS
    assert all(ext == ext.lower() and not ext.startswith(".") for ext in SUPPORTED_FORMATS)


# ------------------------------------------------------------------------------------------------------ formats

LOSSLESS = {"PNG", "BMP", "TIFF", "GIF"}
FORMATS = ["JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF", "HEIF"] + (["AVIF"] if features.check("avif") else [])


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_decodes_to_upright_rgb(fmt):
    data = encode(quadrants(), fmt, **({"quality": 95} if fmt in {"JPEG", "WEBP", "HEIF", "AVIF"} else {}))
    decoded = decode_image(data)
    assert isinstance(decoded, DecodedImage)
    assert decoded.format == fmt
    assert decoded.image.mode == "RGB"
    assert decoded.image.size == decoded.original_size == (64, 48)
    assert decoded.exif_rotated is False
    tol = 0 if fmt in LOSSLESS else 40
    for xy, colour in (((8, 8), RED), ((56, 8), GREEN), ((8, 40), BLUE), ((56, 40), GREY)):
        assert_close(decoded.image.getpixel(xy), colour, tol)


def test_heic_bytes_are_recognised_without_a_file_name(tmp_path):
    """iPhones send HEIC and browsers may call it application/octet-stream: only the bytes decide."""
    data = encode(quadrants(), "HEIF", quality=90)
    assert data[4:12] == b"ftypheic"
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    assert load_path(path).format == "HEIF"


def test_load_path_ignores_a_misleading_extension(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(encode(quadrants(), "PNG"))
    decoded = load_path(path)
    assert decoded.format == "PNG" and decoded.image.getpixel((8, 8)) == RED


def test_accepts_bytearray_and_memoryview():
    data = encode(quadrants(), "PNG")
    assert decode_image(bytearray(data)).image.size == (64, 48)
    assert decode_image(memoryview(data)).image.size == (64, 48)


# ---------------------------------------------------------------------------------------------- EXIF orientation


def stored_with_marker(orientation: int, w: int = 60, h: int = 40) -> Image.Image:
    """How a camera stores an upright w x h picture with a red top-left marker, per the EXIF spec (hard-coded)."""
    # orientation -> (stored size, marker corner in stored pixels); 6 = "0th row is visual right, 0th column visual
    # top", so the visual top-left lands bottom-left; 8 = "0th row visual left, 0th column visual bottom"
    layout = {
        1: ((w, h), "top-left"),
        3: ((w, h), "bottom-right"),
        6: ((h, w), "bottom-left"),
        8: ((h, w), "top-right"),
    }
    (sw, sh), corner = layout[orientation]
    im = Image.new("RGB", (sw, sh), GREY)
    m = 10
    box = {
        "top-left": (0, 0, m, m),
        "top-right": (sw - m, 0, sw, m),
        "bottom-left": (0, sh - m, m, sh),
        "bottom-right": (sw - m, sh - m, sw, sh),
    }[corner]
    im.paste(RED, box)
    return im


def exif_bytes(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def assert_marker_top_left(im: Image.Image, w: int = 60, h: int = 40) -> None:
    assert im.size == (w, h)
    assert_close(im.getpixel((3, 3)), RED)
    for xy in ((w - 3, 3), (3, h - 3), (w - 3, h - 3)):
        assert_close(im.getpixel(xy), GREY)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF", "HEIF"])
@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_is_applied(fmt, orientation):
    stored = stored_with_marker(orientation)
    kwargs = {"quality": 95} if fmt in {"JPEG", "WEBP", "HEIF"} else {}
    decoded = decode_image(encode(stored, fmt, exif=exif_bytes(orientation), **kwargs))
    assert decoded.exif_rotated is True
    assert decoded.original_size == (60, 40)
    assert_marker_top_left(decoded.image)


def test_orientation_one_and_missing_exif_are_not_rotated():
    stored = stored_with_marker(1)
    for data in (encode(stored, "JPEG", quality=95, exif=exif_bytes(1)), encode(stored, "JPEG", quality=95)):
        decoded = decode_image(data)
        assert decoded.exif_rotated is False
        assert_marker_top_left(decoded.image)


@pytest.mark.parametrize("orientation", [2, 4, 5, 7])
def test_mirrored_orientations_round_trip(orientation):
    upright = stored_with_marker(1)
    inverse = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        7: Image.Transpose.TRANSVERSE,
    }[orientation]
    decoded = decode_image(encode(upright.transpose(inverse), "PNG", exif=exif_bytes(orientation)))
    assert decoded.exif_rotated is True
    assert_marker_top_left(decoded.image)


def test_orientation_survives_alpha_flattening():
    """The EXIF block must be read before RGBA -> RGB conversion drops it."""
    stored = stored_with_marker(6).convert("RGBA")
    decoded = decode_image(encode(stored, "PNG", exif=exif_bytes(6)))
    assert decoded.exif_rotated is True
    assert_marker_top_left(decoded.image)


def test_bogus_orientation_value_is_ignored():
    decoded = decode_image(encode(stored_with_marker(1), "JPEG", quality=95, exif=exif_bytes(42)))
    assert decoded.exif_rotated is False
    assert_marker_top_left(decoded.image)


# ---------------------------------------------------------------------------------------------------- pixel modes


def test_transparent_rgba_becomes_white():
    im = Image.new("RGBA", (20, 10), (0, 0, 0, 0))
    im.paste((255, 0, 0, 255), (0, 0, 5, 10))
    im.paste((255, 0, 0, 128), (10, 0, 15, 10))
    decoded = decode_image(encode(im, "PNG")).image
    assert decoded.getpixel((2, 2)) == RED
    assert decoded.getpixel((18, 2)) == WHITE  # fully transparent black -> white, not black
    assert_close(decoded.getpixel((12, 2)), (255, 127, 127), tol=2)


def test_transparent_webp_becomes_white():
    im = Image.new("RGBA", (16, 16), (0, 0, 0, 0))
    assert decode_image(encode(im, "WEBP", lossless=True)).image.getpixel((8, 8)) == WHITE


def test_la_mode_becomes_white_where_transparent():
    im = Image.new("LA", (8, 8), (0, 0))
    im.paste((40, 255), (0, 0, 4, 8))
    decoded = decode_image(encode(im, "PNG")).image
    assert decoded.getpixel((1, 1)) == (40, 40, 40)
    assert decoded.getpixel((6, 1)) == WHITE


def test_palette_with_transparency_becomes_white():
    im = Image.new("P", (8, 8), 0)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    im.paste(1, (0, 0, 4, 8))
    for fmt in ("PNG", "GIF"):
        decoded = decode_image(encode(im, fmt, transparency=0)).image
        assert decoded.getpixel((1, 1)) == RED, fmt
        assert decoded.getpixel((6, 1)) == WHITE, fmt


def test_palette_without_transparency():
    im = quadrants().convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    decoded = decode_image(encode(im, "PNG")).image
    assert decoded.mode == "RGB"
    assert_close(decoded.getpixel((8, 8)), RED, tol=10)


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16_bit_grey_is_scaled_not_clipped(fmt):
    ramp = np.tile(np.linspace(0, 65535, 256).astype(np.uint16), (4, 1))
    im = Image.fromarray(ramp)
    assert im.mode.startswith("I;16")
    decoded = decode_image(encode(im, fmt)).image
    row = np.asarray(decoded)[0, :, 0].astype(int)
    assert decoded.mode == "RGB"
    assert row[0] == 0 and row[-1] == 255
    assert abs(row[128] - 128) <= 2  # mid-grey stays mid-grey (Pillow's convert would give 255 here)
    assert np.all(np.diff(row) >= 0)


def test_16_bit_dark_grey_is_not_white():
    decoded = decode_image(encode(Image.new("I;16", (8, 8), 30000), "PNG")).image
    assert_close(decoded.getpixel((0, 0)), (117, 117, 117), tol=1)


def test_32_bit_int_and_float_grey():
    as_int = Image.fromarray(np.full((4, 4), 65535 // 2, dtype=np.int32))
    assert as_int.mode == "I"
    assert_close(decode_image(encode(as_int, "TIFF")).image.getpixel((0, 0)), GREY, tol=2)
    as_float = Image.fromarray(np.full((4, 4), 0.5, dtype=np.float32))
    assert as_float.mode == "F"
    assert_close(decode_image(encode(as_float, "TIFF")).image.getpixel((0, 0)), GREY, tol=2)


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
def test_cmyk_converts_to_rgb(fmt):
    im = Image.new("CMYK", (16, 8), (0, 0, 0, 0))
    im.paste((0, 255, 255, 0), (0, 0, 8, 8))
    decoded = decode_image(encode(im, fmt, **({"quality": 95} if fmt == "JPEG" else {}))).image
    assert decoded.mode == "RGB"
    assert_close(decoded.getpixel((2, 2)), RED)
    assert_close(decoded.getpixel((13, 2)), WHITE)


def test_grey_and_bilevel():
    assert decode_image(encode(Image.new("L", (8, 8), 77), "JPEG")).image.getpixel((1, 1)) == (77, 77, 77)
    bilevel = Image.new("1", (8, 8), 1)
    assert decode_image(encode(bilevel, "PNG")).image.getpixel((1, 1)) == WHITE


def test_animated_gif_gives_the_first_frame():
    frames = [Image.new("RGB", (16, 16), colour) for colour in (RED, GREEN, BLUE)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    decoded = decode_image(buf.getvalue())
    assert decoded.format == "GIF"
    assert decoded.image.getpixel((8, 8)) == RED


def test_multipage_tiff_gives_the_first_page():
    pages = [Image.new("RGB", (16, 16), colour) for colour in (GREEN, RED)]
    buf = io.BytesIO()
    pages[0].save(buf, format="TIFF", save_all=True, append_images=pages[1:])
    assert decode_image(buf.getvalue()).image.getpixel((8, 8)) == GREEN


# ------------------------------------------------------------------------------------------------ size handling


def test_12mp_jpeg_is_decoded_reduced(jpeg_12mp):
    decoded = decode_image(jpeg_12mp)
    assert decoded.original_size == (4000, 3000)
    assert 256 <= min(decoded.image.size) < 3000
    assert decoded.image.size == (500, 375)  # JPEG DCT scaling at 1/8; a full decode + box reduce would give 400x300
    assert decoded.image.size[0] > decoded.image.size[1]  # aspect kept
    assert abs(decoded.image.size[0] / decoded.image.size[1] - 4 / 3) < 0.01
    full = decode_image(jpeg_12mp, min_side=0)
    assert full.image.size == (4000, 3000)
    # the reduced decode shows the same picture: compare both at 224 px
    a = np.asarray(center_crop_view(decoded.image), dtype=np.float32)
    b = np.asarray(center_crop_view(full.image), dtype=np.float32)
    assert np.abs(a - b).mean() < 3.0


def test_large_rotated_jpeg_reports_upright_original_size():
    stored = Image.new("RGB", (2000, 1500), GREY)
    stored.paste(RED, (0, 1400, 100, 1500))  # orientation 6: stored bottom-left = visual top-left
    decoded = decode_image(encode(stored, "JPEG", quality=90, exif=exif_bytes(6)))
    assert decoded.original_size == (1500, 2000)
    assert decoded.exif_rotated
    w, h = decoded.image.size
    assert 256 <= w < 1500 and h > w
    assert_close(decoded.image.getpixel((5, 5)), RED)


def test_large_png_is_reduced_but_keeps_min_side():
    decoded = decode_image(encode(Image.new("RGB", (2400, 1200), BLUE), "PNG"))
    assert decoded.original_size == (2400, 1200)
    assert decoded.image.size == (600, 300)
    assert decode_image(encode(Image.new("RGB", (2400, 1200), BLUE), "PNG"), min_side=0).image.size == (2400, 1200)


def test_small_images_are_never_enlarged():
    assert decode_image(encode(Image.new("RGB", (30, 20), RED), "JPEG")).image.size == (30, 20)


# ------------------------------------------------------------------------------------------------------- errors


def _valid_jpeg() -> bytes:
    return encode(quadrants(256, 192), "JPEG", quality=90)


BAD_INPUTS = {
    "empty": (b"", "empty"),
    "corrupt_jpeg": (b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4, "JPEG"),
    "truncated_jpeg": (_valid_jpeg()[: len(_valid_jpeg()) // 2], "JPEG"),
    "truncated_png": (encode(quadrants(256, 192), "PNG")[:300], "PNG"),
    "jpeg_magic_only": (b"\xff\xd8\xff", "JPEG"),
    "pdf": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "PDF"),
    "zip": (b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(40), "ZIP"),
    "mp4_video": (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(32), "video"),
    "random": (np.random.default_rng(1234).integers(0, 256, 4096, dtype=np.uint8).tobytes(), "not an image"),
    "text": ("Sunflower, daisy and tulip. Ünïcödé text, not a picture.\n".encode() * 3, "text"),
    "html": (b"<!DOCTYPE html><html><body>404</body></html>", "HTML"),
    "svg": (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "SVG"),
    "bomb_png_400mp": (png_header_only(20000, 20000), "too large"),
    "bomb_png_95mp": (png_header_only(10000, 9500), "too large"),  # over our 90 MP but under Pillow's own limit
    "bomb_gif_4300mp": (gif_claiming(65535, 65535), "too large"),
    "bomb_gif_95mp": (gif_claiming(10000, 9500), "too large"),
    "zero_size_png": (png_header_only(0, 0), "PNG"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_uploads_raise_one_readable_sentence(name):
    data, expected_word = BAD_INPUTS[name]
    with pytest.raises(ImageDecodeError) as info:
        decode_image(data)
    message = assert_user_message(info.value)
    assert expected_word.lower() in message.lower(), message


def test_bomb_check_uses_the_header_and_names_the_size():
    with pytest.raises(ImageDecodeError, match=r"10000 x 9500 = 95 megapixels.*90 megapixels"):
        decode_image(png_header_only(10000, 9500))


def test_real_big_dimension_file_respects_max_pixels():
    """A real, tiny, big-dimension 1-bit PNG: refused from its header with a custom limit, decoded without it."""
    data = encode(Image.new("1", (3000, 2000), 1), "PNG")
    assert len(data) < 50_000
    with pytest.raises(ImageDecodeError, match="too large"):
        decode_image(data, max_pixels=5_000_000)
    assert decode_image(data).original_size == (3000, 2000)


def test_truncated_12mp_jpeg_raises(jpeg_12mp):
    with pytest.raises(ImageDecodeError) as info:
        decode_image(jpeg_12mp[: len(jpeg_12mp) // 2])
    assert_user_message(info.value)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF", "HEIF"])
def test_fuzzed_files_raise_only_image_decode_error(fmt):
    """Cut and corrupted files either decode or raise ImageDecodeError: never another exception type."""
    data = encode(quadrants(48, 32), fmt)
    rng = np.random.default_rng(7)
    candidates = [data[:cut] for cut in sorted(set(rng.integers(1, len(data), 15).tolist()))]
    for _ in range(15):
        damaged = bytearray(data)
        for pos in rng.integers(8, len(data), 4):
            damaged[pos] = int(rng.integers(0, 256))
        candidates.append(bytes(damaged))
    for candidate in candidates:
        try:
            decoded = decode_image(candidate)
        except ImageDecodeError as exc:
            assert_user_message(exc)
        else:
            assert decoded.image.mode == "RGB"


def test_non_bytes_is_a_programming_error():
    with pytest.raises(TypeError):
        decode_image("photo.jpg")  # type: ignore[arg-type]


# -------------------------------------------------------------------------------------------- model-side views


def test_center_crop_view_size_and_centre():
    im = Image.new("RGB", (600, 300), GREY)
    im.paste(RED, (290, 140, 310, 160))  # a marker at the centre
    im.paste(BLUE, (0, 0, 100, 300))  # left edge: cropped away
    view = center_crop_view(im)
    assert view.size == (224, 224) and view.mode == "RGB"
    assert_close(view.getpixel((112, 112)), RED)
    assert_close(view.getpixel((2, 112)), GREY)  # 600x300 -> 512x256, crop starts at x=144 > 85 (blue edge)
    assert center_crop_view(im, size=160).size == (160, 160)
    assert center_crop_view(im, size=96, resize=96).size == (96, 96)
    with pytest.raises(ValueError):
        center_crop_view(im, size=224, resize=200)


def test_center_crop_view_accepts_decoded_images():
    decoded = decode_image(encode(quadrants(), "PNG"))
    assert center_crop_view(decoded, size=32).size == (32, 32)


def test_to_tensor_shape_dtype_and_normalisation():
    torch = pytest.importorskip("torch")
    tensor = to_tensor(Image.new("RGB", (300, 200), (124, 116, 104)))
    assert tensor.shape == (1, 3, 224, 224) and tensor.dtype == torch.float32
    assert tensor.is_contiguous()
    assert tensor.abs().max().item() < 0.01  # the ImageNet mean colour normalises to ~0
    half = to_tensor(Image.new("RGB", (64, 64), WHITE), size=32, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    assert half.shape == (1, 3, 32, 32)
    assert torch.allclose(half, torch.ones_like(half))


def test_to_tensor_matches_torchvision_transforms():
    pytest.importorskip("torch")
    transforms = pytest.importorskip("torchvision.transforms")
    rng = np.random.default_rng(3)
    im = Image.fromarray(rng.integers(0, 256, (333, 517, 3), dtype=np.uint8))
    for size in (224, 160):
        reference = transforms.Compose(
            [
                transforms.Resize(round(size * 256 / 224)),
                transforms.CenterCrop(size),
                transforms.ToTensor(),
                transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
            ]
        )(im)[None]
        ours = to_tensor(im, size=size)
        assert ours.shape == reference.shape
        assert (ours - reference).abs().max().item() < 1e-5


# ---------------------------------------------------------------------------------------------- one real photo


def test_real_flower_photo(sample_flower):
    decoded = load_path(sample_flower)
    with Image.open(sample_flower) as reference:
        assert decoded.original_size == reference.size
        expected = np.asarray(reference.convert("RGB"))
    assert decoded.format == "JPEG" and decoded.image.mode == "RGB"
    assert np.array_equal(np.asarray(decoded.image), expected)  # small file: no draft, pixel-exact
    pytest.importorskip("torch")
    tensor = to_tensor(decoded)
    assert tensor.shape == (1, 3, 224, 224)
    assert bool(tensor.isfinite().all()) and tensor.std().item() > 0.1


def test_a_long_thin_strip_is_refused_before_it_is_resized():
    """A 1 x 3000 PNG is 100 bytes; resized to a 224 px short side it would be 224 x 672000 pixels."""
    buffer = io.BytesIO()
    Image.new("RGB", (1, 3000), "red").save(buffer, format="PNG")
    with pytest.raises(ImageDecodeError, match="too long and thin"):
        decode_image(buffer.getvalue())
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10000), "red").save(buffer, format="PNG")  # 1000:1 still fits once resized
    assert decode_image(buffer.getvalue(), min_side=0).image.size == (10, 10000)
