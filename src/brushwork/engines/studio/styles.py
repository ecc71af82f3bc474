"""Style filters (oil painting, sketch, watercolour, neon, photographic …) and the finish."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from brushwork.contract import ResolvedQuality
from brushwork.engines.studio.colour import Canvas, noise, saturate
from brushwork.imaging.cluster import kmeans


def stylise(c: Canvas, styles: list[str], rng: np.random.Generator) -> Canvas:
    """Style filters over the painted scene (text is set afterwards and stays exact)."""
    h, w = c.shape[:2]
    for style in styles:
        if style == "pixel":
            c = pixel_art(c)
        elif style == "neon":
            c = np.clip(c * 0.35 + (c - c.mean(axis=2, keepdims=True)) * 0.8, 0, 1)
        elif style == "vintage":
            sepia = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]])
            c = np.clip(c @ sepia.T.astype(np.float32), 0, 1) * 0.9 + 0.05
        elif style == "mono":
            c = np.repeat(c.mean(axis=2, keepdims=True), 3, axis=2)
        elif style == "oil":
            c = oil(c, rng)
        elif style == "watercolour":
            img: npt.NDArray[Any] = (c * 255).astype(np.uint8)
            img = cv2.edgePreservingFilter(img, flags=cv2.RECURS_FILTER, sigma_s=30, sigma_r=0.4)
            c = img.astype(np.float32) / 255
            c = np.clip(c * 0.85 + 0.15 + (noise(rng, h, w, 30, 2)[:, :, None] - 0.5) * 0.06, 0, 1)
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


PIXEL_GRID = 64  # cells across the long edge
PIXEL_PALETTE = 8


BAYER = np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]], np.float32) / 16


def pixel_art(c: Canvas) -> Canvas:
    """A real pixel grid (64 cells across) in a palette of 8 colours picked from the picture
    (k-means) at game-console saturation, gradients ordered-dithered between them (Bayer
    4x4, cell by cell), each cell one flat colour."""
    h, w = c.shape[:2]
    cell = max(4, max(h, w) // PIXEL_GRID)
    small = cv2.resize(c, (max(1, w // cell), max(1, h // cell)), interpolation=cv2.INTER_AREA)
    small = saturate(small, 1.4)  # console colours
    flat = small.reshape(-1, 3)
    k = min(PIXEL_PALETTE, len(flat))
    cv2.setRNGSeed(0)  # the same picture, the same palette
    _, palette = kmeans(flat, k, iterations=12, eps=1e-3, attempts=1)
    sh, sw = small.shape[:2]
    threshold = np.tile(BAYER, (sh // 4 + 1, sw // 4 + 1))[:sh, :sw, None]
    dithered = (small + (threshold - 0.5) * 0.18).reshape(-1, 3)
    nearest = np.argmin(((dithered[:, None, :] - palette[None]) ** 2).sum(axis=2), axis=1)
    small = palette[nearest].reshape(small.shape)
    return np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST), np.float32)


def _kuwahara(c: Canvas, radius: int) -> Canvas:
    """Kuwahara's filter: each pixel takes the mean of whichever of its four overlapping
    quadrants varies least, which flattens texture into patches and keeps edges sharp."""
    side = radius + 1
    gray = c.mean(axis=2)
    best = np.full(gray.shape, np.inf, np.float32)
    out = c
    for dy in (-radius, 0):
        for dx in (-radius, 0):
            anchor = (-dx, -dy)  # the quadrant above-left, above-right, … of each pixel

            def box(x: npt.NDArray[Any], anchor: tuple[int, int] = anchor) -> npt.NDArray[Any]:
                return cv2.boxFilter(x, -1, (side, side), anchor=anchor,
                                     borderType=cv2.BORDER_REFLECT)  # fmt: skip

            m = box(gray)
            var = box(gray * gray) - m * m
            take = var < best
            best = np.where(take, var, best)
            out = np.where(take[:, :, None], box(c), out)
    return np.asarray(out, np.float32)


def oil(c: Canvas, rng: np.random.Generator) -> Canvas:
    """Oil paint: Kuwahara patches, richer colour, and brush strokes that follow the picture's
    structure (noise smeared along the edges' direction, in four orientations), on canvas."""
    h, w = c.shape[:2]
    radius = max(3, max(h, w) // 110)
    painted = _kuwahara(c, radius)
    painted = saturate(painted, 1.45)  # pigment is more saturated
    # the stroke field at half size (broader strokes, a quarter of the work), then lifted
    half = cv2.resize(painted.mean(axis=2), (max(1, w // 2), max(1, h // 2)),
                      interpolation=cv2.INTER_AREA)  # fmt: skip
    gx = cv2.Sobel(half, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(half, cv2.CV_32F, 0, 1, ksize=3)
    # the structure tensor's direction, smoothed: strokes run along edges, not across them
    jxx, jyy, jxy = (cv2.GaussianBlur(v, (0, 0), 3) for v in (gx * gx, gy * gy, gx * gy))
    along = (0.5 * np.arctan2(2 * jxy, jxx - jyy) + np.pi / 2) % np.pi
    grain = rng.random(half.shape, dtype=np.float32)
    length = max(5, max(h, w) // 120) | 1
    smeared = []
    for k in range(4):
        kernel = np.zeros((length, length), np.float32)
        angle, centre = k * np.pi / 4, length // 2
        for t in np.linspace(-centre, centre, length * 2):
            kernel[round(centre + t * np.sin(angle)), round(centre + t * np.cos(angle))] = 1.0
        smeared.append(cv2.filter2D(grain, -1, kernel / kernel.sum(),
                                    borderType=cv2.BORDER_REFLECT))  # fmt: skip
    bins = np.floor(along / (np.pi / 4) + 0.5).astype(np.int32) % 4
    strokes = cv2.resize(np.choose(bins, smeared), (w, h), interpolation=cv2.INTER_LINEAR)
    strokes = (strokes - strokes.mean()) / max(float(strokes.std()), 1e-6)
    weave = noise(rng, h, w, max(2, max(h, w) // 300), 1) - 0.5  # the canvas underneath
    light = 1 + 0.1 * strokes[:, :, None] + 0.04 * weave[:, :, None]
    return np.asarray(np.clip(painted * light, 0, 1), np.float32)


def finish(c: Canvas, rng: np.random.Generator, quality: ResolvedQuality) -> Canvas:
    """Photographic light: a gentle vignette, and film grain at high quality."""
    h, w = c.shape[:2]
    yy, xx = np.ogrid[:h, :w]
    d = ((xx / w - 0.5) ** 2 + (yy / h - 0.5) ** 2).astype(np.float32)
    c = c * (1 - 0.35 * d)[:, :, None]
    if quality == "high":
        c = c + rng.normal(0, 0.012, (h, w, 1)).astype(np.float32)
    return np.clip(c, 0, 1).astype(np.float32)
