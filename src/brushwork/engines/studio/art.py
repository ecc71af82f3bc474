"""Subjects drawn from vector art at their final size: rasterised with libvips (the
pyvips-binary wheel, no system library), recoloured when the prompt names a colour, and
set into the scene with a soft contact shadow that follows the scene's light."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from brushwork.engines.studio.layout import Placed
from brushwork.engines.studio.prompt import RGB
from brushwork.engines.studio.subjects import Subject

INK: RGB = (38, 40, 48)


@functools.lru_cache(maxsize=256)
def rasterise(svg: bytes, px: int) -> np.ndarray:
    """An SVG as float32 RGBA (px x px, 0..1), aspect kept, centred."""
    import pyvips

    image = pyvips.Image.svgload_buffer(svg)
    scale = px / max(image.width, image.height)
    image = pyvips.Image.svgload_buffer(svg, scale=scale)
    if image.bands == 3:
        image = image.bandjoin(255)
    arr = np.ndarray(
        buffer=image.write_to_memory(), dtype=np.uint8, shape=(image.height, image.width, 4)
    )
    out = np.zeros((px, px, 4), np.float32)
    h, w = min(px, arr.shape[0]), min(px, arr.shape[1])
    y, x = (px - h) // 2, (px - w) // 2
    out[y : y + h, x : x + w] = arr[:h, :w].astype(np.float32) / 255
    return out


def _icon_svg(svg: bytes, colour: RGB) -> bytes:
    """Tabler icons are strokes in currentColor: give them the colour and a bolder line."""
    hex_colour = "#{:02x}{:02x}{:02x}".format(*colour)
    text = svg.decode().replace("currentColor", hex_colour)
    text = re.sub(r'stroke-width="[\d.]+"', 'stroke-width="1.6"', text)
    return text.encode()


def recolour(rgba: np.ndarray, colour: RGB) -> np.ndarray:
    """Move the art's coloured pixels to ``colour``'s hue (value and shading kept)."""
    rgb = np.clip(rgba[:, :, :3] * 255, 0, 255).astype(np.uint8)
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV).astype(np.float32)
    swatch = np.array([[colour]], dtype=np.uint8)
    target = cv2.cvtColor(swatch, cv2.COLOR_RGB2HSV)[0, 0].astype(np.float32)
    coloured = (hsv[:, :, 1] > 60) & (rgba[:, :, 3] > 0.05)
    if target[1] < 40:  # white, grey, black, silver: take the colour's lightness instead
        hsv[:, :, 1] = np.where(coloured, hsv[:, :, 1] * 0.12, hsv[:, :, 1])
        hsv[:, :, 2] = np.where(coloured, hsv[:, :, 2] * 0.35 + target[2] * 0.65, hsv[:, :, 2])
    else:
        hsv[:, :, 0] = np.where(coloured, target[0], hsv[:, :, 0])
        hsv[:, :, 1] = np.where(coloured, np.maximum(hsv[:, :, 1], target[1] * 0.8), hsv[:, :, 1])
    out = rgba.copy()
    out[:, :, :3] = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32) / 255
    return out


PAPER: RGB = (248, 244, 236)  # what a line icon's closed shapes are filled with


def filled(lines: np.ndarray, fill: RGB) -> np.ndarray:
    """A line icon (RGBA strokes) with every closed shape filled: the strokes' colour over
    ``fill`` wherever the outside cannot reach, so a bottle or a lighthouse reads as a solid
    thing on any backdrop instead of a thin outline (open shapes stay lines)."""
    alpha = lines[:, :, 3]
    h, w = alpha.shape
    open_ = (alpha < 0.5).astype(np.uint8)
    reach = np.zeros((h + 4, w + 4), np.uint8)
    padded = np.pad(open_, 1, constant_values=1)  # the outside surrounds the icon
    cv2.floodFill(padded, reach, (0, 0), 2)
    inside = (padded[1:-1, 1:-1] == 1).astype(np.float32)
    if not inside.any():
        return lines
    inside = np.maximum(inside, cv2.dilate(inside, np.ones((3, 3), np.uint8)) * (alpha > 0))
    out = np.empty_like(lines)
    paper = np.array(fill, np.float32) / 255
    out[:, :, :3] = lines[:, :, :3] * alpha[:, :, None] + paper * (1 - alpha[:, :, None])
    out[:, :, 3] = np.maximum(alpha, inside)
    return out


def sprite(subject: Subject, library: Any, px: int, background_light: float) -> np.ndarray:
    assert subject.asset is not None
    svg = library.svg(subject.asset)
    if subject.asset["kind"] == "icon":
        lines = rasterise(_icon_svg(svg, INK), px)
        solid = filled(lines, subject.colour or PAPER)  # a red lighthouse: red inside ink
        if solid is not lines:
            return solid
        # nothing closed to fill: the lines themselves in the colour named, or in ink that
        # stands out from the backdrop (the lines already drawn, where that is the ink)
        ink = subject.colour or (INK if background_light > 0.45 else (245, 245, 245))
        return lines if ink == INK else rasterise(_icon_svg(svg, ink), px)
    art = rasterise(svg, px)
    return recolour(art, subject.colour) if subject.colour is not None else art


def light_direction(scene: str | None) -> tuple[float, float, float]:
    """(x offset, stretch, darkness) of shadows: low sun throws long, warm-side shadows."""
    if scene == "sunset":
        return 0.35, 1.6, 0.5
    if scene in ("night", "space"):
        return 0.0, 1.0, 0.25
    if scene == "studio":
        return 0.08, 1.1, 0.45
    return 0.12, 1.0, 0.38


def shadow(canvas: np.ndarray, p: Placed, scene: str | None, quality: str) -> None:
    """A blurred ellipse under a grounded subject, or a soft drop shadow under a floating one."""
    h, w = canvas.shape[:2]
    x0, y0, x1, y1 = p.box
    side = x1 - x0
    dx, stretch, dark = light_direction(scene)
    mask = np.zeros((h, w), np.float32)
    if p.grounded:
        centre = (int((x0 + x1) / 2 + dx * side * 0.5), int(y1 - side * 0.04))
        axes = (max(1, int(side * 0.38 * stretch)), max(1, int(side * 0.07)))
        cv2.ellipse(mask, centre, axes, 0, 0, 360, 1.0, -1)
    else:
        centre = (int((x0 + x1) / 2 + side * 0.06), int((y0 + y1) / 2 + side * 0.08))
        axes = (max(1, int(side * 0.36)), max(1, int(side * 0.36)))
        cv2.ellipse(mask, centre, axes, 0, 0, 360, 0.6, -1)
    blur = max(3, int(side * (0.08 if quality == "low" else 0.12))) | 1
    soft = cv2.GaussianBlur(mask, (blur, blur), 0)
    canvas *= 1 - (soft * dark)[:, :, None]


def paste(canvas: np.ndarray, rgba: np.ndarray, box: tuple[float, float, float, float]) -> None:
    h, w = canvas.shape[:2]
    x0, y0 = int(round(box[0])), int(round(box[1]))
    px = rgba.shape[0]
    cx0, cy0 = max(0, x0), max(0, y0)
    cx1, cy1 = min(w, x0 + px), min(h, y0 + px)
    if cx1 <= cx0 or cy1 <= cy0:
        return
    part = rgba[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
    alpha = part[:, :, 3:4]
    region = canvas[cy0:cy1, cx0:cx1]
    canvas[cy0:cy1, cx0:cx1] = region * (1 - alpha) + part[:, :, :3] * alpha


def draw(
    canvas: np.ndarray,
    subjects: list[Subject],
    placed: list[Placed],
    library: Any,
    scene: str | None,
    quality: str,
) -> None:
    """Shadows first, then the art, back to front. What a subject wears is fitted to the
    top of its art first (:func:`crown`), not to the top of its box."""
    light = float(canvas.mean())
    arts: dict[tuple[int, int], np.ndarray] = {}  # (subject, px): recoloured once per picture

    def art_of(p: Placed) -> np.ndarray:
        px = max(4, int(round(p.box[2] - p.box[0])))
        if (p.subject, px) not in arts:
            arts[p.subject, px] = sprite(subjects[p.subject], library, px, light)
        return arts[p.subject, px]

    def solid(p: Placed) -> np.ndarray:
        alpha = art_of(p)[:, :, 3] > 0.5
        return alpha[:, ::-1] if p.flip else alpha

    for p in placed:
        if p.grounded:  # wide art is centred in its square: its feet go down to the ground
            _shift(p, _last_row(solid(p)))
    for i, s in enumerate(subjects):  # on / above: on the anchor's art, not its square
        if s.relation in ("on", "above") and s.target is not None:
            _seat(placed, i, s.target, s.relation, solid)
    for i, s in enumerate(subjects):
        if s.relation == "wearing" and s.target is not None:
            _fit_worn(placed, i, s.target, subjects, library, light)
    for p in sorted(placed, key=lambda p: (p.z, p.box[3])):
        art = art_of(p)
        if p.afloat:  # on water there is no ground to throw a contact shadow on
            art = without_own_water(art)
        else:
            shadow(canvas, p, scene, quality)
        paste(canvas, art[:, ::-1] if p.flip else art, p.box)


def _last_row(alpha: np.ndarray) -> float:
    """How far below the art's lowest solid row its box ends, in canvas pixels."""
    rows = np.nonzero(alpha.any(axis=1))[0]
    return float(alpha.shape[0] - 1 - rows[-1]) if len(rows) else 0.0


