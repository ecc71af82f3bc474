"""Sessions (SPEC §8): passes over one picture without re-uploading, in order, refused with
the contract's errors; on both backends through the in-process API."""

from __future__ import annotations

import base64
import io
import time
from typing import Any

import numpy as np
import pytest
from PIL import Image

from brushwork.contract import TaskStatus
from tests.conftest import Api
from tests.helpers import encode, kept_equal, rect_mask


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def image_of(api: Api, task: dict[str, Any]) -> Image.Image:
    return Image.open(io.BytesIO(api.download(task["output"]["images"][0]["uri"])))


def call(api: Api, session: str, input: dict[str, Any], **body: Any) -> Any:
    return api.http.post(
        "/apps/run",
        json={"app": "brushwork/studio", "input": input, "session": session, **body},
    )


def counts(api: Api) -> tuple[int, int]:
    return (
        len(api.http.get("/tasks").json()["data"]),
        len(api.http.get("/sessions").json()["data"]),
    )


def test_three_passes_edit_the_latest_output_without_reuploading(api: Api) -> None:
    first = call(api, "new", {"prompt": 'a poster "OK"', "quality": "low", "width": 1024,
                              "height": 640}, session_timeout=120)  # fmt: skip
    assert first.status_code == 202, first.text
    session_id = first.json()["session_id"]
    assert session_id and first.json()["parent_id"] is None
    api.drain()
    one = api.http.get(f"/tasks/{first.json()['id']}").json()
    assert one["status"] == TaskStatus.COMPLETED
    # pass two: only a mask, no images: it edits pass one's picture
    edit = np.zeros((640, 1024), np.float32)
    edit[100:200, 100:300] = 1
    mask = b64(encode(rect_mask(1024, 640, (100, 100, 300, 200))))
    second = call(api, session_id, {"prompt": "remove it", "mask": mask, "quality": "low"})
    assert second.status_code == 202, second.text
    assert second.json()["parent_id"] == one["id"] and second.json()["session_id"] == session_id
    api.drain()
    two = api.http.get(f"/tasks/{second.json()['id']}").json()
    assert two["status"] == TaskStatus.COMPLETED, two
    assert two["output"]["output_meta"]["outputs"][0]["extra"]["mode"] == "inpaint"
    before, after = image_of(api, one), image_of(api, two)
    assert after.size == before.size and kept_equal(before.convert("RGB"), after.convert("RGB"),
                                                    edit)  # fmt: skip
    assert not np.array_equal(np.asarray(before), np.asarray(after))
    # pass three: a reference edit of pass two's output; explicit images mean what they say
    third = call(api, session_id, {"prompt": "on marble", "quality": "low"})
    fourth = call(api, session_id, {"prompt": "a cat", "images": [], "quality": "low"})
    api.drain()
    three = api.http.get(f"/tasks/{third.json()['id']}").json()
    four = api.http.get(f"/tasks/{fourth.json()['id']}").json()
    assert three["output"]["output_meta"]["outputs"][0]["extra"]["mode"] == "edit"
    assert four["output"]["output_meta"]["outputs"][0]["extra"]["mode"] == "generate"
    assert four["parent_id"] == three["id"]
    history = api.http.get(f"/sessions/{session_id}").json()
    assert history["status"] == "active" and history["app"] == "brushwork/studio"
    assert history["tasks"] == [one["id"], two["id"], three["id"], four["id"]]
    assert history["call_count"] == 4 and history["idle_timeout"] == 120
    assert history["latest"]["uri"] == four["output"]["images"][0]["uri"]
    listed = api.http.get("/sessions").json()["data"]
    assert listed[0]["id"] == session_id
    ended = api.http.delete(f"/sessions/{session_id}")
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    assert api.http.delete(f"/sessions/{session_id}").status_code == 200  # idempotent
    refused = call(api, session_id, {"prompt": "again"})
    assert refused.status_code == 410 and refused.json()["error"]["code"] == "session_ended"
    kept = api.http.post(f"/sessions/{session_id}/keepalive")
    assert kept.status_code == 410


def test_calls_in_a_session_run_one_at_a_time_in_order(api: Api) -> None:
    first = call(api, "new", {"prompt": "a red apple", "quality": "low"}).json()
    session_id = first["session_id"]
    second = call(api, session_id, {"prompt": "make it blue", "quality": "low"}).json()
    worker = api.worker
    assert worker.queue.try_take() == first["id"]
    # the second call is taken while the first has not run: it goes back to the queue
    assert worker.queue.try_take() == second["id"]
    worker.run_task(second["id"])
    assert api.http.get(f"/tasks/{second['id']}").json()["status"] == TaskStatus.QUEUED
    worker.run_task(first["id"])
    api.drain()
    one = api.http.get(f"/tasks/{first['id']}").json()
    two = api.http.get(f"/tasks/{second['id']}").json()
    assert one["status"] == two["status"] == TaskStatus.COMPLETED
    assert two["started_at"] >= one["completed_at"]
    assert f"edits the output of {first['id']}" in two["logs"]


