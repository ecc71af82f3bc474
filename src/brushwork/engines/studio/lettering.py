"""Setting the prompt's quoted strings into a picture: the title and lines below it, or
one string fitted into a region, in a colour that reads against what is behind it. Text is
set last, at the final size, so it stays crisp."""

from __future__ import annotations

import numpy as np
from PIL import Image

from brushwork.engines.studio import text as typo
from brushwork.engines.studio.prompt import RGB

TITLE_SHARE, LINE_SHARE = 0.28, 0.1  # of the height: the title's box, each further line's


def text_extent(strings: list[str], height: int, top: float | None) -> float | None:
    """Where the text will end (pixels from the top) when it starts at ``top`` (a fraction)."""
    if not strings or top is None:
        return None
    return height * (top + TITLE_SHARE + (LINE_SHARE + 0.02) * (len(strings) - 1))


def set_text(
    image: Image.Image,
    strings: list[str],
    rng: np.random.Generator,
    colour: RGB | None,
    top_fraction: float | None = None,
) -> None:
    """Set every quoted string exactly: the first as a title, the rest as lines below it.

    ``top_fraction`` pins where the title starts (the layout keeps subjects below it);
    otherwise the seed picks the top, the upper middle or the lower middle."""
    if not strings:
        return
    w, h = image.size
    top = h * (top_fraction if top_fraction is not None else float(rng.choice([0.08, 0.3, 0.55])))
    margin = int(w * 0.08)
    box_w = w - 2 * margin
    for i, s in enumerate(strings):
        box_h = int(h * (TITLE_SHARE if i == 0 else LINE_SHARE))
        box_h = min(box_h, int(h * 0.95 - top)) if top < h * 0.9 else int(h * 0.08)
        layout = typo.fit_text(s, box_w, max(8, box_h))
        fill, outline = _contrast(
            image, (margin, int(top), w - margin, int(top) + layout.height), colour
        )
        top_px = int(top) + (box_h - layout.height) // 2 if i == 0 else int(top)
        box = typo.draw_layout(image, layout, w // 2, top_px, fill, outline)
        top = box[3] + h * 0.02


def _contrast(
    image: Image.Image, box: tuple[int, int, int, int], colour: RGB | None
) -> tuple[RGB, RGB]:
    region = np.asarray(image.crop(box).convert("L"), dtype=np.float32)
    light_bg = region.size > 0 and float(region.mean()) > 140
    dark: RGB = (20, 20, 26)
    light: RGB = (250, 250, 250)
    if colour is not None:
        lum = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]
        return colour, (dark if lum > 128 else light)
    return (dark, light) if light_bg else (light, dark)


def set_text_in_box(image: Image.Image, text: str, colour: RGB | None) -> None:
    """Fit ``text`` into the whole of ``image`` (a region), centred, with a small margin."""
    w, h = image.size
    margin_x, margin_y = max(1, w // 16), max(1, h // 10)
    layout = typo.fit_text(text, max(8, w - 2 * margin_x), max(8, h - 2 * margin_y))
    fill, outline = _contrast(image, (0, 0, w, h), colour)
    typo.draw_layout(image, layout, w // 2, (h - layout.height) // 2, fill, outline)
