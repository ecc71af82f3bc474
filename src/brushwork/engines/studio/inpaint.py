"""Inpainting: read what the prompt wants in the masked region, make it, and blend it in.

Intents, decided from the prompt:
- remove ("remove", "erase", "clean up", or nothing else asked): content-aware fill that
  continues texture and structure: PatchMatch texture synthesis (the pypatchmatch wheel)
  over a Navier-Stokes structure pass; thin or small holes take the structure pass alone;
- text (quoted strings): the fill, then the text set in the region in colours drawn from it;
- subject ("a red vase", "a dog"): the matching art placed in the region, scaled to it,
  harmonised to the surroundings in Lab, with a contact shadow;
- recolour or material ("make the car blue", "wooden table"): the original pixels keep
  their shading (Lab lightness) and take the colour or the texture.
Every result is blended into the photo in the gradient domain (Poisson, inside the edit
region), so it meets the kept pixels without a seam; the keep-pixels composite happens
after the engine. ``quality`` sets the patch size and the pyramid; ``n`` gives different
fills (the synthesis is seeded).
"""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from brushwork.engines.studio import art, assets, colour, lettering, materials
from brushwork.engines.studio.colour import Stage
from brushwork.engines.studio.layout import Placed
from brushwork.engines.studio.prompt import Parsed
from brushwork.engines.studio.subjects import Subject, match, parse_subjects
from brushwork.imaging.cluster import kmeans

REMOVE = re.compile(r"\b(remove|erase|delete|clean ?up|get rid of|take out|empty|nothing|clear)\b")
CHANGE = re.compile(r"\b(make|turn|paint|change|recolou?r|colou?r|dye|into)\b")
MATERIALS = {"wooden": "wood", "wood": "wood", "marble": "marble"}
PATCH = {"low": 3, "medium": 3, "high": 5}  # PatchMatch patch radius per tier
SMALL_HOLE = 0.004  # of the image: smaller holes are filled by the structure pass alone
# a hole's border is told apart into this many kinds of surroundings, and a source pixel
# further than SOURCE_UNLIKE (Lab) from every kind belongs to something else
SOURCE_KINDS, SOURCE_UNLIKE = 3, 24.0
SOURCE_ALIKE = 15.0  # two kinds whose colours are this close (Lab) are one
# a hole under this share of the picture has no room for a second object: PatchMatch fills it
# from its whole neighbourhood in one pass (bench/inpaint_quality.py's 2% holes: 20.9 dB
# that way, 19.7 dB split into kinds)
SPLIT_HOLE = 0.03


def intent(prompt: str, parsed: Parsed) -> str:
    text = prompt.lower()
    if parsed.quoted:
        return "text"
    if REMOVE.search(text):
        return "remove"
    named = bool(parse_subjects(prompt))
    if (parsed.colours or material_of(text)) and (CHANGE.search(text) or not named):
        return "recolour"
    return "subject" if named else "remove"


def material_of(text: str) -> str | None:
    """The material a (lower-case) prompt names: wood or marble."""
    return next((MATERIALS[m] for m in MATERIALS if re.search(rf"\b{m}\b", text)), None)


def fill(
    image: Image.Image,
    edit: np.ndarray,
    parsed: Parsed,
    rng: np.random.Generator,
    stage: Stage | None = None,
    quality: str = "medium",
    assets_root: Path | None = None,
) -> Image.Image:
    rgb = np.asarray(image.convert("RGB"))
    hole = edit > 0
    if not hole.any():
        return image.convert("RGB")
    want = intent(parsed.text, parsed)
    if want == "recolour":  # the region's own structure stays: feather the change in
        out = feather(rgb, recolour(rgb, hole, parsed), hole)
    else:
        out = blend(rgb, content_fill(rgb, hole, rng, quality), hole)
        if stage is not None:
            stage(0.5, "filled the region from its surroundings", lambda: Image.fromarray(out))
        if want == "subject":
            out = place_subject(out, hole, parsed, rng, assets_root)
    result = Image.fromarray(out)
    if want == "text":
        _text_in_region(result, hole, parsed)
    if stage is not None:
        stage(0.9, f"{want}: blended into the photo", result.copy)
    return result


