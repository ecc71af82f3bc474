"""A session against a real `brushwork serve`, driven by the CLI and the SDK: passes edit the
latest picture with no re-upload, and the session survives a restart of the server and its
workers between two calls."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from brushwork.client._sync import Client
from tests.conftest import Server, start_server, stop_server
from tests.helpers import kept_equal, rect_mask


def cli(base_url: str, key: str, *args: str) -> subprocess.CompletedProcess[str]:
    from tests.conftest import ROOT

    env = {
        **__import__("os").environ,
        "BRUSHWORK_BASE_URL": base_url,
        "BRUSHWORK_API_KEY": key,
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "brushwork.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_session_survives_a_restart_and_the_cli_edits_the_latest_picture(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    server: Server = start_server(data)
    key = server.key
    first = cli(server.base_url, key, "run", 'a poster "HELLO"', "--session", "new",
                "--quality", "low", "-o", str(tmp_path / "one.png"))  # fmt: skip
    assert first.returncode == 0, first.stderr
    session_id = first.stderr.split("session ", 1)[1].split()[0]
    stop_server(server)  # the server and its workers go away between two passes
    server = start_server(data)
    try:
        mask = tmp_path / "mask.png"
        rect_mask(1024, 1024, (300, 300, 700, 600)).save(mask)
        two_png = str(tmp_path / "two.png")
        second = cli(server.base_url, key, "run", "remove it", "--session", session_id,
                     "--mask", str(mask), "--quality", "low", "-o", two_png)  # fmt: skip
        assert second.returncode == 0, second.stderr
        one = Image.open(tmp_path / "one.png").convert("RGB")
        two = Image.open(tmp_path / "two.png").convert("RGB")
        edit = np.zeros((1024, 1024), np.float32)
        edit[300:600, 300:700] = 1
        assert kept_equal(one, two, edit) and one.tobytes() != two.tobytes()
        shown = cli(server.base_url, key, "session", "get", session_id)
        history = json.loads(shown.stdout)
        assert history["call_count"] == 2 and len(history["tasks"]) == 2
        with Client(base_url=server.base_url, api_key=key) as client:
            session = client.session("brushwork/studio")
            session.id = session_id  # the SDK continues the CLI's session
            third = session.call({"prompt": "make it warmer", "quality": "low"})
            assert third["parent_id"] == history["tasks"][-1]
            latest = client.files.download(third["output"]["images"][0]["uri"])
            assert Image.open(io.BytesIO(latest)).size == (1024, 1024)
        assert cli(server.base_url, key, "session", "end", session_id).returncode == 0
        refused = cli(server.base_url, key, "run", "again", "--session", session_id,
                      "-o", str(tmp_path / "four.png"))  # fmt: skip
        assert refused.returncode == 1 and "ended" in refused.stderr
    finally:
        stop_server(server)
