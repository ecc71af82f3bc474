"""Tiny real things for tests: generated images, masks and bomb files; nothing on disk."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def photo(width: int = 512, height: int = 384, seed: int = 0) -> Image.Image:
    """A photo-like RGB image: smooth gradients, shapes and sensor-like noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack(
        [
            128 + 90 * np.sin(xx / (37 + seed % 5)) * np.cos(yy / 53),
            128 + 80 * np.cos((xx + yy) / 71),
            128 + 70 * np.sin(yy / 29),
        ],
        axis=-1,
    )
    base += rng.normal(0, 6, base.shape)
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")


def encode(image: Image.Image, fmt: str = "PNG", **kwargs: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


def png(width: int = 512, height: int = 384, seed: int = 0) -> bytes:
    return encode(photo(width, height, seed))


def rect_mask(
    width: int, height: int, box: tuple[int, int, int, int], mode: str = "L"
) -> Image.Image:
    """White (edit) inside ``box``, black (keep) elsewhere; luminance convention."""
    arr = np.zeros((height, width), np.uint8)
    x0, y0, x1, y1 = box
    arr[y0:y1, x0:x1] = 255
    return Image.fromarray(arr, "L").convert(mode)


def alpha_mask(width: int, height: int, box: tuple[int, int, int, int]) -> Image.Image:
    """OpenAI's convention: alpha 0 inside ``box`` (edit), opaque elsewhere (keep)."""
    arr = np.full((height, width, 4), 255, np.uint8)
    x0, y0, x1, y1 = box
    arr[y0:y1, x0:x1, 3] = 0
    return Image.fromarray(arr, "RGBA")


def png_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A small PNG whose header claims a huge image (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    row = b"\x00" + b"\x00" * width
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(64)) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def kept_equal(before: Image.Image, after: Image.Image, edit: np.ndarray) -> bool:
    """True when every pixel with edit == 0 is bit-identical."""
    a = np.asarray(before)
    b = np.asarray(after)
    keep = edit <= 0
    return a.shape == b.shape and bool(np.array_equal(a[keep], b[keep]))


def store_written_by(path: Path, revision: str, *statements: str) -> str:
    """A SQLite store at an older schema ``revision``, with ``statements`` (raw SQL, as that
    version would have written its rows) run in it; returns its URL, for ``Store(url)``."""
    from alembic import command
    from sqlalchemy import create_engine, text

    from brushwork.tasks.migrations import config

    url = f"sqlite:///{path}"
    engine = create_engine(url)
    with engine.begin() as conn:
        cfg = config(engine)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()
    return url
