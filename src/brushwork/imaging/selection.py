"""One-click selections (SPEC §10) with classical cues, on the CPU: subject, background,
point, box, colour and a few words ("the sky").

Every mode works the same way: cues make a first guess of which pixels belong (a saliency
and border-colour contrast for the subject, the clicks, the box, a colour region), GrabCut
settles it on a working copy about ``WORK`` pixels across, the result keeps its connected
parts and loses its holes, and an edge-aware guided filter lifts it back to full size so the
edge follows the picture's own edges. The answer is an 8-bit mask, 255 = selected.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import cv2
import numpy as np
from PIL import Image

from brushwork.errors import InvalidInput
from brushwork.imaging.cluster import kmeans

WORK = 320  # the long edge GrabCut runs at
GRABCUT_ROUNDS = 4
# the subject's cut has no clicks or box to bound it, so GrabCut's graph is all uncertain
# and slow on busy pictures: it runs smaller and shorter to stay under a second
SUBJECT_WORK, SUBJECT_ROUNDS = 224, 3
FOCUS_WORK, FOCUS_SHARE = 448, 0.4
FOCUS_DECISIVE, FOCUS_FLOOR = 0.5, 0.5  # when it decides, and where focus ends
SNAP_RIM, SNAP_ROUNDS = 0.06, 2  # the rim a focus-bounded cut is re-cut in (of the short side)
SNAP_CRISPER = 1.2  # how much crisper the re-cut's outline must be to replace the first cut
WAND_TOLERANCES = (8, 14, 20, 28)  # a click's flood, tried from tight to loose
POINT_ROUNDS = 2  # a click's second cut (the object around its first) is a shorter one
BOX_ROUNDS = 2  # a box bounds the cut already: two rounds cut as well as four, in half the time
# a click's cut sheds what it leaked into once the focus cue says this much (a lower bar than
# the subject's: the click already says where the object is), and "soft" is an outline under
# half as crisp as the object's own
CLICK_FOCUS, SOFT_OUTLINE = 0.3, 0.5

MODES = ("subject", "background", "point", "box", "colour", "text")

# colour words → CIELAB (L 0..100, a, b), as cv2 scales them below
COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (48, 68, 48),
    "orange": (66, 42, 70),
    "yellow": (86, -4, 80),
    "green": (55, -50, 40),
    "blue": (35, 20, -62),
    "purple": (35, 50, -45),
    "pink": (72, 45, -5),
    "brown": (38, 18, 30),
    "black": (8, 0, 0),
    "white": (97, 0, 0),
    "grey": (55, 0, 0),
    "gray": (55, 0, 0),
    "cyan": (85, -40, -15),
}


def select(
    image: Image.Image,
    mode: str,
    *,
    points: Sequence[Sequence[float]] | None = None,
    labels: Sequence[int] | None = None,
    box: Sequence[float] | None = None,
    text: str | None = None,
) -> np.ndarray:
    """The selection as uint8 H x W, 255 = selected. Bad arguments raise 400 naming them."""
    rgb = np.asarray(image.convert("RGB"))
    h, w = rgb.shape[:2]
    check(mode, w, h, points=points, labels=labels, box=box, text=text)
    cv2.setRNGSeed(0)  # k-means and GrabCut draw from OpenCV's RNG: one picture, one answer
    work = SUBJECT_WORK if mode in ("subject", "background") else WORK
    scale = min(1.0, work / max(h, w))
    small = _shrink(rgb, work)
    if mode in ("subject", "background"):
        chosen = _subject(small, _focus(rgb, small.shape[:2]))
        if mode == "background":
            chosen = ~chosen
    elif mode == "box":
        chosen = _box(small, _check_box(box, w, h), scale)
    elif mode == "point":
        chosen = _points(small, *_check_points(points, labels, w, h), scale,
                         _focus(rgb, small.shape[:2]))  # fmt: skip
    elif mode == "text":
        chosen = _region(small, PLACES[_place_word(text)])
    else:
        chosen = _colour(small, COLOURS[_colour_word(text)])
    return _refine(rgb, chosen)


def check(
    mode: str,
    width: int,
    height: int,
    *,
    points: Sequence[Sequence[float]] | None = None,
    labels: Sequence[int] | None = None,
    box: Sequence[float] | None = None,
    text: str | None = None,
    words: bool = False,
) -> None:
    """Every argument of a selection against a ``width`` x ``height`` picture: 400 naming
    the field, before any work (the API calls this when the task is submitted). ``words``:
    a grounding model is here, so ``text`` mode only needs its text."""
    if mode not in MODES:
        raise InvalidInput(f"mode must be one of {', '.join(MODES)}, got {mode!r}", param="mode")
    if mode == "box":
        _check_box(box, width, height)
    elif mode == "point":
        _check_points(points, labels, width, height)
    elif mode == "colour":
        _colour_word(text)
    elif mode == "text":
        _required_text(text, mode)
        if not words:
            _place_word(text)


# ---------------------------------------------------------------- checks


def _check_box(box: Sequence[float] | None, w: int, h: int) -> tuple[float, ...]:
    if box is None or len(box) != 4:
        raise InvalidInput("box must be [x0, y0, x1, y1]", param="box")
    x0, y0, x1, y1 = (float(v) for v in box)
    if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
        raise InvalidInput(
            f"box must satisfy 0 ≤ x0 < x1 ≤ {w} and 0 ≤ y0 < y1 ≤ {h}, got {list(box)}",
            param="box",
        )
    return x0, y0, x1, y1


def _check_points(
    points: Sequence[Sequence[float]] | None, labels: Sequence[int] | None, w: int, h: int
) -> tuple[list[tuple[float, float]], list[int]]:
    if not points:
        raise InvalidInput("points must list at least one [x, y]", param="points")
    labels = list(labels) if labels is not None else [1] * len(points)
    if len(labels) != len(points) or any(v not in (0, 1) for v in labels):
        raise InvalidInput("labels must give 1 (include) or 0 (exclude) per point", param="labels")
    checked = []
    for i, p in enumerate(points):
        if len(p) != 2 or not (0 <= p[0] < w and 0 <= p[1] < h):
            raise InvalidInput(
                f"points[{i}] must be [x, y] inside the {w}x{h} image, got {list(p)}",
                param="points",
            )
        checked.append((float(p[0]), float(p[1])))
    if 1 not in labels:
        raise InvalidInput("points need at least one include point (label 1)", param="labels")
    return checked, labels


# ---------------------------------------------------------------- cues


def _lab(rgb: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] *= 100 / 255
    lab[..., 1:] -= 128
    return lab


def _border(a: np.ndarray) -> np.ndarray:
    """The values of a strip 4% of the picture wide along its four edges, one per row (or one
    per element for a single channel)."""
    t = max(2, round(min(a.shape[:2]) * 0.04))
    tail = a.shape[2:]
    return np.concatenate([e.reshape(-1, *tail) for e in (a[:t], a[-t:], a[:, :t], a[:, -t:])])


def _shrink(a: np.ndarray, long_edge: int) -> np.ndarray:
    """``a`` with its long edge at most ``long_edge`` (area-averaged; never enlarged)."""
    h, w = a.shape[:2]
    scale = min(1.0, long_edge / max(h, w))
    return cv2.resize(a, (max(1, round(w * scale)), max(1, round(h * scale))),
                      interpolation=cv2.INTER_AREA)  # fmt: skip


def _border_contrast(lab: np.ndarray) -> np.ndarray:
    """How unlike the picture's border each pixel is: distance to the nearest of a few
    border colours, normalised to [0, 1]."""
    h, w = lab.shape[:2]
    strip = _border(lab)
    _, centres = kmeans(strip, 6, iterations=10, eps=1.0, attempts=2)
    flat = lab.reshape(-1, 3)
    distance = np.min(
        np.linalg.norm(flat[:, None, :] - centres[None, :, :], axis=2), axis=1
    ).reshape(h, w)
    distance = cv2.GaussianBlur(distance, (0, 0), 2)
    return np.asarray(distance / max(float(distance.max()), 1e-6), np.float32)


def _spectral_residual(gray: np.ndarray) -> np.ndarray:
    """Hou & Zhang's spectral residual saliency at 64 px, back to the working size."""
    h, w = gray.shape
    small = cv2.resize(gray.astype(np.float32), (64, 64), interpolation=cv2.INTER_AREA)
    spectrum = np.fft.fft2(small)
    log_amp = np.log(np.abs(spectrum) + 1e-6)
    residual = log_amp - cv2.blur(log_amp, (3, 3))
    saliency = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spectrum)))) ** 2
    saliency = cv2.GaussianBlur(saliency.astype(np.float32), (0, 0), 2.5)
    saliency = cv2.resize(saliency, (w, h))
    return saliency / max(float(saliency.max()), 1e-6)


