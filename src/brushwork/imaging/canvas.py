"""Expanding the canvas for outpainting (SPEC §10): the picture on a larger canvas, its own
pixels kept exactly, and the mask of what was added (255 = to fill).

The added border is rounded up so that the canvas is a size SPEC §1 allows (edges a
multiple of 16, enough pixels), growing the sides that were asked to grow; ``plan`` says
by how much, so a tool can tell its user.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from brushwork.contract import (
    EDGE_MULTIPLE,
    MAX_EDGE,
    MIN_EDGE,
    MIN_PIXELS,
    check_size,
)
from brushwork.errors import InvalidInput


@dataclass(frozen=True)
class Borders:
    left: int
    top: int
    right: int
    bottom: int

    def size_around(self, width: int, height: int) -> tuple[int, int]:
        return width + self.left + self.right, height + self.top + self.bottom


def plan(width: int, height: int, left: int, top: int, right: int, bottom: int) -> tuple[
    Borders, str | None
]:  # fmt: skip
    """The borders to add (each at least what was asked) and, when they had to grow to reach
    an allowed size, a sentence saying so."""
    asked = (left, top, right, bottom)
    if any(not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in asked):
        raise InvalidInput(f"expand borders must be whole pixels ≥ 0, got {list(asked)}",
                           param="expand")  # fmt: skip
    if not any(asked):
        raise InvalidInput("expand needs at least one border above 0", param="expand")
    new_w = _allowed_edge(width + left + right)
    new_h = _allowed_edge(height + top + bottom)
    while new_w * new_h < MIN_PIXELS:  # grow the shorter side until there are enough pixels
        if new_w <= new_h:
            new_w += EDGE_MULTIPLE
        else:
            new_h += EDGE_MULTIPLE
    if max(new_w, new_h) > MAX_EDGE:
        raise InvalidInput(
            f"the expanded canvas would be {new_w}x{new_h}, over the {MAX_EDGE}-pixel edge limit",
            param="expand",
        )
    check_size(new_w, new_h)  # the ratio and pixel rules, with their own messages
    x_left, x_right = _share(new_w - width, left, right)
    y_top, y_bottom = _share(new_h - height, top, bottom)
    borders = Borders(x_left, y_top, x_right, y_bottom)
    note = None
    if (x_left, y_top, x_right, y_bottom) != asked:
        note = (
            f"the borders grew from {list(asked)} to {[x_left, y_top, x_right, y_bottom]} "
            f"(left, top, right, bottom) so that the canvas is {new_w}x{new_h}, a size brushwork "
            "allows"
        )
    return borders, note


def _allowed_edge(value: int) -> int:
    value = max(value, MIN_EDGE)
    return -(-value // EDGE_MULTIPLE) * EDGE_MULTIPLE


def _share(total: int, first: int, second: int) -> tuple[int, int]:
    """Split ``total`` added pixels between two sides, each at least what it asked, the extra
    in proportion to what was asked (evenly when neither asked)."""
    extra = total - first - second
    asked = first + second
    extra_first = extra // 2 if asked == 0 else round(extra * first / asked)
    return first + extra_first, second + extra - extra_first


def expand_canvas(
    image: Image.Image, left: int, top: int = 0, right: int = 0, bottom: int = 0
) -> tuple[Image.Image, Image.Image]:
    """``(canvas, mask)``: the picture on a canvas at least that much larger on each side,
    rounded up to an allowed size; its pixels kept exactly, the border started from the
    picture's own edge pixels (the fill then works outward from them); the mask is L mode,
    255 over the border (to fill), 0 over the picture (to keep)."""
    borders, _ = plan(image.width, image.height, left, top, right, bottom)
    mode = "RGBA" if image.mode in ("RGBA", "LA", "PA") else "RGB"
    pixels = np.asarray(image.convert(mode))
    canvas = cv2.copyMakeBorder(
        pixels, borders.top, borders.bottom, borders.left, borders.right, cv2.BORDER_REPLICATE
    )
    mask = np.full(canvas.shape[:2], 255, np.uint8)
    mask[borders.top : borders.top + image.height, borders.left : borders.left + image.width] = 0
    return Image.fromarray(canvas, mode), Image.fromarray(mask, "L")
