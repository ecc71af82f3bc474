"""The studio's canvas and colour: a float RGB array in 0..1, noise and gradients, Lab
colour moves, the scene's light, and the way back to a PIL image.

All randomness comes from the ``numpy.random.Generator`` passed in, so the same
seed gives the same pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from brushwork.engines.studio.prompt import RGB

Canvas = npt.NDArray[Any]  # float32 H x W x 3 in 0..1
# A stage report: (fraction of this image done, what happened, how to render a preview).


# A stage report: (fraction of this image done, what happened, how to render a preview).
Stage: TypeAlias = Callable[[float, str, Callable[[], Image.Image]], None]

# How much of the native size the background is painted at, per quality tier.


def rgb(c: RGB) -> np.ndarray:
    return np.asarray(c, dtype=np.float32) / 255.0


def noise(rng: np.random.Generator, h: int, w: int, cells: float, octaves: int = 4) -> np.ndarray:
    """Smooth value noise in 0..1: random grids upsampled and summed over octaves."""
    acc = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for octave in range(octaves):
        n = cells * 2**octave
        gh, gw = max(2, int(n * h / max(h, w)) + 2), max(2, int(n * w / max(h, w)) + 2)
        grid = rng.random((gh, gw), dtype=np.float32)
        acc += amp * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= 0.5
    return np.asarray(np.clip(acc / total, 0.0, 1.0), dtype=np.float32)


def gradient(h: int, w: int, stops: list[tuple[float, RGB]]) -> Canvas:
    ys = np.linspace(0.0, 1.0, h, dtype=np.float32)
    positions = [p for p, _ in stops]
    cols = np.stack(
        [np.interp(ys, positions, [c[k] / 255.0 for _, c in stops]) for k in range(3)], axis=-1
    ).astype(np.float32)
    return np.repeat(cols[:, None, :], w, axis=1)


def random_colour(rng: np.random.Generator) -> RGB:
    r, g, b = (int(v) for v in rng.integers(40, 230, 3))
    return (r, g, b)


def shade(c: RGB, f: float) -> RGB:
    r, g, b = (min(255, int(v * f)) for v in c)
    return (r, g, b)


def toward_lab(
    lab: np.ndarray,
    source: np.ndarray,
    target: np.ndarray,
    spread: float,
    shift: tuple[float, float, float],
) -> np.ndarray:
    """Lab values moved part of the way toward another colour distribution: the spread
    (standard deviation) by ``spread`` and the mean by ``shift`` per channel, ``source`` and
    ``target`` being (N, 3) Lab samples of the two distributions."""
    out = lab.copy()
    for c in range(3):
        mean, std = source[:, c].mean(), source[:, c].std() + 1e-3
        t_mean, t_std = target[:, c].mean(), target[:, c].std() + 1e-3
        out[..., c] = (lab[..., c] - mean) * (1 + spread * (t_std / std - 1)) + mean
        out[..., c] += shift[c] * (t_mean - mean)
    return out


def saturate(c: Canvas, amount: float) -> Canvas:
    """Colour pushed away from its grey by ``amount`` (1 = unchanged), clipped to 0..1."""
    grey = c.mean(axis=2, keepdims=True)
    return np.asarray(np.clip(grey + (c - grey) * amount, 0, 1), np.float32)


def tint(c: Canvas, colour: RGB, amount: float) -> None:
    """Pull the scene toward a colour the prompt names, keeping its light and shade."""
    lum = c.mean(axis=2, keepdims=True)
    tinted = np.clip(lum * rgb(colour) * 2.0, 0, 1)
    c[:] = c * (1 - amount) + tinted * amount


def light(c: Canvas, kind: str | None) -> None:
    """The scene's light over everything painted so far (subjects included)."""
    if kind is None:
        return
    h, w = c.shape[:2]
    yy, xx = np.ogrid[:h, :w]
    if kind == "morning":  # soft warm light from the upper left
        fall = np.clip(1.15 - (xx / w * 0.55 + yy / h * 0.35), 0.75, 1.15).astype(np.float32)
        c *= fall[:, :, None] * rgb((255, 244, 226))[None, None] / rgb((255, 255, 255))
    elif kind == "golden":
        fall = np.clip(1.1 - (xx / w) * 0.3, 0.8, 1.1).astype(np.float32)
        c *= fall[:, :, None] * rgb((255, 222, 180))[None, None] / rgb((255, 255, 255))
    elif kind == "night":
        c *= rgb((170, 185, 235))[None, None] / rgb((255, 255, 255)) * 0.85
    np.clip(c, 0, 1, out=c)


def to_rgba(art: npt.NDArray[Any]) -> Image.Image:
    """Float RGBA (0..1) art as a PIL image."""
    return Image.fromarray(np.clip(art * 255 + 0.5, 0, 255).astype(np.uint8), "RGBA")


def to_image(c: Canvas) -> Image.Image:
    return Image.fromarray(np.clip(c * 255 + 0.5, 0, 255).astype(np.uint8), "RGB")
