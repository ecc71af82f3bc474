"""One-click masks against known truth: IoU per mode (median, worst) and seconds per 1024².

    python bench/masks.py [--cases 12] [--set tuned|fresh|fresh2|fresh3|fresh4|fresh5|all]

Each case is a composite whose truth is exact: an object cut by a random blob from one
photo (scikit-image's data module), pasted with a soft shadow onto another photo that is
either left busy or blurred (a shallow depth of field). Modes and what they are given:
- subject / background: nothing but the picture (background's truth is the rest);
- box: the object's bounding box, loosened by 3% of the picture on each side;
- point: one click, on the object's most interior pixel;
- colour: the object recoloured to a named colour, and that word ("the red object").
Subject mode is also split by backdrop: a texture (brick, grass, ...) or a photo with a
subject of its own (the astronaut, the cameraman), which competes with the pasted object.
Five sets of cases: "tuned" (seeds 0..) is what the selection code was tuned on; "fresh"
(seeds 1000..) was written with this file, before any tuning, and is reported beside it
(its misses have been looked at since); "fresh2" (seeds 2000..) was added before the region
proposals of the subject cut (tried, not kept) and its point misses have been looked at;
"fresh3" (seeds 3000..) was added before a focus cue for clicks (tried, not kept); its point
misses have been looked at since. "fresh4" (seeds 4000..) was added before the click's cut
learned to stop at a soft backdrop, and is kept out of that tuning; its subject scores were
looked at once the subject's second cut was written. "fresh5" (seeds 5000..) was added
before the work on the slowest cases (issue 15's one second), and is kept out of it.
With more than one held-out set, the last rows pool every held-out case (all but "tuned").
Targets (issue 15): IoU ≥ 0.9 for box and point, ≥ 0.85 for subject, background and colour,
each under 1 s per 1024² picture on one core.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image
from skimage import data

os.environ.setdefault("OMP_NUM_THREADS", "1")
cv2.setNumThreads(1)  # "on one core"

from brushwork.imaging.selection import select  # noqa: E402

SIZE = 1024
PHOTOS = ["astronaut", "coffee", "chelsea", "rocket", "camera", "brick", "grass", "gravel",
          "immunohistochemistry", "hubble_deep_field", "coins", "clock"]  # fmt: skip
COLOURS = {
    "red": (200, 30, 35),
    "green": (40, 160, 60),
    "blue": (35, 70, 200),
    "yellow": (235, 205, 40),
    "orange": (240, 130, 30),
    "purple": (130, 50, 170),
}
SEEDS = {"tuned": 0, "fresh": 1000, "fresh2": 2000, "fresh3": 3000, "fresh4": 4000, "fresh5": 5000}


@dataclass
class Case:
    image: Image.Image
    truth: np.ndarray  # bool, True = the object
    recoloured: Image.Image
    colour: str
    blurred: bool
    backdrop: str  # the photo behind the object


def photo(name: str, rng: np.random.Generator) -> np.ndarray:
    img = getattr(data, name)()
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    img = img[:, :, :3]
    h, w = img.shape[:2]
    scale = SIZE / min(h, w) * rng.uniform(1.0, 1.4)
    img = cv2.resize(img, (max(SIZE, round(w * scale)), max(SIZE, round(h * scale))))
    y = rng.integers(0, img.shape[0] - SIZE + 1)
    x = rng.integers(0, img.shape[1] - SIZE + 1)
    return np.ascontiguousarray(img[y : y + SIZE, x : x + SIZE])


def blob(rng: np.random.Generator) -> np.ndarray:
    """A random smooth shape, 25–45% of the picture across, as a float alpha in [0, 1]."""
    side = int(SIZE * rng.uniform(0.25, 0.45))
    shape = np.zeros((side, side), np.float32)
    for _ in range(rng.integers(2, 5)):
        centre = rng.uniform(0.3, 0.7, 2) * side
        axes = rng.uniform(0.15, 0.35, 2) * side
        cv2.ellipse(shape, (int(centre[0]), int(centre[1])), (int(axes[0]), int(axes[1])),
                    float(rng.uniform(0, 180)), 0, 360, 1.0, -1)  # fmt: skip
    noise = cv2.resize(rng.normal(0, 1, (8, 8)).astype(np.float32), (side, side))
    shape = cv2.GaussianBlur(shape, (0, 0), side / 30) + 0.15 * noise
    return np.clip((shape - 0.5) * 6 + 0.5, 0, 1)


def make_case(seed: int) -> Case:
    rng = np.random.default_rng(seed)
    back_name, object_name = rng.choice(PHOTOS, 2, replace=False)
    back = photo(str(back_name), rng).astype(np.float32)
    blurred = bool(rng.random() < 0.5)
    if blurred:
        back = cv2.GaussianBlur(back, (0, 0), 8)
    source = photo(str(object_name), rng).astype(np.float32)
    alpha_small = blob(rng)
    side = alpha_small.shape[0]
    y0, x0 = (int(v) for v in rng.integers(SIZE // 12, SIZE - side - SIZE // 12, 2))
    alpha = np.zeros((SIZE, SIZE), np.float32)
    alpha[y0 : y0 + side, x0 : x0 + side] = alpha_small
    alpha = cv2.GaussianBlur(alpha, (0, 0), 1.0)  # anti-aliased edge
    shadow = np.roll(cv2.GaussianBlur(alpha, (0, 0), 14), (18, 24), axis=(0, 1))
    lit = back * (1 - 0.45 * shadow[..., None])
    cut = np.roll(source, (y0 - SIZE // 3, x0 - SIZE // 3), axis=(0, 1))
    colour = str(rng.choice(list(COLOURS)))
    luminance = cut.mean(axis=2, keepdims=True) / 255.0
    tinted = np.array(COLOURS[colour], np.float32) * (0.55 + 0.6 * luminance)
    a = alpha[..., None]
    image = lit * (1 - a) + cut * a
    recoloured = lit * (1 - a) + np.clip(tinted, 0, 255) * a
    as_image = [Image.fromarray(np.clip(v, 0, 255).astype(np.uint8)) for v in (image, recoloured)]
    return Case(as_image[0], alpha > 0.5, as_image[1], colour, blurred, str(back_name))


def iou(found: np.ndarray, truth: np.ndarray) -> float:
    union = np.logical_or(found, truth).sum()
    return float(np.logical_and(found, truth).sum() / union) if union else 1.0


def interior_point(truth: np.ndarray) -> tuple[int, int]:
    distance = cv2.distanceTransform(truth.astype(np.uint8), cv2.DIST_L2, 5)
    y, x = np.unravel_index(int(np.argmax(distance)), distance.shape)
    return int(x), int(y)


def loose_box(truth: np.ndarray) -> list[int]:
    ys, xs = np.nonzero(truth)
    pad = int(SIZE * 0.03)
    return [max(0, xs.min() - pad), max(0, ys.min() - pad),
            min(SIZE, xs.max() + 1 + pad), min(SIZE, ys.max() + 1 + pad)]  # fmt: skip


def run_mode(case: Case, mode: str) -> tuple[float, float]:
    truth = case.truth
    started = time.perf_counter()
    if mode == "subject":
        found = select(case.image, "subject")
    elif mode == "background":
        found, truth = select(case.image, "background"), ~case.truth
    elif mode == "box":
        found = select(case.image, "box", box=loose_box(case.truth))
    elif mode == "point":
        found = select(case.image, "point", points=[interior_point(case.truth)], labels=[1])
    else:
        found = select(case.recoloured, "colour", text=f"the {case.colour} object")
    return iou(found > 127, truth), time.perf_counter() - started


MODES = ("subject", "background", "box", "point", "colour")
# backdrops with no subject of their own: elsewhere the photo's own subject (the astronaut, the
# cameraman, a coin) competes with the pasted object, which the truth calls the only subject
TEXTURES = {"brick", "grass", "gravel", "immunohistochemistry", "hubble_deep_field"}
TARGETS = {"subject": 0.85, "background": 0.85, "box": 0.9, "point": 0.9, "colour": 0.85}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=12)
    parser.add_argument("--set", choices=[*SEEDS, "all"], default="all")
    args = parser.parse_args()
    sets = list(SEEDS) if args.set == "all" else [args.set]
    print(f"{'set':<6} {'mode':<11} {'IoU median':>10} {'worst':>6} {'≥ target':>9} "
          f"{'s median':>9} {'s worst':>8}  target")  # fmt: skip
    held_out: dict[str, list[float]] = {mode: [] for mode in MODES}
    for name in sets:
        cases = [make_case(SEEDS[name] + i) for i in range(args.cases)]
        for mode in MODES:
            scores, seconds = zip(*(run_mode(c, mode) for c in cases), strict=True)
            if name != "tuned":
                held_out[mode] += scores
            hit = sum(s >= TARGETS[mode] for s in scores)
            print(f"{name:<6} {mode:<11} {statistics.median(scores):>10.3f} {min(scores):>6.3f} "
                  f"{hit:>4}/{len(scores):<4} {statistics.median(seconds):>9.3f} "
                  f"{max(seconds):>8.3f}  IoU ≥ {TARGETS[mode]}, < 1 s")  # fmt: skip
            if mode == "subject":  # the same scores, split by what is behind the object
                splits = [(lambda c: c.backdrop in TEXTURES, "texture backdrop"),
                          (lambda c: c.backdrop not in TEXTURES, "backdrop with a subject"),
                          (lambda c: c.blurred, "blurred backdrop"),
                          (lambda c: not c.blurred, "sharp backdrop"),
                          (lambda c: c.blurred or c.backdrop in TEXTURES,
                           "blurred or texture backdrop")]  # fmt: skip
                for belongs, label in splits:
                    part = [s for s, c in zip(scores, cases, strict=True) if belongs(c)]
                    if part:
                        print(f"{'':<6}   {label:<24} median {statistics.median(part):.3f} "
                              f"worst {min(part):.3f} ({len(part)} cases)")  # fmt: skip
    if len([name for name in sets if name != "tuned"]) > 1:
        # a median of 12 cases moves by a tenth between sets: all held-out cases together
        print(f"\nall held-out sets together ({len(held_out['point'])} cases each):")
        for mode, scores in held_out.items():
            hit = sum(s >= TARGETS[mode] for s in scores)
            print(f"{'held':<6} {mode:<11} {statistics.median(scores):>10.3f} {min(scores):>6.3f} "
                  f"{hit:>4}/{len(scores):<4}  IoU ≥ {TARGETS[mode]}")  # fmt: skip


if __name__ == "__main__":
    main()
