"""Paint a scene from a parsed prompt: procedural backgrounds, style filters, exact text.

All randomness comes from the ``numpy.random.Generator`` passed in, so the same
seed gives the same pixels. Backgrounds are painted at the engine's native
size and upscaled; text is set last, at the final size, so it stays crisp.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from brushwork.contract import ResolvedQuality
from brushwork.engines.studio import text as typo
from brushwork.engines.studio.prompt import RGB, Parsed

Canvas = npt.NDArray[Any]  # float32 H x W x 3 in 0..1
# A stage report: (fraction of this image done, what happened, how to render a preview).
Stage: TypeAlias = Callable[[float, str, Callable[[], Image.Image]], None]

# How much of the native size the background is painted at, per quality tier.
BACKGROUND_SCALE: dict[str, float] = {"low": 0.25, "medium": 0.5, "high": 1.0}


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


def ridge(rng: np.random.Generator, w: int, base: float, amp: float, cells: int) -> np.ndarray:
    """A 1-D skyline (fractions of the height) for hills, dunes and mountains."""
    line = noise(rng, 1, w, cells, octaves=3)[0]
    return np.asarray(base + amp * (line - 0.5) * 2, dtype=np.float32)


def gradient(h: int, w: int, stops: list[tuple[float, RGB]]) -> Canvas:
    ys = np.linspace(0.0, 1.0, h, dtype=np.float32)
    positions = [p for p, _ in stops]
    cols = np.stack(
        [np.interp(ys, positions, [c[k] / 255.0 for _, c in stops]) for k in range(3)], axis=-1
    ).astype(np.float32)
    return np.repeat(cols[:, None, :], w, axis=1)


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
    sprinkle(c, rng, 350, 0, 1, rgb((255, 255, 255)), 0.003)


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


def _scene_bokeh(c: Canvas, rng: np.random.Generator) -> None:
    """Out-of-focus lights: soft warm and cool discs over a dark, deep background."""
    h, w = c.shape[:2]
    c[:] = gradient(h, w, [(0, (28, 22, 40)), (1, (12, 10, 18))])
    glow = np.zeros_like(c)
    for colour in ((255, 196, 120), (255, 150, 90), (140, 180, 255), (255, 230, 180)):
        sprinkle(glow, rng, 14, 0.05, 0.95, rgb(colour), 0.05)
    c[:] = np.clip(c + cv2.GaussianBlur(glow, (0, 0), max(1.0, 0.012 * max(h, w))) * 0.6, 0, 1)


SCENE_PAINTERS = {
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
}


def abstract(c: Canvas, rng: np.random.Generator, colours: list[RGB]) -> None:
    """No scene named: a soft field of the prompt's colours with bokeh-like light."""
    h, w = c.shape[:2]
    palette = colours or [_random_colour(rng) for _ in range(3)]
    top, bottom = palette[0], palette[min(1, len(palette) - 1)]
    c[:] = gradient(h, w, [(0, _shade(top, 1.15)), (1, _shade(bottom, 0.6))])
    for colour in palette:
        n = noise(rng, h, w, 1.5, octaves=3)[:, :, None]
        c[:] = c * (1 - n * 0.35) + rgb(colour) * n * 0.35
    c[:] = cv2.GaussianBlur(c, (0, 0), max(1.0, 0.01 * max(h, w)))
    glow = np.zeros_like(c)  # bokeh: soft discs of light added on top, never dark blots
    sprinkle(glow, rng, 25, 0, 1, rgb((255, 255, 255)), 0.03)
    c[:] = np.clip(c + cv2.GaussianBlur(glow, (0, 0), max(1.0, 0.008 * max(h, w))) * 0.22, 0, 1)


def _random_colour(rng: np.random.Generator) -> RGB:
    r, g, b = (int(v) for v in rng.integers(40, 230, 3))
    return (r, g, b)


def _shade(c: RGB, f: float) -> RGB:
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


def tint(c: Canvas, colour: RGB, amount: float) -> None:
    """Pull the scene toward a colour the prompt names, keeping its light and shade."""
    lum = c.mean(axis=2, keepdims=True)
    tinted = np.clip(lum * rgb(colour) * 2.0, 0, 1)
    c[:] = c * (1 - amount) + tinted * amount