def _shift(p: Placed, dy: float) -> None:
    x0, y0, x1, y1 = p.box
    p.box = (x0, y0 + dy, x1, y1 + dy)


def _seat(
    placed: list[Placed], mover: int, anchor: int, relation: str,
    solid: Callable[[Placed], np.ndarray],
) -> None:  # fmt: skip
    """Move what sits on (or floats above) another so its art's lowest row rests on the top
    of the other's art over its middle third (a sofa's seat cushion, a car's roof), sunk a
    little into it; "above" keeps a gap. The layout placed it by the anchor's square, whose
    top is empty for any art wider than tall."""
    under = next((p for p in placed if p.subject == anchor), None)
    if under is None:
        return
    base = solid(under)
    side = base.shape[1]
    middle = base[:, side // 3 : max(side // 3 + 1, 2 * side // 3)]
    rows = np.nonzero(middle.any(axis=1))[0]
    if not len(rows):
        rows = np.nonzero(base.any(axis=1))[0]
    if not len(rows):
        return
    seat = under.box[1] + float(rows[0]) * (under.box[3] - under.box[1]) / base.shape[0]
    for p in placed:
        if p.subject != mover:
            continue
        size = p.box[3] - p.box[1]
        gap = 0.12 * (under.box[3] - under.box[1]) if relation == "above" else -0.04 * size
        bottom = p.box[3] - _last_row(solid(p))
        _shift(p, seat - gap - bottom)


def without_own_water(rgba: np.ndarray) -> np.ndarray:
    """Art that carries a strip of water under it (Twemoji's canoe, a speedboat), set on a
    painted lake: the blue regions that reach the bottom of the art become transparent, so
    the boat sits in the lake's water instead of on a blue block."""
    alpha = rgba[:, :, 3]
    rows = np.nonzero((alpha > 0.5).any(axis=1))[0]
    if not len(rows):
        return rgba
    rgb = np.clip(rgba[:, :, :3] * 255, 0, 255).astype(np.uint8)
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    blue = (hsv[:, :, 0] >= 95) & (hsv[:, :, 0] <= 110) & (hsv[:, :, 1] > 90) & (alpha > 0.05)
    count, labels = cv2.connectedComponents(blue.astype(np.uint8), connectivity=4)
    bottom = labels[max(0, int(rows[-1]) - 1) : int(rows[-1]) + 1]
    water = np.isin(labels, [v for v in np.unique(bottom) if v != 0])
    if water.sum() < 0.1 * (alpha > 0.5).sum():  # a blue detail, not a strip of water
        return rgba
    edge = cv2.dilate(water.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0  # its soft rim
    out = rgba.copy()
    out[:, :, 3] = np.where(edge, 0.0, alpha)
    return out


EYEWEAR = {"glasses", "sunglasses", "goggles", "spectacles", "monocle"}
NECKWEAR = {"scarf", "tie", "bowtie", "necklace", "collar", "bow", "medal", "bandana"}


def crown(alpha: np.ndarray) -> tuple[float, float, float]:
    """Where a hat sits on a piece of art: (x, y, width) of the top of its body, in pixels of
    the art. The alpha is eroded by 8% of its size first, so a tail, ears or whiskers (thin)
    are not mistaken for the head; the body's top 12% gives the width and the centre."""
    solid = (alpha > 0.5).astype(np.uint8)
    side = max(3, round(0.08 * alpha.shape[1]))
    body = cv2.erode(solid, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))) > 0
    if not body.any():
        body = solid > 0
    if not body.any():
        return alpha.shape[1] / 2, 0.0, alpha.shape[1] / 2
    rows = np.nonzero(body.any(axis=1))[0]
    top = int(rows[0])
    band = body[top : top + max(2, round(0.12 * alpha.shape[0]))]
    cols = np.nonzero(band.any(axis=0))[0]
    # the top of the unshrunk art at that place: the hat rests on the head, not in it
    x = float(cols.mean())
    column = solid[:, int(cols.min()) : int(cols.max()) + 1].any(axis=1)
    head = int(np.nonzero(column)[0][0]) if column.any() else top
    return x, float(max(head, top - side)), float(cols.max() - cols.min() + 1)


