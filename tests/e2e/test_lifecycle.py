"""The server's worker processes never outlive it, whether it is stopped or killed."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.conftest import start_server, stop_server


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_workers_exit_with_the_server(tmp_path: Path, how: signal.Signals) -> None:
    server = start_server(tmp_path)
    try:
        workers = children(server.proc.pid)
        assert len(workers) >= 2
        os.kill(server.proc.pid, how)
        server.proc.wait(20)
        deadline = time.monotonic() + 5
        while any(alive(pid) for pid in workers):
            left = [Path(f"/proc/{p}/cmdline").read_bytes()[:120] for p in workers if alive(p)]
            assert time.monotonic() < deadline, f"processes outlived the server: {left}"
            time.sleep(0.1)
    finally:
        if server.proc.poll() is None:
            stop_server(server)