def background(
    parsed: Parsed, size: tuple[int, int], rng: np.random.Generator, quality: ResolvedQuality
) -> Canvas:
    w, h = size
    scale = BACKGROUND_SCALE[quality]
    pw, ph = max(16, int(w * scale)), max(16, int(h * scale))
    c: Canvas = np.zeros((ph, pw, 3), np.float32)
    if parsed.scene is None:
        abstract(c, rng, parsed.colours)
    else:
        SCENE_PAINTERS[parsed.scene](c, rng)
        if parsed.colours:
            tint(c, parsed.colours[0], 0.35)
    c = np.clip(c, 0, 1)
    if (pw, ph) != (w, h):
        c = cv2.resize(c, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(c, 0, 1)


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


def to_rgba(art: npt.NDArray[Any]) -> Image.Image:
    """Float RGBA (0..1) art as a PIL image."""
    return Image.fromarray(np.clip(art * 255 + 0.5, 0, 255).astype(np.uint8), "RGBA")


def to_image(c: Canvas) -> Image.Image:
    return Image.fromarray(np.clip(c * 255 + 0.5, 0, 255).astype(np.uint8), "RGB")


TITLE_SHARE, LINE_SHARE = 0.28, 0.1  # of the height: the title's box, each further line's


def text_extent(strings: list[str], height: int, top: float | None) -> float | None:
    """Where the text will end (pixels from the top) when it starts at ``top`` (a fraction)."""
    if not strings or top is None:
        return None
    return height * (top + TITLE_SHARE + (LINE_SHARE + 0.02) * (len(strings) - 1))


def set_text(
    image: Image.Image,
    strings: list[str],
    rng: np.random.Generator,
    colour: RGB | None,
    top_fraction: float | None = None,
) -> None:
    """Set every quoted string exactly: the first as a title, the rest as lines below it.

    ``top_fraction`` pins where the title starts (the layout keeps subjects below it);
    otherwise the seed picks the top, the upper middle or the lower middle."""
    if not strings:
        return
    w, h = image.size
    top = h * (top_fraction if top_fraction is not None else float(rng.choice([0.08, 0.3, 0.55])))
    margin = int(w * 0.08)
    box_w = w - 2 * margin
    for i, s in enumerate(strings):
        box_h = int(h * (TITLE_SHARE if i == 0 else LINE_SHARE))
        box_h = min(box_h, int(h * 0.95 - top)) if top < h * 0.9 else int(h * 0.08)
        layout = typo.fit_text(s, box_w, max(8, box_h))
        fill, outline = _contrast(
            image, (margin, int(top), w - margin, int(top) + layout.height), colour
        )
        top_px = int(top) + (box_h - layout.height) // 2 if i == 0 else int(top)
        box = typo.draw_layout(image, layout, w // 2, top_px, fill, outline)
        top = box[3] + h * 0.02


def _contrast(
    image: Image.Image, box: tuple[int, int, int, int], colour: RGB | None
) -> tuple[RGB, RGB]:
    region = np.asarray(image.crop(box).convert("L"), dtype=np.float32)
    light_bg = region.size > 0 and float(region.mean()) > 140
    dark: RGB = (20, 20, 26)
    light: RGB = (250, 250, 250)
    if colour is not None:
        lum = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]
        return colour, (dark if lum > 128 else light)
    return (dark, light) if light_bg else (light, dark)


def set_text_in_box(image: Image.Image, text: str, colour: RGB | None) -> None:
    """Fit ``text`` into the whole of ``image`` (a region), centred, with a small margin."""
    w, h = image.size
    margin_x, margin_y = max(1, w // 16), max(1, h // 10)
    layout = typo.fit_text(text, max(8, w - 2 * margin_x), max(8, h - 2 * margin_y))
    fill, outline = _contrast(image, (0, 0, w, h), colour)
    typo.draw_layout(image, layout, w // 2, (h - layout.height) // 2, fill, outline)
