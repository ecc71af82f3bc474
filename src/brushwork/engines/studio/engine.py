"""The studio engine's entry point: one call per task, ``n`` seeded variations.

Every image ``i`` of a task draws from its own generator seeded by
``(seed, i)``, so variations differ and the same seed repeats exactly.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from brushwork.engines.base import Cancelled, Capabilities, Progress, Request, fit_native
from brushwork.engines.studio import (
    art,
    assets,
    colour,
    compositions,
    inpaint,
    layout,
    lettering,
    materials,
    reference,
    scenes,
    styles,
    subjects,
    text,
)
from brushwork.engines.studio.colour import Stage
from brushwork.engines.studio.prompt import Parsed, parse
from brushwork.imaging import selection
from brushwork.settings import StudioSettings

NATIVE_MAX_EDGE = 2048


class StudioEngine:
    name = "studio"

    def __init__(self, config: StudioSettings | None = None) -> None:
        self.config = config or StudioSettings.from_env()
        self.assets = self.config.assets
        text.configure(self.config.fonts_dir, emoji_painter(self.assets))

    def unavailable_reason(self) -> str | None:
        return text.missing_requirements() or assets.missing_reason(self.assets)

    def details(self) -> dict[str, Any]:
        """What GET /apps/brushwork/studio adds: every asset source, its licence, attribution."""
        reason = assets.missing_reason(self.assets)
        return {"assets": None if reason else assets.library(self.assets).licenses}

    def capabilities(self) -> Capabilities:
        # real alpha for a new picture (its art and text over nothing) and for a reference
        # edit (the subject cut out); an inpaint keeps the photo's own background
        return Capabilities(
            native_max_edge=NATIVE_MAX_EDGE, transparent=frozenset({"generate", "edit"})
        )

    def load(self) -> None:
        reason = self.unavailable_reason()
        if reason is not None:
            raise RuntimeError(f"the studio engine cannot start: {reason}")

    def run(self, request: Request, progress: Progress, cancelled: Cancelled) -> list[Image.Image]:
        parsed = parse(request.prompt)
        if request.mode == "inpaint" and request.mask is not None and not (request.mask > 0).any():
            request.meta["note"] = "the mask keeps every pixel: the image is unchanged"
            progress(1.0, "the mask keeps every pixel: the image comes back unchanged")
            return [request.images[0].convert("RGB") for _ in range(request.n)]
        images = []
        for i in range(request.n):
            rng = np.random.default_rng([request.seed, i])
            stage = _stages(progress, i, request) if i == 0 and request.previews else None
            images.append(self._one(request, replace(parsed, variation=i), rng, stage))
            progress((i + 1) / request.n, f"image {i + 1} of {request.n} done")
        return images

    def _one(
        self, request: Request, parsed: Parsed, rng: np.random.Generator, stage: Stage | None
    ) -> Image.Image:
        if request.mode == "inpaint":
            assert request.mask is not None
            if (request.mask >= 1).all():  # nothing kept: a new picture in the photo's colours
                palette = reference.palette(request.images[0])
                return compose(replace(parsed, colours=parsed.colours + palette), request.size,
                               rng, request, stage, self.assets)  # fmt: skip
            return inpaint.fill(
                request.images[0], request.mask, parsed, rng, stage, request.quality, self.assets
            )
        if request.mode == "edit":
            restaged = reference.restage(
                request.images, request.size, parsed, rng, request.quality, stage
            )
            return cut_out(restaged) if request.background == "transparent" else restaged
        return compose(parsed, request.size, rng, request, stage, self.assets)


def cut_out(image: Image.Image) -> Image.Image:
    """The picture's subject on nothing: its alpha is the one-click subject selection, with
    a pixel of soft edge."""
    found = selection.adjust(selection.select(image, "subject"), feather=2)
    rgba = image.convert("RGBA")
    rgba.putalpha(Image.fromarray(found, "L"))
    return rgba


def _transparent(
    parsed: Parsed,
    size: tuple[int, int],
    rng: np.random.Generator,
    request: Request,
    stage: Stage | None,
    assets_root: Path | None,
) -> Image.Image:
    """The composition's art and text over nothing, with real alpha: drawn twice from the
    same random state, over black and over white, so each pixel's alpha and colour follow
    exactly from the two (difference matting). Scene, surface, light and style filters
    paint the background, so they are left out."""
    twin = copy.deepcopy(rng)
    dark = compose(parsed, size, rng, request, stage, assets_root, backdrop=0.0)
    light = compose(parsed, size, twin, request, None, assets_root, backdrop=1.0)
    black = np.asarray(dark, np.float32)
    white = np.asarray(light, np.float32)
    alpha = np.clip(1.0 - (white - black).mean(axis=2, keepdims=True) / 255.0, 0.0, 1.0)
    rgb = np.where(alpha > 1e-3, black / np.maximum(alpha, 1e-3), 0.0)
    pixels = np.dstack([np.clip(rgb + 0.5, 0, 255), alpha * 255 + 0.5]).astype(np.uint8)
    request.meta["background"] = "transparent"
    return Image.fromarray(pixels, "RGBA")


def emoji_painter(root: Path) -> text.EmojiPainter:
    """Emoji drawn from the Twemoji art in ``root`` (skipped while the assets are missing)."""

    def paint(image: Image.Image, cluster: str, x: int, y: int, size: int) -> None:
        if assets.missing_reason(root) is not None:
            return
        library = assets.library(root)
        code = "-".join(f"{ord(c):x}" for c in cluster if c != "\ufe0f")
        entry = library.by_id.get(f"emoji:{code}")
        if entry is None:
            return
        sprite = colour.to_rgba(art.rasterise(library.svg(entry), max(4, size)))
        image.paste(sprite, (x, y), sprite)

    return paint


def _stages(progress: Progress, index: int, request: Request) -> Stage:
    """Report a stage of image ``index`` with a partial render (made only when wanted)."""

    def stage(fraction: float, message: str, render_preview: Callable[[], Image.Image]) -> None:
        progress((index + fraction) / request.n, message, render_preview())

    return stage


def _rough(canvas: np.ndarray, size: tuple[int, int]) -> Image.Image:
    """The scene as a first glimpse: its broad colours only."""
    small = colour.to_image(canvas).resize((max(1, size[0] // 16), max(1, size[1] // 16)))
    return small.resize(size, Image.Resampling.BICUBIC)


# n > 1: a prompt that names no light sees the third and fourth pictures (and so on) in a
# golden light, and every other one from the other side (scenes.background), so variations
# vary in more than tint (issue 18); the first is exactly what it would be alone.
VARIATION_LIGHTS = (None, "golden")


def compose(
    parsed: Parsed,
    size: tuple[int, int],
    rng: np.random.Generator,
    request: Request,
    stage: Stage | None = None,
    assets_root: Path | None = None,
    backdrop: float | None = None,
) -> Image.Image:
    """Text-to-image: scene, surface, subjects, light and style at the native size, upscaled,
    then the composition's text, set exactly. ``backdrop``: the art and text alone over a
    flat grey level (0 black, 1 white), which is how a transparent picture is made."""
    if request.background == "transparent" and backdrop is None:
        return _transparent(parsed, size, rng, request, stage, assets_root)
    native = fit_native(size, NATIVE_MAX_EDGE)
    if request.quality == "high":  # supersampled: painted larger, filtered down at the end
        native = fit_native((native[0] * 3 // 2, native[1] * 3 // 2), NATIVE_MAX_EDGE)
    kind = subjects.composition(request.prompt)
    plan = compositions.frame(kind, parsed)
    found = subjects.parse_subjects(request.prompt, assets_root) if plan.subjects else []
    if parsed.scene is not None:
        request.meta["scene"] = {"name": parsed.scene, "from": "prompt"}
    elif kind is None and not parsed.weather and backdrop is None:  # no place named
        chosen = subjects.scene_by_meaning(found)
        if chosen is not None:
            parsed = replace(parsed, scene=chosen)
            request.meta["scene"] = {"name": chosen, "from": "subjects"}
    standing = None  # where the place's subjects stand, when it says
    if backdrop is not None:
        canvas = np.full((native[1], native[0], 3), backdrop, np.float32)
    else:
        canvas, standing = scenes.painted(parsed, native, rng, request.quality)
        if kind == "infographic" and parsed.scene is None:  # a clean sheet for the steps
            sheet = [(0.0, (248, 248, 250)), (1.0, (226, 230, 238))]
            canvas[:] = colour.gradient(native[1], native[0], sheet)
        if parsed.surface is not None or kind == "product":
            materials.surface(canvas, parsed.surface or "marble", rng, top=0.66)
    if stage is not None:
        stage(0.2, "laid out the scene", lambda: _rough(canvas, size))
    library = assets.library(assets_root) if found or kind == "infographic" else None
    if found and library is not None:
        # the first picture draws the best art (what bench/subjects.py measures: a near-tie
        # drew jack-o'-lanterns for "red lanterns" on some seeds); variations may take one
        subjects.match_all(found, library, rng if parsed.variation else None)
        request.meta["drawn"] = [{"phrase": s.phrase, "asset": s.asset["id"]}
                                 for s in found if s.asset is not None]  # fmt: skip
        request.meta["not_drawn"] = [s.phrase for s in found if s.asset is None]
        found = subjects.drawable(found)
    if found and library is not None:
        below = (
            plan.subjects_top * native[1]
            if plan.subjects_top is not None
            else lettering.text_extent(parsed.quoted, native[1], plan.title_top)
        )
        placed = layout.plan(
            found, native, rng, parsed.scene or _ground(parsed, kind), below, standing
        )
        art.draw(canvas, found, placed, library, parsed.scene, request.quality)
        request.meta["subjects"] = [
            {"phrase": s.phrase, "count": s.count, "asset": s.asset["id"] if s.asset else None}
            for s in found
        ]
    if backdrop is None:
        colour.light(canvas, parsed.light or VARIATION_LIGHTS[parsed.variation // 2 % 2])
    if stage is not None:
        stage(0.4, "painted the scene", lambda: colour.to_image(canvas).resize(size))
    if backdrop is None:
        canvas = styles.finish(styles.stylise(canvas, parsed.styles, rng), rng, request.quality)
    image = colour.to_image(canvas)
    if image.size != size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    if stage is not None:
        stage(0.7, "styled the scene", image.copy)
    used = {str(s.asset["license"]) for s in found if s.asset is not None}
    _set_text(image, kind, plan, parsed, rng, request, library, used)
    if library is not None and used:
        request.meta["attributions"] = library.attribution(used)
    return image


def _ground(parsed: Parsed, kind: str | None) -> str | None:
    """Subjects stand on a surface (a countertop, a table) when there is one."""
    return "studio" if parsed.surface is not None or kind == "product" else None


def _set_text(
    image: Image.Image,
    kind: str | None,
    plan: compositions.Frame,
    parsed: Parsed,
    rng: np.random.Generator,
    request: Request,
    library: assets.Library | None,
    used: set[str],
) -> None:
    strings = parsed.quoted
    accent = compositions.accent_of(parsed, rng)
    if kind == "infographic":
        assert library is not None
        _, labels = compositions.steps_of(request.prompt, strings)
        icons: list[Image.Image | None] = []
        for label in labels:
            subject = subjects.Subject(label.lower())
            subjects.match(subject, library, floor=False)  # a step always gets an icon
            assert subject.asset is not None
            used.add(str(subject.asset["license"]))
            px = max(16, min(image.size) // 5)
            icons.append(colour.to_rgba(art.sprite(subject, library, px, 1.0)))
        compositions.infographic(image, request.prompt, strings, icons, accent)
    elif not strings:
        return
    elif kind == "sign":
        compositions.sign(image, strings, "neon" in parsed.styles, parsed.text_colour)
    elif kind == "book":
        compositions.book(image, strings, parsed.text_colour)
    elif kind == "social":
        compositions.social(image, strings, parsed.text_colour, accent)
    else:
        lettering.set_text(image, strings, rng, parsed.text_colour, plan.title_top)
