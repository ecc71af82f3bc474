"""The OpenAPI documents every answer, and the answers the server really sends match it.

Generated clients are built from ``/openapi.json``; these tests read the same document and
validate recorded answers of each route against the components it names, so the typed
models in ``contract.py`` and what the routes send cannot drift apart.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from brushwork.contract import Task, TaskStatus, WebhookPayload
from brushwork.tasks.webhooks import payload
from tests.conftest import Api
from tests.helpers import png

# (method, path, status) → the component its JSON answer must be
DOCUMENTED = {
    ("post", "/apps/run", "202"): "Task",
    ("post", "/apps/run", "200"): "Task",
    ("get", "/tasks/{task_id}", "200"): "Task",
    ("post", "/tasks/{task_id}/cancel", "200"): "Task",
    ("get", "/tasks", "200"): "TaskPage",
    ("post", "/files", "201"): "UploadedFile",
    ("post", "/files/{file_id}/link", "201"): "FileLink",
    ("get", "/apps", "200"): "AppList",
    ("get", "/apps/{namespace}/{name}", "200"): "AppInfo",
    ("post", "/v1/images/generations", "200"): "ImagesResponse",
    ("post", "/v1/images/edits", "200"): "ImagesResponse",
    ("get", "/v1/models", "200"): "ModelList",
    ("get", "/health", "200"): "Health",
    ("get", "/sessions", "200"): "SessionPage",
    ("get", "/sessions/{session_id}", "200"): "Session",
    ("post", "/sessions/{session_id}/keepalive", "200"): "Session",
    ("delete", "/sessions/{session_id}", "200"): "Session",
}


@pytest.fixture
def spec(api: Api) -> dict[str, Any]:
    document: dict[str, Any] = api.http.get("/openapi.json").json()
    return document


def answer_schema(spec: dict[str, Any], method: str, path: str, status: str) -> str:
    content = spec["paths"][path][method]["responses"][status]["content"]
    ref: str = content["application/json"]["schema"]["$ref"]
    return ref.rsplit("/", 1)[-1]


def check(spec: dict[str, Any], component: str, body: Any) -> None:
    schema = {"$ref": f"#/components/schemas/{component}", "components": spec["components"]}
    errors = sorted(Draft202012Validator(schema).iter_errors(body), key=str)
    assert not errors, f"{component}: {errors[0].message} at {list(errors[0].absolute_path)}"


def test_every_json_answer_is_a_documented_component(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for (method, path, status), component in DOCUMENTED.items():
        assert answer_schema(spec, method, path, status) == component, (method, path, status)
        assert schemas[component]["properties"], component  # real fields, not a bare object
    task = schemas["Task"]["properties"]
    for field in ("status", "status_name", "progress", "logs", "output", "session_id"):
        assert field in task
    either = schemas["RunRequest"]["properties"]["input"]["anyOf"]
    assert [ref["$ref"].rsplit("/", 1)[-1] for ref in either] == ["AppInput", "MaskInput"]
    assert "prompt" in schemas["AppInput"]["properties"]
    assert {"image", "mode", "points", "box"} <= set(schemas["MaskInput"]["properties"])
    assert {"TaskUpdate", "WebhookPayload", "ImageStreamEvent", "OutputMeta"} <= set(schemas)


def test_recorded_answers_match_the_document(api: Api, spec: dict[str, Any]) -> None:
    queued = api.run({"prompt": 'a poster "OK"', "quality": "low"})
    assert queued.status_code == 202
    check(spec, "Task", queued.json())
    api.drain()
    task_id = queued.json()["id"]
    done = api.http.get(f"/tasks/{task_id}").json()
    assert done["status"] == TaskStatus.COMPLETED
    check(spec, "Task", done)
    Task.model_validate(done)  # the model itself agrees with what it documents
    check(spec, "Task", api.http.post(f"/tasks/{task_id}/cancel").json())
    check(spec, "TaskPage", api.http.get("/tasks", params={"limit": 1}).json())
    uploaded = api.http.post("/files", files={"file": ("a.png", png(), "image/png")})
    check(spec, "UploadedFile", uploaded.json())
    link = api.http.post(f"/files/{uploaded.json()['id']}/link").json()
    check(spec, "FileLink", link)
    check(spec, "AppList", api.http.get("/apps").json())
    for app in ("brushwork/studio", "openai/gpt-image-2", "test/unavailable"):
        check(spec, "AppInfo", api.http.get(f"/apps/{app}").json())
    check(spec, "ModelList", api.http.get("/v1/models").json())
    check(spec, "Health", api.http.get("/health").json())
    body = {"app": "brushwork/studio", "input": {"prompt": "x", "quality": "low"}}
    in_session = api.http.post("/apps/run", json={**body, "session": "new"}).json()
    check(spec, "Task", in_session)
    api.drain()
    session_id = in_session["session_id"]
    check(spec, "Session", api.http.get(f"/sessions/{session_id}").json())
    check(spec, "SessionPage", api.http.get("/sessions").json())
    check(spec, "Session", api.http.post(f"/sessions/{session_id}/keepalive").json())
    check(spec, "Session", api.http.delete(f"/sessions/{session_id}").json())
    failed = api.complete({"prompt": "x"}, app="test/broken")
    assert failed["status"] == TaskStatus.FAILED
    check(spec, "Task", failed)


def test_stream_events_and_webhook_payloads_match_their_models(
    api: Api, spec: dict[str, Any]
) -> None:
    task_id = api.run({"prompt": "a red apple", "quality": "low"}).json()["id"]
    api.drain()
    with api.http.stream("GET", f"/tasks/{task_id}/stream") as response:
        events = _sse(response.iter_lines())
    updates = [data for name, data in events if name == "update"]
    assert updates and events[-1][0] == "done"
    for data in updates:
        check(spec, "TaskUpdate", data)
    check(spec, "Task", events[-1][1])
    row = api.worker.store.get_task(task_id)
    body = json.loads(payload(row, "http://testserver"))
    check(spec, "WebhookPayload", body)
    assert set(body) == set(WebhookPayload.model_fields)


def test_openai_answers_and_stream_events_match_the_document(
    api: Api, spec: dict[str, Any]
) -> None:
    import threading

    worker = threading.Thread(target=_drain_soon, args=(api,))
    worker.start()
    answer = api.http.post("/v1/images/generations", json={"prompt": "a boat", "quality": "low"})
    worker.join()
    assert answer.status_code == 200, answer.text
    check(spec, "ImagesResponse", answer.json())
    assert base64.b64decode(answer.json()["data"][0]["b64_json"]).startswith(b"\x89PNG")
    worker = threading.Thread(target=_drain_soon, args=(api,))
    worker.start()
    body = {"prompt": "a boat", "quality": "low", "stream": True, "partial_images": 1}
    with api.http.stream("POST", "/v1/images/generations", json=body) as response:
        events = _sse(response.iter_lines())
    worker.join()
    assert [name for name, _ in events][-1] == "image_generation.completed"
    for _, data in events:
        check(spec, "ImageStreamEvent", data)


def _drain_soon(api: Api) -> None:
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not api.drain():
        time.sleep(0.02)


def _sse(lines: Any) -> list[tuple[str, Any]]:
    events, name = [], None
    for line in lines:
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: ") and name is not None:
            events.append((name, json.loads(line[len("data: ") :])))
            name = None
    return events
