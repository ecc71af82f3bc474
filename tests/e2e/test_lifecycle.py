"""The server's worker processes never outlive it, whether it is stopped or killed."""

from __future__ import annotations

import os
import signal
import subprocess
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


def _serve_env(tmp_path: Path, port: int) -> dict[str, str]:
    from tests.conftest import ROOT

    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BRUSHWORK_PORT": str(port),
        "BRUSHWORK_DEV": "true",
        "BRUSHWORK_DATA_DIR": str(tmp_path / "env-data"),
        "BRUSHWORK_WORKERS": "1",
        "BRUSHWORK_PROT": "1",  # a typo: named at start, never silently ignored
    }


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the process exited early"
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"nothing answered at {base}")


def test_serve_takes_port_dev_data_dir_and_workers_from_the_environment(tmp_path: Path) -> None:
    """`BRUSHWORK_PORT=… BRUSHWORK_DEV=true brushwork serve` listens there, keyless, with the
    data where BRUSHWORK_DATA_DIR says, and says what it ignored and what cannot run."""
    import sys

    import httpx

    from tests.conftest import free_port

    port = free_port()
    env = _serve_env(tmp_path, port)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "brushwork.cli", "serve"], env=env, stdout=out, stderr=out
        )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(base, proc)
        deadline = time.monotonic() + 30
        while httpx.get(base + "/health").json()["workers"] < 1:  # they report once started
            assert time.monotonic() < deadline, "no worker reported"
            time.sleep(0.2)
        time.sleep(1.0)
        assert httpx.get(base + "/health").json()["workers"] == 1  # BRUSHWORK_WORKERS, not cores
        assert httpx.get(base + "/tasks").status_code == 200  # dev: no key needed
        assert (tmp_path / "env-data" / "brushwork.db").is_file()
    finally:
        proc.terminate()
        proc.wait(20)
    text = log.read_text()
    assert "BRUSHWORK_PROT is not a brushwork setting" in text
    assert "alembic" not in text.lower()
    from brushwork.engines.diffusion.catalog import APPS

    assert f"{len(APPS)} GPU apps are unavailable" in text and "brushwork models list" in text
    assert text.count("is unavailable") + text.count("are unavailable") <= 3


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_demo_stops_its_server_on_sigterm(tmp_path: Path) -> None:
    import sys

    from tests.conftest import free_port

    port = free_port()
    env = _serve_env(tmp_path, port)
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "brushwork.cli",
            "demo",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "demo"),
            "-o",
            str(tmp_path / "sample.png"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while not (tmp_path / "sample.png").is_file():
            assert demo.poll() is None and time.monotonic() < deadline, "no sample was written"
            time.sleep(0.2)
        servers = children(demo.pid)
        assert servers, "the demo started no server"
        demo.send_signal(signal.SIGTERM)
        demo.wait(30)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in servers):
            assert time.monotonic() < deadline, "the demo's server outlived it"
            time.sleep(0.1)
    finally:
        if demo.poll() is None:
            demo.kill()
