"""Surfaces a subject stands on: marble and wood, painted procedurally."""

from __future__ import annotations

import numpy as np

from brushwork.engines.studio.colour import Canvas, noise, rgb


def marble(h: int, w: int, rng: np.random.Generator) -> Canvas:
    """White marble: a warm-grey base and thin turbulent veins."""
    turbulence = noise(rng, h, w, 3, octaves=5)
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    angle = float(rng.uniform(0.3, 1.2))
    phase = (xx * np.cos(angle) + yy * np.sin(angle)) / max(h, w) * 9 + turbulence * 7
    veins = np.abs(np.sin(phase)) ** 0.18
    base = rgb((236, 233, 228)) * (0.94 + 0.06 * noise(rng, h, w, 8, 3))[:, :, None]
    out: Canvas = base * (0.72 + 0.28 * veins)[:, :, None]
    result: Canvas = np.clip(out + rgb((8, 6, 2)) * (1 - veins)[:, :, None], 0, 1)
    return result.astype(np.float32)


def wood(h: int, w: int, rng: np.random.Generator) -> Canvas:
    """Planks of warm wood: long rings bent by noise, darker seams between boards."""
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    bend = noise(rng, h, w, 2, octaves=4)
    rings = np.sin((yy / max(1, h) * 40 + bend * 6 + xx / max(1, w) * 1.5) * 3.0) * 0.5 + 0.5
    grain = noise(rng, h, w, 40, octaves=2)
    tone = 0.75 + 0.15 * rings + 0.1 * grain
    out: Canvas = rgb((150, 98, 58)) * tone[:, :, None]
    seams = (np.abs(((yy / max(1, h)) * 4) % 1.0 - 0.5) > 0.485).astype(np.float32)
    result: Canvas = np.clip(out * (1 - 0.35 * seams[:, :, None]), 0, 1)
    return result.astype(np.float32)


def surface(c: Canvas, kind: str, rng: np.random.Generator, top: float = 0.7) -> None:
    """A countertop or table from ``top`` (fraction of the height) down, in perspective light."""
    h, w = c.shape[:2]
    y = int(h * top)
    painter = marble if kind == "marble" else wood
    c[y:] = painter(h - y, w, rng) * np.linspace(1.0, 0.82, h - y, dtype=np.float32)[:, None, None]
    c[y : y + max(1, h // 200)] *= 0.75  # the front edge
