"""Reference editing v0: a new picture from the first reference, recoloured and retitled.

The reference is fitted to the output size (cover, centred), pulled toward the
prompt's colour and style, and the prompt's quoted text is set on it.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps

from brushwork.contract import ResolvedQuality
from brushwork.engines.studio import render
from brushwork.engines.studio.prompt import Parsed
from brushwork.engines.studio.render import Stage


def restage(
    reference: Image.Image,
    size: tuple[int, int],
    parsed: Parsed,
    rng: np.random.Generator,
    quality: ResolvedQuality,
    stage: Stage | None = None,
) -> Image.Image:
    base = ImageOps.fit(reference.convert("RGB"), size, Image.Resampling.LANCZOS)
    if stage is not None:
        stage(0.3, "framed the reference", base.copy)
    canvas = np.asarray(base, dtype=np.float32) / 255
    if parsed.colours:
        render.tint(canvas, parsed.colours[0], float(rng.uniform(0.3, 0.45)))
    canvas = render.stylise(canvas, parsed.styles, rng)
    canvas = render.finish(canvas, rng, quality)
    image = render.to_image(canvas)
    if stage is not None:
        stage(0.7, "restyled the reference", image.copy)
    render.set_text(image, parsed.quoted, rng, parsed.text_colour)
    return image