def content_fill(
    rgb: np.ndarray, hole: np.ndarray, rng: np.random.Generator, quality: str
) -> np.ndarray:
    """Texture and structure continued into the hole."""
    mask = hole.astype(np.uint8) * 255
    h, w = hole.shape
    radius = max(3, int(0.01 * max(h, w)))
    structure = cv2.inpaint(rgb, mask, radius, cv2.INPAINT_NS)
    share = float(hole.mean())
    thin = cv2.erode(mask, np.ones((7, 7), np.uint8)).sum() == 0  # no part wider than ~7 px
    if share < SMALL_HOLE or thin:
        return structure
    import patchmatch

    patchmatch.set_random_seed(int(rng.integers(2**31 - 1)))
    patch = PATCH.get(quality, 3)
    scale = 1.0
    if quality == "low" and max(h, w) > 512:  # a draft: synthesise at half size
        scale = 0.5
    # synthesise each part of the hole from its own neighbourhood (a margin of 0.75x the part,
    # 48 px at least): nearby texture is what belongs there, and the search is several times
    # faster. Parts apart (the borders of an expanded canvas) never borrow from each other's
    # side of the picture, so an outpaint does not clone what stands in the middle
    texture = rgb.copy()
    split = share >= SPLIT_HOLE
    count, parts = cv2.connectedComponents(mask, connectivity=8)
    for part in range(1, count):
        around = _around(parts == part)
        crop, crop_mask = rgb[around], mask[around]
        ch, cw = crop.shape[:2]
        if scale != 1.0:
            size = (int(cw * scale), int(ch * scale))
            small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
            small_mask = cv2.resize(crop_mask, size, interpolation=cv2.INTER_NEAREST)
            filled = cv2.resize(_synthesise(small, small_mask, patch, split), (cw, ch))
        else:
            filled = _synthesise(crop, crop_mask, patch, split)
        mine = parts[around] == part
        texture[around][mine] = filled[mine]
    # the structure pass steers the synthesis where the texture lost the big shapes
    low_t = cv2.GaussianBlur(texture.astype(np.float32), (0, 0), 6)
    low_s = cv2.GaussianBlur(structure.astype(np.float32), (0, 0), 6)
    guided = texture.astype(np.float32) + 0.35 * (low_s - low_t)
    out = rgb.copy()
    out[hole] = np.clip(guided[hole], 0, 255).astype(np.uint8)
    return out


def _synthesise(crop: np.ndarray, hole: np.ndarray, patch: int, split: bool = True) -> np.ndarray:
    """PatchMatch over one hole, each stretch of it from sources like the stretch of border
    it continues: the border is told apart into its kinds (water, a roof, leaves), each hole
    pixel belongs to the kind whose border is nearest (weighed by how much of the border that
    kind holds), and is synthesised only from the crop's pixels of that kind, never from
    pixels unlike every kind of the border. So a pagoda beside a lake is not cloned onto the
    water, and the dark leaves beside a flower do not eat into its petals. Without ``split``
    (a hole too small to hold a second object), one pass takes any source."""
    import patchmatch

    inside = hole > 0
    reach = max(3, round(0.02 * max(hole.shape)))
    ring = (cv2.dilate(hole, np.ones((2 * reach + 1,) * 2, np.uint8)) > 0) & ~inside
    if not split or ring.sum() < 3 * SOURCE_KINDS:  # one pass from the whole neighbourhood
        return np.asarray(patchmatch.inpaint(crop, hole, patch_size=patch))
    lab = cv2.cvtColor(cv2.GaussianBlur(crop, (0, 0), 2), cv2.COLOR_RGB2LAB).astype(np.float32)
    labels, centres, shares = _border_kinds(lab[ring])
    distance = np.linalg.norm(lab[:, :, None, :] - centres[None, None], axis=3)
    unlike = np.min(distance, axis=2) > SOURCE_UNLIKE
    distance[..., shares == 0] = np.inf  # a kind merged into another has no pixels of its own
    kind_of = np.argmin(distance, axis=2)
    border_kind = np.full(hole.shape, -1, np.int32)
    border_kind[ring] = labels
    reach_of = np.full((SOURCE_KINDS, *hole.shape), np.inf, np.float32)
    for kind in np.nonzero(shares)[0]:  # what surrounds a hole mostly fills most of it
        away = (border_kind != kind).astype(np.uint8)
        reach_of[kind] = cv2.distanceTransform(away, cv2.DIST_L2, 5) / shares[kind]
    hole_kind = np.argmin(reach_of, axis=0)
    out, rest = crop.copy(), inside.copy()
    for kind in np.argsort(-shares)[1:]:  # the minor kinds, each from its own sources nearby
        part = inside & (hole_kind == kind)
        if not part.any():
            continue
        # its sources lie within a few times its own thickness (a band along one side of the
        # hole borrows from along that side, not from across the picture)
        thickness = float(cv2.distanceTransform(part.astype(np.uint8), cv2.DIST_L2, 3).max())
        near = _around(part, max(32, int(6 * thickness)))
        fill, sources = part[near], (~inside & ~unlike & (kind_of == kind))[near]
        if sources.sum() < max(64, 2 * fill.sum()):
            continue  # too few sources of its own kind: left to the open pass
        filled = _patchmatch(np.ascontiguousarray(crop[near]), fill, ~fill & ~sources, patch)
        out[near][fill] = filled[fill]
        rest &= ~part
    if rest.any():  # the main kind, and what had too few sources: anything but the unlike
        barred = (inside & ~rest) | (~inside & unlike)
        if (~barred).sum() - rest.sum() < max(64, 2 * rest.sum()):
            barred = inside & ~rest
        out[rest] = _patchmatch(out, rest, barred, patch)[rest]
    return out