def _features(rgb: np.ndarray) -> np.ndarray:
    """What GrabCut sees besides colour: lightness, local texture and one opponent channel,
    so an object that differs from its backdrop by texture alone can still be told apart."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    light = lab[..., 0]
    mean = cv2.blur(light, (5, 5))
    texture = np.sqrt(np.maximum(cv2.blur(light * light, (5, 5)) - mean * mean, 0))
    texture = cv2.GaussianBlur(texture, (0, 0), 1.5)
    opponent = (lab[..., 1] + lab[..., 2]) / 2
    stacked = np.dstack([light, np.clip(texture * 4, 0, 255), opponent])
    return np.ascontiguousarray(stacked.astype(np.uint8))


def _grabcut(
    rgb: np.ndarray, seed: np.ndarray, rounds: int = GRABCUT_ROUNDS, texture: bool = True
) -> np.ndarray:
    """GrabCut from a seed map of cv2.GC_* labels, on the colours and on the texture
    features; the cut whose two sides differ more wins. True where it is foreground."""
    if not (np.isin(seed, (cv2.GC_FGD, cv2.GC_PR_FGD)).any() and
            np.isin(seed, (cv2.GC_BGD, cv2.GC_PR_BGD)).any()):  # fmt: skip
        return np.isin(seed, (cv2.GC_FGD, cv2.GC_PR_FGD))
    features = _features(rgb)
    described = np.dstack([_lab(rgb), features[..., 1:2].astype(np.float32) / 4])
    proposed = np.isin(seed, (cv2.GC_FGD, cv2.GC_PR_FGD))
    best, best_score = None, -1.0
    for picture in (cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), features)[: 2 if texture else 1]:
        mask = seed.copy()
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        cv2.grabCut(picture, mask, None, bgd, fgd, rounds, cv2.GC_INIT_WITH_MASK)  # type: ignore[call-overload, unused-ignore]
        found = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD))
        # a cut that kept a sliver of what the cues proposed is a poor answer, however
        # clean: weigh it by how much of the proposal it kept (full weight from a quarter)
        kept = found.sum() / max(1, proposed.sum())
        score = _separation(described, found) * min(1.0, kept / 0.25) ** 0.5
        if score > best_score:
            best, best_score = found, score
    assert best is not None
    return best


def _separation(described: np.ndarray, found: np.ndarray) -> float:
    """Fisher's criterion of a cut: how far apart its two sides' means are, per unit of
    their spread, summed over lightness, a, b and texture. 0 for a cut with an empty side."""
    inside, outside = described[found], described[~found]
    if len(inside) < 16 or len(outside) < 16:
        return 0.0
    gap = (inside.mean(axis=0) - outside.mean(axis=0)) ** 2
    spread = inside.var(axis=0) + outside.var(axis=0) + 1.0
    return float((gap / spread).sum())


def _focus(rgb: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, float]:
    """Where the picture is in focus, in [0, 1] at ``shape``, and how much that says: near 1
    when the border is soft and something inside is sharp (a shallow depth of field), near 0
    when everything is equally sharp (the cue then tells nothing)."""
    gray = _shrink(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), FOCUS_WORK).astype(np.float32)
    detail = np.abs(cv2.Laplacian(gray, cv2.CV_32F, ksize=3))
    reach = max(1, round(max(gray.shape) / 64))
    detail = cv2.dilate(detail, np.ones((2 * reach + 1, 2 * reach + 1), np.uint8))
    detail = cv2.GaussianBlur(detail, (0, 0), 2 * reach)
    detail = cv2.resize(detail, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    top = float(np.percentile(detail, 95))
    if top <= 1e-6:
        return np.zeros(shape[:2], np.float32), 0.0
    sharp = np.clip(detail / top, 0, 1)
    weight = float(np.clip(1 - np.median(_border(sharp)) / 0.35, 0, 1))
    return np.asarray(sharp, np.float32), weight


def _subject(rgb: np.ndarray, focus: tuple[np.ndarray, float] | None = None) -> np.ndarray:
    lab = _lab(rgb)
    h, w = lab.shape[:2]
    contrast = _border_contrast(lab)
    saliency = _spectral_residual(lab[..., 0])
    yy, xx = np.mgrid[0:h, 0:w]
    centre = np.exp(-(((xx - w / 2) / (0.5 * w)) ** 2 + ((yy - h / 2) / (0.5 * h)) ** 2))
    score = (0.7 * contrast + 0.3 * saliency) * (0.6 + 0.4 * centre)
    if focus is not None:
        sharp, weight = focus
        share = FOCUS_SHARE * weight
        score = (1 - share) * score + share * sharp
    threshold, _ = cv2.threshold(
        (score * 255).astype(np.uint8), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU
    )
    likely = score * 255 > threshold
    seed = np.where(likely, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    seed[score * 255 > min(254, threshold * 1.6)] = cv2.GC_FGD
    edge = max(1, round(min(h, w) * 0.02))
    for side in (np.s_[:edge], np.s_[-edge:]):
        seed[side] = np.where(seed[side] == cv2.GC_FGD, cv2.GC_PR_FGD, cv2.GC_BGD)
        seed[:, side] = np.where(seed[:, side] == cv2.GC_FGD, cv2.GC_PR_FGD, cv2.GC_BGD)
    found = _grabcut(rgb, seed, SUBJECT_ROUNDS)
    if focus is not None and focus[1] >= FOCUS_DECISIVE:
        found &= focus[0] > FOCUS_FLOOR  # a soft backdrop: what is out of focus is not it
        found = _snap(rgb, found)
    return _best_parts(found, score, margin=0.8)


def _snap(rgb: np.ndarray, found: np.ndarray) -> np.ndarray:
    """The focus cue is blurred to span the object, so a cut bounded by it keeps a rim of the
    soft backdrop (and the shadow) around the object: cut once more, with the cut's core as
    sure object and its rim undecided, so that it ends on the object's own crisp edge."""
    h, w = found.shape
    ring = max(2, round(min(h, w) * SNAP_RIM))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ring + 1, 2 * ring + 1))
    core = cv2.erode(found.astype(np.uint8), kernel) > 0
    if not core.any():
        return found
    seed = np.full((h, w), cv2.GC_BGD, np.uint8)
    seed[cv2.dilate(found.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0] = cv2.GC_PR_BGD
    seed[found] = cv2.GC_PR_FGD
    seed[core] = cv2.GC_FGD
    snapped = _grabcut(rgb, seed, SNAP_ROUNDS)
    # kept only where it did end on a crisper edge: where the object and the backdrop share
    # their colours, the second cut bites into the object instead
    steep = _steepness(rgb)
    before, after = (float(np.median(steep[_outline(m)])) for m in (found, snapped))
    return snapped if snapped.any() and after >= SNAP_CRISPER * before else found


def _box(rgb: np.ndarray, box: tuple[float, ...], scale: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = (round(v * scale) for v in box)
    x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)
    seed = np.full((h, w), cv2.GC_BGD, np.uint8)
    seed[y0:y1, x0:x1] = cv2.GC_PR_FGD
    found = _grabcut(rgb, seed, BOX_ROUNDS)
    if found.sum() < 0.1 * (x1 - x0) * (y1 - y0):
        # the box's colours did not split: say its middle is the object and cut again
        centre = ((x0 + x1) // 2, (y0 + y1) // 2)
        axes = (max(1, (x1 - x0) * 3 // 20), max(1, (y1 - y0) * 3 // 20))
        cv2.ellipse(seed, centre, axes, 0, 0, 360, cv2.GC_FGD, -1)
        found = _grabcut(rgb, seed)
    return _tidy(found, keep_share=0.25)


def _points(
    rgb: np.ndarray,
    points: list[tuple[float, float]],
    labels: list[int],
    scale: float,
    focus: tuple[np.ndarray, float],
) -> np.ndarray:
    """Clicks: each include click floods what looks like it (colour and texture, smoothed),
    which says roughly where the object is; GrabCut then cuts inside that area, padded,
    with the clicks as sure seeds, and the parts holding an include click are kept (grown
    to the whole object, and on a soft backdrop rid of what they leaked into)."""
    h, w = rgb.shape[:2]
    clicks = [(min(w - 1, round(x * scale)), min(h - 1, round(y * scale)), k)
              for (x, y), k in zip(points, labels, strict=True)]  # fmt: skip
    smooth = cv2.GaussianBlur(cv2.medianBlur(_features(rgb), 5), (0, 0), 2)
    like = np.zeros((h, w), bool)
    for x, y, k in clicks:
        if k:
            like |= _wand(smooth, x, y)
    ys, xs = np.nonzero(like)
    pad_x, pad_y = max(w // 10, int(np.ptp(xs) * 0.3)), max(h // 10, int(np.ptp(ys) * 0.3))
    area = (slice(max(0, ys.min() - pad_y), ys.max() + pad_y + 1),
            slice(max(0, xs.min() - pad_x), xs.max() + pad_x + 1))  # fmt: skip
    # inside that area, what is nearer in colour to the clicked pixels than to the border's
    lab = _lab(rgb)
    picked = np.array([lab[y, x] for x, y, k in clicks if k])
    near = np.min(np.linalg.norm(lab[:, :, None, :] - picked[None, None], axis=3), axis=2)
    likely = (near < _border_contrast(lab) * 100) | like
    seed = np.full((h, w), cv2.GC_BGD, np.uint8)
    seed[area] = np.where(likely[area], cv2.GC_PR_FGD, cv2.GC_PR_BGD)
    found = _tidy(_grabcut(rgb, _mark(seed, clicks)), keep=_included(clicks))
    found = _grow_to_object(rgb, found, clicks)
    if focus[1] >= CLICK_FOCUS:
        found = _drop_soft_leaks(rgb, found, focus[0] > FOCUS_FLOOR, clicks)
    return found


def _drop_soft_leaks(
    rgb: np.ndarray, found: np.ndarray, sharp: np.ndarray, clicks: list[tuple[int, int, int]]
) -> np.ndarray:
    """On a soft backdrop, the parts of a click's cut that lie out of focus and whose outline
    there is soft too are the backdrop it leaked into, not an object's smooth part (which
    ends in a crisp outline): they go."""
    extra = (found & ~sharp).astype(np.uint8)
    if not extra.any() or not all(sharp[y, x] for x, y in _included(clicks)):
        return found
    grad = _steepness(rgb)
    outline = _outline(found)
    own = outline & sharp
    if own.sum() < 8:
        return found
    crisp = float(np.median(grad[own]))
    count, labels = cv2.connectedComponents(extra, connectivity=8)
    kept = found.copy()
    for i in range(1, count):
        edge = outline & (labels == i)
        if edge.sum() >= 8 and float(np.median(grad[edge])) < SOFT_OUTLINE * crisp:
            kept &= labels != i
    return _tidy(kept, keep=_included(clicks))


def _steepness(rgb: np.ndarray) -> np.ndarray:
    """How steep the picture is at each pixel: the steepest of L, a and b (Sobel), dilated a
    pixel, as an outline may sit a pixel off the edge it follows."""
    lab = _lab(rgb)
    across = np.hypot(cv2.Sobel(lab, cv2.CV_32F, 1, 0), cv2.Sobel(lab, cv2.CV_32F, 0, 1))
    return np.asarray(cv2.dilate(across.max(axis=2), np.ones((3, 3), np.uint8)))


def _outline(mask: np.ndarray) -> np.ndarray:
    """The selected pixels on the selection's edge."""
    return np.asarray(mask & ~(cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0))


def _mark(seed: np.ndarray, clicks: list[tuple[int, int, int]]) -> np.ndarray:
    """The clicks as sure seeds: a small disc of object (include) or background (exclude)."""
    h, w = seed.shape
    radius = max(2, round(min(h, w) * 0.02))
    for x, y, k in clicks:
        cv2.circle(seed, (x, y), radius, cv2.GC_FGD if k else cv2.GC_BGD, -1)
    return seed


def _included(clicks: list[tuple[int, int, int]]) -> list[tuple[int, int]]:
    return [(x, y) for x, y, k in clicks if k]


def _grow_to_object(
    rgb: np.ndarray, found: np.ndarray, clicks: list[tuple[int, int, int]]
) -> np.ndarray:
    """A click lands on one colour of an object of several: what is like the clicked pixels
    is only part of it. Cut again in a box around that part, loosened by a quarter, with the
    part as sure object and the exclude clicks as sure background, as a box is cut (on a
    crop a little larger than the box: outside it everything is background anyway)."""
    if not found.any():
        return found
    h, w = found.shape
    ys, xs = np.nonzero(found)
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
    px, py = max(2, (x1 - x0) // 4), max(2, (y1 - y0) // 4)
    box = (max(0, x0 - px), max(0, y0 - py), min(w, x1 + px), min(h, y1 + py))
    margin = max(4, round(min(h, w) * 0.05))
    cx0, cy0 = max(0, box[0] - margin), max(0, box[1] - margin)
    cx1, cy1 = min(w, box[2] + margin), min(h, box[3] + margin)
    seed = np.full((h, w), cv2.GC_BGD, np.uint8)
    seed[box[1] : box[3], box[0] : box[2]] = cv2.GC_PR_FGD
    seed[cv2.erode(found.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0] = cv2.GC_FGD
    crop = np.s_[cy0:cy1, cx0:cx1]
    grown = np.zeros_like(found)
    grown[crop] = _grabcut(np.ascontiguousarray(rgb[crop]), _mark(seed, clicks)[crop],
                           POINT_ROUNDS)  # fmt: skip
    grown = _tidy(grown, keep=_included(clicks))
    return grown if grown.sum() <= 2.5 * found.sum() else found


def _wand(smooth: np.ndarray, x: int, y: int) -> np.ndarray:
    """A magic wand that picks its own tolerance: the widest flood from the click before the
    region jumps (it leaked into the surroundings) or covers most of the picture."""
    h, w = smooth.shape[:2]
    flags = 8 | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (1 << 8)
    chosen: np.ndarray | None = None
    for tolerance in WAND_TOLERANCES:
        flood = np.zeros((h + 2, w + 2), np.uint8)
        cv2.floodFill(smooth, flood, (x, y), (0, 0, 0), (tolerance,) * 3, (tolerance,) * 3, flags)
        region = flood[1:-1, 1:-1] > 0
        if chosen is not None and (region.sum() > 3 * chosen.sum() or region.mean() > 0.6):
            break
        chosen = region
    assert chosen is not None
    return chosen


def _required_text(text: str | None, mode: str) -> str:
    if not text or not text.strip():
        raise InvalidInput(f"text is required for mode {mode}", param="text")
    return text


# what classical cues can find by words on the CPU: a region that touches an edge of the
# picture and looks like the place (SPEC §10); anything else needs a grounding model
PLACES = {
    "sky": "sky", "skies": "sky", "clouds": "sky",
    "ground": "ground", "floor": "ground", "grass": "ground", "field": "ground",
    "road": "ground", "sand": "ground", "beach": "ground",
    "water": "water", "sea": "water", "lake": "water", "ocean": "water", "river": "water",
}  # fmt: skip


def _first_named(text: str | None, table: dict[str, object], mode: str) -> str | None:
    """The first word of ``text`` that ``table`` knows (text is required)."""
    words = re.findall(r"[a-z]+", _required_text(text, mode).lower())
    return next((w for w in words if w in table), None)


def _place_word(text: str | None) -> str:
    named = _first_named(text, dict(PLACES), "text")
    if named is None:
        raise InvalidInput(
            f"selecting {str(text)[:80]!r} by words needs a grounding model, which this CPU "
            f"engine does not have (it finds {', '.join(sorted(set(PLACES.values())))}): use "
            "point, box or colour here, or a GPU deployment of brushwork/masks with OWLv2 and "
            "SAM 2 weights",
            param="text",
            code="unsupported_text",
        )
    return named


def _region(rgb: np.ndarray, place: str) -> np.ndarray:
    """Sky: smooth and light, reaching the top edge; ground: like the bottom strip, reaching
    the bottom edge; water: smooth and blue-green below the top third. GrabCut settles it."""
    lab = _lab(rgb)
    h, w = lab.shape[:2]
    texture = _features(rgb)[..., 1].astype(np.float32)
    smooth = texture < max(12.0, float(np.percentile(texture, 35)))
    hue = np.degrees(np.arctan2(lab[..., 2], lab[..., 1]))
    blue = (hue < -60) & (hue > -180)
    if place == "sky":
        likely = smooth & ((lab[..., 0] > 35) | blue)  # a day sky, or a blue dusk one
        edge = np.s_[: max(1, h // 20)]
    elif place == "water":
        chroma = np.hypot(lab[..., 1], lab[..., 2])
        likely = smooth & (blue | (chroma < 12))
        likely[: h // 3] = False
        edge = np.s_[h // 3 :]
    else:
        strip = lab[-max(2, h // 12) :].reshape(-1, 3)
        centre = np.median(strip, axis=0)
        likely = np.linalg.norm(lab - centre, axis=2) < 22
        edge = np.s_[-max(1, h // 20) :]
    count, labels = cv2.connectedComponents(likely.astype(np.uint8), connectivity=8)
    touching = set(np.unique(labels[edge])) - {0}
    region = np.isin(labels, list(touching)) if count > 1 else likely
    if not region.any():
        return region
    seed = np.where(region, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    seed[cv2.erode(region.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0] = cv2.GC_FGD
    found = _grabcut(rgb, seed)
    return _tidy(found, keep_share=0.1)


def _colour_word(text: str | None) -> str:
    named = _first_named(text, dict(COLOURS), "colour")
    if named is None:
        raise InvalidInput(
            f"text names no colour brushwork knows ({', '.join(sorted(COLOURS))}), "
            f"got {str(text)[:80]!r}",
            param="text",
        )
    return named


def _colour(rgb: np.ndarray, target: tuple[float, float, float]) -> np.ndarray:
    lab = _lab(rgb)
    t = np.array(target, np.float32)
    chroma = np.hypot(t[1], t[2])
    if chroma < 10:  # black, white, grey: lightness and low chroma
        pixel_chroma = np.hypot(lab[..., 1], lab[..., 2])
        distance = np.abs(lab[..., 0] - t[0]) + np.maximum(0, pixel_chroma - 12) * 2
    else:  # hue angle first, then chroma and lightness
        hue = np.arctan2(lab[..., 2], lab[..., 1]) - np.arctan2(t[2], t[1])
        hue = np.abs(np.angle(np.exp(1j * hue))) * 57.3  # degrees
        pixel_chroma = np.hypot(lab[..., 1], lab[..., 2])
        shortfall = np.maximum(0, 0.6 * chroma - pixel_chroma)
        distance = hue + shortfall + 0.4 * np.maximum(0, np.abs(lab[..., 0] - t[0]) - 25)
    distance = cv2.GaussianBlur(distance.astype(np.float32), (0, 0), 1.5)
    # named hues sit 25–60° apart (red and orange closest): a pixel is surely the colour
    # within 10°, maybe within 20°, and never past 28°
    sure = distance < 10
    if not sure.any():
        return np.asarray(sure)
    seed = np.where(distance < 20, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    seed[sure] = cv2.GC_FGD
    seed[distance > 50] = cv2.GC_BGD
    plausible = cv2.dilate((distance < 28).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    found = _grabcut(rgb, seed, texture=False) & plausible  # never another colour
    # the parts that are most that colour (several objects of it stay), not the biggest
    return _best_parts(found, 100 - distance, margin=0.92)


# ---------------------------------------------------------------- tidy and refine


def _tidy(
    found: np.ndarray, *, keep_share: float = 0.0, keep: list[tuple[int, int]] | None = None
) -> np.ndarray:
    """Connected parts that matter (those holding a click, or at least ``keep_share`` of the
    largest), holes filled."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        found.astype(np.uint8), connectivity=8
    )
    if count <= 1:
        return found
    areas = stats[1:, cv2.CC_STAT_AREA]
    if keep:
        h, w = found.shape
        wanted = {int(labels[min(y, h - 1), min(x, w - 1)]) for x, y in keep} - {0}
    else:
        wanted = {i + 1 for i, a in enumerate(areas) if a >= keep_share * areas.max()}
    chosen = np.isin(labels, list(wanted))
    return _fill_holes(chosen)


def _best_parts(found: np.ndarray, score: np.ndarray, *, margin: float) -> np.ndarray:
    """The connected parts whose mean ``score`` is within ``margin`` of the best part's
    (parts under 2% of the largest do not count as the best), holes filled."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        found.astype(np.uint8), connectivity=8
    )
    if count <= 1:
        return found
    parts = range(1, count)
    mean = {i: float(score[labels == i].mean()) for i in parts}
    big = max(stats[i, cv2.CC_STAT_AREA] for i in parts)
    best = max(m for i, m in mean.items() if stats[i, cv2.CC_STAT_AREA] >= 0.02 * big)
    wanted = [i for i in parts if mean[i] >= margin * best and stats[i, cv2.CC_STAT_AREA] >= 16]
    return _fill_holes(np.isin(labels, wanted))


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    flood = np.pad(~mask, 1, constant_values=True).astype(np.uint8)
    cv2.floodFill(flood, None, (0, 0), 2)
    outside = flood[1:-1, 1:-1] == 2
    return np.asarray(mask | ~outside)


def _guided(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter with a grey guide (box filters only)."""

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1))

    mean_i, mean_p = box(guide), box(src)
    var_i = box(guide * guide) - mean_i * mean_i
    cov_ip = box(guide * src) - mean_i * mean_p
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return np.asarray(box(a) * guide + box(b), np.float32)


def _refine(rgb: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """The working-size selection at full size, its edge snapped to the picture's."""
    h, w = rgb.shape[:2]
    up = cv2.resize(chosen.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    radius = max(2, round(max(h, w) / WORK * 2))
    refined = _guided(gray, up, radius, 1e-3)
    return np.where(refined > 0.5, 255, 0).astype(np.uint8)


# ---------------------------------------------------------------- what is handed back


def adjust(
    mask: np.ndarray, *, grow: int = 0, feather: int = 0, invert: bool = False
) -> np.ndarray:
    """``grow`` pixels outward (negative: inward), ``invert``, then ``feather`` pixels of
    soft edge; uint8, 255 = selected."""
    if not isinstance(grow, int) or abs(grow) > 512:
        raise InvalidInput(f"grow must be whole pixels between -512 and 512, got {grow!r}",
                           param="grow")  # fmt: skip
    if not isinstance(feather, int) or not 0 <= feather <= 256:
        raise InvalidInput(f"feather must be whole pixels between 0 and 256, got {feather!r}",
                           param="feather")  # fmt: skip
    out = mask
    if grow:
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(grow) + 1,) * 2)
        out = cv2.dilate(out, disc) if grow > 0 else cv2.erode(out, disc)
    if invert:
        out = 255 - out
    if feather:
        out = cv2.GaussianBlur(out, (0, 0), feather / 2)
    return np.asarray(out, np.uint8)


def alpha_mask(mask: np.ndarray) -> Image.Image:
    """OpenAI's edit convention, ready to pass as ``mask``: RGBA, alpha 0 where selected
    (to edit), 255 where kept."""
    h, w = mask.shape
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[..., 3] = 255 - mask
    return Image.fromarray(rgba, "RGBA")


def preview(image: Image.Image, mask: np.ndarray) -> Image.Image:
    """The picture with the selection tinted, to look at."""
    rgb = np.asarray(image.convert("RGB")).astype(np.float32)
    weight = (mask.astype(np.float32) / 255.0)[..., None] * 0.5
    tint = np.array([255, 60, 200], np.float32)
    return Image.fromarray((rgb * (1 - weight) + tint * weight).astype(np.uint8), "RGB")


def extent(mask: np.ndarray) -> tuple[list[int] | None, float]:
    """The selection's bounding box ``[x0, y0, x1, y1]`` (None when empty) and the share of
    the picture it covers."""
    chosen = mask > 127
    if not chosen.any():
        return None, 0.0
    ys, xs = np.nonzero(chosen)
    box = [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]
    return box, round(float(chosen.mean()), 4)
