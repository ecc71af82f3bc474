"""A sheet of one-click masks on real photos (scikit-image's coffee, chelsea, astronaut, rocket),
to look at: one row per photo, one column per mode, the selection tinted with its area.

    python bench/masks_gallery.py [-o out/masks_gallery.png]

The clicks, boxes and colour words are what a person would give for the photo's main thing
(the cup, the cat's head, the astronaut, the rocket), chosen by looking, once.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from skimage import data

from brushwork.imaging import selection

CELL = 360
PHOTOS = {  # name: (point, box, colour word), in the photo's own pixels
    "coffee": ((300, 170), (70, 0, 530, 380), "red"),
    "chelsea": ((200, 140), (90, 0, 400, 300), "orange"),
    "astronaut": ((280, 330), (100, 20, 420, 512), "white"),
    "rocket": ((320, 250), (270, 20, 370, 427), "white"),
}
MODES = ("subject", "background", "point", "box", "colour")


def cell(picture: Image.Image, mode: str, point: tuple[int, int], box: tuple[int, ...],
         colour: str) -> np.ndarray:  # fmt: skip
    options: dict[str, object] = {}
    if mode == "point":
        options = {"points": [point]}
    elif mode == "box":
        options = {"box": list(box)}
    elif mode == "colour":
        options = {"text": colour}
    started = time.perf_counter()
    mask = selection.select(picture, mode, **options)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    shown = np.asarray(selection.preview(picture, mask)).copy()
    edge = cv2.morphologyEx((mask > 127).astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3)))
    shown[edge > 0] = (255, 255, 0)
    if mode == "point":
        cv2.circle(shown, point, 6, (0, 255, 0), -1)
    if mode == "box":
        cv2.rectangle(shown, box[:2], box[2:], (0, 255, 0), 2)
    label = f"{mode}{' ' + colour if mode == 'colour' else ''}: {(mask > 127).mean():.0%}, " \
            f"{seconds:.2f}s"  # fmt: skip
    h, w = shown.shape[:2]
    scale = CELL / max(h, w)
    small = cv2.resize(shown, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    tile = np.full((CELL + 30, CELL, 3), 255, np.uint8)
    tile[30 : 30 + small.shape[0], : small.shape[1]] = small
    cv2.putText(tile, label, (4, 21), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return tile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-o", "--output", type=Path, default=Path("out/masks_gallery.png"))
    args = parser.parse_args()
    rows = []
    for name, (point, box, colour) in PHOTOS.items():
        img = getattr(data, name)()
        picture = Image.fromarray(np.stack([img] * 3, -1) if img.ndim == 2 else img[..., :3])
        rows.append(np.concatenate([cell(picture, m, point, box, colour) for m in MODES], 1))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(rows, 0)).save(args.output)
    print(args.output)


if __name__ == "__main__":
    main()
