"""`brushwork serve` with the diffusers apps: a device worker of its own loads the tiny
pipeline once and keeps it warm; the studio keeps its per-core workers."""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image

from brushwork import inference
from tests.conftest import start_server, stop_server


def test_serve_runs_diffusers_tasks_on_a_device_worker(tiny_models: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k.startswith(("BRUSHWORK_", "HF_"))}
    server = start_server(tmp_path, env_extra={**env, "BRUSHWORK_DIFFUSERS_MAX_EDGE": "64"})
    try:
        with inference(base_url=server.base_url, api_key=server.key) as client:
            for seed in (1, 2):  # the second task finds the pipeline warm
                task = client.run(
                    {
                        "app": "diffusers/flux-schnell",
                        "input": {
                            "prompt": "a lighthouse",
                            "width": 1024,
                            "height": 640,
                            "seed": seed,
                        },
                    }
                )
                assert task["status"] == 9, task.get("error")
                png = client.files.download(task["output"]["images"][0]["uri"])
                assert Image.open(io.BytesIO(png)).size == (1024, 640)
            assert "picked up by device-1" in client.tasks.get(task["id"])["logs"]
            studio = client.run({"app": "brushwork/studio", "input": {"prompt": "a forest"}})
            assert studio["status"] == 9
            assert "picked up by worker-" in client.tasks.get(studio["id"])["logs"]
        log = (tmp_path / "server.log").read_text()
        assert log.count("loaded flux-schnell") == 1, log
    finally:
        stop_server(server)
