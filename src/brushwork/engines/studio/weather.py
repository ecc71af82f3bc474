"""Weather as layers over a painted scene (issue 18): rain, snow, fog and storm, each a pass
on the float RGB canvas (0..1) after the scene's painter, never an icon in the middle of the
picture. Several can be asked at once ("a foggy, rainy street")."""

from __future__ import annotations

import cv2
import numpy as np

from brushwork.engines.studio.colour import Canvas, noise


def _streaks(
    h: int, w: int, rng: np.random.Generator, count: int, length: float, slant: float
) -> np.ndarray:
    """A layer (h x w, 0..1) of thin slanted strokes: falling rain."""
    layer = np.zeros((h, w), np.float32)
    size = max(h, w)
    for x, y, bright in zip(rng.uniform(-0.1, 1.1, count) * w, rng.uniform(-0.1, 1, count) * h,
                            rng.uniform(0.3, 1.0, count), strict=True):  # fmt: skip
        long = length * size * rng.uniform(0.6, 1.2)
        end = (int(x + slant * long), int(y + long))
        cv2.line(layer, (int(x), int(y)), end, float(bright), max(1, size // 700), cv2.LINE_AA)
    return cv2.GaussianBlur(layer, (0, 0), max(0.5, size / 1500))


def rain(c: Canvas, rng: np.random.Generator) -> None:
    """A grey wet light, the far distance washed out, and rain in two depths of streaks."""
    h, w = c.shape[:2]
    grey = c.mean(axis=2, keepdims=True)
    c[:] = (c * 0.6 + grey * 0.4) * 0.78 + 0.06
    slant = float(rng.uniform(-0.25, 0.25))
    for count, length, strength in ((int(0.35 * w), 0.05, 0.35), (int(0.12 * w), 0.1, 0.5)):
        streaks = _streaks(h, w, rng, count, length, slant)[:, :, None]
        c[:] = c * (1 - streaks * strength) + 0.85 * streaks * strength


def snow(c: Canvas, rng: np.random.Generator) -> None:
    """Falling snow: soft flakes, small and many far away, few and large near."""
    h, w = c.shape[:2]
    c[:] = c * 0.82 + np.array([0.13, 0.14, 0.16], np.float32)  # the pale, cold light of snow
    size = max(h, w)
    for count, radius, blur in ((int(0.8 * w), 0.0025, 0.6), (int(0.08 * w), 0.007, 2.0)):
        layer = np.zeros((h, w), np.float32)
        for x, y in zip(rng.uniform(0, 1, count) * w, rng.uniform(0, 1, count) * h, strict=True):
            r = max(1, int(radius * size * rng.uniform(0.6, 1.3)))
            cv2.circle(layer, (int(x), int(y)), r, 1.0, -1, cv2.LINE_AA)
        flakes = cv2.GaussianBlur(layer, (0, 0), max(0.5, blur * size / 1000))[:, :, None]
        c[:] = c * (1 - flakes * 0.9) + flakes * 0.9 * 0.97


def fog(c: Canvas, rng: np.random.Generator) -> None:
    """Fog: the picture fades towards a pale grey, most at its middle height (the distance)
    and in drifting banks, less at the bottom (near)."""
    h, w = c.shape[:2]
    ys = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    depth = np.exp(-(((ys - 0.55) / 0.3) ** 2))
    banks = 0.6 + 0.4 * noise(rng, h, w, 2.5, octaves=3)
    amount = np.clip(0.25 + 0.55 * depth * banks, 0, 0.85)[:, :, None]
    haze = np.array([0.82, 0.84, 0.86], np.float32)
    c[:] = c * (1 - amount) + haze * amount
    c[:] = cv2.GaussianBlur(c, (0, 0), max(0.5, max(h, w) / 700))  # fog softens edges too


def storm(c: Canvas, rng: np.random.Generator) -> None:
    """A storm: heavy dark clouds pressing down from the top, the light gone dim and cold, a
    fork of lightning with its glow; rain falls with it."""
    h, w = c.shape[:2]
    c[:] = c * np.array([0.55, 0.58, 0.66], np.float32)
    ys = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    clouds = noise(rng, h, w, 3, octaves=5)
    cover = np.clip((clouds * 1.4 - ys * 1.1), 0, 1)[:, :, None]
    dark = np.array([0.16, 0.17, 0.21], np.float32) + clouds[:, :, None] * 0.12
    c[:] = c * (1 - cover) + dark * cover
    bolt = np.zeros((h, w), np.float32)
    x, y = rng.uniform(0.2, 0.8) * w, 0.0
    bottom = rng.uniform(0.45, 0.7) * h
    thick = max(1, max(h, w) // 300)
    while y < bottom:
        nx, ny = x + rng.normal(0, 0.025) * w, y + rng.uniform(0.02, 0.05) * h
        cv2.line(bolt, (int(x), int(y)), (int(nx), int(ny)), 1.0, thick, cv2.LINE_AA)
        if rng.random() < 0.18:  # a branch
            bx, by = nx + rng.normal(0, 0.05) * w, ny + rng.uniform(0.03, 0.08) * h
            cv2.line(bolt, (int(nx), int(ny)), (int(bx), int(by)), 0.7, max(1, thick // 2))
        x, y = nx, ny
    glow = cv2.GaussianBlur(bolt, (0, 0), max(1.0, max(h, w) / 60))
    light = (bolt + glow * 1.5)[:, :, None] * np.array([0.9, 0.92, 1.0], np.float32)
    c[:] = np.clip(c + light, 0, 1)
    rain(c, rng)


LAYERS = {"rain": rain, "snow": snow, "fog": fog, "storm": storm}
ORDER = ("storm", "rain", "snow", "fog")  # storm brings its own rain; fog goes over it all


def apply(c: Canvas, rng: np.random.Generator, kinds: list[str]) -> None:
    """The weather layers asked for, in an order that reads: a storm's rain is not doubled."""
    wanted = set(kinds)
    if "storm" in wanted:
        wanted.discard("rain")
    for kind in ORDER:
        if kind in wanted:
            LAYERS[kind](c, rng)
