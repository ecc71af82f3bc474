"""Exact typography: find Noto fonts on disk, pick one per script, fit text into a box.

Text is shaped by raqm (ligatures, Indic clusters, Arabic joining and
right-to-left order), so what the prompt quotes is what the picture shows.
Fonts come from the system (Debian's fonts-noto-core) or ``BRUSHWORK_FONTS_DIR``;
nothing is committed or downloaded at run time.
"""

from __future__ import annotations

import functools
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, features

FONT_DIRS = (
    "/usr/share/fonts/truetype/noto",
    "/usr/share/fonts/opentype/noto",
    "/usr/share/fonts/truetype/noto-cjk",
)

# Script → font files to try, boldest display face first.
SCRIPT_FONTS: dict[str, tuple[str, ...]] = {
    "latin": ("NotoSans-Bold.ttf", "NotoSans-Regular.ttf"),
    "arabic": ("NotoNaskhArabic-Bold.ttf", "NotoSansArabic-Bold.ttf"),
    "devanagari": ("NotoSansDevanagari-Bold.ttf", "NotoSansDevanagari-Regular.ttf"),
    "bengali": ("NotoSansBengali-Bold.ttf", "NotoSansBengali-Regular.ttf"),
    "cjk": ("NotoSansCJK-Bold.ttc", "NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Bold.otf"),
    "hebrew": ("NotoSansHebrew-Bold.ttf",),
    "thai": ("NotoSansThai-Bold.ttf",),
    "greek": ("NotoSans-Bold.ttf",),
    "cyrillic": ("NotoSans-Bold.ttf",),
}


def font_dirs() -> list[Path]:
    extra = os.environ.get("BRUSHWORK_FONTS_DIR")
    dirs = [Path(extra)] if extra else []
    return dirs + [Path(d) for d in FONT_DIRS]


@functools.cache
def find_font(name: str) -> Path | None:
    for directory in font_dirs():
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def missing_requirements() -> str | None:
    """Why text cannot be set exactly here, naming what to install; None when all is well."""
    if not features.check("raqm"):
        return (
            "Pillow cannot load libraqm for text shaping: install the system libraries "
            "libraqm0 and libfribidi0 (Debian: apt-get install libraqm0 libfribidi0)"
        )
    if font_for("latin") is None:
        return (
            "no Noto fonts found in " + ", ".join(str(d) for d in font_dirs()) + ": install "
            "Debian's fonts-noto-core (apt-get install fonts-noto-core) or set BRUSHWORK_FONTS_DIR"
        )
    return None


def font_for(script: str) -> Path | None:
    for name in SCRIPT_FONTS.get(script, ()) + SCRIPT_FONTS["latin"]:
        found = find_font(name)
        if found is not None:
            return found
    return None


def script_of(text: str) -> str:
    """The dominant non-Latin script of ``text``, else latin."""
    counts: dict[str, int] = {}
    for ch in text:
        if not ch.isalpha():
            continue
        name = unicodedata.name(ch, "")
        script = next((s for s in _SCRIPT_NAMES if name.startswith(_SCRIPT_NAMES[s])), "latin")
        if script == "latin" and any(k in name for k in ("CJK", "HIRAGANA", "KATAKANA", "HANGUL")):
            script = "cjk"
        counts[script] = counts.get(script, 0) + 1
    non_latin = {k: v for k, v in counts.items() if k != "latin"}
    return max(non_latin, key=lambda k: non_latin[k]) if non_latin else "latin"


_SCRIPT_NAMES = {
    "arabic": "ARABIC",
    "devanagari": "DEVANAGARI",
    "bengali": "BENGALI",
    "hebrew": "HEBREW",
    "thai": "THAI",
    "greek": "GREEK",
    "cyrillic": "CYRILLIC",
}


@functools.cache
def load_font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.RAQM)


@dataclass(frozen=True)
class Layout:
    font: ImageFont.FreeTypeFont
    lines: list[str]
    line_height: int

    @property
    def height(self) -> int:
        return self.line_height * len(self.lines)


def _wrap(text: str, font: ImageFont.FreeTypeFont, max_width: float) -> list[str] | None:
    """Greedy wrap at spaces (or between characters for scripts without spaces)."""
    words = text.split()
    units = words if len(words) > 1 or font.getlength(text) <= max_width else list(text)
    joiner = " " if units is words else ""
    lines: list[str] = []
    current = ""
    for unit in units:
        trial = f"{current}{joiner}{unit}" if current else unit
        if font.getlength(trial) <= max_width:
            current = trial
            continue
        if not current:
            return None  # one unit alone is too wide at this size
        lines.append(current)
        current = unit
    if current:
        lines.append(current)
    if units is not words and any(font.getlength(line) > max_width for line in lines):
        return None
    return lines


def fit_text(text: str, box_w: int, box_h: int, max_size: int | None = None) -> Layout:
    """The largest font size at which ``text`` wraps into ``box_w`` x ``box_h``."""
    path = font_for(script_of(text))
    if path is None:
        raise RuntimeError(missing_requirements() or "no font available")
    lo, hi = 6, max(7, min(max_size or box_h, box_h))
    best: Layout | None = None
    while lo <= hi:
        size = (lo + hi) // 2
        layout = _layout_at(text, path, size, box_w)
        if layout is not None and layout.height <= box_h:
            best, lo = layout, size + 1
        else:
            hi = size - 1
    return best or _layout_at(text, path, 6, 10**6) or Layout(load_font(path, 6), [text], 8)


def _layout_at(text: str, path: Path, size: int, box_w: int) -> Layout | None:
    font = load_font(path, size)
    lines = _wrap(text, font, box_w)
    if lines is None:
        return None
    ascent, descent = font.getmetrics()
    return Layout(font, lines, int((ascent + descent) * 1.08))


def draw_layout(
    image: Image.Image,
    layout: Layout,
    centre_x: int,
    top: int,
    fill: tuple[int, int, int],
    outline: tuple[int, int, int],
) -> tuple[int, int, int, int]:
    """Draw centred lines from ``top``; returns the bounding box actually painted."""
    draw = ImageDraw.Draw(image)
    stroke = max(1, layout.font.size // 22)
    boxes = []
    for i, line in enumerate(layout.lines):
        y = top + i * layout.line_height
        draw.text(
            (centre_x, y),
            line,
            font=layout.font,
            fill=fill,
            anchor="ma",
            stroke_width=stroke,
            stroke_fill=outline,
        )
        boxes.append(
            draw.textbbox((centre_x, y), line, font=layout.font, anchor="ma", stroke_width=stroke)
        )
    return (
        int(min(b[0] for b in boxes)),
        int(min(b[1] for b in boxes)),
        int(max(b[2] for b in boxes)),
        int(max(b[3] for b in boxes)),
    )
