"""Painted places (issue 18): the scenes a prompt sets its subject in — an alley, a brick
wall, a beach, a lake under a treeline, a cliff over the sea, an ice floe, a branch, a
greenhouse, a room, a kitchen, a desk, a storefront — each a procedural painter on a float
RGB canvas in 0..1, like scenes.py's.

They are built from a few honest devices: one-point perspective for walls, floors and
ground; value noise for texture; mirrored, blurred and rippled copies for reflections on
water and wet ground. The subject is composed on top, standing on the place's ground.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from brushwork.engines.studio.colour import Canvas, gradient, noise, rgb
from brushwork.engines.studio.prompt import RGB


@dataclass(frozen=True)
class Stage:
    """Where a place's subjects stand, in fractions of the canvas: the ground line ``y``
    between ``x0`` and ``x1`` (the top of a cliff, the water of a lake). ``water``: they
    float there, so art that brings its own water (a canoe's) leaves it out."""

    y: float
    x0: float = 0.0
    x1: float = 1.0
    water: bool = False

    def mirrored(self) -> Stage:
        return Stage(self.y, 1 - self.x1, 1 - self.x0, self.water)


def _fill(c: Canvas, points: list[tuple[float, float]], colour: RGB | np.ndarray) -> None:
    """A polygon given in fractions of the canvas, filled with one colour."""
    h, w = c.shape[:2]
    pts = np.array([[x * w, y * h] for x, y in points], np.int32)
    value = rgb(colour) if isinstance(colour, tuple) else colour
    cv2.fillPoly(c, [pts], tuple(float(v) for v in value), lineType=cv2.LINE_AA)


def _area(c: Canvas, points: list[tuple[float, float]]) -> np.ndarray:
    """A polygon given in fractions of the canvas, as a float mask of its pixels (1 inside)."""
    h, w = c.shape[:2]
    mask = np.zeros((h, w), np.float32)
    cv2.fillPoly(mask, [np.array([[x * w, y * h] for x, y in points], np.int32)], 1.0)
    return mask


def _grain(c: Canvas, mask: np.ndarray, strength: float, pattern: np.ndarray) -> None:
    """Texture inside ``mask``: that share (``strength``) of the colour is scaled by
    ``pattern`` (rock, packed snow, bark)."""
    c[:] = c * (1 - mask[:, :, None] * strength) + c * mask[:, :, None] * strength * pattern


def _below(c: Canvas, top: float, fill: Canvas) -> None:
    """Rows under ``top`` (a fraction of the height) become ``fill``'s: a floor, a counter,
    the ground in front of a wall."""
    ys = np.linspace(0, 1, c.shape[0], dtype=np.float32)[:, None, None]
    c[:] = np.where(ys > top, fill, c)


def _glow(c: Canvas, light: Canvas, spread: float, strength: float) -> None:
    """Add ``light`` to the canvas, blurred into a glow (bloom) as well as sharp."""
    sigma = max(1.0, spread * max(c.shape[:2]))
    c += light + cv2.GaussianBlur(light, (0, 0), sigma) * strength


def _reflect(
    c: Canvas, line: float, darken: float, ripple: float, rng: np.random.Generator
) -> None:
    """Below ``line`` (a fraction of the height), a mirrored copy of what is above it, darker,
    stretched and broken by horizontal ripples: water, or wet ground."""
    h, w = c.shape[:2]
    top = int(line * h)
    depth = h - top
    if top <= 0 or depth <= 0:
        return
    rows = np.clip(top - 1 - (np.arange(depth) * top / max(depth, 1)).astype(int), 0, top - 1)
    mirror = c[rows].copy()
    wave = (noise(rng, depth, w, 6, octaves=2) - 0.5) * ripple * w
    xs = np.clip(np.arange(w)[None, :] + wave, 0, w - 1).astype(np.float32)
    ys = np.repeat(np.arange(depth, dtype=np.float32)[:, None], w, axis=1)
    mirror = cv2.remap(mirror, xs, ys, cv2.INTER_LINEAR)
    mirror = cv2.GaussianBlur(mirror, (0, 0), sigmaX=0.5, sigmaY=max(1.0, 0.006 * h))
    c[top:] = c[top:] * darken * 0.35 + mirror * darken


def alley(c: Canvas, rng: np.random.Generator) -> None:
    """A narrow brick alley in one-point perspective: walls closing on a slit of sky, lit
    windows and a lamp, and wet ground that reflects them."""
    h, w = c.shape[:2]
    vx, vy = rng.uniform(0.44, 0.56), rng.uniform(0.42, 0.5)
    c[:] = gradient(h, w, [(0, (40, 48, 78)), (vy, (95, 100, 130)), (1, (30, 30, 40))])
    gap = rng.uniform(0.05, 0.09)
    brick = np.array(rgb((120, 60, 45)))
    for side in (-1, 1):
        edge = 0.0 if side < 0 else 1.0
        near, far = (edge, vx + side * gap)
        _fill(c, [(near, -0.05), (far, vy - 0.16), (far, vy + 0.06), (near, 1.05)],
              brick * (0.55 if side < 0 else 0.7))  # fmt: skip
        # mortar courses converge on the vanishing point; joints close up with distance
        for k in np.linspace(-0.05, 1.05, 18):
            y_far = vy - 0.16 + (k + 0.05) / 1.1 * 0.22
            p0 = (int(near * w), int(k * h))
            p1 = (int(far * w), int(y_far * h))
            cv2.line(c, p0, p1, (0.16, 0.1, 0.09), max(1, w // 400), cv2.LINE_AA)
        for t in 1 - np.geomspace(1, 0.05, 14):
            x = near + (far - near) * t
            top_y, bottom_y = -0.05 + (vy - 0.11) * t, 1.05 + (vy + 0.01 - 1.05) * t
            cv2.line(c, (int(x * w), int(top_y * h)), (int(x * w), int(bottom_y * h)),
                     (0.16, 0.1, 0.09), max(1, w // 500), cv2.LINE_AA)  # fmt: skip
    texture = noise(rng, h, w, 60, octaves=2)[:, :, None]
    c *= 0.85 + 0.3 * texture
    light = np.zeros_like(c)
    for _ in range(int(rng.integers(3, 6))):  # lit windows, warm
        side = rng.choice([-1, 1])
        t = rng.uniform(0.1, 0.6)
        x = (0.0 if side < 0 else 1.0) + (vx + side * gap - (0.0 if side < 0 else 1.0)) * t
        y = rng.uniform(0.1, 0.35) + (vy - 0.2) * t
        size = 0.06 * (1 - t)
        _fill(light, [(x - size / 2, y), (x + size / 2, y), (x + size / 2, y + size * 1.3),
                      (x - size / 2, y + size * 1.3)], (255, 190, 110))  # fmt: skip
    lamp = (vx + rng.choice([-1, 1]) * gap * 1.6, vy - 0.08)
    cv2.circle(light, (int(lamp[0] * w), int(lamp[1] * h)), max(2, w // 90),
               tuple(float(v) for v in rgb((255, 225, 160))), -1, cv2.LINE_AA)  # fmt: skip
    _glow(c, light * 0.9, 0.03, 1.2)
    ground = vy + 0.06
    _fill(c, [(0, 1.05), (vx - gap, ground), (vx + gap, ground), (1, 1.05)], (28, 28, 34))
    _reflect(c, ground, 0.8, 0.01, rng)
    # the ground itself: wet asphalt darkening towards the viewer, a puddle sheen
    ys = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    c *= 1 - 0.35 * np.clip((ys - ground) / (1 - ground), 0, 1) * (ys > ground)


def wall(c: Canvas, rng: np.random.Generator) -> None:
    """A brick wall seen square on, in running bond with mortar and weathered bricks, the
    pavement in front of it."""
    h, w = c.shape[:2]
    foot = rng.uniform(0.76, 0.82)
    base = np.array(rgb((150, 70, 50)), np.float32)
    c[:] = 0.78 * np.array([0.8, 0.77, 0.72], np.float32)  # mortar
    course = max(4, h // 22)
    length = course * 2 + course // 2
    gap = max(1, course // 7)
    for row, y in enumerate(range(0, int(foot * h), course)):
        for x in range(-(row % 2) * length // 2, w, length):
            colour = base * rng.uniform(0.7, 1.15) + rng.normal(0, 0.03, 3).astype(np.float32)
            cv2.rectangle(c, (x + gap, y + gap), (x + length - gap, y + course - gap),
                          tuple(float(v) for v in np.clip(colour, 0, 1)), -1)  # fmt: skip
    c *= 0.82 + 0.3 * noise(rng, h, w, 50, octaves=3)[:, :, None]  # weathering
    pavement = gradient(h, w, [(foot, (150, 150, 150)), (1, (105, 105, 108))])
    pavement *= 0.85 + 0.3 * noise(rng, h, w, 45, octaves=2)[:, :, None]
    _below(c, foot, pavement)
    ys = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    shade = np.clip(1 - (foot - ys) * 6, 0, 1) * (ys <= foot)  # the wall darkens at its foot
    c *= 1 - 0.25 * shade


def beach(c: Canvas, rng: np.random.Generator) -> None:
    h, w = c.shape[:2]
    horizon = rng.uniform(0.4, 0.48)
    shore = horizon + rng.uniform(0.16, 0.22)
    c[:] = gradient(h, w, [(0, (70, 145, 220)), (horizon, (200, 228, 245)),
                           (horizon + 0.001, (40, 140, 180)), (shore, (90, 190, 200))])  # fmt: skip
    ys = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    sand = gradient(h, w, [(0, (240, 220, 180)), (1, (215, 185, 140))])
    edge = shore + 0.015 * (noise(rng, 1, w, 5)[0] - 0.5)
    wet = np.clip((ys - edge[None, :]) * h / 3, 0, 1)[:, :, None]
    c[:] = c * (1 - wet) + sand * wet * (0.85 + 0.15 * noise(rng, h, w, 80, 2)[:, :, None])
    foam = np.exp(-(((ys - edge[None, :]) * h / (0.006 * h)) ** 2))[:, :, None]
    c[:] = c * (1 - foam * 0.8) + foam * 0.8
    darker = np.clip((ys - edge[None, :]) * 25, 0, 1) * np.clip(1 - (ys - edge[None, :]) * 12, 0, 1)
    c *= 1 - 0.18 * darker[:, :, None]  # the wet band of sand the wave just left


def lake(c: Canvas, rng: np.random.Generator) -> Stage:
    """A still lake: distant hills, a treeline of pines, and their reflection."""
    h, w = c.shape[:2]
    shore = rng.uniform(0.5, 0.58)
    c[:] = gradient(h, w, [(0, (95, 150, 210)), (shore, (215, 230, 235))])
    line = noise(rng, 1, w, 3)[0]
    hills = shore - 0.12 - 0.08 * line
    ys = np.arange(h, dtype=np.float32)[:, None] / h
    cover = np.clip((ys - hills[None, :]) * h, 0, 1)[:, :, None]
    c[:] = c * (1 - cover) + rgb((120, 140, 160)) * cover
    for layer, colour in enumerate(((45, 85, 65), (25, 60, 40))):
        base = shore - 0.01 * (1 - layer)
        for x in rng.uniform(-0.02, 1.02, 60 + layer * 30):
            tall = rng.uniform(0.05, 0.13) * (1 + 0.3 * layer)
            half = tall * 0.22
            _fill(c, [(x, base - tall), (x - half, base + 0.002), (x + half, base + 0.002)],
                  colour)  # fmt: skip
    _reflect(c, shore, 0.78, 0.004, rng)
    c[int(shore * h) :] += rgb((20, 40, 60)) * 0.3  # the water's own colour
    return Stage(shore + (1 - shore) * 0.55, water=True)  # afloat, well in front of the shore


def cliff(c: Canvas, rng: np.random.Generator) -> Stage:
    """A cliff falling to the sea: headland on one side, horizon, surf at its foot."""
    h, w = c.shape[:2]
    horizon = rng.uniform(0.45, 0.52)
    c[:] = gradient(h, w, [(0, (80, 130, 200)), (horizon, (205, 225, 240)),
                           (horizon + 0.001, (45, 100, 150)), (1, (20, 55, 95))])  # fmt: skip
    left = rng.random() < 0.5
    reach = rng.uniform(0.45, 0.6)
    top = horizon - rng.uniform(0.02, 0.08)
    ridge = top + 0.05 * (noise(rng, 1, 64, 4)[0] - 0.5)
    xs = np.linspace(0, reach, 64)
    face = [(x if left else 1 - x, y) for x, y in zip(xs, ridge, strict=True)]
    foot = [(reach + 0.05 if left else 1 - reach - 0.05, 1.05), (0 if left else 1, 1.05)]
    _fill(c, face + foot, (95, 85, 75))
    rock = noise(rng, h, w, 30, octaves=4)[:, :, None]
    _grain(c, _area(c, face + foot), 0.35, 0.6 + rock)
    grass = [(x, y - 0.012) for x, y in face] + [(x, y + 0.02) for x, y in reversed(face)]
    _fill(c, grass, (90, 130, 60))
    surf = np.zeros((h, w), np.float32)
    cv2.line(surf, (int((reach + 0.02 if left else 1 - reach - 0.02) * w), int(0.98 * h)),
             (int((reach - 0.02 if left else 1 - reach + 0.02) * w), int(0.7 * h)),
             1.0, max(2, w // 60))  # fmt: skip
    surf = cv2.GaussianBlur(surf, (0, 0), max(1.0, w / 80)) * noise(rng, h, w, 20)
    c[:] = c * (1 - surf[:, :, None]) + surf[:, :, None] * 0.95
    # on the grass of the headland, back from its edge
    stage = Stage(float(np.median(ridge)) + 0.012, 0.03, reach - 0.08)
    return stage if left else stage.mirrored()


def ice(c: Canvas, rng: np.random.Generator) -> Stage:
    """Polar water: a pale sky, icebergs on the horizon, a cold dark sea, and in front an ice
    floe with a blue face at the waterline, the subjects standing on its top."""
    h, w = c.shape[:2]
    horizon = rng.uniform(0.42, 0.5)
    c[:] = gradient(h, w, [(0, (118, 160, 205)), (horizon, (226, 236, 243)),
                           (horizon + 0.001, (58, 96, 128)), (1, (18, 42, 70))])  # fmt: skip
    for x in rng.uniform(0.0, 1.0, int(rng.integers(2, 5))):
        wide, tall = rng.uniform(0.06, 0.16), rng.uniform(0.02, 0.06)
        peak = x + rng.uniform(-0.3, 0.3) * wide
        shoulder, foot = (peak + wide * 0.15, horizon - tall * 0.8), (x + wide, horizon + 0.002)
        _fill(c, [(x - wide, horizon + 0.002), (peak - wide * 0.2, horizon - tall), shoulder,
                  foot], (236, 244, 250))  # fmt: skip
        _fill(c, [shoulder, foot, (peak, horizon + 0.002)], (196, 218, 234))  # its shaded side
    _reflect(c, horizon, 0.8, 0.006, rng)
    c[int(horizon * h) :] += rgb((10, 30, 50)) * 0.35  # the sea's own cold blue
    top = rng.uniform(0.66, 0.72)
    left, right = rng.uniform(-0.08, 0.1), rng.uniform(0.9, 1.08)
    xs = np.linspace(left, right, 48)
    back = top + 0.025 * (noise(rng, 1, 48, 4)[0] - 0.5)
    front = back + rng.uniform(0.1, 0.14) + 0.02 * (noise(rng, 1, 48, 5)[0] - 0.5)
    face = 0.045
    edge = list(zip(xs, front, strict=True))
    floe = [*zip(xs, back, strict=True), *reversed(edge)]
    wall = [*edge, *reversed([(x, y + face) for x, y in edge])]
    _fill(c, wall, (120, 185, 215))
    _fill(c, floe, (238, 244, 248))
    drift = noise(rng, h, w, 12, octaves=3)[:, :, None]  # wind-packed snow on the floe
    _grain(c, _area(c, floe), 0.12, 0.7 + drift)
    shade = _area(c, wall)
    ys = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    c[:] = c * (1 - shade[:, :, None] * np.clip((ys - top) * 3, 0, 0.45))  # deeper blue below
    middle = float(np.median(back + (front - back) * 0.6))
    return Stage(middle, max(0.04, left + 0.06), min(0.96, right - 0.06))


def branch(c: Canvas, rng: np.random.Generator) -> Stage:
    """A branch seen close: a soft-focus canopy behind (blurred leaves and sky light), and one
    bough across the picture, thick at the trunk's side and thinning to twigs and leaves, the
    subjects perched on it."""
    h, w = c.shape[:2]
    c[:] = gradient(h, w, [(0, (150, 190, 150)), (0.5, (95, 140, 90)), (1, (50, 85, 55))])
    spots = np.zeros((h, w), np.float32)
    for x, y in rng.uniform(0, 1, (90, 2)):
        size = max(2, int(rng.uniform(0.03, 0.08) * max(h, w)))
        cv2.circle(spots, (int(x * w), int(y * h)), size, float(rng.uniform(0.4, 1)), -1)
    leaves = cv2.GaussianBlur(spots, (0, 0), max(1.0, 0.02 * max(h, w)))  # out of focus
    c[:] = c * (1 - 0.35 * leaves[:, :, None]) + rgb((40, 90, 45)) * 0.35 * leaves[:, :, None]
    light = noise(rng, h, w, 3, octaves=2)[:, :, None]
    c += (light - 0.5) * 0.12 + np.clip(1 - leaves[:, :, None] * 2, 0, 1) * 0.05
    from_left = rng.random() < 0.5
    y = rng.uniform(0.62, 0.7)
    xs = np.linspace(0, 1.02, 40)
    bend = y + 0.04 * np.sin(xs * rng.uniform(2, 4) + rng.uniform(0, 6)) * xs
    thick = 0.07 * (1.1 - xs) + 0.012  # thinning away from the trunk
    xs = xs if from_left else 1 - xs
    top = list(zip(xs, bend - thick / 2, strict=True))
    under = list(zip(xs, bend + thick / 2, strict=True))
    bough = [*top, *reversed(under)]
    _fill(c, bough, (92, 64, 42))
    bark = noise(rng, h, w, 40, octaves=2)[:, :, None]
    _grain(c, _area(c, bough), 0.3, 0.6 + bark * 0.8)
    for x, yy in under[::4]:  # its shadowed underside
        _fill(c, [(x - 0.02, yy - 0.006), (x + 0.02, yy - 0.006), (x, yy)], (60, 40, 28))
    ahead = 1 if from_left else -1
    for x, yy in zip(xs[22::5], bend[22::5], strict=True):  # twigs with leaves, towards its end
        k = 1 if rng.random() < 0.5 else -1
        tip = (x + ahead * rng.uniform(0.03, 0.06), yy + k * rng.uniform(0.04, 0.07))
        twig = tuple(float(v) for v in rgb((80, 56, 38)))
        start, end = (int(x * w), int(yy * h)), (int(tip[0] * w), int(tip[1] * h))
        cv2.line(c, start, end, twig, max(1, w // 220), cv2.LINE_AA)
        for _ in range(3):
            angle = float(rng.uniform(0, 180))
            green = rgb((int(rng.integers(50, 90)), int(rng.integers(110, 160)), 60))
            centre = (int((tip[0] + rng.uniform(-0.015, 0.015)) * w),
                      int((tip[1] + rng.uniform(-0.015, 0.015)) * h))  # fmt: skip
            axes = (max(2, int(0.028 * w)), max(1, int(0.011 * w)))
            cv2.ellipse(c, centre, axes, angle, 0, 360, tuple(float(v) for v in green), -1,
                        cv2.LINE_AA)  # fmt: skip
    stand = float(np.median(bend[8:28] - thick[8:28] / 2)) + 0.004
    return Stage(stand, 0.12, 0.88)


def greenhouse(c: Canvas, rng: np.random.Generator) -> None:
    """Inside a glasshouse: bright panes in a white frame under a pitched roof, plants on
    benches along both sides."""
    h, w = c.shape[:2]
    c[:] = gradient(h, w, [(0, (200, 225, 230)), (0.6, (225, 240, 230)), (1, (120, 110, 95))])
    frame = (0.93, 0.95, 0.93)
    vx, vy = 0.5, 0.42
    for k in np.linspace(0, 1, 9):  # roof and wall ribs converging on the far gable
        for y0 in (0.0, 1.0):
            cv2.line(c, (int(k * w), int(y0 * h)), (int((vx + (k - 0.5) * 0.3) * w), int(vy * h)),
                     frame, max(1, w // 250), cv2.LINE_AA)  # fmt: skip
    for t in 1 - np.geomspace(1, 0.08, 8):
        y_top, y_bottom = vy * t, 1 + (vy - 1) * t
        x_left, x_right = 0.35 * t, 1 - 0.35 * t
        cv2.rectangle(c, (int(x_left * w), int(y_top * h)), (int(x_right * w), int(y_bottom * h)),
                      frame, max(1, w // 300))  # fmt: skip
    leaves = np.zeros_like(c)
    for side in (0, 1):
        for _ in range(70):
            t = rng.uniform(0, 0.85)
            x = (0.04 + 0.3 * t) if side == 0 else (0.96 - 0.3 * t)
            x += rng.normal(0, 0.03)
            y = 0.8 - 0.3 * t + rng.normal(0, 0.04)
            size = (1 - t) * rng.uniform(0.015, 0.04)
            colour = rgb((int(rng.uniform(30, 90)), int(rng.uniform(110, 170)),
                          int(rng.uniform(40, 80))))  # fmt: skip
            cv2.ellipse(leaves, (int(x * w), int(y * h)), (int(size * w * 1.6), int(size * h)),
                        float(rng.uniform(0, 180)), 0, 360, tuple(float(v) for v in colour), -1,
                        cv2.LINE_AA)  # fmt: skip
    filled = (leaves.max(axis=2) > 0)[:, :, None]
    c[:] = np.where(filled, leaves, c)
    _fill(c, [(0.3, 0.78), (0.7, 0.78), (1.05, 1.05), (-0.05, 1.05)], (150, 135, 110))  # a path


def room(c: Canvas, rng: np.random.Generator) -> None:
    """A room: a plain wall with a window letting in daylight, a wooden floor in perspective."""
    h, w = c.shape[:2]
    floor = rng.uniform(0.66, 0.72)
    wall = rgb((int(rng.uniform(200, 235)), int(rng.uniform(190, 220)), int(rng.uniform(170, 200))))
    c[:] = wall * gradient(h, w, [(0, (215, 215, 215)), (floor, (255, 255, 255))])
    x0 = rng.uniform(0.1, 0.6)
    _fill(c, [(x0, 0.12), (x0 + 0.28, 0.12), (x0 + 0.28, 0.5), (x0, 0.5)], (235, 240, 245))
    sky = gradient(h, w, [(0.13, (120, 180, 235)), (0.49, (200, 225, 245))])
    win = np.zeros((h, w), np.float32)
    cv2.rectangle(win, (int((x0 + 0.015) * w), int(0.135 * h)),
                  (int((x0 + 0.265) * w), int(0.485 * h)), 1.0, -1)  # fmt: skip
    cv2.line(win, (int((x0 + 0.14) * w), 0), (int((x0 + 0.14) * w), h), 0.0, max(1, w // 120))
    c[:] = c * (1 - win[:, :, None]) + sky * win[:, :, None]
    wood = gradient(h, w, [(floor, (150, 100, 60)), (1, (110, 70, 40))])
    grain = noise(rng, h, w, 40, octaves=2)
    grain = cv2.resize(cv2.resize(grain, (w, max(1, h // 12))), (w, h))[:, :, None]
    _below(c, floor, wood * (0.8 + 0.4 * grain))
    for k in np.linspace(-1.5, 2.5, 22):  # floorboards converging on the room's centre
        cv2.line(c, (int(k * w), h), (int((0.5 + (k - 0.5) * 0.3) * w), int(floor * h)),
                 (0.3, 0.2, 0.12), max(1, w // 500), cv2.LINE_AA)  # fmt: skip
    cv2.rectangle(
        c, (0, int(floor * h) - max(2, h // 80)), (w, int(floor * h)), (0.9, 0.9, 0.88), -1
    )
    corners = [(x0 + 0.02, floor + 0.01), (x0 + 0.3, floor + 0.01), (x0 + 0.45, 0.98),
               (x0 - 0.05, 0.98)]  # fmt: skip
    patch = _area(c, corners)  # the window's light on the floor
    c += cv2.GaussianBlur(patch, (0, 0), max(1.0, w / 60))[:, :, None] * 0.18


def kitchen(c: Canvas, rng: np.random.Generator) -> None:
    """A kitchen wall of subway tiles (white, sage, blue or terracotta) over a countertop."""
    h, w = c.shape[:2]
    counter = rng.uniform(0.64, 0.7)
    tiles = [(236, 238, 240), (190, 215, 200), (170, 200, 225), (225, 175, 150)]
    tile = np.array(rgb(tiles[int(rng.integers(len(tiles)))]), np.float32)
    c[:] = tile * gradient(h, w, [(0, (232, 232, 232)), (counter, (255, 255, 255))])
    tile_h = max(3, h // 28)
    tile_w = tile_h * 2
    for row, y in enumerate(range(0, int(counter * h), tile_h)):
        cv2.line(c, (0, y), (w, y), (0.72, 0.74, 0.76), max(1, h // 500))
        for x in range(-(row % 2) * tile_w // 2, w, tile_w):
            cv2.line(c, (x, y), (x, y + tile_h), (0.72, 0.74, 0.76), max(1, h // 500))
    top = gradient(h, w, [(counter, (70, 70, 75)), (1, (40, 40, 44))])
    _below(c, counter, top * (0.9 + 0.2 * noise(rng, h, w, 50, 2)[:, :, None]))
    cv2.line(c, (0, int(counter * h)), (w, int(counter * h)), (0.85, 0.85, 0.86), max(1, h // 200))


def desk(c: Canvas, rng: np.random.Generator) -> None:
    """A desk top of grained wood against a muted wall, lit from one side."""
    h, w = c.shape[:2]
    edge = rng.uniform(0.58, 0.66)
    c[:] = gradient(h, w, [(0, (120, 130, 140)), (edge, (175, 180, 185))])
    grain = noise(rng, h, w, 30, octaves=3)
    grain = cv2.resize(cv2.resize(grain, (max(1, w // 8), h)), (w, h))
    wood = gradient(h, w, [(edge, (160, 110, 70)), (1, (120, 80, 48))])
    stripes = 0.85 + 0.3 * np.sin(grain * 40)[:, :, None] * 0.5
    _below(c, edge, wood * stripes)
    xs = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
    side = rng.choice([0.0, 1.0])
    c *= 0.8 + 0.3 * (1 - np.abs(xs - side))


def storefront(c: Canvas, rng: np.random.Generator) -> None:
    """A shop's facade: painted wall, a striped awning, a wide window glowing from inside, a
    door, and the pavement in front."""
    h, w = c.shape[:2]
    paint = rgb((int(rng.uniform(40, 200)), int(rng.uniform(60, 160)), int(rng.uniform(60, 160))))
    c[:] = paint * gradient(h, w, [(0, (200, 200, 200)), (0.8, (255, 255, 255))])
    stripe = rgb((235, 235, 230))
    awning_top, awning_bottom = 0.2, 0.32
    for i, x in enumerate(np.linspace(0.05, 0.95, 13)[:-1]):
        colour = stripe if i % 2 else paint * 0.7
        _fill(c, [(x, awning_top), (x + 0.075, awning_top), (x + 0.08, awning_bottom),
                  (x - 0.005, awning_bottom)], colour)  # fmt: skip
    glass = gradient(h, w, [(0.34, (255, 200, 130)), (0.78, (140, 90, 60))])
    win = np.zeros((h, w), np.float32)
    cv2.rectangle(win, (int(0.08 * w), int(0.35 * h)), (int(0.62 * w), int(0.78 * h)), 1.0, -1)
    c[:] = c * (1 - win[:, :, None]) + glass * win[:, :, None]
    sheen = np.zeros((h, w), np.float32)
    cv2.line(sheen, (int(0.15 * w), int(0.78 * h)), (int(0.35 * w), int(0.35 * h)), 1.0, w // 30)
    c += (cv2.GaussianBlur(sheen, (0, 0), max(1.0, w / 100)) * win)[:, :, None] * 0.15
    _fill(c, [(0.68, 0.4), (0.9, 0.4), (0.9, 0.8), (0.68, 0.8)], paint * 0.45)  # the door
    _fill(c, [(0, 0.8), (1, 0.8), (1, 1.05), (0, 1.05)], (150, 150, 150))
    c[int(0.8 * h) :] *= 0.85 + 0.3 * noise(rng, h - int(0.8 * h), w, 40, 2)[:, :, None]


PAINTERS = {
    "alley": alley,
    "wall": wall,
    "beach": beach,
    "lake": lake,
    "cliff": cliff,
    "ice": ice,
    "branch": branch,
    "greenhouse": greenhouse,
    "room": room,
    "kitchen": kitchen,
    "desk": desk,
    "storefront": storefront,
}
