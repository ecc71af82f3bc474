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


def wait_for_end(http: httpx.Client, task_id: str, timeout: float) -> dict | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = http.get(f"/tasks/{task_id}").json()
        if task["status"] >= 9:
            return task
        time.sleep(0.2)
    return None


def upload_refused_since_full(http: httpx.Client) -> bool:
    """One more upload: refused (507) while the disk is still full."""
    answer = http.post("/files", files={"file": ("probe.png", noise_png(999))})
    assert answer.status_code in (201, 507), answer.text
    return answer.status_code == 507


def cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "brushwork.cli", *args],
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "min_free_mb",
    [
        "2",  # refused by the free-space probe before anything is written
        "0",  # no probe: the writes themselves hit ENOSPC (files, SQLite, the queue)
    ],
)
def test_a_full_disk_is_507_everywhere_and_the_server_recovers(
    small_disk: Path, min_free_mb: str
) -> None:
    server = start_server(small_disk, env_extra={"BRUSHWORK_MIN_FREE_MB": min_free_mb})
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
        outcomes, queued = [], []
        for _ in range(30):  # outputs are smaller than the uploads: they fill the rest
            answer = http.post("/apps/run", json={**run, "wait": False})
            assert answer.status_code in (202, 507), answer.text
            if answer.status_code == 202:
                queued.append(answer.json()["id"])
                task = wait_for_end(http, queued[-1], timeout=10)
                outcomes.append(task["status_name"] if task else "waiting")
                if task and task["status"] == 10:
                    assert task["error"]["code"] == "storage_full", task
            else:
                assert answer.json()["error"]["code"] == "storage_full"
                outcomes.append("refused")
            if outcomes[-2:] in (["refused"] * 2, ["FAILED"] * 2, ["waiting"] * 2):
                break
        assert set(outcomes) - {"COMPLETED"}, outcomes
        if upload_refused_since_full(http):
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
        for task_id in queued:  # nothing was lost: every task ended, one way or the other
            ended = wait_for_end(http, task_id, timeout=60)
            assert ended is not None, f"task {task_id} never ended"
            assert ended["status"] == 9 or ended["error"]["code"] == "storage_full", ended
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
