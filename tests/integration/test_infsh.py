"""The /infsh root (SPEC §9) in-process, on both backends: the platform's envelope, numbers,
problems, app refs, uploads by signed PUT, lists, streams and sessions, over the same store
as the native root. The real SDKs run against a real server in tests/e2e/test_infsh.py."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from brushwork.contract import TaskStatus
from brushwork.server.infsh import webhook_payload
from brushwork.server.infsh.router import UPLOAD_SECRET
from brushwork.signing import seal
from brushwork.tasks.webhooks import payload
from tests.conftest import Api
from tests.helpers import png
from tests.integration.test_sessions import BAD

LOW = {"prompt": "a red apple on a table", "quality": "low"}


def run(api: Api, input: dict[str, Any], app: str = "brushwork/studio", **body: Any) -> Any:
    return api.http.post("/infsh/apps/run", json={"app": app, "input": input, **body})


def done(api: Api, input: dict[str, Any] = LOW, **body: Any) -> dict[str, Any]:
    answer = run(api, input, **body)
    assert answer.status_code == 200, answer.text
    api.drain()
    task: dict[str, Any] = api.http.get(f"/infsh/tasks/{answer.json()['data']['id']}").json()
    return task["data"]


def problem(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert body["type"].endswith(f"/errors/{body['code']}")
    return body


def counts(api: Api) -> tuple[int, int]:
    return (
        len(api.http.get("/tasks", params={"limit": 100}).json()["data"]),
        len(api.http.get("/sessions", params={"limit": 100}).json()["data"]),
    )


def anonymous(api: Api) -> TestClient:
    return TestClient(api.http.app)


def test_one_task_two_roots_each_in_its_own_numbers(api: Api) -> None:
    task = done(api)
    assert (task["status"], task["status_name"]) == (10, "completed")
    assert task["app_id"] == "brushwork/studio" and task["function"] == "run"
    assert task["logs"][0]["log_type"] == 1 and "picked up" in task["logs"][0]["content"]
    native = api.http.get(f"/tasks/{task['id']}").json()
    assert native["status"] == TaskStatus.COMPLETED == 9
    # the output's URI is a signed link a plain GET fetches, as the hosted CDN's are
    uri = task["output"]["images"][0]["uri"]
    assert "signature=" in uri
    fetched = anonymous(api).get(uri)
    assert fetched.status_code == 200 and fetched.content[:4] == b"\x89PNG"
    # a task made on the native root shows here in these numbers
    made = api.run(LOW).json()
    api.http.post(f"/tasks/{made['id']}/cancel")
    seen = api.http.get(f"/infsh/tasks/{made['id']}").json()["data"]
    assert (seen["status"], seen["status_name"], seen["session_id"]) == (12, "cancelled", None)
    status = api.http.get(f"/infsh/tasks/{made['id']}/status").json()["data"]
    assert status["status"] == 12


def test_webhooks_of_an_infsh_task_use_its_numbers(api: Api) -> None:
    store = api.worker.store
    infsh = done(api, webhook="https://example.com/hook")
    row = store.get_task(infsh["id"])
    assert row is not None and row["webhook_state"] == "pending"
    body = webhook_payload(store, row, "http://testserver")
    assert body is not None and json.loads(body)["status"] == 10
    native = api.complete(LOW)
    native_row = store.get_task(native["id"])
    assert native_row is not None and webhook_payload(store, native_row, "") is None
    assert json.loads(payload(native_row, ""))["status"] == 9


@pytest.mark.parametrize(
    ("request_args", "status", "code"),
    [
        (("get", "/infsh/tasks/" + "0" * 32), 404, "not_found"),
        (("get", "/infsh/no/such/route"), 404, "not_found"),
        (("put", "/infsh/tasks/list"), 405, "http_error"),
        (("post", "/infsh/apps/run", {"input": {}}), 400, "invalid_value"),
        (
            ("post", "/infsh/apps/run", {"app": "brushwork/studio", "infra": "cloud"}),
            400,
            "invalid_value",
        ),  # fmt: skip
        (
            ("post", "/infsh/apps/run", {"app": "brushwork/studio", "input": LOW, "stream": True}),
            400,
            "invalid_value",
        ),  # fmt: skip
        (("post", "/infsh/apps/run", {"app": "nope/none", "input": LOW}), 404, "not_found"),
        (
            (
                "post",
                "/infsh/apps/run",
                {"app": "brushwork/studio", "input": {"prompt": "x", "width": 13}},
            ),
            400,
            "invalid_value",
        ),  # fmt: skip
    ],
)
def test_refusals_are_rfc_9457_problems(
    api: Api, request_args: tuple[Any, ...], status: int, code: str
) -> None:
    before = counts(api)
    method, path, *body = request_args
    answer = api.http.request(method, path, json=body[0] if body else None)
    assert problem(answer, status)["code"] == code
    assert counts(api) == before


def test_no_key_is_a_401_problem_and_native_errors_keep_their_envelope(api: Api) -> None:
    assert problem(anonymous(api).get("/infsh/sessions"), 401)["code"] == "invalid_api_key"
    native = anonymous(api).get("/sessions")
    assert native.status_code == 401 and "error" in native.json()


@pytest.mark.parametrize(
    ("app", "function", "status", "param"),
    [
        ("brushwork/studio@1.0:run", None, 200, None),
        ("brushwork/studio@abc1", "run", 200, None),
        ("brushwork/studio:paint", None, 400, "function"),
        ("brushwork/studio", "paint", 400, "function"),
        ("brushwork/studio:run", "other", 400, "function"),
        ("studio", None, 400, "app"),
        ("brushwork/studio@", None, 400, "app"),
    ],
)
def test_app_refs_with_version_and_function(
    api: Api, app: str, function: str | None, status: int, param: str | None
) -> None:
    before = counts(api)
    body = {"function": function} if function else {}
    answer = run(api, LOW, app=app, setup={"warm": True}, metadata={"who": "me"}, **body)
    if status == 200:
        assert answer.status_code == 200, answer.text
        data = answer.json()["data"]
        assert data["setup"] == {"warm": True} and data["metadata"] == {"who": "me"}
        assert data["app_version_id"] == (app.split("@")[1].split(":")[0] if "@" in app else None)
    else:
        assert problem(answer, status)["param"] == param
        assert counts(api) == before


def test_an_alias_runs_the_seed_app_id_on_a_local_engine(api: Api) -> None:
    services = api.http.app.state.services  # type: ignore[attr-defined]
    services.settings.app_aliases["someone/gpt-image-2"] = "brushwork/studio"
    task = done(api, app="someone/gpt-image-2@v2")
    assert (task["status"], task["app_id"], task["app_version_id"]) == (
        10, "brushwork/studio", "v2",
    )  # fmt: skip
    assert api.http.get("/infsh/apps/someone/gpt-image-2").json()["data"]["id"] == (
        "brushwork/studio"
    )


@pytest.mark.parametrize(("body", "status", "code", "param"), BAD)
def test_bad_session_input_is_the_same_refusal_here(
    api: Api, body: dict[str, Any], status: int, code: str, param: str
) -> None:
    before = counts(api)
    found = problem(run(api, {"prompt": "x"}, **body), status)
    assert found["code"] == {"session_not_found": "SESSION_NOT_FOUND"}.get(code, code)
    assert found["param"] == param
    assert counts(api) == before


def test_a_session_opened_empty_then_three_passes_then_refused(api: Api) -> None:
    opened = run(api, {}, session="new", function="run", session_timeout=120)
    assert opened.status_code == 200, opened.text
    first = opened.json()["data"]  # what client.session(app) waits for: done at once
    assert first["status"] == 10 and first["output"] is None
    session_id = first["session_id"]
    drawn = done(api, LOW, session=session_id)
    edited = done(api, {"prompt": "make it blue", "quality": "low"}, session=session_id)
    assert "\ngenerate 1024x1024" in drawn["logs"][0]["content"]
    assert "\nedit 1024x1024" in edited["logs"][0]["content"]  # the latest picture, no upload
    assert edited["parent_id"] == drawn["id"] and drawn["parent_id"] == first["id"]
    info = api.http.get(f"/infsh/sessions/{session_id}").json()["data"]
    assert (info["call_count"], info["status"], info["task_id"]) == (3, "active", edited["id"])
    assert "signature=" in info["latest"]["uri"]
    assert anonymous(api).get(info["latest"]["uri"]).status_code == 200
    listed = api.http.get("/infsh/sessions").json()["data"]
    assert [s["id"] for s in listed] == [session_id]
    kept = api.http.post(f"/infsh/sessions/{session_id}/keepalive").json()["data"]
    assert kept["expires_at"] >= info["expires_at"]
    for _ in range(2):  # ending is idempotent
        ended = api.http.delete(f"/infsh/sessions/{session_id}")
        assert ended.status_code == 200 and ended.json()["data"]["status"] == "ended"
    before = counts(api)
    assert problem(run(api, LOW, session=session_id), 410)["code"] == "SESSION_ENDED"
    assert problem(api.http.post(f"/infsh/sessions/{session_id}/keepalive"), 410)["code"] == (
        "SESSION_ENDED"
    )
    assert counts(api) == before
    # an empty input outside a session asks for nothing: refused, not opened
    assert problem(run(api, {}), 400)["param"] == "prompt"


def test_session_refusals_name_the_platform_codes(api: Api) -> None:
    session_id = done(api, LOW, session="new", session_timeout=300)["session_id"]
    key = api.http.app.state.services.store.create_key("other")  # type: ignore[attr-defined]
    other = TestClient(api.http.app, headers={"Authorization": f"Bearer {key}"})
    for answer in (
        other.post(
            "/infsh/apps/run",
            json={"app": "brushwork/studio", "input": LOW, "session": session_id},
        ),
        other.get(f"/infsh/sessions/{session_id}"),
        other.delete(f"/infsh/sessions/{session_id}"),
    ):
        assert problem(answer, 404)["code"] == "SESSION_NOT_FOUND"
    assert problem(run(api, LOW, app="test/slow", session=session_id), 409)["code"] == (
        "APP_MISMATCH"
    )
    # its own short session for expiry: the checks above must not race its idle clock
    brief = done(api, LOW, session="new", session_timeout=1)["session_id"]
    time.sleep(1.2)
    assert problem(run(api, LOW, session=brief), 410)["code"] == "SESSION_EXPIRED"


def upload_slot(api: Api, **file: Any) -> dict[str, Any]:
    answer = api.http.post("/infsh/files", json={"files": [{"uri": "", **file}]})
    assert answer.status_code == 201, answer.text
    slot: dict[str, Any] = answer.json()["data"][0]
    return slot


def test_files_are_named_first_then_put_to_a_signed_url(api: Api) -> None:
    data = png(640, 480)
    slot = upload_slot(api, filename="photo.png", content_type="image/png", size=len(data))
    assert slot["upload_url"].startswith("http://testserver/infsh/files/")
    assert anonymous(api).get(slot["uri"]).status_code == 404  # no bytes yet
    put = anonymous(api).put(slot["upload_url"], content=data)  # the URL is the credential
    assert put.status_code == 200, put.text
    assert put.json()["data"]["content_type"] == "image/png"
    assert anonymous(api).get(slot["uri"]).content == data
    again = anonymous(api).put(slot["upload_url"], content=data[::-1])
    assert problem(again, 409)["param"] == "id"
    assert anonymous(api).get(slot["uri"]).content == data  # the first bytes stay
    record = api.http.get(f"/infsh/files/{slot['id']}").json()["data"]
    assert (record["size"], record["filename"]) == (len(data), "photo.png")
    task = done(api, {"prompt": "make it winter", "images": [slot["uri"]], "quality": "low"})
    assert task["status"] == 10, task
    assert api.http.delete(f"/infsh/files/{slot['id']}").status_code == 204
    assert api.http.delete(f"/infsh/files/{slot['id']}").status_code == 204
    assert problem(api.http.get(f"/infsh/files/{slot['id']}"), 404)["param"] == "id"


def test_a_file_without_a_declared_size_takes_up_to_the_upload_limit(api: Api) -> None:
    slot = upload_slot(api, filename="a.png")
    assert anonymous(api).put(slot["upload_url"], content=png()).status_code == 200


@pytest.mark.parametrize(
    ("files", "status", "param"),
    [
        ([{"uri": "http://elsewhere/x.png"}], 400, "files[0].uri"),
        ([{"size": 10**9}], 413, "files[0].size"),
        ([{"size": 0}], 400, "files[0].size"),
        ([{"size": "big"}], 400, "files"),
        ([{"colour": "red"}], 400, "files"),
        ([], 400, "files"),
        ([{}] * 21, 400, "files"),
    ],
)
def test_bad_file_requests(api: Api, files: list[Any], status: int, param: str) -> None:
    answer = api.http.post("/infsh/files", json={"files": files})
    assert problem(answer, status)["param"] == param


def test_bad_uploads_store_nothing(api: Api) -> None:
    data = png(640, 480)
    slot = upload_slot(api, filename="p.png", size=len(data))
    url, client = slot["upload_url"], anonymous(api)
    other = upload_slot(api, filename="q.png", size=len(data))
    base, _, token = url.partition("?token=")
    cases = [
        (client.put(url, content=data + b"x"), 413),  # more than it said
        (client.put(url, content=data[:-1]), 400),  # fewer than it said
        (client.put(url, content=b""), 400),
        (client.put(base + "?token=" + token[:-2] + "00", content=data), 403),  # forged
        (client.put(other["upload_url"].split("?")[0] + "?token=" + token, content=data), 403),
        (client.put(base, content=data), 400),  # no token at all
    ]
    secret = api.http.app.state.services.store.server_secret(UPLOAD_SECRET)  # type: ignore[attr-defined]
    stale = seal(secret, {"id": slot["id"], "owner": "x", "filename": "p.png", "type": None,
                          "size": None, "exp": int(time.time()) - 1})  # fmt: skip
    cases.append((client.put(f"{base}?token={stale}", content=data), 403))
    for answer, status in cases:
        problem(answer, status)
    assert problem(api.http.get(f"/infsh/files/{slot['id']}"), 404)["param"] == "id"
    assert api.worker.store.get_file(slot["id"]) is None


def test_the_cursor_list_pages_and_filters(api: Api) -> None:
    ids = [done(api)["id"] for _ in range(3)]
    cancelled = run(api, LOW).json()["data"]["id"]
    api.http.post(f"/infsh/tasks/{cancelled}/cancel")
    seen, cursor = [], ""
    while True:
        page = api.http.post("/infsh/tasks/list", json={"limit": 2, "cursor": cursor})
        assert page.status_code == 200, page.text
        data = page.json()["data"]
        seen += [t["id"] for t in data["items"]]
        assert data["items_per_page"] == 2
        if not data["has_next"]:
            break
        cursor = data["next_cursor"]
    assert seen == [cancelled, *reversed(ids)]
    everything = api.http.post("/infsh/tasks/list").json()["data"]  # no body, as the JS SDK
    assert len(everything["items"]) == 4 and not everything["has_next"]
    completed = api.http.post(
        "/infsh/tasks/list", json={"filters": [{"field": "status", "operator": "eq", "value": 10}]}
    ).json()["data"]
    assert sorted(t["id"] for t in completed["items"]) == sorted(ids)
    chosen = {"field": "status", "operator": "in", "value": ["cancelled"]}
    only = api.http.post("/infsh/tasks/list", json={"filters": [chosen]}).json()["data"]
    assert [t["id"] for t in only["items"]] == [cancelled]
    assert len(api.http.get("/infsh/tasks", params={"limit": 3}).json()["data"]["items"]) == 3
    for bad in (
        {"filters": [{"field": "owner", "value": "x"}]},
        {"filters": [{"field": "status", "operator": "like", "value": "x"}]},
        {"filters": [{"field": "status", "value": 99}]},
        {"limit": 0},
        {"cursor": "abc"},
    ):
        problem(api.http.post("/infsh/tasks/list", json=bad), 400)


def test_delete_is_idempotent_and_refused_while_running(api: Api) -> None:
    task = done(api)
    assert api.http.delete(f"/infsh/tasks/{task['id']}").status_code == 204
    assert api.http.delete(f"/infsh/tasks/{task['id']}", params={"files": "true"}).status_code == (
        204
    )
    problem(api.http.get(f"/infsh/tasks/{task['id']}"), 404)
    waiting = run(api, LOW).json()["data"]
    assert problem(api.http.delete(f"/infsh/tasks/{waiting['id']}"), 409)


def lines_of(api: Api, task_id: str, accept: str) -> list[str]:
    with api.http.stream("GET", f"/infsh/tasks/{task_id}/stream", headers={"Accept": accept}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith(accept)
        return [line for line in r.iter_lines() if line]


def test_the_stream_is_ndjson_when_asked_and_sse_otherwise(api: Api) -> None:
    task = done(api)
    lines = [json.loads(line) for line in lines_of(api, task["id"], "application/x-ndjson")]
    partial, final = lines[:-1], lines[-1]
    assert partial and all(set(p) == {"data", "fields"} for p in partial)
    statuses = [p["data"]["status"] for p in partial if "status" in p["data"]]
    assert statuses[:2] == [1, 2] and 7 in statuses and all(s < 10 for s in statuses)
    assert final["status"] == 10 and final["output"]["images"] and final["id"] == task["id"]
    sse = lines_of(api, task["id"], "text/event-stream")
    events = [json.loads(line[6:]) for line in sse if line.startswith("data: ")]
    assert events[-1]["status"] == 10 and events[0]["data"]["status"] == 1


def test_a_quiet_stream_sends_heartbeat_lines(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from brushwork.server import runs

    monkeypatch.setattr(runs, "HEARTBEAT_SECONDS", 0.05)
    waiting = run(api, LOW).json()["data"]  # queued, and no worker takes it here
    stop = threading.Timer(1.0, lambda: api.http.post(f"/infsh/tasks/{waiting['id']}/cancel"))
    stop.start()
    try:
        lines = [json.loads(line) for line in lines_of(api, waiting["id"], "application/x-ndjson")]
    finally:
        stop.cancel()
    assert {"type": "heartbeat"} in lines
    assert lines[-1]["status"] == 12 and lines[-1]["id"] == waiting["id"]
