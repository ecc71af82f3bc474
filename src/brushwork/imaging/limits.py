"""The input limits of SPEC §4, named once, and the checks that run before any decoding."""

from __future__ import annotations

from brushwork.contract import MAX_PIXELS
from brushwork.errors import PayloadTooLarge

MAX_IMAGE_BYTES = 50 * 1024 * 1024
MAX_MASK_BYTES = 50 * 1024 * 1024
MAX_FRAME_PIXELS = MAX_PIXELS


def check_encoded_size(size: int, *, param: str, limit: int = MAX_IMAGE_BYTES) -> None:
    if size > limit:
        raise PayloadTooLarge(
            f"{param} is {size:,} bytes; the limit is {limit:,} bytes (50 MB)", param=param
        )


def check_frame_pixels(width: int, height: int, *, param: str) -> None:
    """Refuse a frame larger than the limit from its header alone (decompression bombs)."""
    if width * height > MAX_FRAME_PIXELS:
        raise PayloadTooLarge(
            f"{param} is {width}x{height} = {width * height:,} pixels; "
            f"the limit is {MAX_FRAME_PIXELS:,} pixels per frame",
            param=param,
        )
