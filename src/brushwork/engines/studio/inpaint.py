"""Inpainting v0: fill the edit region from its surroundings, then honour the prompt in it.

The fill continues the border inward (OpenCV's Navier-Stokes inpainting) and
adds seeded grain matched to the image's own noise, so ``n`` fills differ.
Quoted text is set inside the region; a named colour tints it. The keep-pixels
composite happens outside the engine.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from brushwork.engines.studio import render
from brushwork.engines.studio.prompt import Parsed
from brushwork.engines.studio.render import Stage


def fill(
    image: Image.Image,
    edit: np.ndarray,
    parsed: Parsed,
    rng: np.random.Generator,
    stage: Stage | None = None,
) -> Image.Image:
    rgb = np.asarray(image.convert("RGB"))
    hole = (edit > 0).astype(np.uint8) * 255
    if not hole.any():
        return image.convert("RGB")
    radius = max(3, int(0.01 * max(rgb.shape[:2])))
    filled = cv2.inpaint(rgb, hole, radius, cv2.INPAINT_NS).astype(np.float32) / 255
    if stage is not None:
        stage(0.5, "filled the region's structure", lambda: render.to_image(filled))
    filled = _add_grain(filled, rgb, hole > 0, rng)
    if parsed.colours:
        region = np.zeros_like(filled)
        region[:] = filled
        render.tint(region, parsed.colours[0], 0.6)
        filled = np.where((hole > 0)[:, :, None], region, filled)
    out = render.to_image(filled)
    if stage is not None:
        stage(0.8, "matched the texture", out.copy)
    if parsed.quoted:
        _text_in_region(out, hole > 0, parsed, rng)
    return out


def _add_grain(
    filled: np.ndarray, original: np.ndarray, hole: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Match the image's own fine noise inside the hole, so the fill is not flat plastic."""
    gray = original.mean(axis=2).astype(np.float32) / 255
    residual = gray - cv2.GaussianBlur(gray, (0, 0), 1.5)
    kept = ~hole
    sigma = float(residual[kept].std()) if kept.any() else 0.01
    grain = rng.normal(0, sigma, hole.shape).astype(np.float32)
    return np.asarray(np.clip(filled + (grain * hole)[:, :, None], 0, 1), dtype=np.float32)


def _text_in_region(
    image: Image.Image, hole: np.ndarray, parsed: Parsed, rng: np.random.Generator
) -> None:
    ys, xs = np.nonzero(hole)
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
    region = image.crop((x0, y0, x1, y1))
    render.set_text_in_box(region, " ".join(parsed.quoted), parsed.text_colour)
    image.paste(region, (x0, y0))
