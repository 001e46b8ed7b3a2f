"""What a file is, from its first bytes: an image format we decode, or, for anything else, a few words that say
what it is instead (a PDF, a video, a web page...), so the upload error can name it."""

from __future__ import annotations

import struct

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"mif2"}
_AVIF_BRANDS = {b"avif", b"avis"}


def sniff(head: bytes) -> tuple[str | None, str | None]:
    """Return (Pillow format, None) for an image we decode, or (None, description) for anything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG", None
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG", None
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF", None
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP", None
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF", None
    if head[:2] == b"BM" and len(head) >= 26:
        return "BMP", None
    if head[4:8] == b"ftyp":
        return _sniff_iso_bmff(head)
    return None, _describe_non_image(head)


def _sniff_iso_bmff(head: bytes) -> tuple[str | None, str | None]:
    """HEIF, AVIF and MP4/MOV share the ISO box format; the ftyp brands tell them apart."""
    box_size = struct.unpack(">I", head[:4])[0]
    end = min(max(box_size, 16), len(head))
    major = head[8:12]
    brands = {major} | {head[i : i + 4] for i in range(16, end - 3, 4)}
    if major in _AVIF_BRANDS or (major not in _HEIF_BRANDS and brands & _AVIF_BRANDS):
        return "AVIF", None
    if brands & _HEIF_BRANDS:
        return "HEIF", None
    return None, "a video (MP4/MOV), not a photo"


_NON_IMAGE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or a Word/Excel/PowerPoint file)"),
    (b"\x1f\x8b", "a GZIP archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office document"),
    (b"8BPS", "a Photoshop (PSD) file"),
    (b"\x1aE\xdf\xa3", "a video (WebM/MKV)"),
    (b"ID3", "an audio file (MP3)"),
    (b"OggS", "an audio or video file (Ogg)"),
    (b"fLaC", "an audio file (FLAC)"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image, which is not supported"),
    (b"\x00\x00\x00\x0cJXL ", "a JPEG XL image, which is not supported"),
    (b"\xff\x0a", "a JPEG XL image, which is not supported"),
    (b"\x00\x00\x01\x00", "an icon (ICO) file"),
)


def _describe_non_image(head: bytes) -> str:
    for magic, description in _NON_IMAGE_MAGIC:
        if head.startswith(magic):
            return description
    if head[:4] == b"RIFF":
        return "an audio or video file (RIFF)"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not just a multi-byte character cut by the 64-byte window
            return "not an image we can read"
        text = head[: exc.start].decode("utf-8")
    text = text.lstrip("\ufeff \t\r\n").lower()
    if "<svg" in text:
        return "an SVG drawing (vector images are not supported)"
    if text.startswith(("<!doctype html", "<html")):
        return "a web page (HTML), not an image"
    if all(ch.isprintable() or ch in "\t\r\n" for ch in text):
        return "a text file, not an image"
    return "not an image we can read"