def test_a_chained_mask_must_fit_the_latest_picture(api: Api) -> None:
    first = call(api, "new", {"prompt": "x", "quality": "low", "width": 1024, "height": 640})
    api.drain()
    session_id = first.json()["session_id"]
    mask = b64(encode(rect_mask(640, 480, (0, 0, 10, 10))))
    second = call(api, session_id, {"prompt": "remove it", "mask": mask}).json()
    api.drain()
    failed = api.http.get(f"/tasks/{second['id']}").json()
    assert failed["status"] == TaskStatus.FAILED and failed["error"]["param"] == "mask"
    assert "1024x640" in failed["error"]["message"]
    # the session stays usable
    third = call(api, session_id, {"prompt": "a boat", "quality": "low"}).json()
    api.drain()
    assert api.http.get(f"/tasks/{third['id']}").json()["status"] == TaskStatus.COMPLETED


BAD = [
    ({"session": "0" * 32}, 404, "session_not_found", "session"),
    ({"session": "not-a-session"}, 400, "invalid_value", "session"),
    ({"session": 42}, 400, "invalid_value", "session"),
    ({"session": "new", "session_timeout": 0}, 400, "invalid_value", "session_timeout"),
    ({"session": "new", "session_timeout": 3601}, 400, "invalid_value", "session_timeout"),
    ({"session_timeout": 30}, 400, "invalid_value", "session_timeout"),
]


@pytest.mark.parametrize(("body", "status", "code", "param"), BAD)
def test_bad_session_input_is_refused_and_stores_nothing(
    api: Api, body: dict[str, Any], status: int, code: str, param: str
) -> None:
    before = counts(api)
    answer = api.http.post(
        "/apps/run", json={"app": "brushwork/studio", "input": {"prompt": "x"}, **body}
    )
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["param"]) == (code, param)
    assert counts(api) == before


def test_other_keys_wrong_apps_and_expired_sessions(api: Api) -> None:
    from fastapi.testclient import TestClient

    first = call(api, "new", {"prompt": "x", "quality": "low"}, session_timeout=300).json()
    session_id = first["session_id"]
    api.drain()
    key = api.http.app.state.services.store.create_key("other")  # type: ignore[attr-defined]
    other = TestClient(api.http.app, headers={"Authorization": f"Bearer {key}"})
    for answer in (
        other.post(
            "/apps/run",
            json={"app": "brushwork/studio", "input": {"prompt": "x"}, "session": session_id},
        ),  # fmt: skip
        other.get(f"/sessions/{session_id}"),
        other.delete(f"/sessions/{session_id}"),
    ):
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "session_not_found"
    before = counts(api)
    wrong = api.http.post(
        "/apps/run", json={"app": "test/slow", "input": {"prompt": "x"}, "session": session_id}
    )
    assert wrong.status_code == 409 and wrong.json()["error"]["code"] == "session_app_mismatch"
    assert counts(api) == before
    # its own short session for expiry: the checks above must not race its idle clock
    brief = call(api, "new", {"prompt": "x", "quality": "low"}, session_timeout=1).json()
    api.drain()
    before = counts(api)
    time.sleep(1.2)  # its idle clock runs out
    expired = call(api, brief["session_id"], {"prompt": "x"})
    assert expired.status_code == 410 and expired.json()["error"]["code"] == "session_expired"
    assert api.http.get(f"/sessions/{brief['session_id']}").json()["status"] == "expired"
    assert counts(api) == before


def test_keepalive_pushes_the_clock_and_webhooks_carry_the_session(api: Api) -> None:
    first = call(api, "new", {"prompt": "x", "quality": "low"}, session_timeout=30).json()
    session_id = first["session_id"]
    before = api.http.get(f"/sessions/{session_id}").json()["expires_at"]
    time.sleep(0.05)
    kept = api.http.post(f"/sessions/{session_id}/keepalive").json()
    assert kept["expires_at"] > before and kept["status"] == "active"
    row = api.worker.store.get_task(first["id"])
    from brushwork.tasks.webhooks import payload

    assert f'"session_id":"{session_id}"' in payload(row, "http://testserver").decode()


