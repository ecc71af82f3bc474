"""Generate the hostile-input corpus: files and request recipes, each with its documented answer.

    python tests/corpus/make_corpus.py [DEST]   # default: tests/corpus/files

Every case is made here from scratch (no third-party files). ``build`` returns
the cases; each names the file it wrote (if any), how to send it, and the
status the server must answer. The test ``tests/integration/test_corpus.py``
sends every case and checks the answer and that the server stays healthy.
"""

from __future__ import annotations

import io
import json
import struct
import sys
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent


@dataclass
class Case:
    name: str
    status: int  # the documented answer
    param: str | None = None  # the field the refusal names (None for accepted cases)
    file: str | None = None  # sent as the first image (base64)
    mask: str | None = None  # sent as the mask (base64)
    input: dict[str, Any] = field(default_factory=dict)  # extra input fields
    note: str = ""


def _photo(width: int, height: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack(
        [128 + 90 * np.sin(xx / 37), 128 + 80 * np.cos((xx + yy) / 71), 128 + 70 * np.sin(yy / 29)],
        -1,
    )
    return Image.fromarray(
        np.clip(base + rng.normal(0, 5, base.shape), 0, 255).astype(np.uint8), "RGB"
    )


def _save(image: Image.Image, fmt: str, **kwargs: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


def _png_bomb(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    squeeze = zlib.compressobj(9)
    rows = b"".join(squeeze.compress(b"\x00" * (width + 1)) for _ in range(32)) + squeeze.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def _files() -> dict[str, bytes]:
    photo = _photo(1024, 768)
    png, jpeg = _save(photo, "PNG"), _save(photo, "JPEG", quality=90)
    exif = Image.Exif()
    exif[0x0112] = 6
    frames = [_photo(640, 480, seed=i) for i in range(3)]
    return {
        "zero-byte.png": b"",
        "truncated.png": png[: len(png) // 2],
        "truncated.jpg": jpeg[: len(jpeg) // 3],
        "wrong-magic.png": b"this is a text file pretending to be a png\n" * 20,
        "png-signature-then-garbage.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
        "bomb-30000x30000.png": _png_bomb(30000, 30000),
        "cmyk.jpg": _save(photo.convert("CMYK"), "JPEG"),
        "gray-16bit.png": _save(
            Image.fromarray(np.asarray(photo.convert("L"), np.uint16) * 257), "PNG"
        ),
        "animated.gif": _save(frames[0], "GIF", save_all=True, append_images=frames[1:]),
        "animated.webp": _save(frames[0], "WEBP", save_all=True, append_images=frames[1:]),
        "exif-rotated.jpg": _save(photo, "JPEG", exif=exif.tobytes()),
        "one-pixel.png": _save(Image.new("RGB", (1, 1), (200, 30, 30)), "PNG"),
        "photo.png": png,
        "mask-512x512.png": _save(Image.new("L", (512, 512), 255), "PNG"),
    }


def cases() -> list[Case]:
    return [
        Case("zero-byte file", 400, "images", file="zero-byte.png", note="an empty reference"),
        Case("truncated png", 422, "images", file="truncated.png"),
        Case("truncated jpeg", 422, "images", file="truncated.jpg"),
        Case("wrong magic bytes", 422, "images", file="wrong-magic.png"),
        Case("png signature then garbage", 422, "images", file="png-signature-then-garbage.png"),
        Case("30000x30000 png bomb", 413, "images", file="bomb-30000x30000.png"),
        Case("CMYK jpeg", 202, file="cmyk.jpg", note="accepted: normalised to RGB"),
        Case("16-bit grey png", 202, file="gray-16bit.png", note="accepted: scaled to 8 bits"),
        Case(
            "animated gif", 422, "images", file="animated.gif", note="gif is not an accepted format"
        ),
        Case("animated webp", 202, file="animated.webp", note="accepted: the first frame"),
        Case("EXIF-rotated jpeg", 202, file="exif-rotated.jpg", note="accepted: upright, 768x1024"),
        Case(
            "1x1 image",
            202,
            file="one-pixel.png",
            note="accepted: output at the nearest valid size",
        ),
        Case("200 MB base64 string", 413, None, input={"images": ["<200 MB of base64>"]}),
        Case("mask of another size", 400, "mask", file="photo.png", mask="mask-512x512.png"),
        Case("mask without images", 400, "mask", mask="mask-512x512.png"),
        Case(
            "non-image URL", 422, "images", input={"images": ["http://localhost:{port}/page.html"]}
        ),
        Case(
            "URL to 127.0.0.1",
            400,
            "images",
            input={"images": ["http://127.0.0.1:{port}/image.png"]},
        ),
        Case("URL to [::1]", 400, "images", input={"images": ["http://[::1]/image.png"]}),
        Case("URL to 10.0.0.1", 400, "images", input={"images": ["http://10.0.0.1/image.png"]}),
        Case(
            "URL to 169.254.169.254",
            400,
            "images",
            input={"images": ["http://169.254.169.254/latest/meta-data/"]},
        ),
        Case(
            "redirect to a private address",
            400,
            "images",
            input={"images": ["http://localhost:{port}/hop"]},
        ),
        Case("prompt of 0 characters", 400, "prompt", input={"prompt": ""}),
        Case("prompt of 32001 characters", 400, "prompt", input={"prompt": "x" * 32001}),
        Case(
            "unicode control characters",
            400,
            "prompt",
            input={"prompt": "a cat\u0000\u0007\u001b[31m"},
        ),
        Case("n=0", 400, "n", input={"n": 0}),
        Case("n=11", 400, "n", input={"n": 11}),
    ]


def build(dest: Path) -> list[Case]:
    dest.mkdir(parents=True, exist_ok=True)
    for name, data in _files().items():
        (dest / name).write_bytes(data)
    listed = cases()
    manifest = [
        {k: v for k, v in asdict(c).items() if k != "input" or len(json.dumps(v)) < 500}
        for c in listed
    ]
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return listed


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "files"
    print(f"{len(build(target))} cases written to {target}")
