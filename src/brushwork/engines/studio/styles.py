"""Style filters (oil painting, sketch, watercolour, neon, photographic …) and the finish."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from brushwork.contract import ResolvedQuality
from brushwork.engines.studio.colour import Canvas, noise


def stylise(c: Canvas, styles: list[str], rng: np.random.Generator) -> Canvas:
    """Style filters over the painted scene (text is set afterwards and stays exact)."""
    h, w = c.shape[:2]
    for style in styles:
        if style == "pixel":
            cell = max(4, max(h, w) // 96)
            small = cv2.resize(
                c, (max(1, w // cell), max(1, h // cell)), interpolation=cv2.INTER_AREA
            )
            small = np.round(small * 6) / 6
            c = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
        elif style == "neon":
            c = np.clip(c * 0.35 + (c - c.mean(axis=2, keepdims=True)) * 0.8, 0, 1)
        elif style == "vintage":
            sepia = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]])
            c = np.clip(c @ sepia.T.astype(np.float32), 0, 1) * 0.9 + 0.05
        elif style == "mono":
            c = np.repeat(c.mean(axis=2, keepdims=True), 3, axis=2)
        elif style in ("watercolour", "oil"):
            img: npt.NDArray[Any] = (c * 255).astype(np.uint8)
            sigma = 60 if style == "oil" else 30
            img = cv2.edgePreservingFilter(img, flags=cv2.RECURS_FILTER, sigma_s=sigma, sigma_r=0.4)
            c = img.astype(np.float32) / 255
            if style == "watercolour":
                c = np.clip(
                    c * 0.85 + 0.15 + (noise(rng, h, w, 30, 2)[:, :, None] - 0.5) * 0.06, 0, 1
                )
        elif style == "flat":  # few flat colours, no texture
            img = cv2.bilateralFilter((c * 255).astype(np.uint8), 9, 60, 9)
            c = np.round(img.astype(np.float32) / 255 * 5) / 5
        elif style == "photo":  # depth of field, a contrast curve, a warm grade, grain
            blurred = cv2.GaussianBlur(c, (0, 0), max(1.0, 0.012 * max(h, w)))
            depth = np.clip((np.arange(h, dtype=np.float32) / h - 0.35) * 3, 0, 1)[:, None, None]
            c = blurred * (1 - depth) + c * depth
            c = c * c * (3 - 2 * c)  # S-curve
            c = c * np.array([1.04, 1.0, 0.94], np.float32)
            c = np.clip(c + rng.normal(0, 0.012, (h, w, 1)).astype(np.float32), 0, 1)
        elif style == "sketch":
            gray, _ = cv2.pencilSketch((c * 255).astype(np.uint8), sigma_s=40, sigma_r=0.08)
            c = np.repeat(gray[:, :, None].astype(np.float32) / 255, 3, axis=2)
    return c


def finish(c: Canvas, rng: np.random.Generator, quality: ResolvedQuality) -> Canvas:
    """Photographic light: a gentle vignette, and film grain at high quality."""
    h, w = c.shape[:2]
    yy, xx = np.ogrid[:h, :w]
    d = ((xx / w - 0.5) ** 2 + (yy / h - 0.5) ** 2).astype(np.float32)
    c = c * (1 - 0.35 * d)[:, :, None]
    if quality == "high":
        c = c + rng.normal(0, 0.012, (h, w, 1)).astype(np.float32)
    return np.clip(c, 0, 1).astype(np.float32)
