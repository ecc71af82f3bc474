"""Content-aware fill against ground truth: brushwork vs OpenCV Telea and Navier-Stokes.

    python bench/inpaint_quality.py [--photos 14]

Photos: scikit-image's data module (shipped in its wheel). Holes: a square and a
free-form brush stroke at about 2%, 6% and 15% of the image. For each method, in the same
run: PSNR and SSIM inside the hole, texture ratio (mean gradient magnitude in the hole over
the ground truth's: 1.0 = same texture, under 0.5 = blurred), seam score (|log| of the
gradient magnitude on the hole's border over that of the kept pixels just outside it:
0 = the border looks like its surroundings, higher = a visible edge or a smear) and time.
brushwork runs through the studio engine ("remove" intent, medium quality) and the keep
composite; Telea is what IOPaint's no-download "cv2" model uses.
Then the time of a 1024x1024 photo with a 6% hole. Targets (issue 4): texture ratio at
least 0.75 on medium and large holes with PSNR within 1.5 dB of Telea's; seam score no worse
than Telea's; 1024x1024 with a 6% hole under 1.5 s at medium.

Removals beside an object (issue 18), held out: holes cut where a person erases something
next to a subject (the lake beside scikit-learn's pagoda, the edge of its flower, the wall
beside the astronaut, ...), written before the fill learned to avoid sources inside other
objects. Besides PSNR, texture ratio (aim 0.75-1.33: twice as busy as the truth is as wrong
as a blur) and seam, a "foreign" share: the part of the hole whose colour is unlike every
colour of the ring just around it (k-means of the ring, > 20 Lab units from the nearest), for
the fill and for the truth. A fill that clones a neighbouring object (a second pagoda on the
water) is foreign where the truth is not. The fills are saved to out/removals.png to look at.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from skimage import data
from skimage.metrics import structural_similarity

from brushwork.engines.base import Request
from brushwork.engines.studio import StudioEngine
from brushwork.imaging.cluster import kmeans
from brushwork.imaging.composite import keep_composite

PHOTOS = [
    "astronaut", "camera", "coffee", "chelsea", "rocket", "retina", "immunohistochemistry",
    "hubble_deep_field", "coins", "moon", "grass", "gravel", "brick", "clock",
]  # fmt: skip
SIZES = {"small": 0.02, "medium": 0.06, "large": 0.15}


def photo(name: str) -> np.ndarray:
    image = getattr(data, name)()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=2)
    image = image[:, :, :3].astype(np.uint8)
    h, w = image.shape[:2]
    scale = min(1.0, 640 / max(h, w))
    return cv2.resize(image, (int(w * scale) // 2 * 2, int(h * scale) // 2 * 2))


def square_hole(shape: tuple[int, int], share: float, rng: np.random.Generator) -> np.ndarray:
    h, w = shape
    side = int(np.sqrt(share * h * w))
    y, x = int(rng.integers(0, h - side)), int(rng.integers(0, w - side))
    m = np.zeros((h, w), bool)
    m[y : y + side, x : x + side] = True
    return m


def stroke_hole(shape: tuple[int, int], share: float, rng: np.random.Generator) -> np.ndarray:
    """A free-form brush stroke: a thick random walk grown until it covers ``share``."""
    h, w = shape
    m = np.zeros((h, w), np.uint8)
    x, y = float(rng.uniform(0.3, 0.7) * w), float(rng.uniform(0.3, 0.7) * h)
    thickness = max(4, int(np.sqrt(share * h * w) / 4))
    angle = float(rng.uniform(0, 2 * np.pi))
    while m.mean() < share:
        angle += float(rng.normal(0, 0.5))
        nx = float(np.clip(x + np.cos(angle) * thickness, thickness, w - thickness))
        ny = float(np.clip(y + np.sin(angle) * thickness, thickness, h - thickness))
        cv2.line(m, (int(x), int(y)), (int(nx), int(ny)), 1, thickness)
        x, y = nx, ny
    return m.astype(bool)


def gradient(image: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))


def scores(truth: np.ndarray, result: np.ndarray, hole: np.ndarray) -> dict[str, float]:
    diff = truth[hole].astype(np.float64) - result[hole].astype(np.float64)
    psnr = 10 * np.log10(255**2 / max(1e-9, float((diff**2).mean())))
    _, ssim_map = structural_similarity(truth, result, channel_axis=2, full=True)
    g_truth, g_result = gradient(truth), gradient(result)
    texture = float(g_result[hole].mean() / max(1e-6, g_truth[hole].mean()))
    u8 = hole.astype(np.uint8)
    k3, k9 = np.ones((3, 3), np.uint8), np.ones((9, 9), np.uint8)
    border = (cv2.dilate(u8, k3) - cv2.erode(u8, k3)) > 0
    around = (cv2.dilate(u8, k9) - cv2.dilate(u8, k3)) > 0  # kept pixels just outside
    ratio = float(g_result[border].mean() / max(1e-6, g_result[around].mean()))
    seam = abs(float(np.log(max(ratio, 1e-6))))  # 0 = the border looks like its surroundings
    return {"psnr": psnr, "ssim": float(ssim_map[hole].mean()), "texture": texture, "seam": seam}


def brushwork(image: np.ndarray, hole: np.ndarray, seed: int) -> np.ndarray:
    h, w = hole.shape
    edit = hole.astype(np.float32)
    request = Request(
        mode="inpaint", prompt="remove it", width=w, height=h, n=1, quality="medium",
        seed=seed, images=[Image.fromarray(image)], mask=edit,
    )  # fmt: skip
    (out,) = StudioEngine().run(request, lambda *a, **k: None, lambda: False)
    return np.asarray(keep_composite(Image.fromarray(image), out, edit))


def opencv(flag: int) -> object:
    def run(image: np.ndarray, hole: np.ndarray, seed: int) -> np.ndarray:
        return cv2.inpaint(image, hole.astype(np.uint8) * 255, 5, flag)

    return run


METHODS = {"brushwork": brushwork, "telea": opencv(cv2.INPAINT_TELEA), "ns": opencv(cv2.INPAINT_NS)}


# (photo, hole centre x, y, half-axes a, b as shares of the width and height, angle): written
# before tuning, not to be changed afterwards
REMOVALS = [
    ("china", 0.70, 0.64, 0.22, 0.17, 0),  # the lake right of the pagoda, 15%
    ("china", 0.66, 0.27, 0.13, 0.14, 0),  # sky beside the roof, 6%
    ("china", 0.20, 0.90, 0.20, 0.12, 10),  # trees under the pagoda, 8%
    ("flower", 0.68, 0.52, 0.09, 0.20, 0),  # the flower's right edge, 6%
    ("flower", 0.12, 0.40, 0.10, 0.22, 0),  # the soft leaves left of it, 7%
    ("flower", 0.60, 0.93, 0.14, 0.10, 0),  # the second flower at the bottom, 4%
    ("astronaut", 0.86, 0.45, 0.11, 0.18, 0),  # the wall and flag beside her, 6%
    ("coffee", 0.88, 0.55, 0.10, 0.25, 0),  # the table right of the cup, 8%
    ("chelsea", 0.15, 0.50, 0.12, 0.26, 0),  # the backdrop left of the cat, 10%
    ("rocket", 0.78, 0.40, 0.17, 0.22, 0),  # the sky beside the gantry, 12%
]
# a second set, written after the fill was tuned on the first and never tuned on: the first's
# cases have been looked at while the fill changed, these are what the change is judged by
REMOVALS_FRESH = [
    ("camera", 0.78, 0.35, 0.12, 0.16, 0),  # the sky right of the cameraman, 6%
    ("camera", 0.30, 0.90, 0.18, 0.08, 0),  # the grass under his tripod, 5%
    ("china", 0.90, 0.30, 0.08, 0.18, 0),  # the tree top at the right and its sky, 5%
    ("china", 0.12, 0.60, 0.10, 0.15, 20),  # the trees and lake left of the pagoda, 5%
    ("flower", 0.45, 0.10, 0.25, 0.09, 0),  # the leaves above the flower, 7%
    ("flower", 0.30, 0.45, 0.07, 0.18, 0),  # the flower's left edge, 4%
    ("coins", 0.50, 0.50, 0.10, 0.10, 0),  # between the coins, 3%
    ("clock", 0.20, 0.30, 0.12, 0.16, 0),  # the wall beside the clock, 6%
    ("immunohistochemistry", 0.60, 0.60, 0.15, 0.15, 30),  # stained tissue, 7%
    ("astronaut", 0.12, 0.15, 0.10, 0.13, 0),  # the flag behind her, 4%
]


def removal_photo(name: str) -> np.ndarray:
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image  # the dev extra; ships the photo

        return np.ascontiguousarray(load_sample_image(f"{name}.jpg"))
    return photo(name)


def ellipse_hole(shape: tuple[int, int], spec: tuple[float, ...]) -> np.ndarray:
    h, w = shape
    cx, cy, a, b, angle = spec
    m = np.zeros((h, w), np.uint8)
    cv2.ellipse(m, (int(cx * w), int(cy * h)), (int(a * w), int(b * h)), angle, 0, 360, 1, -1)
    return m.astype(bool)


def foreign(image: np.ndarray, hole: np.ndarray) -> float:
    """The share of the hole unlike every colour of the ring around it (see the docstring)."""
    lab = cv2.cvtColor(cv2.GaussianBlur(image, (0, 0), 2), cv2.COLOR_RGB2LAB).astype(np.float32)
    u8 = hole.astype(np.uint8)
    reach = max(6, int(0.03 * max(hole.shape)))
    ring = (cv2.dilate(u8, np.ones((2 * reach + 1,) * 2, np.uint8)) > 0) & ~hole
    cv2.setRNGSeed(0)  # one hole, one measure
    _, centres = kmeans(lab[ring], 8, iterations=20, eps=0.5, attempts=3)
    inside = lab[hole]
    nearest = np.min(np.linalg.norm(inside[:, None] - centres[None], axis=2), axis=1)
    return float((nearest > 20).mean())


def removals(name_of_set: str = "held out", cases: list | None = None) -> None:
    print(f"\nRemovals beside an object ({name_of_set}), one hole each:\n")
    print("| photo | hole | method | PSNR dB | texture ratio | seam | foreign (truth) |")
    print("|---|---|---|---|---|---|---|")
    tiles = []
    for name, *spec in cases or REMOVALS:
        image = removal_photo(name)
        hole = ellipse_hole(image.shape[:2], tuple(spec))
        truth_foreign = foreign(image, hole)
        row = [np.where(hole[..., None], (255, 0, 255), image).astype(np.uint8)]
        for method in ("brushwork", "telea"):
            result = METHODS[method](image, hole, 1)  # type: ignore[operator]
            r = scores(image, result, hole)
            print(f"| {name} | {hole.mean():.0%} | {method} | {r['psnr']:.2f} | "
                  f"{r['texture']:.2f} | {r['seam']:.2f} | "
                  f"{foreign(result, hole):.2f} ({truth_foreign:.2f}) |")  # fmt: skip
            row.append(result)
        tiles.append(np.hstack([cv2.resize(t, (320, 214)) for t in row]))
    Path("out").mkdir(exist_ok=True)
    sheet = "out/removals.png" if cases is None else "out/removals_fresh.png"
    Image.fromarray(np.vstack(tiles)).save(sheet)
    print(f"\nsheet: {sheet} (hole, brushwork, Telea)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=len(PHOTOS))
    parser.add_argument("--removals-only", action="store_true")
    args = parser.parse_args()
    if args.removals_only:
        removals()
        removals("fresh, never tuned on", REMOVALS_FRESH)
        return
    rng = np.random.default_rng(0)
    rows: dict[tuple[str, str], list[dict[str, float]]] = defaultdict(list)
    for name in PHOTOS[: args.photos]:
        image = photo(name)
        for size, share in SIZES.items():
            for make in (square_hole, stroke_hole):
                hole = make(image.shape[:2], share, rng)
                for method, run in METHODS.items():
                    started = time.perf_counter()
                    result = run(image, hole, 1)  # type: ignore[operator]
                    elapsed = time.perf_counter() - started
                    rows[(size, method)].append({**scores(image, result, hole), "s": elapsed})
    print(f"{args.photos} photos, square and free-form holes, medians\n")
    print("| hole | method | PSNR dB | SSIM | texture ratio | seam score | time s |")
    print("|---|---|---|---|---|---|---|")
    for size in SIZES:
        for method in METHODS:
            r = rows[(size, method)]
            med = {k: statistics.median(x[k] for x in r) for k in r[0]}
            cells = [f"{med['psnr']:.2f}", f"{med['ssim']:.3f}", f"{med['texture']:.2f}",
                     f"{med['seam']:.2f}", f"{med['s']:.2f}"]  # fmt: skip
            print(f"| {size} {SIZES[size]:.0%} | {method} | " + " | ".join(cells) + " |")
    big = cv2.resize(data.astronaut(), (1024, 1024))
    hole = square_hole((1024, 1024), 0.06, rng)
    times = []
    for seed in range(3):
        started = time.perf_counter()
        brushwork(big, hole, seed)
        times.append(time.perf_counter() - started)
    print(f"\n1024x1024, 6% hole, medium: median {statistics.median(times):.2f} s (3 runs)")
    removals()
    removals("fresh, never tuned on", REMOVALS_FRESH)


if __name__ == "__main__":
    main()
