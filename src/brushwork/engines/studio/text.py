"""Exact typography: find Noto fonts on disk, pick one per script, fit text into a box.

Text is shaped by raqm (ligatures, Indic clusters, Arabic joining and
right-to-left order), so what the prompt quotes is what the picture shows.
Fonts come from the system (Debian's fonts-noto-core) or ``BRUSHWORK_FONTS_DIR``;
nothing is committed or downloaded at run time.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable
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


# Draws one emoji cluster at (x, y) in a square of ``size`` pixels: the engine passes one in
# that paints from its installed art, so this module needs neither the assets nor the renderer.
EmojiPainter = Callable[[Image.Image, str, int, int, int], None]


@dataclass
class _Setup:
    fonts_dir: Path | None = None
    emoji: EmojiPainter | None = None


_SETUP = _Setup()


def configure(fonts_dir: Path | None, emoji: EmojiPainter | None) -> None:
    """Set when the studio engine is built (one per process): the operator's fonts directory
    (``Settings.studio.fonts_dir``), searched first, and how emoji are painted (none: skipped)."""
    _SETUP.fonts_dir, _SETUP.emoji = fonts_dir, emoji
    find_font.cache_clear()


def font_dirs() -> list[Path]:
    dirs = [_SETUP.fonts_dir] if _SETUP.fonts_dir else []
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


_SCRIPT_NAMES = {
    "arabic": "ARABIC",
    "devanagari": "DEVANAGARI",
    "bengali": "BENGALI",
    "hebrew": "HEBREW",
    "thai": "THAI",
    "greek": "GREEK",
    "cyrillic": "CYRILLIC",
}


@functools.lru_cache(maxsize=256)
def load_font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.RAQM)


RTL = {"arabic", "hebrew"}
EMOJI = "emoji"


def char_script(ch: str) -> str | None:
    """The script of one character; None for neutral ones (spaces, digits, punctuation)."""
    if _is_emoji(ch):
        return EMOJI
    if not ch.isalpha():
        return None
    name = unicodedata.name(ch, "")
    if any(k in name for k in ("CJK", "HIRAGANA", "KATAKANA", "HANGUL")):
        return "cjk"
    return next((s for s in _SCRIPT_NAMES if name.startswith(_SCRIPT_NAMES[s])), "latin")


def _is_emoji(ch: str) -> bool:
    code = ord(ch)
    return (
        0x1F300 <= code <= 0x1FAFF or 0x2600 <= code <= 0x27BF or code in (0x200D, 0xFE0F)
    ) and unicodedata.category(ch) in ("So", "Sk", "Cf", "Mn")


@functools.lru_cache(maxsize=4096)
def covers(script: str, ch: str) -> bool:
    """Whether ``script``'s font draws ``ch`` (not the empty box)."""
    path = font_for(script)
    if path is None:
        return False
    face = load_font(path, 24)
    box = face.getmask(ch).getbbox()
    return box is not None and box != face.getmask("\U0010fffd").getbbox() or ch.isspace()


def runs(text: str) -> list[tuple[str, str]]:
    """``text`` cut into (piece, script) runs; neutral characters join the run they sit in
    when its font draws them (a quote mark beside Arabic goes to the Latin font)."""
    out: list[list[str]] = []
    for ch in text:
        script = char_script(ch)
        if (
            script is None
            and out
            and out[-1][1] not in ("", EMOJI, "latin")
            and not covers(out[-1][1], ch)
        ):
            script = "latin"
        if script is None and out and out[-1][1] == EMOJI and ch not in "\u200d\ufe0f":
            script = "latin"  # a space after an emoji is text, not another emoji cell
        if out and (script is None or script == out[-1][1] or ch in "\u200d\ufe0f"):
            out[-1][0] += ch
        elif out and out[-1][1] == "":  # leading neutral characters take the first script
            out[-1][0] += ch
            out[-1][1] = script or ""
        else:
            out.append([ch, script or ""])
    return [(piece, script or "latin") for piece, script in out]


@dataclass(frozen=True)
class Layout:
    """Lines of text at one size; each line is drawn as runs, each run in its script's font."""

    fonts: dict[str, ImageFont.FreeTypeFont]
    lines: list[str]
    line_height: int
    size: int

    @property
    def font(self) -> ImageFont.FreeTypeFont:
        return self.fonts["latin"]

    @property
    def height(self) -> int:
        return self.line_height * len(self.lines)

    def width(self, line: str) -> float:
        return sum(
            self.size if script == EMOJI else self.fonts[script].getlength(piece)
            for piece, script in runs(line)
            for piece in ([piece] if script != EMOJI else _graphemes(piece))
        )


