"""Procedural backgrounds: one painter per scene word (sky, sunset, city, bokeh …) and an
abstract field of the prompt's colours when no scene is named. Painted at a fraction of the
native size per quality tier and upscaled."""

from __future__ import annotations

import zlib
from collections.abc import Callable

import cv2
import numpy as np

from brushwork.contract import ResolvedQuality
from brushwork.engines.studio import places, weather
from brushwork.engines.studio.colour import (
    Canvas,
    gradient,
    noise,
    random_colour,
    rgb,
    shade,
    tint,
)
from brushwork.engines.studio.prompt import RGB, Parsed

# How much of the native size the background is painted at, per quality tier.
BACKGROUND_SCALE: dict[str, float] = {"low": 0.25, "medium": 0.5, "high": 1.0}


def ridge(rng: np.random.Generator, w: int, base: float, amp: float, cells: int) -> np.ndarray:
    """A 1-D skyline (fractions of the height) for hills, dunes and mountains."""
    line = noise(rng, 1, w, cells, octaves=3)[0]
    return np.asarray(base + amp * (line - 0.5) * 2, dtype=np.float32)


def paint_below(canvas: Canvas, line: np.ndarray, colour: np.ndarray, shade: float = 0.0) -> None:
    """Fill everything under ``line`` (per column) with ``colour``, darker further down.

    The edge is anti-aliased over one pixel so silhouettes stay smooth when upscaled.
    """
    h = canvas.shape[0]
    ys = np.arange(h, dtype=np.float32)[:, None] / h
    cover = np.clip((ys - line[None, :]) * h + 0.5, 0, 1)[:, :, None]
    depth = np.clip((ys - line[None, :]) * 2, 0, 1)
    fill = colour[None, None, :] * (1 - shade * depth[:, :, None])
    canvas[:] = canvas * (1 - cover) + fill * cover


def disc(canvas: Canvas, cx: float, cy: float, r: float, colour: np.ndarray, glow: float) -> None:
    h, w = canvas.shape[:2]
    yy, xx = np.ogrid[:h, :w]
    d = np.sqrt((xx - cx * w) ** 2 + (yy - cy * h) ** 2) / (r * max(h, w))
    core = np.clip(1.5 - d * 1.5, 0, 1) ** 0.2 * (d < 1)
    halo = glow * np.exp(-np.maximum(d - 1, 0) * 2.5) * (d >= 1)
    a = np.clip(core + halo, 0, 1)[:, :, None]
    canvas[:] = canvas * (1 - a) + colour * a


def sprinkle(
    canvas: Canvas,
    rng: np.random.Generator,
    count: int,
    top: float,
    bottom: float,
    colour: np.ndarray,
    size: float,
) -> None:
    h, w = canvas.shape[:2]
    ys = rng.uniform(top, bottom, count) * h
    xs = rng.uniform(0, 1, count) * w
    bright = rng.uniform(0.4, 1.0, count)
    radius = max(1, int(size * max(h, w)))
    for x, y, b in zip(xs, ys, bright, strict=True):
        r = max(1, int(radius * b))
        cv2.circle(canvas, (int(x), int(y)), r, tuple(float(c) * b for c in colour), -1)


def clouds(canvas: Canvas, rng: np.random.Generator, bottom: float, amount: float) -> None:
    h, w = canvas.shape[:2]
    n = noise(rng, h, w, 3, octaves=5)
    fade = np.clip((bottom - np.linspace(0, 1, h, dtype=np.float32)) / 0.2, 0, 1)[:, None]
    a = (np.clip((n - (1 - amount)) * 3, 0, 1) * fade)[:, :, None]
    canvas[:] = canvas * (1 - a * 0.9) + a * 0.97


def _scene_sky(c: Canvas, rng: np.random.Generator) -> None:
    c[:] = gradient(c.shape[0], c.shape[1], [(0, (45, 105, 200)), (1, (175, 215, 245))])
    clouds(c, rng, 1.0, 0.45)


