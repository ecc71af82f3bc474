"""How fast the studio engine renders, on one core.

    python bench/studio_speed.py [--runs 7]

Pins numpy, OpenCV and libvips to one thread, then renders a mix of prompts (subjects,
text, styles, compositions) at 1024x1024 low / medium / high and at 1920x1080 and
3840x2160 medium. Prints the median per cell, engine only and with PNG encode. Target
(issue 3): 1024x1024 medium under 150 ms on one core, engine only.
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VIPS_CONCURRENCY"):
    os.environ[var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import cv2  # noqa: E402

from brushwork.engines.base import Request  # noqa: E402
from brushwork.engines.studio import StudioEngine  # noqa: E402
from brushwork.imaging import codecs  # noqa: E402

PROMPTS = [
    "three red balloons above a house in a meadow",
    'a poster that says "Summer Sale" with a blue sailboat on the ocean',
    "A cat wearing a tiny top hat, oil painting style",
    "a product shot of a perfume bottle on a marble countertop with morning light",
    'an infographic with three labelled steps: "Plan", "Build", "Ship"',
    "a fox in a snowy forest at night, watercolor",
]
CELLS = [
    ((1024, 1024), "low"),
    ((1024, 1024), "medium"),
    ((1024, 1024), "high"),
    ((1920, 1080), "medium"),
    ((3840, 2160), "medium"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="seeds per prompt and cell")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    engine = StudioEngine()
    engine.load()
    print("| size | quality | engine median ms | engine p90 ms | with png encode median ms |")
    print("|---|---|---|---|---|")
    for size, quality in CELLS:
        engine_ms, total_ms = [], []
        for prompt in PROMPTS:
            for seed in range(args.runs + 1):
                request = Request(
                    mode="generate", prompt=prompt, width=size[0], height=size[1], n=1,
                    quality=quality, seed=seed,  # type: ignore[arg-type]
                )  # fmt: skip
                started = time.perf_counter()
                (image,) = engine.run(request, lambda *a, **k: None, lambda: False)
                rendered = time.perf_counter()
                codecs.encode(image, "png")
                done = time.perf_counter()
                if seed:  # the first run of each prompt warms caches (fonts, art, embeddings)
                    engine_ms.append((rendered - started) * 1000)
                    total_ms.append((done - started) * 1000)
        p90 = statistics.quantiles(engine_ms, n=10)[-1]
        print(
            f"| {size[0]}x{size[1]} | {quality} | {statistics.median(engine_ms):.0f} | "
            f"{p90:.0f} | {statistics.median(total_ms):.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