def _around(part: np.ndarray, reach: int | None = None) -> tuple[slice, slice]:
    """The box around a part of a hole that its sources are taken from: its bounding box with
    a margin of ``reach`` pixels, or by default three quarters of its size (48 px at least),
    on every side. Nearby texture is what belongs there, and the synthesis is faster on less."""
    h, w = part.shape
    ys, xs = np.nonzero(part)
    my = reach or max(48, int(0.75 * (ys.max() - ys.min())))
    mx = reach or max(48, int(0.75 * (xs.max() - xs.min())))
    return (slice(max(0, int(ys.min()) - my), min(h, int(ys.max()) + 1 + my)),
            slice(max(0, int(xs.min()) - mx), min(w, int(xs.max()) + 1 + mx)))  # fmt: skip


def _border_kinds(border: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The kinds of a hole's border (N x 3 Lab): each pixel's kind, the kinds' colours and
    their shares of the border; kinds that look alike (a sky's gradient) are merged into
    the bigger one, which leaves the smaller a share of 0."""
    cv2.setRNGSeed(0)  # one hole, one split
    labels, centres = kmeans(border, SOURCE_KINDS, iterations=10, eps=1.0, attempts=1)
    labels = labels.ravel()
    shares = np.bincount(labels, minlength=SOURCE_KINDS) / len(labels)
    for kind in np.argsort(-shares):
        bigger = [k for k in range(SOURCE_KINDS) if shares[k] > shares[kind]]
        gaps = [float(np.linalg.norm(centres[k] - centres[kind])) for k in bigger]
        if gaps and min(gaps) < SOURCE_ALIKE:
            into = bigger[int(np.argmin(gaps))]
            labels[labels == kind] = into
            shares[into], shares[kind] = shares[into] + shares[kind], 0
    return labels, centres, shares


def _patchmatch(image: np.ndarray, fill: np.ndarray, barred: np.ndarray, patch: int) -> np.ndarray:
    """PatchMatch filling ``fill`` without reading or writing ``barred`` (bool masks)."""
    import patchmatch

    as_mask = [m.astype(np.uint8) * 255 for m in (fill, barred)]
    return np.asarray(patchmatch.inpaint(image, as_mask[0], global_mask=as_mask[1],
                                         patch_size=patch))  # fmt: skip


def blend(original: np.ndarray, result: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Poisson blending of ``result`` into ``original`` inside the hole: the region keeps
    its own gradients and takes the boundary's colours, so no seam shows. Pixels outside
    the hole are the original's."""
    pad = 8
    mask = hole.astype(np.uint8) * 255
    if mask.sum() == 0 or hole.all():
        return result
    src = cv2.copyMakeBorder(result, pad, pad, pad, pad, cv2.BORDER_REFLECT)
    dst = cv2.copyMakeBorder(original, pad, pad, pad, pad, cv2.BORDER_REFLECT)
    m = cv2.copyMakeBorder(mask, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    m = cv2.dilate(m, np.ones((3, 3), np.uint8))  # the boundary condition sits on kept pixels
    ys, xs = np.nonzero(m)
    centre = (int((xs.min() + xs.max() + 1) // 2), int((ys.min() + ys.max() + 1) // 2))
    try:
        cloned = cv2.seamlessClone(src, dst, m, centre, cv2.NORMAL_CLONE)
    except cv2.error:
        return np.where(hole[:, :, None], result, original)
    cloned = cloned[pad:-pad, pad:-pad]
    return np.where(hole[:, :, None], cloned, original)


def feather(original: np.ndarray, result: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Blend ``result`` in over a band just inside the hole (the kept side never changes)."""
    band = max(2.0, 0.01 * max(hole.shape))
    inside = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 5)
    weight = np.clip(inside / band, 0, 1)[:, :, None]
    mixed = original.astype(np.float32) * (1 - weight) + result.astype(np.float32) * weight
    out: np.ndarray = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
    return out


def recolour(rgb: np.ndarray, hole: np.ndarray, parsed: Parsed) -> np.ndarray:
    """Keep the region's shading (Lab lightness), take the named colour or material."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    text = parsed.text.lower()
    material = material_of(text)
    out = rgb.copy()
    if material is not None and not parsed.colours:
        h, w = hole.shape
        texture = (
            materials.wood(h, w, np.random.default_rng(7))
            if material == "wood"
            else materials.marble(h, w, np.random.default_rng(7))
        )
        tex_lab = cv2.cvtColor((texture * 255).astype(np.uint8), cv2.COLOR_RGB2LAB).astype(
            np.float32
        )
        shade = lab[:, :, 0] / max(1.0, float(lab[:, :, 0][hole].mean()))
        tex_lab[:, :, 0] = np.clip(tex_lab[:, :, 0] * shade, 0, 255)
        new = cv2.cvtColor(tex_lab.astype(np.uint8), cv2.COLOR_LAB2RGB)
    else:
        colour = parsed.colours[0] if parsed.colours else (128, 128, 128)
        target = cv2.cvtColor(np.array([[colour]], np.uint8), cv2.COLOR_RGB2LAB)[0, 0].astype(
            np.float32
        )
        new_lab = lab.copy()
        new_lab[:, :, 1] = target[1]
        new_lab[:, :, 2] = target[2]
        # keep the highlights and shadows, move the mid-tones toward the colour's lightness
        l_mean = float(lab[:, :, 0][hole].mean())
        new_lab[:, :, 0] = np.clip(lab[:, :, 0] + (target[0] - l_mean) * 0.6, 0, 255)
        new = cv2.cvtColor(new_lab.astype(np.uint8), cv2.COLOR_LAB2RGB)
    out[hole] = new[hole]
    return out


def place_subject(
    rgb: np.ndarray,
    hole: np.ndarray,
    parsed: Parsed,
    rng: np.random.Generator,
    assets_root: Path | None = None,
) -> np.ndarray:
    """The named thing, drawn from its art, fitted to the region, in the photo's colours."""
    found = parse_subjects(parsed.text, assets_root)
    if not found or assets.missing_reason(assets_root) is not None:
        return rgb
    library = assets.library(assets_root)
    subject: Subject = found[0]
    match(subject, library, rng)
    if subject.asset is None:  # nothing genuinely matches: the fill stays the fill
        return rgb
    ys, xs = np.nonzero(hole)
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
    side = max(4, int(min(x1 - x0, y1 - y0) * 0.92))
    sprite = art.sprite(subject, library, side, float(rgb.mean()) / 255)
    sprite = harmonise(sprite, rgb, hole)
    canvas = rgb.astype(np.float32) / 255
    box = ((x0 + x1 - side) / 2, y1 - side - (y1 - y0 - side) * 0.1, 0.0, 0.0)
    box = (box[0], box[1], box[0] + side, box[1] + side)
    placed = Placed(0, box, grounded=True)
    art.shadow(canvas, placed, parsed.scene, "medium")
    art.paste(canvas, sprite, box)
    out = rgb.copy()
    out[hole] = np.clip(canvas[hole] * 255 + 0.5, 0, 255).astype(np.uint8)
    return out


def harmonise(sprite: np.ndarray, photo: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Pull the art's Lab colour statistics part of the way toward the photo around it."""
    ring = cv2.dilate(hole.astype(np.uint8), np.ones((25, 25), np.uint8)).astype(bool) & ~hole
    if not ring.any():
        return sprite
    rgb = np.clip(sprite[:, :, :3] * 255, 0, 255).astype(np.uint8)
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    around = cv2.cvtColor(photo, cv2.COLOR_RGB2LAB).astype(np.float32)[ring]
    opaque = sprite[:, :, 3] > 0.5
    if not opaque.any():
        return sprite
    lab = colour.toward_lab(lab, lab[opaque], around, 0.25, (0.25, 0.125, 0.125))
    out = sprite.copy()
    rgb2 = cv2.cvtColor(np.clip(lab, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)
    out[:, :, :3] = rgb2.astype(np.float32) / 255
    return out


def _text_in_region(image: Image.Image, hole: np.ndarray, parsed: Parsed) -> None:
    ys, xs = np.nonzero(hole)
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
    region = image.crop((x0, y0, x1, y1))
    lettering.set_text_in_box(region, " ".join(parsed.quoted), parsed.text_colour)
    image.paste(region, (x0, y0))
