"""A contact sheet of 24 varied studio prompts, to look at (every held-out prompt that issue 18
opens with among them).

    python bench/gallery.py [--out out/gallery.png] [--size 512] [--quality medium]

Renders each prompt once (seed 1) and lays the results out 6 across with the prompt under
each, plus how long the engine took. Compare two sheets (before/after a change) by eye.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from PIL import Image

from brushwork.engines.base import Request
from brushwork.engines.studio import StudioEngine
from brushwork.engines.studio import text as typo

PROMPTS = [
    "A cat wearing a tiny top hat, oil painting style",
    'A storefront sign reading "OPEN 24 HOURS" at night',
    'A book cover for "The Last Lighthouse" by "Mara Quinn", a lighthouse at sunset',
    "A product shot of a perfume bottle on a marble countertop with morning light",
    'A social post in Hindi that says "नमस्ते दुनिया" with a yellow sun',
    'An infographic with three labelled steps: "Plan", "Build", "Ship"',
    "Three red balloons above a house in a meadow",
    "Two penguins on an iceberg at night",
    "A robot watering plants in a greenhouse, pencil sketch",
    'A poster that says "Summer Sale" with a blue sailboat on the ocean',
    "A rocket in the top right corner over a city at night",
    "A fox in a snowy forest, watercolor",
    "A robot holding a flower, pixel art",
    "A cup of coffee and a croissant on a wooden table",
    'A retro neon sign in a rainy alley saying "Late Night Ramen"',
    "A red bicycle leaning against a brick wall",
    'A poster in Chinese that says "春节快乐" with red lanterns',
    'A social post in Arabic that says "مرحبا بالعالم"',
    'A Bengali title "শুভ নববর্ষ" over a field of sunflowers',
    "Four stars around a crescent moon in space",
    "A mountain lake with pine trees and a wooden canoe, morning fog",
    "A pencil sketch of an owl on a branch",
    "A lighthouse on a cliff during a storm",
    'A birthday card that says "Happy 30th, Sam!" with a cake and balloons',
]


def caption(sheet: Image.Image, text: str, box: tuple[int, int, int, int]) -> None:
    layout = typo.fit_text(text, box[2] - box[0], box[3] - box[1], max_size=15)
    typo.draw_layout(sheet, layout, (box[0] + box[2]) // 2, box[1], (230, 230, 235), (20, 20, 24))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/gallery.png")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--quality", default="medium")
    args = parser.parse_args()
    engine = StudioEngine()
    tile, cols, label = 320, 6, 54
    rows = (len(PROMPTS) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * tile, rows * (tile + label)), (24, 24, 28))
    for i, prompt in enumerate(PROMPTS):
        request = Request(
            mode="generate", prompt=prompt, width=args.size, height=args.size, n=1,
            quality=args.quality, seed=1,  # type: ignore[arg-type]
        )  # fmt: skip
        started = time.perf_counter()
        (image,) = engine.run(request, lambda *a, **k: None, lambda: False)
        ms = (time.perf_counter() - started) * 1000
        x, y = (i % cols) * tile, (i // cols) * (tile + label)
        sheet.paste(image.resize((tile, tile), Image.Resampling.LANCZOS), (x, y))
        caption(
            sheet, f"{prompt} ({ms:.0f} ms)", (x + 6, y + tile + 4, x + tile - 6, y + tile + label)
        )
        print(f"{ms:6.0f} ms  {prompt}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
