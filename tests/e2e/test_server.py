"""A real `brushwork serve` (uvicorn + worker processes) driven through the SDK and the CLI."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

import brushwork
from brushwork import NotFound, PayloadTooLarge, Unauthorized, async_inference, inference
from tests.conftest import Server
from tests.helpers import encode, kept_equal, photo, png, png_bomb, rect_mask


@pytest.fixture
def client(server: Server, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BRUSHWORK_API_KEY", server.key)
    with inference(base_url=server.base_url) as c:
        yield c


def test_the_spec_sdk_snippet_runs_as_written(
    server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.setenv("BRUSHWORK_API_KEY", server.key)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "photo.png").write_bytes(png(640, 480))
    # --- SPEC §7, verbatim but for base_url and prompts
    from brushwork import inference

    client = inference(base_url=server.base_url)  # key from BRUSHWORK_API_KEY
    result = client.run({"app": "brushwork/studio", "input": {"prompt": 'a sign "OPEN"'}})
    updates = list(
        client.run({"app": "brushwork/studio", "input": {"prompt": "a forest"}}, stream=True)
    )
    task = client.run(
        {
            "app": "brushwork/studio",
            "input": {"prompt": "x"},
            "webhook": "https://example.com/hook",
        },
        wait=False,
    )
    f = client.files.upload("photo.png")  # local paths in input are uploaded automatically
    png_bytes = client.files.download(result["output"]["images"][0]["uri"])  # bytes
    # ---
    assert result["status"] == 9 and Image.open(io.BytesIO(png_bytes)).size == (1024, 1024)
    assert (
        updates[0]["status"] in (1, 2)
        and updates[-1]["status"] == 9
        and updates[-1]["output"]["images"]
    )
    progress = [u["progress"] for u in updates]
    assert progress == sorted(progress)
    assert task["status"] in (2, 3, 4, 7, 8, 9) and task["webhook"] == "https://example.com/hook"
    assert f["uri"].startswith(server.base_url) and f["size"] == len(png(640, 480))
    client.close()


def test_local_paths_bytes_and_data_uris_are_uploaded(client, tmp_path: Path) -> None:
    path = tmp_path / "ref.png"
    path.write_bytes(png(1024, 768, seed=3))
    mask = encode(rect_mask(1024, 768, (0, 0, 300, 300)))
    data_uri = "data:image/png;base64," + base64.b64encode(mask).decode()
    result = client.run(
        {
            "app": "brushwork/studio",
            "input": {"prompt": "remove", "images": [str(path)], "mask": data_uri},
        }
    )
    out = Image.open(io.BytesIO(client.files.download(result["output"]["images"][0]["uri"])))
    edit = np.zeros((768, 1024), np.float32)
    edit[:300, :300] = 1
    assert kept_equal(Image.open(path), out, edit)
    assert result["input"]["images"][0].startswith(client.base_url + "/files/")
    as_bytes = client.run(
        {"app": "brushwork/studio", "input": {"prompt": "x", "images": [png(1024, 1024)]}}
    )
    assert as_bytes["status"] == 9


def test_cancel_of_a_running_task_ends_in_11_within_2_s(client) -> None:
    task = client.run({"app": "test/slow", "input": {"prompt": "slow"}}, wait=False)
    deadline = time.monotonic() + 20
    while client.tasks.get(task["id"])["status"] != 7:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    started = time.monotonic()
    client.tasks.cancel(task["id"])
    while client.tasks.get(task["id"])["status"] != 11:
        assert time.monotonic() - started < 2.0
        time.sleep(0.02)
    time.sleep(0.5)  # the worker noticed and stopped: no later status, and it is free again
    final = client.tasks.get(task["id"])
    assert final["status"] == 11 and final["output"] is None and "completed" not in final["logs"]
    follow_up = client.run(
        {"app": "brushwork/studio", "input": {"prompt": "next", "quality": "low"}}
    )
    assert follow_up["status"] == 9


def test_a_crashed_worker_fails_its_task_clearly_and_is_replaced(client) -> None:
    with pytest.raises(brushwork.TaskError) as info:
        client.run({"app": "test/crashing", "input": {"prompt": "x"}})
    task = info.value.task
    assert task["status"] == 10 and task["error"]["code"] == "interrupted"
    assert "exited unexpectedly (code 3)" in task["error"]["message"]
    for _ in range(3):  # the pool is whole again
        assert client.run({"app": "brushwork/studio", "input": {"prompt": "x", "quality": "low"}})


def test_stream_reconnects_with_last_event_id_without_loss_or_repeats(
    server: Server, client
) -> None:
    task = client.run({"app": "test/slow", "input": {"prompt": "slow"}}, wait=False)
    url = f"{server.base_url}/tasks/{task['id']}/stream"
    headers = {"Authorization": f"Bearer {server.key}"}
    seen: list[int] = []

    def read(extra: dict[str, str], limit: int | None) -> str | None:
        with httpx.stream("GET", url, headers={**headers, **extra}, timeout=30) as response:
            event_id, event = None, None
            for line in response.iter_lines():
                if line.startswith("id: "):
                    event_id = line[4:]
                elif line.startswith("event: "):
                    event = line[7:]
                elif line == "" and event_id is not None:
                    seen.append(int(event_id))
                    event_id = None
                    if limit is not None and len(seen) >= limit:
                        return str(seen[-1])
                if event == "done" and line == "":
                    return None
        return None

    last = read({}, limit=4)
    assert last is not None
    assert read({"Last-Event-ID": last}, limit=None) is None
    assert seen == sorted(set(seen)) and len(seen) > 6
    assert client.tasks.get(task["id"])["status"] == 9


def test_errors_come_back_as_exceptions_and_the_server_stays_up(server: Server, client) -> None:
    with pytest.raises(brushwork.InvalidInput) as info:
        client.run({"app": "brushwork/studio", "input": {"prompt": "x", "width": 1000}})
    assert info.value.param == "width" and info.value.http_status == 400
    with pytest.raises(PayloadTooLarge):
        client.run({"app": "brushwork/studio", "input": {"prompt": "x", "images": [png_bomb()]}})
    with pytest.raises(NotFound):
        client.tasks.get("0" * 32)
    with (
        pytest.raises(Unauthorized),
        inference(base_url=server.base_url, api_key="bw_wrong") as bad,
    ):
        bad.tasks.list()
    with pytest.raises(brushwork.TaskError) as failed:
        client.run({"app": "test/broken", "input": {"prompt": "x"}})
    assert failed.value.task["status"] == 10
    assert httpx.get(server.base_url + "/health").json()["status"] == "ok"


def test_async_client_runs_waits_and_streams(server: Server) -> None:
    async def main() -> tuple[dict, list[dict]]:
        async with async_inference(base_url=server.base_url, api_key=server.key) as client:
            done = await client.run(
                {"app": "brushwork/studio", "input": {"prompt": "async", "n": 2}}
            )
            stream = await client.run(
                {"app": "brushwork/studio", "input": {"prompt": "s"}}, stream=True
            )
            updates = [u async for u in stream]
            data = await client.files.download(done["output"]["images"][1]["uri"])
            assert Image.open(io.BytesIO(data)).size == (1024, 1024)
            return done, updates

    done, updates = asyncio.run(main())
    assert done["status"] == 9 and len(done["output"]["images"]) == 2
    assert updates[-1]["status"] == 9


def cli(server: Server, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "brushwork.cli", *args],
        capture_output=True,
        text=True,
        env=server.env(),
        cwd=cwd,
        timeout=120,
    )


def test_cli_run_saves_images_and_reports_bad_sizes(server: Server, tmp_path: Path) -> None:
    done = cli(
        server,
        "run",
        'a storefront "OPEN 24 HOURS"',
        "-o",
        str(tmp_path / "shop.webp"),
        "--size",
        "1536x1024",
        "-n",
        "2",
        "--seed",
        "4",
    )
    assert done.returncode == 0, done.stderr
    saved = done.stdout.split()
    assert saved == [str(tmp_path / "shop-1.webp"), str(tmp_path / "shop-2.webp")]
    assert Image.open(saved[0]).size == (1536, 1024) and Image.open(saved[0]).format == "WEBP"
    bad = cli(server, "run", "x", "--size", "1000x1000", "-o", str(tmp_path / "x.png"))
    assert bad.returncode == 1 and "multiple of 16, got 1000" in bad.stderr
    assert not (tmp_path / "x.png").exists()
    fitted = cli(server, "run", "x", "--size", "1000x1000", "--fit", "-o", str(tmp_path / "f.png"))
    assert fitted.returncode == 0 and "--fit: using" in fitted.stderr


def test_cli_edit_app_and_task_commands(server: Server, tmp_path: Path) -> None:
    (tmp_path / "ref.png").write_bytes(encode(photo(1024, 768)))
    (tmp_path / "mask.png").write_bytes(encode(rect_mask(1024, 768, (0, 0, 200, 200))))
    edited = cli(
        server,
        "run",
        '"SALE"',
        "--image",
        str(tmp_path / "ref.png"),
        "--mask",
        str(tmp_path / "mask.png"),
        "-o",
        str(tmp_path / "out.png"),
        "--json",
    )
    assert edited.returncode == 0, edited.stderr
    task = json.loads(edited.stdout)
    assert task["saved"] == [str(tmp_path / "out.png")]
    assert task["output"]["output_meta"]["outputs"][0]["extra"]["mode"] == "inpaint"
    listed = cli(server, "app", "list")
    assert "brushwork/studio" in listed.stdout and "needs a GPU" in listed.stdout
    schema = json.loads(cli(server, "app", "get", "brushwork/studio").stdout)
    assert "prompt" in schema["input_schema"]["properties"]
    (tmp_path / "in.json").write_text(json.dumps({"prompt": "from a file", "quality": "low"}))
    ran = cli(
        server,
        "app",
        "run",
        "brushwork/studio",
        "--input",
        str(tmp_path / "in.json"),
        "--save",
        str(tmp_path / "saved"),
    )
    assert ran.returncode == 0, ran.stderr
    assert len(list((tmp_path / "saved").iterdir())) == 1
    queued = json.loads(
        cli(
            server, "app", "run", "brushwork/studio", "--input", '{"prompt": "q"}', "--no-wait"
        ).stdout
    )
    got = json.loads(cli(server, "task", "get", queued["id"], "-f").stdout)
    assert got["id"] == queued["id"] and got["status"] == 9
    assert cli(server, "task", "get", "nope").returncode == 1
