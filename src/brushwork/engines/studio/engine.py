"""The studio engine's entry point: one call per task, ``n`` seeded variations.

Every image ``i`` of a task draws from its own generator seeded by
``(seed, i)``, so variations differ and the same seed repeats exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from brushwork.engines.base import Cancelled, Capabilities, Progress, Request, fit_native
from brushwork.engines.studio import art, assets, inpaint, layout, reference, render, subjects, text
from brushwork.engines.studio.prompt import Parsed, parse
from brushwork.engines.studio.render import Stage

NATIVE_MAX_EDGE = 2048


class StudioEngine:
    name = "studio"

    def unavailable_reason(self) -> str | None:
        return text.missing_requirements() or assets.missing_reason()

    def details(self) -> dict[str, Any]:
        """What GET /apps/brushwork/studio adds: every asset source, its licence, attribution."""
        reason = assets.missing_reason()
        return {"assets": None if reason else assets.library().licenses}

    def capabilities(self) -> Capabilities:
        return Capabilities(native_max_edge=NATIVE_MAX_EDGE)

    def load(self) -> None:
        reason = self.unavailable_reason()
        if reason is not None:
            raise RuntimeError(f"the studio engine cannot start: {reason}")

    def run(self, request: Request, progress: Progress, cancelled: Cancelled) -> list[Image.Image]:
        parsed = parse(request.prompt)
        images = []
        for i in range(request.n):
            rng = np.random.default_rng([request.seed, i])
            stage = _stages(progress, i, request) if i == 0 and request.previews else None
            images.append(self._one(request, parsed, rng, stage))
            progress((i + 1) / request.n, f"image {i + 1} of {request.n} done")
        return images

    def _one(
        self, request: Request, parsed: Parsed, rng: np.random.Generator, stage: Stage | None
    ) -> Image.Image:
        if request.mode == "inpaint":
            assert request.mask is not None
            return inpaint.fill(request.images[0], request.mask, parsed, rng, stage)
        if request.mode == "edit":
            return reference.restage(
                request.images[0], request.size, parsed, rng, request.quality, stage
            )
        return compose(parsed, request.size, rng, request, stage)


def _stages(progress: Progress, index: int, request: Request) -> Stage:
    """Report a stage of image ``index`` with a partial render (made only when wanted)."""

    def stage(fraction: float, message: str, render_preview: Callable[[], Image.Image]) -> None:
        progress((index + fraction) / request.n, message, render_preview())

    return stage


def _rough(canvas: np.ndarray, size: tuple[int, int]) -> Image.Image:
    """The scene as a first glimpse: its broad colours only."""
    small = render.to_image(canvas).resize((max(1, size[0] // 16), max(1, size[1] // 16)))
    return small.resize(size, Image.Resampling.BICUBIC)


def compose(
    parsed: Parsed,
    size: tuple[int, int],
    rng: np.random.Generator,
    request: Request,
    stage: Stage | None = None,
) -> Image.Image:
    """Text-to-image: scene at the native size, styled, upscaled, finished, then exact text."""
    native = fit_native(size, NATIVE_MAX_EDGE)
    canvas = render.background(parsed, native, rng, request.quality)
    if stage is not None:
        stage(0.2, "laid out the scene", lambda: _rough(canvas, size))
    found = subjects.parse_subjects(request.prompt)
    title_top = None
    if found:
        library = assets.library()
        for subject in found:
            subjects.match(subject, library)
        title_top = 0.05 if parsed.quoted else None
        text_bottom = render.text_extent(parsed.quoted, native[1], title_top)
        placed = layout.plan(found, native, rng, parsed.scene, text_bottom)
        art.draw(canvas, found, placed, library, parsed.scene, request.quality)
        used = {str(s.asset["license"]) for s in found if s.asset is not None}
        request.meta["subjects"] = [
            {"phrase": s.phrase, "count": s.count, "asset": s.asset["id"] if s.asset else None}
            for s in found
        ]
        request.meta["attributions"] = library.attribution(used)
    if stage is not None:
        stage(0.4, "painted the scene", lambda: render.to_image(canvas).resize(size))
    canvas = render.stylise(canvas, parsed.styles, rng)
    image = render.to_image(render.finish(canvas, rng, request.quality))
    if image.size != size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    if stage is not None:
        stage(0.7, "styled the scene", image.copy)
    render.set_text(image, parsed.quoted, rng, parsed.text_colour, title_top)
    return image