def _scene_sunset(c: Canvas, rng: np.random.Generator) -> None:
    horizon = rng.uniform(0.62, 0.72)
    c[:] = gradient(
        c.shape[0],
        c.shape[1],
        [
            (0, (40, 30, 95)),
            (0.45, (215, 85, 95)),
            (horizon, (255, 190, 100)),
            (1, (255, 200, 120)),
        ],
    )
    disc(c, rng.uniform(0.3, 0.7), horizon - 0.02, 0.07, rgb((255, 235, 170)), 0.5)
    paint_below(c, ridge(rng, c.shape[1], horizon + 0.04, 0.05, 3), rgb((55, 30, 60)), 0.5)


def _scene_night(c: Canvas, rng: np.random.Generator) -> None:
    c[:] = gradient(c.shape[0], c.shape[1], [(0, (5, 8, 28)), (1, (30, 40, 90))])
    sprinkle(c, rng, 260, 0, 0.75, rgb((255, 255, 240)), 0.0016)
    disc(c, rng.uniform(0.65, 0.85), rng.uniform(0.12, 0.25), 0.06, rgb((240, 240, 220)), 0.25)
    paint_below(c, ridge(rng, c.shape[1], 0.8, 0.06, 4), rgb((10, 14, 30)), 0.2)


def _scene_space(c: Canvas, rng: np.random.Generator) -> None:
    h, w = c.shape[:2]
    c[:] = 0.02
    for colour in ((120, 40, 160), (30, 80, 170), (200, 60, 120)):
        n = noise(rng, h, w, 2, octaves=5)
        c += rgb(colour) * np.clip(n - 0.45, 0, 1)[:, :, None] * 1.6
    sprinkle(c, rng, 400, 0, 1, rgb((255, 255, 255)), 0.0014)
    disc(c, rng.uniform(0.2, 0.8), rng.uniform(0.55, 0.8), 0.14, rgb((210, 140, 90)), 0.15)


def _scene_ocean(c: Canvas, rng: np.random.Generator) -> None:
    h, w = c.shape[:2]
    horizon = rng.uniform(0.42, 0.55)
    c[:] = gradient(
        h,
        w,
        [
            (0, (60, 130, 210)),
            (horizon, (190, 225, 245)),
            (horizon + 0.001, (30, 110, 170)),
            (1, (10, 50, 100)),
        ],
    )
    clouds(c, rng, horizon, 0.35)
    ys = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    waves = np.sin(ys * h * 0.35 / (0.3 + ys) + noise(rng, h, w, 6) * 6) * (ys > horizon)
    c += (np.clip(waves, 0, 1) * 0.12 * (ys - horizon).clip(0) * 2)[:, :, None]


def _scene_snow(c: Canvas, rng: np.random.Generator) -> None:
    c[:] = gradient(c.shape[0], c.shape[1], [(0, (165, 190, 220)), (1, (235, 242, 250))])
    paint_below(c, ridge(rng, c.shape[1], 0.62, 0.08, 3), rgb((225, 235, 248)), 0.15)
    weather.snow(c, rng)  # soft flakes (hard dots read as grey crosses once upscaled)


def _scene_forest(c: Canvas, rng: np.random.Generator) -> None:
    h, w = c.shape[:2]
    c[:] = gradient(h, w, [(0, (120, 170, 210)), (0.6, (200, 225, 215)), (1, (40, 80, 40))])
    for layer, colour in enumerate(((70, 120, 80), (40, 95, 55), (20, 60, 30))):
        base = 0.5 + layer * 0.12
        for x in rng.uniform(-0.05, 1.05, 14 + layer * 6):
            tw, th = rng.uniform(0.04, 0.08), rng.uniform(0.18, 0.3)
            pts = np.array(
                [[x * w, (base - th) * h], [(x - tw) * w, base * h], [(x + tw) * w, base * h]],
                np.int32,
            )
            cv2.fillPoly(c, [pts], tuple(float(v) for v in rgb(colour)))
        paint_below(c, np.full(w, base, np.float32), rgb(colour), 0.3)