def _graphemes(piece: str) -> list[str]:
    """Emoji clusters: a base character with its joiners and variation selectors."""
    out: list[str] = []
    for ch in piece:
        if out and (ch in "\u200d\ufe0f" or out[-1].endswith("\u200d")):
            out[-1] += ch
        else:
            out.append(ch)
    return out


def _fonts(text: str, size: int) -> dict[str, ImageFont.FreeTypeFont] | None:
    fonts = {}
    for script in {"latin"} | {s for _, s in runs(text) if s != EMOJI}:
        path = font_for(script)
        if path is None:
            return None
        fonts[script] = load_font(path, size)
    return fonts


def _wrap(text: str, layout: Layout, max_width: float) -> list[str] | None:
    """Greedy wrap at spaces (or between characters for scripts without spaces)."""
    words = text.split()
    units = words if len(words) > 1 or layout.width(text) <= max_width else list(text)
    joiner = " " if units is words else ""
    lines: list[str] = []
    current = ""
    for unit in units:
        trial = f"{current}{joiner}{unit}" if current else unit
        if layout.width(trial) <= max_width:
            current = trial
            continue
        if not current:
            return None  # one unit alone is too wide at this size
        lines.append(current)
        current = unit
    if current:
        lines.append(current)
    if units is not words and any(layout.width(line) > max_width for line in lines):
        return None
    return lines


def fit_text(text: str, box_w: int, box_h: int, max_size: int | None = None) -> Layout:
    """The largest font size at which ``text`` wraps into ``box_w`` x ``box_h``."""
    if _fonts(text, 6) is None:
        raise RuntimeError(missing_requirements() or "no font available")
    lo, hi = 6, max(7, min(max_size or box_h, box_h))
    best: Layout | None = None
    while lo <= hi:
        size = (lo + hi) // 2
        layout = _layout_at(text, size, box_w)
        if layout is not None and layout.height <= box_h:
            best, lo = layout, size + 1
        else:
            hi = size - 1
    return best or _layout_at(text, 6, 10**6) or _bare(text, 6)


def _bare(text: str, size: int) -> Layout:
    fonts = _fonts(text, size)
    assert fonts is not None
    return Layout(fonts, [text], size + 2, size)


def _layout_at(text: str, size: int, box_w: int) -> Layout | None:
    fonts = _fonts(text, size)
    if fonts is None:
        return None
    ascent, descent = (
        max(f.getmetrics()[0] for f in fonts.values()),
        max(f.getmetrics()[1] for f in fonts.values()),
    )
    probe = Layout(fonts, [], int((ascent + descent) * 1.08), size)
    lines = _wrap(text, probe, box_w)
    if lines is None:
        return None
    return Layout(fonts, lines, probe.line_height, size)


def draw_layout(
    image: Image.Image,
    layout: Layout,
    centre_x: int,
    top: int,
    fill: tuple[int, int, int],
    outline: tuple[int, int, int],
) -> tuple[int, int, int, int]:
    """Draw centred lines from ``top``, each run in its own font (right-to-left lines run
    right to left); emoji come from the studio's Twemoji art. Returns the painted box."""
    draw = ImageDraw.Draw(image)
    stroke = max(1, layout.size // 22)
    ascent = max(f.getmetrics()[0] for f in layout.fonts.values())
    boxes: list[tuple[float, float, float, float]] = []
    for i, line in enumerate(layout.lines):
        baseline = top + i * layout.line_height + ascent
        pieces = runs(line)
        if (
            any(s in RTL for _, s in pieces)
            and char_script(next((c for c in line if char_script(c)), "a")) in RTL
        ):
            pieces = pieces[::-1]
        x = centre_x - layout.width(line) / 2
        for piece, script in pieces:
            if script == EMOJI:
                for cluster in _graphemes(piece):
                    _emoji(image, cluster, int(x), int(baseline - layout.size * 0.88), layout.size)
                    boxes.append((x, baseline - layout.size, x + layout.size, baseline))
                    x += layout.size
                continue
            font = layout.fonts[script]
            draw.text(
                (x, baseline),
                piece,
                font=font,
                fill=fill,
                anchor="ls",
                stroke_width=stroke,
                stroke_fill=outline,
            )
            boxes.append(
                draw.textbbox((x, baseline), piece, font=font, anchor="ls", stroke_width=stroke)
            )
            x += font.getlength(piece)
    return (
        int(min(b[0] for b in boxes)),
        int(min(b[1] for b in boxes)),
        int(max(b[2] for b in boxes)),
        int(max(b[3] for b in boxes)),
    )


def _emoji(image: Image.Image, cluster: str, x: int, y: int, size: int) -> None:
    if _SETUP.emoji is not None:
        _SETUP.emoji(image, cluster, x, y, size)
