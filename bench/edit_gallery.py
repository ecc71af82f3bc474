"""Before/after sheets of the studio's edits on real photos (scikit-image's data module).

    python bench/edit_gallery.py [--out out/edit_gallery.png]

Rows: object removal, text replacement on a sign, inserting an object, recolouring, a
product photo re-staged on marble with morning light, and a restyle. Each row shows the
photo with its mask outlined, then the result, with the engine time.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from skimage import data

from brushwork.engines.base import Request
from brushwork.engines.studio import StudioEngine
from brushwork.engines.studio import text as typo
from brushwork.imaging.composite import keep_composite


def rect(shape: tuple[int, int], box: tuple[float, float, float, float]) -> np.ndarray:
    h, w = shape
    m = np.zeros((h, w), np.float32)
    m[int(box[1] * h) : int(box[3] * h), int(box[0] * w) : int(box[2] * w)] = 1
    return m


def sign_photo() -> Image.Image:
    """A brick wall with a painted sign on it (the sign's words are replaced)."""
    wall = Image.fromarray(np.stack([data.brick()] * 3, axis=2)).resize((640, 480))
    tinted = Image.blend(wall, Image.new("RGB", wall.size, (150, 70, 50)), 0.45)
    draw = ImageDraw.Draw(tinted)
    draw.rounded_rectangle(
        (120, 140, 520, 300), 16, fill=(30, 60, 40), outline=(220, 200, 120), width=8
    )
    layout = typo.fit_text("CLOSED", 330, 110)
    typo.draw_layout(tinted, layout, 320, 165, (240, 230, 200), (30, 60, 40))
    return tinted


CASES = [
    ("remove the rocket", lambda: Image.fromarray(data.rocket()), (0.38, 0.15, 0.6, 0.98)),
    ('the sign says "OPEN"', sign_photo, (0.22, 0.33, 0.78, 0.58)),
    ("a red vase", lambda: Image.fromarray(data.coffee()), (0.05, 0.05, 0.3, 0.55)),
    ("make the mug blue", lambda: Image.fromarray(data.coffee()), (0.25, 0.1, 0.75, 0.95)),
    ("on a marble countertop with morning light", lambda: Image.fromarray(data.coffee()), None),
    ("as a watercolour", lambda: Image.fromarray(data.chelsea()), None),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/edit_gallery.png")
    args = parser.parse_args()
    engine = StudioEngine()
    tile = 360
    sheet = Image.new("RGB", (tile * 2, (tile + 30) * len(CASES)), (24, 24, 28))
    draw = ImageDraw.Draw(sheet)
    for row, (prompt, make, box) in enumerate(CASES):
        photo = make().convert("RGB")
        w, h = photo.size
        mask = rect((h, w), box) if box else None
        request = Request(
            mode="inpaint" if mask is not None else "edit", prompt=prompt, width=w, height=h,
            n=1, quality="medium", seed=2, images=[photo], mask=mask,
        )  # fmt: skip
        started = time.perf_counter()
        (result,) = engine.run(request, lambda *a, **k: None, lambda: False)
        ms = (time.perf_counter() - started) * 1000
        if mask is not None:
            result = keep_composite(photo, result, mask)
        before = photo.copy()
        if box:
            ImageDraw.Draw(before).rectangle(
                (box[0] * w, box[1] * h, box[2] * w, box[3] * h), outline=(255, 60, 60), width=3
            )
        y = row * (tile + 30)
        for col, im in enumerate((before, result)):
            fitted = im.copy()
            fitted.thumbnail((tile, tile))
            sheet.paste(fitted, (col * tile + (tile - fitted.width) // 2, y))
        draw.text((8, y + tile + 6), f"{prompt}  ({ms:.0f} ms)", fill=(230, 230, 235))
        print(f"{ms:7.0f} ms  {prompt}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