def test_the_sdk_runs_a_session(api: Api) -> None:
    import threading

    import httpx

    from brushwork.client._sync import Client

    def forward(request: httpx.Request) -> httpx.Response:
        answer = api.http.request(
            request.method, request.url.path, content=request.content, headers=request.headers,
            params=dict(request.url.params),
        )  # fmt: skip
        return httpx.Response(answer.status_code, content=answer.content, headers=answer.headers)

    done = threading.Event()

    def work() -> None:  # the worker, beside the waiting calls
        while not done.is_set():
            if not api.drain():
                time.sleep(0.02)

    worker = threading.Thread(target=work)
    worker.start()
    try:
        with Client(base_url="http://testserver", api_key=api.key,
                    transport=httpx.MockTransport(forward)) as client:  # fmt: skip
            with client.session("brushwork/studio", timeout=90) as s:
                one = s.call({"prompt": 'a sign "HI"', "quality": "low"})
                two = s.call({"prompt": "make it gold", "quality": "low"})
                assert one["session_id"] == two["session_id"] == s.id
                assert two["parent_id"] == one["id"]
                assert s.get()["tasks"] == [one["id"], two["id"]]
            assert client.sessions.get(s.id)["status"] == "ended"
    finally:
        done.set()
        worker.join()


def test_a_call_waits_briefly_for_the_worker_that_ran_the_last_one(api: Api) -> None:
    """Soft affinity: within BRUSHWORK_SESSION_AFFINITY_SECONDS another worker hands the call
    back so the warm one takes it; once that worker is gone, anyone does."""
    from brushwork.tasks.worker import Worker

    warm, other = api.worker, Worker(api.settings, name="w2")
    first = call(api, "new", {"prompt": "a red apple", "quality": "low"}).json()
    api.drain()  # run by the warm worker ("w1")
    session_id = first["session_id"]
    assert api.http.app.state.services.store.get_session(session_id)["worker"] == warm.name  # type: ignore[attr-defined]
    warm.store.worker_seen(warm.name, 1, ["brushwork/studio"])
    second = call(api, session_id, {"prompt": "make it blue", "quality": "low"}).json()
    assert other.queue.try_take() == second["id"]
    other.run_task(second["id"])  # young, and its warm worker is alive: handed back
    assert api.http.get(f"/tasks/{second['id']}").json()["status"] == TaskStatus.QUEUED
    assert warm.queue.try_take() == second["id"]
    warm.run_task(second["id"])
    done = api.http.get(f"/tasks/{second['id']}").json()
    assert done["status"] == TaskStatus.COMPLETED and f"picked up by {warm.name}" in done["logs"]
    warm.store.worker_gone(warm.name)  # the warm worker is gone: the next call runs anywhere
    third = call(api, session_id, {"prompt": "make it green", "quality": "low"}).json()
    assert other.queue.try_take() == third["id"]
    other.run_task(third["id"])
    done = api.http.get(f"/tasks/{third['id']}").json()
    assert done["status"] == TaskStatus.COMPLETED and "picked up by w2" in done["logs"]


def test_a_mask_alone_needs_a_picture_in_the_session(api: Api) -> None:
    before = counts(api)
    mask = b64(encode(rect_mask(1024, 1024, (0, 0, 10, 10))))
    refused = call(api, "new", {"prompt": "remove it", "mask": mask})
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "mask"
    assert counts(api) == before
    outside = api.http.post(
        "/apps/run", json={"app": "brushwork/studio", "input": {"prompt": "x", "mask": mask}}
    )
    assert outside.status_code == 400 and outside.json()["error"]["param"] == "mask"


def test_the_latest_picture_is_read_off_the_calls_deleted_ones_excluded(api: Api) -> None:
    first = call(api, "new", {"prompt": "a red apple", "quality": "low"}).json()
    api.drain()
    session_id = first["session_id"]
    second = call(api, session_id, {"prompt": "a blue boat", "images": [], "quality": "low"}).json()
    api.drain()
    done = api.http.get(f"/tasks/{second['id']}").json()
    latest = api.http.get(f"/sessions/{session_id}").json()["latest"]
    assert latest["uri"] == done["output"]["images"][0]["uri"]
    assert api.http.delete(f"/tasks/{second['id']}").status_code == 204
    one = api.http.get(f"/tasks/{first['id']}").json()
    latest = api.http.get(f"/sessions/{session_id}").json()["latest"]
    assert latest["uri"] == one["output"]["images"][0]["uri"]  # never a deleted picture
    third = call(api, session_id, {"prompt": "make it shine", "quality": "low"}).json()
    api.drain()
    assert (
        f"edits the output of {first['id']}" in api.http.get(f"/tasks/{third['id']}").json()["logs"]
    )
