"""A real full disk: the data directory on a small tmpfs, filled through the API.

Every refusal is 507 in the envelope (never a 500), no worker restarts, /health says
degraded with storage full and recovers by itself once `brushwork file rm` frees space,
the next task completes, and `brushwork files check` finds nothing orphaned or partial.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.conftest import Server, start_server, stop_server

DISK_MB = 24


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        if (disk / "server.log").is_file():  # kept for a look after the disk is gone
            (tmp_path / "server.log").write_bytes((disk / "server.log").read_bytes())
        subprocess.run(["umount", "-l", str(disk)], check=False)


def noise_png(seed: int, side: int = 512) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG", compress_level=0)
    return buf.getvalue()


def cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "brushwork.cli", *args],
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_full_disk_is_507_everywhere_and_the_server_recovers(small_disk: Path) -> None:
    server = start_server(small_disk, env_extra={"BRUSHWORK_MIN_FREE_MB": "2"})
    headers = {"Authorization": f"Bearer {server.key}"}
    http = httpx.Client(base_url=server.base_url, headers=headers, timeout=30)
    try:
        assert http.get("/health").json()["storage"] == "ok"
        stored, statuses = [], []
        for seed in range(80):  # ~0.8 MB each: the disk fills well before the end
            answer = http.post("/files", files={"file": (f"n{seed}.png", noise_png(seed))})
            statuses.append(answer.status_code)
            if answer.status_code == 201:
                stored.append(answer.json()["id"])
            else:
                assert answer.status_code == 507, answer.text
                assert answer.json()["error"]["code"] == "storage_full"
            if statuses[-3:] == [507, 507, 507]:
                break
        assert 507 in statuses and stored
        run = {"app": "brushwork/studio", "input": {"prompt": "a red apple"}, "wait": True}
        outcomes = []
        for _ in range(30):  # outputs are smaller than the uploads: they fill the rest
            answer = http.post("/apps/run", json=run)
            assert answer.status_code in (200, 507), answer.text
            task = answer.json() if answer.status_code == 200 else None
            if task is None:
                outcomes.append("refused")
            elif task["status"] == 10:
                assert task["error"]["code"] == "storage_full", task
                outcomes.append("failed")
            else:
                assert task["status"] == 9, task
                outcomes.append("completed")
            if outcomes[-2:] in (["refused", "refused"], ["failed", "failed"]):
                break
        assert set(outcomes) - {"completed"}, outcomes
        health = http.get("/health")
        assert health.status_code == 503
        assert health.json()["status"] == "degraded" and health.json()["storage"] == "full"
        full_at = time.monotonic()
        removed = cli(server, "file", "rm", *stored[: len(stored) // 2 + 1])
        assert removed.returncode == 0, removed.stderr
        while http.get("/health").status_code != 200:
            assert time.monotonic() - full_at < 30, "health did not recover"
            time.sleep(0.2)
        recovered_s = time.monotonic() - full_at
        task = http.post("/apps/run", json=run).json()
        assert task["status"] == 9, task
        log = (small_disk / "server.log").read_text()
        assert "exited (code" not in log, "a worker restarted during the fault"
        assert "Traceback" not in log
        checked = cli(server, "files", "check", "--data-dir", str(small_disk))
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "0 orphaned, 0 partial, 0 missing" in checked.stdout
        print(
            f"\nfull disk: {statuses.count(507)} upload refusals, tasks {outcomes}, "
            f"recovered in {recovered_s:.1f} s"
        )
    finally:
        http.close()
        stop_server(server)
