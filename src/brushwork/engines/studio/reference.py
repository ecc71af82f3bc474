"""Reference editing: keep the reference's subject and build a new scene around it, or
restyle the reference when that is what the prompt asks.

The subject is cut out without downloaded weights: GrabCut seeded by a border-colour model
(what looks like the photo's edges is background) and a centre prior, refined at the
border with a small feather. The new scene comes from the prompt (scene, surface, light),
the subject stands on it with a contact shadow, and further references lend their palette.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import cv2
import numpy as np
from PIL import Image, ImageOps

from brushwork.contract import ResolvedQuality
from brushwork.engines.studio import art, colour, lettering, materials, scenes, styles
from brushwork.engines.studio.colour import Stage
from brushwork.engines.studio.layout import Placed
from brushwork.engines.studio.prompt import RGB, Parsed
from brushwork.imaging import selection
from brushwork.imaging.cluster import kmeans

RESTYLE = re.compile(r"\b(as an?|in the style of|into an?|restyle|in \w+ colou?rs|make it)\b")


def palette(image: Image.Image, k: int = 3) -> list[RGB]:
    """The image's k dominant colours, most common first."""
    small = np.asarray(image.convert("RGB").resize((64, 64)), np.float32).reshape(-1, 3)
    labels, centres = kmeans(small, k, iterations=20, eps=1.0, attempts=2)
    order = np.argsort(-np.bincount(labels.ravel(), minlength=k))
    return [(int(c[0]), int(c[1]), int(c[2])) for c in centres[order]]


def cutout(image: Image.Image) -> np.ndarray:
    """The main subject's alpha (H x W floats in 0..1): the one-click subject selection that
    ``brushwork/masks`` makes (SPEC §10), with an edge a pixel or two soft."""
    found = selection.select(image, "subject")
    soft = max(1, round(max(image.size) / 600))
    return selection.adjust(found, feather=soft).astype(np.float32) / 255.0


def transfer(canvas: np.ndarray, style: Image.Image, amount: float = 0.6) -> np.ndarray:
    """Move the canvas's Lab statistics toward another reference's (palette and contrast)."""
    src = cv2.cvtColor((canvas * 255).astype(np.uint8), cv2.COLOR_RGB2LAB).astype(np.float32)
    ref = cv2.cvtColor(np.asarray(style.convert("RGB").resize((128, 128))), cv2.COLOR_RGB2LAB)
    samples = src.reshape(-1, 3)
    src = colour.toward_lab(
        src, samples, ref.reshape(-1, 3).astype(np.float32), amount, (amount,) * 3
    )
    out = cv2.cvtColor(np.clip(src, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)
    return out.astype(np.float32) / 255


def restage(
    references: Sequence[Image.Image],
    size: tuple[int, int],
    parsed: Parsed,
    rng: np.random.Generator,
    quality: ResolvedQuality,
    stage: Stage | None = None,
) -> Image.Image:
    first = references[0].convert("RGB")
    wants_scene = parsed.scene is not None or parsed.surface is not None or parsed.light
    restyle = bool(parsed.styles) and (RESTYLE.search(parsed.text.lower()) or not wants_scene)
    if restyle or not wants_scene:
        canvas = np.asarray(ImageOps.fit(first, size, Image.Resampling.LANCZOS), np.float32) / 255
        if parsed.colours:
            colour.tint(canvas, parsed.colours[0], float(rng.uniform(0.3, 0.45)))
    else:
        canvas = _new_scene(first, size, parsed, rng, quality)
    if stage is not None:
        stage(
            0.5,
            "restyled the reference" if restyle else "staged the subject",
            lambda: colour.to_image(canvas),
        )
    for style in references[1:]:
        canvas = transfer(canvas, style)
    colour.light(canvas, parsed.light)
    canvas = styles.stylise(canvas, parsed.styles, rng)
    canvas = styles.finish(canvas, rng, quality)
    image = colour.to_image(canvas)
    lettering.set_text(
        image, parsed.quoted, rng, parsed.text_colour, 0.05 if parsed.quoted else None
    )
    return image


def _new_scene(
    first: Image.Image,
    size: tuple[int, int],
    parsed: Parsed,
    rng: np.random.Generator,
    quality: ResolvedQuality,
) -> np.ndarray:
    """The reference's subject cut out and stood in a scene built from the prompt."""
    canvas = scenes.background(parsed, size, rng, quality)
    if parsed.surface is not None:
        materials.surface(canvas, parsed.surface, rng, top=0.62)
    alpha = cutout(first)
    ys, xs = np.nonzero(alpha > 0.5)
    if len(xs) == 0:
        return canvas
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    subject = np.asarray(first, np.float32)[y0:y1, x0:x1] / 255
    a = alpha[y0:y1, x0:x1]
    w, h = size
    target_h = h * 0.55
    scale = min(target_h / (y1 - y0), w * 0.7 / (x1 - x0))
    sw, sh = max(1, int((x1 - x0) * scale)), max(1, int((y1 - y0) * scale))
    rgba = np.dstack([cv2.resize(subject, (sw, sh), interpolation=cv2.INTER_AREA),
                      cv2.resize(a, (sw, sh), interpolation=cv2.INTER_AREA)])  # fmt: skip
    left = (w - sw) / 2 + float(rng.uniform(-0.08, 0.08)) * w
    bottom = h * (0.86 if parsed.surface is not None else 0.9)
    placed = Placed(0, (left, bottom - sw, left + sw, bottom), grounded=True)
    art.shadow(canvas, placed, parsed.scene, quality)
    square = np.zeros((max(sw, sh), max(sw, sh), 4), np.float32)
    square[
        square.shape[0] - sh :, (square.shape[1] - sw) // 2 : (square.shape[1] - sw) // 2 + sw
    ] = rgba
    art.paste(canvas, square, (left - (square.shape[1] - sw) / 2, bottom - square.shape[0], 0, 0))
    return canvas
