"""Composition hints: how a poster, book cover, storefront sign, product shot, infographic or
social post arranges its title, its subjects and its text (always set exactly)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from brushwork.engines.studio import text as typo
from brushwork.engines.studio.prompt import RGB, Parsed

NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6}


@dataclass(frozen=True)
class Frame:
    """Where the text goes and where subjects may stand (fractions of the height)."""

    title_top: float | None  # None: the renderer's own choice
    subjects_top: float | None  # subjects stay below this (None: below the title, if any)
    subjects: bool = True


def frame(composition: str | None, parsed: Parsed) -> Frame:
    if composition == "sign":
        return Frame(None, 0.46)
    if composition == "infographic":
        return Frame(0.04, None, subjects=False)
    if composition in ("poster", "social", "book"):
        return Frame(0.05, None)
    return Frame(0.05 if parsed.quoted else None, None)  # product shots and plain pictures


DEFAULT_STEPS = ["Idea", "Build", "Launch", "Grow", "Measure", "Share"]


def steps_of(prompt: str, strings: list[str]) -> tuple[str | None, list[str]]:
    """An infographic's title (a first string that is "titled"/"called", or one string more
    than the steps asked for) and its step labels (the strings, else Idea, Build, …)."""
    text = prompt.lower()
    match = re.search(r"\b(\d|two|three|four|five|six)\s+(?:\w+\s+)?steps?\b", text)
    asked = None
    if match:
        word = match.group(1)
        asked = int(word) if word.isdigit() else NUMBER_WORDS[word]
    named = re.search(r"\b(titled|title|called|headline|heading)\b", text) is not None
    title = strings[0] if strings and (named or (asked and len(strings) > asked)) else None
    labels = strings[1:] if title else list(strings)
    count = asked or max(3, min(len(labels), 6))
    return title, (labels + DEFAULT_STEPS[len(labels) :])[:count]


def _plate(image: Image.Image, box: tuple[int, int, int, int], neon: bool) -> None:
    """A signboard: a framed plate with a soft shadow, hung on two short chains."""
    draw = ImageDraw.Draw(image)
    x0, y0, x1, y1 = box
    r = max(4, (y1 - y0) // 8)
    shadow = Image.new("L", image.size, 0)
    ImageDraw.Draw(shadow).rounded_rectangle(
        (x0 + r // 2, y0 + r, x1 + r // 2, y1 + r), r, fill=120
    )
    shadow = shadow.filter(ImageFilter.GaussianBlur(r))
    image.paste((0, 0, 0), (0, 0), shadow)
    face: RGB = (24, 24, 32) if neon else (116, 72, 40)
    rim: RGB = (80, 80, 96) if neon else (226, 190, 120)
    for cx in (x0 + (x1 - x0) // 4, x1 - (x1 - x0) // 4):
        draw.line((cx, 0, cx, y0), fill=(70, 70, 76), width=max(2, r // 3))
    draw.rounded_rectangle(box, r, fill=face, outline=rim, width=max(2, r // 2))


def _fit(
    image: Image.Image,
    text: str,
    box: tuple[int, int, int, int],
    fill: RGB,
    outline: RGB,
    max_size: int | None = None,
) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    layout = typo.fit_text(text, max(8, x1 - x0), max(8, y1 - y0), max_size)
    top = y0 + (y1 - y0 - layout.height) // 2
    return typo.draw_layout(image, layout, (x0 + x1) // 2, top, fill, outline)


def sign(image: Image.Image, strings: list[str], neon: bool, colour: RGB | None) -> None:
    w, h = image.size
    box = (int(w * 0.12), int(h * 0.1), int(w * 0.88), int(h * 0.4))
    _plate(image, box, neon)
    pad_x, pad_y = (box[2] - box[0]) // 12, (box[3] - box[1]) // 6
    inner = (box[0] + pad_x, box[1] + pad_y, box[2] - pad_x, box[3] - pad_y)
    fill = colour or ((255, 80, 160) if neon else (250, 236, 200))
    if neon:  # a glow under the tubes
        glow = Image.new("RGB", image.size, (0, 0, 0))
        _fit(glow, strings[0], inner, fill, fill)
        image.paste(
            Image.blend(image, glow, 0.0), (0, 0), glow.convert("L").filter(ImageFilter.BoxBlur(8))
        )
    _fit(image, strings[0], inner, fill, (40, 24, 12) if not neon else (255, 255, 255))
    for i, s in enumerate(strings[1:3]):
        y = box[3] + int(h * 0.03) + i * int(h * 0.08)
        _fit(image, s, (box[0], y, box[2], y + int(h * 0.07)), (250, 250, 250), (20, 20, 26))


def banner(image: Image.Image, top: int, bottom: int, colour: RGB, alpha: float) -> None:
    """A translucent band that keeps a title legible over any scene."""
    band = Image.new("RGB", (image.width, bottom - top), colour)
    region = image.crop((0, top, image.width, bottom))
    image.paste(Image.blend(region, band, alpha), (0, top))


def _headline(
    image: Image.Image,
    text: str,
    band: tuple[float, float],
    band_colour: RGB,
    alpha: float,
    fill: RGB,
    outline: RGB,
    margin: float = 0.08,
) -> None:
    """Text fitted into a horizontal band (fractions of the height) laid over the scene."""
    w, h = image.size
    top, bottom = int(h * band[0]), int(h * band[1])
    banner(image, top, bottom, band_colour, alpha)
    pad = (bottom - top) // 10
    _fit(
        image,
        text,
        (int(w * margin), top + pad, int(w * (1 - margin)), bottom - pad),
        fill,
        outline,
    )


def book(image: Image.Image, strings: list[str], colour: RGB | None) -> None:
    """A title in the upper third, the author (second string) at the foot, on dark bands."""
    ink: RGB = (14, 14, 22)
    _headline(image, strings[0], (0.0, 0.34), ink, 0.55, colour or (246, 232, 196), ink)
    if len(strings) > 1:
        _headline(image, strings[1], (0.86, 1.0), ink, 0.55, (236, 236, 236), ink, margin=0.15)


def social(image: Image.Image, strings: list[str], colour: RGB | None, accent: RGB) -> None:
    """A bold headline on a colour band, further strings as a caption at the foot."""
    w, h = image.size
    ink: RGB = (20, 20, 26)
    _headline(image, strings[0], (0.0, 0.3), accent, 0.82, colour or (255, 255, 255), ink, 0.06)
    for i, s in enumerate(strings[1:3]):
        y = int(h * (0.84 + 0.07 * i))
        _fit(
            image,
            s,
            (int(w * 0.1), y, int(w * 0.9), y + int(h * 0.06)),
            (255, 255, 255),
            (20, 20, 26),
        )


def infographic(
    image: Image.Image,
    prompt: str,
    strings: list[str],
    icons: list[Image.Image | None],
    accent: RGB,
) -> None:
    """Numbered steps in a row (a column on tall canvases), each with an icon and its label."""
    w, h = image.size
    title, labels = steps_of(prompt, strings)
    draw = ImageDraw.Draw(image)
    top = int(h * 0.06)
    if title:
        box = _fit(
            image,
            title,
            (int(w * 0.06), top, int(w * 0.94), int(h * 0.2)),
            (28, 30, 38),
            (250, 250, 250),
        )
        top = box[3] + int(h * 0.04)
    vertical = h > w * 1.2
    n = len(labels)
    cells = []
    for i in range(n):
        if vertical:
            step = (h * 0.94 - top) / n
            cells.append(
                (
                    int(w * 0.1),
                    int(top + i * step),
                    int(w * 0.9),
                    int(top + (i + 1) * step - h * 0.02),
                )
            )
        else:
            cw = (w * 0.9) / n
            card_h = min(h * 0.94 - top, cw * 1.5)
            y0 = top + (h * 0.94 - top - card_h) / 2
            cells.append(
                (
                    int(w * 0.05 + i * cw + cw * 0.06),
                    int(y0),
                    int(w * 0.05 + (i + 1) * cw - cw * 0.06),
                    int(y0 + card_h),
                )
            )
    # one label size for every step, the largest at which each word fits on a line
    x0, y0, x1, y1 = cells[0]
    label_w, label_h = (x1 - x0) * 0.86, (y1 - y0) * (0.3 if not vertical else 0.45)
    size = min(
        _largest_size(word, int(label_w), int(label_h))
        for label in labels
        for word in label.split() or [label]
    )
    for i, (label, cell) in enumerate(zip(labels, cells, strict=True)):
        x0, y0, x1, y1 = cell
        r = max(6, min(x1 - x0, y1 - y0) // 14)
        draw.rounded_rectangle(cell, r, fill=(255, 255, 255), outline=accent, width=max(2, r // 3))
        disc = max(12, min(x1 - x0, y1 - y0) // 5)
        cx, cy = (x0 + x1) // 2, y0 + disc
        if vertical:
            cx = x0 + disc
            cy = (y0 + y1) // 2
        draw.ellipse((cx - disc // 2, cy - disc // 2, cx + disc // 2, cy + disc // 2), fill=accent)
        _fit(
            image,
            str(i + 1),
            (cx - disc // 3, cy - disc // 3, cx + disc // 3, cy + disc // 3),
            (255, 255, 255),
            accent,
        )
        icon = icons[i] if i < len(icons) else None
        icon_size = int(min(x1 - x0, y1 - y0) * (0.36 if not vertical else 0.6))
        if vertical:
            icon_box = (cx + disc, (y0 + y1 - icon_size) // 2)
            label_box = (icon_box[0] + icon_size + r, y0 + r, x1 - r, y1 - r)
        else:
            icon_box = (cx - icon_size // 2, cy + disc)
            label_top = cy + disc + icon_size + max(4, disc // 4)
            label_box = (x0 + r, label_top, x1 - r, y1 - r)
        if icon is not None and icon_size > 8:
            art = icon.resize((icon_size, icon_size), Image.Resampling.LANCZOS)
            image.paste(art, icon_box, art)
        _fit(image, label, label_box, (28, 30, 38), (255, 255, 255), size)
        if i < n - 1 and not vertical:
            ay = (y0 + y1) // 2
            draw.polygon([(x1 + 2, ay - r), (x1 + 2, ay + r), (x1 + r + 4, ay)], fill=accent)


def _largest_size(word: str, width: int, height: int) -> int:
    """The largest font size at which ``word`` fits on one line: labels never break mid-word."""
    layout = typo.fit_text(word, max(8, width), max(8, height))
    return max(6, int(layout.font.size if len(layout.lines) == 1 else layout.font.size * 0.7))


def accent_of(parsed: Parsed, rng: np.random.Generator) -> RGB:
    if parsed.colours:
        return parsed.colours[0]
    palette: list[RGB] = [(38, 110, 200), (220, 80, 60), (30, 150, 120), (140, 70, 190)]
    return palette[int(rng.integers(len(palette)))]
