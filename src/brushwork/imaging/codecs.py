"""Decode untrusted image bytes safely and encode outputs in png, jpeg or webp.

Decoding sniffs the format from the bytes (never the file name), checks the
encoded size and the header's pixel count before decoding a single pixel,
applies EXIF orientation and normalises every mode to 8-bit RGB or RGBA.
Encoding honours ``output_compression``; the png settings favour speed (see
``bench/codecs.py`` for the measurement behind them).
"""

from __future__ import annotations

import io
import warnings
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageFile, ImageOps, PngImagePlugin

from brushwork.errors import BrushworkError, PayloadTooLarge, UnprocessableImage
from brushwork.imaging.limits import (
    MAX_FRAME_PIXELS,
    MAX_IMAGE_BYTES,
    check_encoded_size,
    check_frame_pixels,
)

ImageFile.LOAD_TRUNCATED_IMAGES = False
# Our own check runs first and is stricter; this is Pillow's backstop for anything else.
Image.MAX_IMAGE_PIXELS = MAX_FRAME_PIXELS

_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"\xff\xd8\xff", 0, "jpeg"),
    (b"WEBP", 8, "webp"),
)
ACCEPTED_FORMATS = ("png", "jpeg", "webp")
_PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}

# Chosen by bench/codecs.py: zlib's run-length strategy at level 1 is about 3x
# faster than Pillow's default (level 6) on photo-like images at the same size,
# and about 5x faster on studio renders for up to a quarter more bytes.
PNG_COMPRESS_LEVEL = 1
PNG_COMPRESS_TYPE = zlib.Z_RLE
JPEG_DEFAULT_QUALITY = 90
WEBP_DEFAULT_QUALITY = 90
WEBP_METHOD = 4


def sniff_format(data: bytes) -> str | None:
    for magic, offset, name in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            if name == "webp" and data[:4] != b"RIFF":
                continue
            return name
    return None


@dataclass(frozen=True)
class Decoded:
    """A decoded input: 8-bit RGB or RGBA pixels, EXIF orientation applied."""

    image: Image.Image
    format: str

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size


def decode(
    data: bytes, *, param: str = "images", label: str | None = None, limit: int = MAX_IMAGE_BYTES
) -> Decoded:
    """Bytes → a safe, normalised image; every failure is a 4xx error naming ``param``.

    ``label`` names the file in messages (``images[2]``); ``param`` is the field.
    """
    try:
        return _decode(data, label or param, limit)
    except BrushworkError as exc:
        exc.param = param
        raise


def _decode(data: bytes, param: str, limit: int) -> Decoded:
    check_encoded_size(len(data), param=param, limit=limit)
    fmt = sniff_format(data)
    if fmt is None:
        raise UnprocessableImage(
            f"{param} is not a png, jpeg or webp image (checked by content)", param=param
        )
    image = _open(data, param, fmt)
    check_frame_pixels(image.width, image.height, param=param)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
            oriented = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
        raise UnprocessableImage(
            f"{param} could not be decoded as {fmt} (truncated or corrupt): {exc}", param=param
        ) from None
    return Decoded(normalise(oriented if oriented is not None else image), fmt)


def _open(data: bytes, param: str, fmt: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[fmt]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PayloadTooLarge(
            f"{param} has more than {MAX_FRAME_PIXELS:,} pixels per frame", param=param
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise UnprocessableImage(
            f"{param} is not a readable {fmt} image: {exc}", param=param
        ) from None
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)  # animated input: the first frame is the image
    return image


def normalise(image: Image.Image) -> Image.Image:
    """Any Pillow mode → 8-bit RGB, or RGBA when the image carries transparency."""
    mode = image.mode
    if mode in ("RGB", "RGBA"):
        return image
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if mode.startswith("I;16") or arr.max() > 255 else 255.0
        gray = np.clip(arr * (255.0 / peak) + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(gray, "L").convert("RGB")
    if mode in ("LA", "PA") or (mode == "P" and "transparency" in image.info):
        return image.convert("RGBA")
    if mode == "RGBa":
        return image.convert("RGBA")
    return image.convert("RGB")


EXIF_COPYRIGHT = 0x8298


def encode(
    image: Image.Image, fmt: str, compression: int | None = None, credit: str | None = None
) -> bytes:
    """Encode an RGB/RGBA image; ``compression`` is the jpeg/webp quality, ignored for png.

    ``credit`` (the attributions that the art's licences require) goes into a PNG text
    chunk ("Copyright") or the EXIF Copyright tag of a JPEG or WebP."""
    buf = io.BytesIO()
    extra: dict[str, Any] = {}
    if credit:
        exif = Image.Exif()
        exif[EXIF_COPYRIGHT] = credit
        extra["exif"] = exif
    if fmt == "png":
        info = PngImagePlugin.PngInfo()
        if credit:
            info.add_itxt("Copyright", credit)
        image.save(
            buf,
            "PNG",
            compress_level=PNG_COMPRESS_LEVEL,
            compress_type=PNG_COMPRESS_TYPE,
            pnginfo=info,
        )
    elif fmt == "jpeg":
        rgb = image.convert("RGB") if image.mode != "RGB" else image
        quality = JPEG_DEFAULT_QUALITY if compression is None else compression
        rgb.save(buf, "JPEG", quality=quality, **extra)
    elif fmt == "webp":
        quality = WEBP_DEFAULT_QUALITY if compression is None else compression
        image.save(buf, "WEBP", quality=quality, method=WEBP_METHOD, **extra)
    else:
        raise ValueError(f"unknown output format {fmt!r}")
    return buf.getvalue()
