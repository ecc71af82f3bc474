"""The platform's own SDKs, unchanged, against a real `brushwork serve` on both backends: the
Python `inferencesh` 0.36.0 here, the JavaScript `@inferencesh/sdk` 0.6.54 under Node
(tests/js/flows.mjs). Only the base URL differs from the hosted platform; the seed's app id
runs on the studio engine through BRUSHWORK_APP_ALIASES."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from inferencesh import TaskStatus, UploadFileOptions, inference
from inferencesh.models.errors import APIError

from brushwork import verify_webhook
from brushwork.settings import Settings
from brushwork.tasks.store import Store
from tests.conftest import BACKENDS, ROOT, Server, backend_env, start_server, stop_server
from tests.helpers import png
from tests.integration.test_webhooks import Receiver

pytestmark = pytest.mark.slow
APP = "openai/gpt-image-2"
LOW = {"quality": "low"}
JS = ROOT / "tests" / "js"


@pytest.fixture(params=BACKENDS)
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Server, Receiver]]:
    env = {
        **backend_env(request.param, request),
        "BRUSHWORK_APP_ALIASES": f"{APP}=brushwork/studio",
        "BRUSHWORK_ALLOW_PRIVATE_URLS": "true",  # the webhook receiver is on loopback
    }
    server = start_server(tmp_path, env_extra=env)
    server.extra_env = env
    receiver = Receiver()
    yield server, receiver
    receiver.close()
    stop_server(server)


def webhook_secret(server: Server) -> str:
    env = server.extra_env or {}
    store = Store(Settings(data_dir=server.data_dir, database_url=env.get(
        "BRUSHWORK_DATABASE_URL")).database)  # fmt: skip
    owner = store.owner_of_key(server.key)
    assert owner is not None
    return store.webhook_secret(owner)


def delivered(receiver: Receiver, task_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for headers, body in receiver.deliveries:
            if json.loads(body)["id"] == task_id:
                return {"headers": headers, "body": body}
        time.sleep(0.1)
    raise AssertionError(f"no webhook for {task_id}")


def test_the_python_sdk_runs_the_seed_flows(
    served: tuple[Server, Receiver], tmp_path: Path
) -> None:
    server, receiver = served
    client = inference(api_key=server.key, base_url=server.base_url + "/infsh")
    # run and get the result (the seed's first example)
    result = client.run({"app": f"{APP}@latest", "input": {"prompt": "a cat in a top hat", **LOW}})
    assert isinstance(result, dict) and result["status"] == TaskStatus.COMPLETED
    image = httpx.get(result["output"]["images"][0]["uri"])  # no key: a signed link
    assert image.status_code == 200 and image.content[:4] == b"\x89PNG"
    # stream the updates
    updates = list(client.run({"app": APP, "input": {"prompt": "a lighthouse", **LOW}},
                              stream=True))  # fmt: skip
    statuses = [u["status"] for u in updates]
    assert statuses[-1] == TaskStatus.COMPLETED and TaskStatus.RUNNING in statuses
    assert updates[-1]["output"]["images"]
    # a local path in the input is uploaded by the SDK (POST /files, then PUT)
    photo = tmp_path / "photo.png"
    photo.write_bytes(png(640, 480))
    edited = client.run({"app": APP, "input": {"prompt": "winter", "images": [str(photo)], **LOW}})
    assert isinstance(edited, dict) and edited["status"] == TaskStatus.COMPLETED
    assert edited["input"]["images"][0].startswith(server.base_url + "/files/")
    # files.upload, then its uri as an input
    uploaded = client.files.upload(png(640, 480, seed=2), UploadFileOptions(
        filename="two.png", content_type="image/png"))  # fmt: skip
    assert httpx.get(uploaded["uri"]).content == png(640, 480, seed=2)
    again = client.run({"app": APP, "input": {"prompt": "x", "images": [uploaded["uri"]], **LOW}})
    assert isinstance(again, dict) and again["status"] == TaskStatus.COMPLETED
    # a webhook with wait=False: signed, in this root's numbers
    task = client.run(
        {"app": APP, "input": {"prompt": "a red bicycle", **LOW}, "webhook": receiver.url},
        wait=False,
    )
    assert isinstance(task, dict) and task["status"] in (1, 2, 3, 4, 7)
    hook = delivered(receiver, task["id"])
    body = verify_webhook(hook["body"], hook["headers"], webhook_secret(server))
    assert body["status"] == TaskStatus.COMPLETED and body["output"]["images"]
    # cancel
    doomed = client.run({"app": APP, "input": {"prompt": "a harbour", "quality": "high", "n": 4}},
                        wait=False)  # fmt: skip
    assert isinstance(doomed, dict)
    client.cancel(doomed["id"])
    assert client.tasks.get(doomed["id"]).data["status"] == TaskStatus.CANCELLED
    # a bad size: the server's message
    with pytest.raises(APIError) as bad:
        client.run({"app": APP, "input": {"prompt": "x", "width": 13}})
    assert bad.value.status_code == 400 and "width must be between 256" in str(bad.value)
    # a session of three passes, then refused after its end
    with client.session(APP) as session:
        first = session.call(input={"prompt": 'a poster that says "HELLO"', **LOW})
        second = session.call(input={"prompt": "make it blue"})
        third = session.call(input={"prompt": "add rain"})
        assert isinstance(first, dict) and isinstance(second, dict) and isinstance(third, dict)
        assert {first["status"], second["status"], third["status"]} == {TaskStatus.COMPLETED}
        info = session.info()
        assert (info["call_count"], info["status"]) == (4, "active")  # the opening call too
        assert session.keepalive()["status"] == "active"
    with pytest.raises(APIError) as ended:
        client.run({"app": APP, "input": {"prompt": "again"}, "session": session.session_id})
    assert ended.value.status_code == 410 and ended.value.code == "SESSION_ENDED"
    assert client.sessions.get(session.session_id)["status"] == "ended"
    # a finished task can be deleted
    client.tasks.delete(doomed["id"])
    with pytest.raises(APIError) as gone:
        client.tasks.get(doomed["id"])
    assert gone.value.status_code == 404


def test_the_javascript_sdk_runs_the_seed_flows(
    served: tuple[Server, Receiver], tmp_path: Path
) -> None:
    node = shutil.which("node")
    if node is None or not (JS / "node_modules" / "@inferencesh" / "sdk").is_dir():
        if os.environ.get("CI"):
            pytest.fail("node and tests/js/node_modules are needed: run `make test`")
        pytest.skip("no node, or `npm ci` has not run in tests/js")
    server, receiver = served
    photo = tmp_path / "photo.png"
    photo.write_bytes(png(640, 480))
    env = {
        **os.environ,
        "BASE_URL": server.base_url + "/infsh",
        "API_KEY": server.key,
        "PHOTO": str(photo),
        "WEBHOOK": receiver.url,
        "APP": APP,
    }
    done = subprocess.run(
        [node, "--import", "./register.mjs", "flows.mjs"],
        cwd=JS,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    run = seen["run"]
    assert run["status"] == 10 and run["statuses"][-1] == 10 and 7 in run["statuses"]
    assert run["file"] == {"status": 200, "type": "image/png", "png": True}
    assert seen["poll"]["status"] == 10
    assert seen["upload"]["status"] == 10 and seen["upload"]["file"]["status"] == 200
    assert seen["auto_upload"]["status"] == 10 and len(seen["auto_upload"]["images"]) == 2
    hook = delivered(receiver, seen["webhook"]["id"])
    assert verify_webhook(hook["body"], hook["headers"], webhook_secret(server))["status"] == 10
    assert seen["cancel"]["status"] == 12
    bad = seen["bad_size"]
    assert bad["refused"] and bad["status"] == 400 and bad["body"]["param"] == "width"
    assert "width must be between 256" in bad["message"]
    session = seen["session"]
    assert session["statuses"] == [10, 10, 10] and session["call_count"] == 3
    assert session["parents"] == [None, *session["ids"][:2]]
    assert session["state"] == "active" and session["listed"] and session["ended"] == "ended"
    after = session["after_end"]
    assert after["status"] == 410 and after["body"]["code"] == "SESSION_ENDED"
    assert seen["list"] == {"items": 3, "has_next": True, "completed": 10}
