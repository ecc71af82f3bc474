"""Encode speed and size per output format: brushwork's settings next to Pillow's defaults.

    python bench/codecs.py [--size 2048] [--repeat 5]

The test image is photo-like: a 1/f ("pink") spectrum, as natural photographs
have, softened by a lens-like blur (sigma 1 px) and with mild sensor noise
(sigma 1 level). A second table encodes a studio render at high quality, which
is what brushwork encodes most. Each row is the median of ``--repeat`` runs.
Targets (issue 2): png at least 2.5x faster than Pillow's default level and at
most 25% larger; jpeg and webp no slower than Pillow's defaults at the same quality.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from functools import partial

import cv2
import numpy as np
from PIL import Image

from brushwork.engines.base import Request
from brushwork.engines.studio import StudioEngine
from brushwork.imaging import codecs


def photo_like(size: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.fftfreq(size)[None, :]
    falloff = 1.0 / np.maximum(np.hypot(fx, fy), 1.0 / size)
    channels = []
    for _ in range(3):
        spectrum = (rng.normal(size=(size, size)) + 1j * rng.normal(size=(size, size))) * falloff
        field = np.real(np.fft.ifft2(spectrum))
        channels.append((field - field.mean()) / field.std())
    mix = np.array([[1.0, 0.6, 0.3], [0.6, 1.0, 0.6], [0.3, 0.6, 1.0]])  # correlated colours
    img = np.tensordot(np.stack(channels, -1), mix, axes=([2], [1])) * 38 + 120
    img = cv2.GaussianBlur(img, (0, 0), 1.0)  # optics: a lens never resolves single pixels
    img += rng.normal(0, 1.0, img.shape)  # sensor noise
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def timed(fn, repeat: int) -> tuple[float, int]:
    sizes, times = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        data = fn()
        times.append(time.perf_counter() - start)
        sizes.append(len(data))
    return statistics.median(times), sizes[0]


def pillow_default(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


def studio_render(size: int) -> Image.Image:
    prompt = 'a poster "Grand Opening" at sunset'
    request = Request(
        mode="generate", prompt=prompt, width=size, height=size, n=1, quality="high", seed=1
    )
    return StudioEngine().run(request, lambda *a, **k: None, lambda: False)[0]


def row(fmt: str, name: str, seconds: float, size: int, speedup: str, ratio: str) -> str:
    return f"{fmt:<6} {name:<32} {seconds * 1000:8.1f} {size / 1024:8.0f} {speedup:>9} {ratio:>11}"


def table(title: str, image: Image.Image, repeat: int) -> list[tuple[str, bool, str]]:
    q_jpeg, q_webp = codecs.JPEG_DEFAULT_QUALITY, codecs.WEBP_DEFAULT_QUALITY
    ours = {
        "png": f"brushwork (level {codecs.PNG_COMPRESS_LEVEL}, Z_RLE)",
        "jpeg": f"brushwork (q={q_jpeg})",
        "webp": f"brushwork (q={q_webp}, method {codecs.WEBP_METHOD})",
    }
    pillow = {
        "png": ("Pillow default (level 6)", {}),
        "jpeg": (f"Pillow default (q={q_jpeg})", {"quality": q_jpeg}),
        "webp": (f"Pillow default (q={q_webp})", {"quality": q_webp}),
    }
    print(f"{title}: {image.width}x{image.height}, median of {repeat} runs")
    header = (
        f"{'format':<6} {'settings':<32} {'ms':>8} {'KiB':>8} {'speed-up':>9} {'size ratio':>11}"
    )
    print(header)
    print("-" * len(header))
    verdicts = []
    for fmt in ("png", "jpeg", "webp"):
        base_name, options = pillow[fmt]
        base_t, base_size = timed(partial(pillow_default, image, fmt.upper(), **options), repeat)
        ours_t, ours_size = timed(partial(codecs.encode, image, fmt), repeat)
        speedup, ratio = base_t / ours_t, ours_size / base_size
        print(row(fmt, base_name, base_t, base_size, "1.00x", "1.00"))
        print(row("", ours[fmt], ours_t, ours_size, f"{speedup:.2f}x", f"{ratio:.2f}"))
        if fmt == "png":
            verdicts.append((fmt, speedup >= 2.5 and ratio <= 1.25, "≥2.5x faster, ≤1.25x size"))
        else:
            verdicts.append((fmt, speedup >= 0.95, "no slower (5% noise allowance)"))
    print()
    return verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    verdicts = table("photo-like RGB", photo_like(args.size), args.repeat)
    table("studio render (high quality)", studio_render(args.size), args.repeat)
    for fmt, ok, rule in verdicts:
        print(f"photo-like {fmt:<5} target {rule}: {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