def _scene_mountain(c: Canvas, rng: np.random.Generator) -> None:
    c[:] = gradient(c.shape[0], c.shape[1], [(0, (80, 140, 215)), (1, (215, 230, 240))])
    clouds(c, rng, 0.5, 0.3)
    for layer, colour in enumerate(((140, 160, 190), (90, 110, 140), (50, 70, 80))):
        paint_below(
            c, ridge(rng, c.shape[1], 0.42 + layer * 0.15, 0.14 - layer * 0.03, 4), rgb(colour), 0.3
        )


def _scene_desert(c: Canvas, rng: np.random.Generator) -> None:
    c[:] = gradient(c.shape[0], c.shape[1], [(0, (90, 160, 225)), (1, (250, 225, 180))])
    disc(c, rng.uniform(0.15, 0.85), 0.18, 0.05, rgb((255, 250, 220)), 0.6)
    for layer, colour in enumerate(((230, 185, 120), (215, 160, 95), (190, 130, 70))):
        paint_below(c, ridge(rng, c.shape[1], 0.55 + layer * 0.12, 0.05, 2), rgb(colour), 0.25)


def _scene_city(c: Canvas, rng: np.random.Generator) -> None:
    h, w = c.shape[:2]
    c[:] = gradient(h, w, [(0, (25, 25, 70)), (0.7, (210, 110, 90)), (1, (60, 40, 70))])
    x = 0.0
    while x < 1.0:
        bw, bh = rng.uniform(0.05, 0.12), rng.uniform(0.2, 0.6)
        x0, y0 = int(x * w), int((1 - bh) * h)
        shade = float(rng.uniform(0.06, 0.16))
        cv2.rectangle(c, (x0, y0), (int((x + bw) * w), h), (shade, shade, shade * 1.3), -1)
        step = max(4, int(0.018 * w))
        for wy in range(y0 + step, h - step, step * 2):
            for wx in range(x0 + step // 2, int((x + bw) * w) - step, step):
                if rng.random() < 0.45:
                    cv2.rectangle(
                        c, (wx, wy), (wx + step // 2, wy + step // 2), (0.55, 0.85, 1.0), -1
                    )
        x += bw * rng.uniform(0.9, 1.1)


def _scene_meadow(c: Canvas, rng: np.random.Generator) -> None:
    h, w = c.shape[:2]
    c[:] = gradient(h, w, [(0, (70, 140, 220)), (0.6, (190, 225, 245))])
    clouds(c, rng, 0.55, 0.4)
    paint_below(c, ridge(rng, w, 0.62, 0.05, 2), rgb((95, 165, 70)), 0.5)
    grass = noise(rng, h, w, 40, octaves=2)[:, :, None]
    ys = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    c *= 1 - (ys > 0.6) * (grass - 0.5) * 0.3
    for colour in ((250, 240, 120), (245, 120, 160), (255, 255, 255)):
        sprinkle(c, rng, 90, 0.68, 1.0, rgb(colour), 0.0035)


def _scene_studio(c: Canvas, rng: np.random.Generator) -> None:
    h, w = c.shape[:2]
    yy, xx = np.ogrid[:h, :w]
    cx, cy = rng.uniform(0.4, 0.6) * w, 0.35 * h
    d = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2) / max(h, w)
    light = np.clip(1.0 - d * 0.9, 0.3, 1.0).astype(np.float32)
    c[:] = rgb((215, 212, 205)) * light[:, :, None]
    floor = np.linspace(0, 1, h, dtype=np.float32)[:, None] > 0.72
    c[floor[:, 0]] *= 0.92


def _scene_bokeh(c: Canvas, rng: np.random.Generator) -> None:
    """Out-of-focus lights: soft warm and cool discs over a dark, deep background."""
    h, w = c.shape[:2]
    c[:] = gradient(h, w, [(0, (28, 22, 40)), (1, (12, 10, 18))])
    glow = np.zeros_like(c)
    for colour in ((255, 196, 120), (255, 150, 90), (140, 180, 255), (255, 230, 180)):
        sprinkle(glow, rng, 14, 0.05, 0.95, rgb(colour), 0.05)
    c[:] = np.clip(c + cv2.GaussianBlur(glow, (0, 0), max(1.0, 0.012 * max(h, w))) * 0.6, 0, 1)


SCENE_PAINTERS: dict[str, Callable[[Canvas, np.random.Generator], places.Stage | None]] = {
    "bokeh": _scene_bokeh,
    "sky": _scene_sky,
    "sunset": _scene_sunset,
    "night": _scene_night,
    "space": _scene_space,
    "ocean": _scene_ocean,
    "snow": _scene_snow,
    "forest": _scene_forest,
    "mountain": _scene_mountain,
    "desert": _scene_desert,
    "city": _scene_city,
    "meadow": _scene_meadow,
    "studio": _scene_studio,
    **places.PAINTERS,
}
# Weather named with no place: the sky it falls from, over open ground.
WEATHER_SCENES = {"storm": "ocean", "rain": "city", "snow": "snow", "fog": "forest"}


def abstract(c: Canvas, rng: np.random.Generator, colours: list[RGB]) -> None:
    """No scene named: a soft field of the prompt's colours with bokeh-like light."""
    h, w = c.shape[:2]
    palette = colours or [random_colour(rng) for _ in range(3)]
    top, bottom = palette[0], palette[min(1, len(palette) - 1)]
    c[:] = gradient(h, w, [(0, shade(top, 1.15)), (1, shade(bottom, 0.6))])
    for colour in palette:
        n = noise(rng, h, w, 1.5, octaves=3)[:, :, None]
        c[:] = c * (1 - n * 0.35) + rgb(colour) * n * 0.35
    c[:] = cv2.GaussianBlur(c, (0, 0), max(1.0, 0.01 * max(h, w)))
    glow = np.zeros_like(c)  # bokeh: soft discs of light added on top, never dark blots
    sprinkle(glow, rng, 25, 0, 1, rgb((255, 255, 255)), 0.03)
    c[:] = np.clip(c + cv2.GaussianBlur(glow, (0, 0), max(1.0, 0.008 * max(h, w))) * 0.22, 0, 1)


def background(
    parsed: Parsed, size: tuple[int, int], rng: np.random.Generator, quality: ResolvedQuality
) -> Canvas:
    return painted(parsed, size, rng, quality)[0]


def painted(
    parsed: Parsed, size: tuple[int, int], rng: np.random.Generator, quality: ResolvedQuality
) -> tuple[Canvas, places.Stage | None]:
    """The scene, and where its subjects stand when the place says (places.Stage)."""
    w, h = size
    scale = BACKGROUND_SCALE[quality]
    pw, ph = max(16, int(w * scale)), max(16, int(h * scale))
    c: Canvas = np.zeros((ph, pw, 3), np.float32)
    scene = parsed.scene
    stage = None
    if scene is None and parsed.weather:
        scene = WEATHER_SCENES[parsed.weather[0]]
    if scene is None:
        # its palette from the prompt and the seed both: with the seed alone, every prompt
        # that names no place or colour got the same backdrop (issue 18: "the same pink bokeh")
        mixed = np.random.default_rng([int(rng.integers(2**31)), zlib.crc32(parsed.text.encode())])
        abstract(c, mixed, parsed.colours)
    else:
        stage = SCENE_PAINTERS[scene](c, rng)
        if parsed.colours:
            tint(c, parsed.colours[0], 0.35)
    c = np.clip(c, 0, 1)
    if parsed.variation % 2:  # every other variation sees the place from the other side
        c = np.ascontiguousarray(c[:, ::-1])
        stage = stage.mirrored() if stage is not None else None
    weather.apply(c, rng, parsed.weather)
    if (pw, ph) != (w, h):
        c = cv2.resize(c, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(c, 0, 1), stage
