"""Outpainting against a real `brushwork serve` (SPEC §10): the CLI's --expand and the SDK's
expand keep the original pixels exactly, say when the border was rounded up, and fill the
border from the picture's own edges."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from brushwork import async_inference, inference
from tests.conftest import Server
from tests.helpers import photo


def test_the_cli_expand_keeps_every_original_pixel(server: Server, tmp_path: Path) -> None:
    source = tmp_path / "photo.png"
    photo(1000, 760, seed=3).save(source)
    out = tmp_path / "wide.png"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "brushwork.cli",
            "run",
            "a wider view",
            "--image",
            str(source),
            "--expand",
            "200,0,200,0",
            "--quality",
            "low",
            "-o",
            str(out),
        ],  # fmt: skip
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "--expand: the borders grew" in done.stdout + done.stderr  # 760 is not a multiple
    wide = np.asarray(Image.open(out).convert("RGB"))
    assert wide.shape[1] >= 1400 and wide.shape[0] % 16 == 0 and wide.shape[1] % 16 == 0
    top = (wide.shape[0] - 760) // 2
    left = 200 + (wide.shape[1] - 1400) // 2
    original = np.asarray(photo(1000, 760, seed=3))
    assert (wide[top : top + 760, left : left + 1000] == original).all()
    # the border is filled, not left as the stretched edge pixels it started from
    assert wide[:, :left].std(axis=1).mean() > 2


def test_the_sdk_expand_sync_and_async(server: Server) -> None:
    import asyncio

    picture = photo(1024, 768, seed=5)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    with inference(base_url=server.base_url, api_key=server.key) as client:
        task = client.expand(buffer.getvalue(), (0, 128, 0, 128), quality="low")
        image = Image.open(io.BytesIO(client.files.download(task["output"]["images"][0]["uri"])))
    assert image.size == (1024, 1024)
    assert (np.asarray(image.convert("RGB"))[128:896] == np.asarray(picture)).all()

    async def expand() -> dict[str, object]:
        async with async_inference(base_url=server.base_url, api_key=server.key) as client:
            result: dict[str, object] = await client.expand(
                buffer.getvalue(), (64, 0, 64, 0), "more of the same", quality="low"
            )
            return result

    assert asyncio.run(expand())["status"] == 9
