"""Where each subject goes: a row on the ground (or mid-air), thirds for a lone subject,
and the prompt's relations (on, above, wearing, holding, around, in front of, a corner).

Boxes are pixel squares inside the canvas; subjects never overlap unless a relation asks
for it (on, wearing, holding, in front of, behind).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brushwork.engines.studio.places import Stage
from brushwork.engines.studio.subjects import Subject

Box = tuple[float, float, float, float]  # x0, y0, x1, y1
OVERLAPPING = {"on", "wearing", "holding", "front", "behind"}
ATTACHED = {"on", "above", "wearing", "holding", "around", "front"}  # placed by another's box
CARRIED = {"wearing", "holding"}  # "A wearing B": B is placed on A (the target moves)
MAX_COPIES = 6
GROUNDED_SCENES = {
    "meadow", "desert", "snow", "forest", "mountain", "city", "studio", "ocean",
    "alley", "wall", "beach", "greenhouse", "room", "kitchen", "desk", "storefront",
}  # fmt: skip


@dataclass
class Placed:
    subject: int  # index into the subjects list
    box: Box
    z: int = 0  # drawing order: higher is drawn later (in front)
    grounded: bool = False
    flip: bool = False
    afloat: bool = False  # on water: art that brings its own water leaves it out


def _normalise(subjects: list[Subject]) -> list[Subject]:
    """Turn "A below B" into "B above A" and "A behind B" into "B in front of A"."""
    for i, s in enumerate(subjects):
        if s.relation in ("below", "behind") and s.target is not None:
            t = subjects[s.target]
            if t.relation is None:
                t.relation, t.target = ("above" if s.relation == "below" else "front"), i
                s.relation, s.target = None, None
    return subjects


def _square(cx: float, bottom: float, size: float) -> Box:
    return (cx - size / 2, bottom - size, cx + size / 2, bottom)


def plan(
    subjects: list[Subject],
    size: tuple[int, int],
    rng: np.random.Generator,
    scene: str | None,
    text_bottom: float | None = None,
    stage: Stage | None = None,
) -> list[Placed]:
    """Boxes for every copy of every subject. ``text_bottom``: the y the title ends at;
    ``stage``: where the place's subjects stand (the top of a cliff, a lake's water)."""
    w, h = size
    subjects = _normalise(subjects)
    top = (text_bottom + 0.03 * h) if text_bottom is not None else 0.08 * h
    region = (0.05 * w, top, 0.95 * w, 0.94 * h)
    if stage is not None and stage.y * h > top + 0.2 * h:
        region = (max(region[0], stage.x0 * w), top, min(region[2], stage.x1 * w), stage.y * h)
    rw, rh = region[2] - region[0], max(region[3] - region[1], 0.2 * h)
    if stage is not None and text_bottom is None:
        rh = max(rh, 0.4 * h)  # a low stage (a cliff top): the sky above it is room too
    grounded = scene in GROUNDED_SCENES or stage is not None
    afloat = stage is not None and stage.water
    dependent = {
        s.target if s.relation in CARRIED else i
        for i, s in enumerate(subjects)
        if s.target is not None and s.relation in ATTACHED
    } | {i for i, s in enumerate(subjects) if s.corner}
    row = _order([i for i in range(len(subjects)) if i not in dependent], subjects)

    def copies(i: int) -> int:
        return min(subjects[i].count, MAX_COPIES)

    placed: list[Placed] = []
    lone = len(row) == 1 and subjects[row[0]].count == 1
    stacked = any(s.relation == "above" for s in subjects)
    slots = sum(copies(i) * subjects[i].scale for i in row) or 1.0
    unit = min(rh * (0.45 if stacked else 0.7), rw * 0.55 if lone else rw / (slots * 1.2))
    # the row: a lone subject on a third, a group centred
    total = sum(copies(i) * subjects[i].scale * unit * 1.15 for i in row)
    if lone:
        centre = region[0] + rw * float(rng.choice([1 / 3, 1 / 2, 2 / 3]))
        x = centre - total / 2
    else:
        x = region[0] + (rw - total) / 2 + float(rng.uniform(-0.04, 0.04)) * rw
    bottom = region[3] if grounded or stacked else region[1] + rh * 0.5 + unit * 0.5
    for i in row:
        s = subjects[i]
        for _ in range(copies(i)):
            side = s.scale * unit
            step = side * 1.15
            jitter = float(rng.uniform(-0.03, 0.03)) * unit if not grounded else 0.0
            cx = x + step / 2
            flip = bool(rng.random() < 0.3)
            placed.append(Placed(i, _square(cx, bottom + jitter, side), 1, grounded, flip, afloat))
            x += step
    for i, s in enumerate(subjects):
        if s.corner and not any(p.subject == i for p in placed):
            placed += _corner(i, s, size)
    for i, s in enumerate(subjects):
        if s.target is None or s.relation not in ATTACHED:
            continue
        anchor_index, mover = (i, s.target) if s.relation in CARRIED else (s.target, i)
        anchor = next((p for p in placed if p.subject == anchor_index), None)
        if anchor is None or any(p.subject == mover for p in placed):
            continue
        placed += _relate(mover, subjects[mover], s.relation or "", anchor, rng)
    return [_inside(p, size) for p in placed]


def _order(row: list[int], subjects: list[Subject]) -> list[int]:
    """left of / right of decide the order of the row."""
    order = list(row)
    for i, s in enumerate(subjects):
        if s.target in order and i in order and s.relation in ("left_of", "right_of"):
            order.remove(i)
            at = order.index(s.target)
            order.insert(at if s.relation == "left_of" else at + 1, i)
    return order


def _corner(i: int, s: Subject, size: tuple[int, int]) -> list[Placed]:
    w, h = size
    side = min(w, h) * 0.2 * s.scale
    where = s.corner or "bottom right"
    x0 = w * 0.04 if "left" in where else w * 0.96 - side
    y0 = h * 0.04 if ("top" in where or "upper" in where) else h * 0.96 - side
    return [Placed(i, (x0, y0, x0 + side, y0 + side), 3)]


def _relate(
    i: int, s: Subject, relation: str, anchor: Placed, rng: np.random.Generator
) -> list[Placed]:
    ax0, ay0, ax1, ay1 = anchor.box
    side_a = ax1 - ax0
    cx = (ax0 + ax1) / 2
    count = min(s.count, MAX_COPIES)
    if relation == "wearing":  # the accessory sits on the top of the wearer
        side = side_a * 0.5 * s.scale
        return [Placed(i, _square(cx, ay0 + side * 0.45, side), anchor.z + 1)]
    if relation == "holding":
        side = side_a * 0.4 * s.scale
        return [Placed(i, _square(ax1 - side * 0.3, ay1 - side_a * 0.25, side), anchor.z + 1)]
    if relation == "around":
        side = side_a * 0.35 * s.scale
        r = side_a * 0.75
        out = []
        for k in range(max(count, 4)):
            angle = 2 * np.pi * k / max(count, 4) + float(rng.uniform(0, 0.3))
            x, y = cx + r * np.cos(angle), (ay0 + ay1) / 2 + r * np.sin(angle) * 0.8
            out.append(Placed(i, (x - side / 2, y - side / 2, x + side / 2, y + side / 2), 2))
        return out
    if relation == "front":
        side = side_a * 0.75 * s.scale
        return [Placed(i, _square(ax0 + side * 0.3, ay1 + side * 0.08, side), anchor.z + 1)]
    # on / above: a row of copies on top of (touching) or above (a gap) the anchor
    side = side_a * (0.6 if relation == "on" else 0.55) * s.scale / max(1.0, count * 0.55)
    gap = -side * 0.08 if relation == "on" else side_a * 0.12
    bottom = ay0 - gap
    width = count * side * 1.1
    out = []
    for k in range(count):
        x = cx - width / 2 + side * 1.1 * (k + 0.5)
        lift = float(rng.uniform(0, 0.25)) * side if relation == "above" and count > 1 else 0.0
        out.append(Placed(i, _square(x, bottom - lift, side), anchor.z + 1))
    return out


def _inside(p: Placed, size: tuple[int, int]) -> Placed:
    """Shift (then shrink) a box until it lies inside the canvas."""
    w, h = size
    x0, y0, x1, y1 = p.box
    side = min(x1 - x0, w * 0.98, h * 0.98)
    x0 = min(max(x0, 0.0), w - side)
    y0 = min(max(y0, 0.0), h - side)
    p.box = (x0, y0, x0 + side, y0 + side)
    return p


def overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