def _fit_worn(
    placed: list[Placed], wearer: int, worn: int, subjects: list[Subject], library: Any,
    light: float,
) -> None:  # fmt: skip
    """Move (and size) the worn thing's box so its art's bottom sits on the wearer's crown,
    sunk a little into it, as wide as the head or a bit wider."""
    under = next((p for p in placed if p.subject == wearer), None)
    over = next((p for p in placed if p.subject == worn), None)
    if under is None or over is None or None in (subjects[wearer].asset, subjects[worn].asset):
        return
    px = max(4, int(round(under.box[2] - under.box[0])))
    art = sprite(subjects[wearer], library, px, light)
    alpha = art[:, ::-1, 3] if under.flip else art[:, :, 3]
    x, y, width = crown(alpha)
    scale = px / alpha.shape[1]
    head_x, head_y, head = under.box[0] + x * scale, under.box[1] + y * scale, width * scale
    planned = over.box[2] - over.box[0]  # the layout's size for it: no larger than that
    side = min(planned, max(head * 1.25, planned * 0.6) * subjects[worn].scale)
    worn_alpha = sprite(subjects[worn], library, max(4, int(round(side))), light)[:, :, 3]
    rows = np.nonzero((worn_alpha > 0.5).any(axis=1))[0]
    if not len(rows):  # no visible art to fit: the layout's box stays
        return
    top, bottom = rows[0] / len(worn_alpha), (rows[-1] + 1) / len(worn_alpha)
    item = subjects[worn].phrase.split()[-1]
    if item in EYEWEAR:  # across the eyes, a third of the head down
        y0 = head_y + 0.35 * head - (top + bottom) / 2 * side
    elif item in NECKWEAR:  # under the head
        y0 = head_y + 0.85 * head - top * side
    else:  # headwear: sunk into the head by a fifth of its own height
        y0 = head_y + (0.18 * (bottom - top) - bottom) * side
    over.box = (head_x - side / 2, y0, head_x + side / 2, y0 + side)
