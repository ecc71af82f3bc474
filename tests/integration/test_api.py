"""The HTTP contract in-process: envelopes, auth, validation, the pipeline and the stream."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from tests.conftest import Api
from tests.helpers import alpha_mask, encode, kept_equal, photo, png, png_bomb, rect_mask
from tests.unit.test_contract import CASES


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def data_uri(data: bytes) -> str:
    return "data:image/png;base64," + b64(data)


def envelope(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


def tasks_count(api: Api) -> int:
    return len(api.http.get("/tasks", params={"limit": 100}).json()["data"])


# ---------------------------------------------------------------- auth


def test_no_key_and_bad_key_are_401(api: Api) -> None:
    for headers in (
        {"Authorization": ""},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic x"},
    ):
        response = api.http.get("/tasks", headers=headers)
        assert response.status_code == 401
        assert envelope(response)["type"] == "authentication_error"


def test_dev_mode_needs_no_key(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from brushwork.server import create_app
    from brushwork.settings import Settings

    with TestClient(create_app(Settings(data_dir=tmp_path, dev=True))) as http:
        assert http.get("/apps").status_code == 200


def test_dev_mode_refuses_a_public_host(tmp_path) -> None:
    from brushwork.settings import Settings

    with pytest.raises(ValueError, match="loopback"):
        Settings(data_dir=tmp_path, dev=True, host="0.0.0.0")  # noqa: S104


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(("fields", "param", "words"), [c for c in CASES if c[1] is not None])
def test_every_refused_rule_is_400_over_http(api: Api, fields, param, words) -> None:
    response = api.run({"prompt": "a fox", **fields})
    assert response.status_code == 400
    error = envelope(response)
    assert error["param"] == param and words in error["message"]


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"width": 1000}, "width"),
        ({"height": 4096}, "height"),
        ({"width": 3840, "height": 1024}, "width"),
        ({"width": 512, "height": 512}, "width"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "x" * 32001}, "prompt"),
        ({"n": 0}, "n"),
        ({"n": 11}, "n"),
        ({"quality": "best"}, "quality"),
        ({"output_format": "bmp"}, "output_format"),
        ({"output_compression": 101}, "output_compression"),
        ({"moderation": "none"}, "moderation"),
        ({"mask": "abc"}, "mask"),
        ({"extra": 1}, "extra"),
    ],
)
def test_invalid_input_is_400_with_param_and_nothing_is_created(api: Api, fields, param) -> None:
    response = api.run({"prompt": "a fox", **fields})
    assert response.status_code == 400
    error = envelope(response)
    assert error["param"] == param and error["type"] == "invalid_request_error"
    assert tasks_count(api) == 0


def test_bad_request_bodies_get_the_envelope(api: Api) -> None:
    cases = [
        api.http.post(
            "/apps/run", content=b"{not json", headers={"Content-Type": "application/json"}
        ),
        api.http.post("/apps/run", json={"input": {"prompt": "x"}}),
        api.http.post("/apps/run", json={"app": "brushwork/studio", "input": "x"}),
        api.http.post("/apps/run", json=[1, 2]),
    ]
    for response in cases:
        assert response.status_code == 400, response.text
        envelope(response)
    assert api.run({"prompt": "x"}, app="nobody/nothing").status_code == 404
    assert envelope(api.http.get("/no/such/route"))["type"] == "not_found_error"


def test_unavailable_app_is_refused_with_its_reason(api: Api) -> None:
    response = api.run({"prompt": "x"}, app="test/unavailable")
    assert response.status_code == 400
    assert "needs a GPU" in envelope(response)["message"]
    listed = {a["id"]: a for a in api.http.get("/apps").json()["data"]}
    assert listed["test/unavailable"]["available"] is False
    assert listed["brushwork/studio"]["available"] is True


def test_app_schema_comes_from_the_contract(api: Api) -> None:
    app = api.http.get("/apps/brushwork/studio").json()
    props = app["input_schema"]["properties"]
    assert props["width"]["multipleOf"] == 16 and props["n"]["maximum"] == 10
    assert app["input_schema"]["required"] == ["prompt"]


@pytest.mark.parametrize(
    ("make", "status"),
    [
        (lambda: png_bomb(), 413),
        (lambda: png(256, 256)[:300], 422),
        (lambda: b"not an image at all" * 10, 422),
        (lambda: b"\x00" * 10, 400),
    ],
    ids=["bomb", "truncated", "garbage", "not-base64"],
)
def test_bad_images_are_refused_and_the_server_stays_healthy(api: Api, make, status) -> None:
    data = make()
    ref = b64(data) if status != 400 else "%%%" + data.hex()
    response = api.run({"prompt": "edit", "images": [ref]})
    assert response.status_code == status, response.text
    assert envelope(response)["param"] == "images"
    assert tasks_count(api) == 0
    assert api.http.get("/health").json()["status"] == "ok"


def test_mask_of_another_size_is_400(api: Api) -> None:
    image = png(512, 384)
    mask = encode(rect_mask(512, 512, (0, 0, 10, 10)))
    response = api.run({"prompt": "fill", "images": [b64(image)], "mask": b64(mask)})
    assert response.status_code == 400
    error = envelope(response)
    assert error["param"] == "mask" and "512x384" in error["message"]
    assert tasks_count(api) == 0


def test_body_over_the_limit_is_413(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from brushwork.server import create_app
    from brushwork.settings import Settings

    app = create_app(Settings(data_dir=tmp_path, dev=True, max_request_bytes=10_000))
    body = json.dumps({"app": "brushwork/studio", "input": {"prompt": "x" * 20_000}})
    with TestClient(app) as http:
        sized = http.post("/apps/run", content=body, headers={"Content-Type": "application/json"})
        chunked = http.post(
            "/apps/run",
            content=iter([body.encode()[:6000], body.encode()[6000:]]),
            headers={"Content-Type": "application/json"},
        )
        assert (sized.status_code, chunked.status_code) == (413, 413)
        assert envelope(sized)["code"] == envelope(chunked)["code"] == "payload_too_large"
        assert http.get("/tasks").json()["data"] == []


# ---------------------------------------------------------------- pipeline


def test_generate_returns_n_files_of_the_requested_size_and_format(api: Api) -> None:
    task = api.complete(
        {
            "prompt": 'a poster "Hi"',
            "n": 2,
            "width": 1536,
            "height": 1024,
            "output_format": "webp",
            "output_compression": 70,
            "seed": 5,
        }
    )
    assert task["status"] == 9 and task["status_name"] == "COMPLETED"
    assert task["progress"] == 100 and task["started_at"] and task["completed_at"]
    images = task["output"]["images"]
    assert len(images) == 2
    for ref in images:
        assert ref["uri"].startswith("http://testserver/files/")
        assert ref["content_type"] == "image/webp"
        data = api.download(ref["uri"])
        assert len(data) == ref["size"]
        assert Image.open(io.BytesIO(data)).size == (1536, 1024)
    meta = task["output"]["output_meta"]
    assert meta["outputs"][0]["extra"] == {
        "mode": "generate",
        "quality": "medium",
        "engine": "studio",
    }
    assert meta["seed"] == 5
    assert "seed=5" in task["logs"]
    # every stage the engine reported is in the logs, in order, whether written as it came or
    # held for the next status change (issue 17)
    stages = [task["logs"].find(line) for line in ("image 1 of 2 done", "image 2 of 2 done")]
    assert -1 < stages[0] < stages[1] < task["logs"].find("completed:"), task["logs"]


def test_same_seed_same_bytes_through_the_whole_pipeline(api: Api) -> None:
    inp = {"prompt": 'sunset "Again"', "seed": 11, "quality": "low"}
    first = api.complete(inp)["output"]["images"][0]["uri"]
    second = api.complete(inp)["output"]["images"][0]["uri"]
    assert api.download(first) == api.download(second)


def test_edit_takes_the_first_images_size_and_logs_a_fitted_size(api: Api) -> None:
    task = api.complete({"prompt": "warmer", "images": [b64(png(640, 1280))]})
    assert task["output"]["output_meta"]["outputs"][0]["width"] == 640
    odd = api.complete({"prompt": "warmer", "images": [data_uri(png(1000, 700))]})
    out = odd["output"]["output_meta"]["outputs"][0]
    assert (out["width"] % 16, out["height"] % 16) == (0, 0)
    assert "nearest valid size" in odd["logs"]
    assert odd["output"]["output_meta"]["inputs"][1] == {
        "type": "image",
        "width": 1000,
        "height": 700,
        "count": 1,
    }


@pytest.mark.parametrize("convention", ["luminance", "alpha"])
def test_ten_inpaint_passes_keep_kept_pixels_bit_identical(api: Api, convention: str) -> None:
    original = photo(
        1024, 768, seed=7
    )  # a valid output size, so kept pixels are the original bytes
    box = (100, 80, 260, 200)
    mask = rect_mask(1024, 768, box) if convention == "luminance" else alpha_mask(1024, 768, box)
    edit = np.zeros((768, 1024), np.float32)
    edit[80:200, 100:260] = 1
    current = encode(original)
    mask_ref = api.http.post("/files", files={"file": ("m.png", encode(mask), "image/png")}).json()[
        "uri"
    ]
    for i in range(10):
        task = api.complete(
            {
                "prompt": f'pass {i} "TEXT"' if i % 2 else "remove it",
                "images": [b64(current)],
                "mask": mask_ref,
                "seed": i,
            }
        )
        assert task["status"] == 9, task["error"]
        assert task["output"]["output_meta"]["outputs"][0]["extra"]["mode"] == "inpaint"
        current = api.download(task["output"]["images"][0]["uri"])
        result = Image.open(io.BytesIO(current))
        assert kept_equal(original, result, edit)
        assert not np.array_equal(
            np.asarray(result)[80:200, 100:260], np.asarray(original)[80:200, 100:260]
        )


def test_inpaint_at_another_output_size_keeps_the_resized_pixels(api: Api) -> None:
    task = api.complete(
        {
            "prompt": "fill",
            "images": [b64(png(512, 512))],
            "mask": b64(encode(rect_mask(512, 512, (0, 0, 256, 512)))),
            "width": 1024,
            "height": 1024,
        }
    )
    assert task["status"] == 9
    out = Image.open(io.BytesIO(api.download(task["output"]["images"][0]["uri"])))
    assert out.size == (1024, 1024)


def test_engine_failure_fails_the_task_with_an_envelope(api: Api) -> None:
    task = api.complete({"prompt": "x"}, app="test/broken")
    assert task["status"] == 10
    assert task["error"]["code"] == "engine_error"
    assert "always breaks" in task["error"]["message"]
    assert "Traceback" not in task["logs"]


def test_cancel_a_queued_task_is_idempotent_and_the_worker_skips_it(api: Api) -> None:
    task = api.run({"prompt": "x"}).json()
    for _ in range(2):
        cancelled = api.http.post(f"/tasks/{task['id']}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == 11
    api.drain()
    final = api.http.get(f"/tasks/{task['id']}").json()
    assert final["status"] == 11 and final["output"] is None


def test_a_finished_task_stays_finished_when_cancelled(api: Api) -> None:
    task = api.complete({"prompt": "x", "quality": "low"})
    assert api.http.post(f"/tasks/{task['id']}/cancel").json()["status"] == 9


# ---------------------------------------------------------------- stream, list, files


def parse_sse(text: str) -> list[dict]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(
            line.split(": ", 1)
            for line in block.splitlines()
            if ": " in line and not line.startswith(":")
        )
        if "data" in fields:
            events.append(
                {
                    "id": fields.get("id"),
                    "event": fields.get("event"),
                    "data": json.loads(fields["data"]),
                }
            )
    return events


def test_stream_replays_everything_then_only_what_follows_last_event_id(api: Api) -> None:
    task = api.complete({"prompt": "x", "n": 3, "quality": "low"})
    events = parse_sse(api.http.get(f"/tasks/{task['id']}/stream").text)
    statuses = [e["data"]["status"] for e in events if e["event"] == "update"]
    assert statuses[0] == 1 and 2 in statuses and 7 in statuses and statuses[-1] == 9
    assert events[-1]["event"] == "done" and events[-1]["data"]["output"]["images"]
    ids = [int(e["id"]) for e in events if e["id"]]
    assert ids == sorted(ids)
    middle = ids[len(ids) // 2]
    replay = parse_sse(
        api.http.get(f"/tasks/{task['id']}/stream", headers={"Last-Event-ID": str(middle)}).text
    )
    assert [int(e["id"]) for e in replay if e["id"]] == [i for i in ids if i > middle]
    assert replay[-1]["event"] == "done"


def test_previews_reach_the_stream_as_files(api: Api) -> None:
    task = api.run({"prompt": 'dawn "Hi"', "quality": "low"}, previews=3).json()
    api.drain()
    events = parse_sse(api.http.get(f"/tasks/{task['id']}/stream").text)
    previews = [e["data"]["preview"] for e in events if "preview" in e["data"]]
    assert [p["partial_image_index"] for p in previews] == [0, 1, 2]
    final = api.download(api.http.get(f"/tasks/{task['id']}").json()["output"]["images"][0]["uri"])
    for preview in previews:
        data = api.download(preview["uri"])
        assert Image.open(io.BytesIO(data)).size == (1024, 1024) and data != final
    assert api.run({"prompt": "x"}, previews=4).status_code == 400


def test_list_is_newest_first_and_paged(api: Api) -> None:
    ids = [api.run({"prompt": f"t{i}"}).json()["id"] for i in range(5)]
    page = api.http.get("/tasks", params={"limit": 2}).json()
    assert [t["id"] for t in page["data"]] == ids[::-1][:2] and page["has_more"]
    rest = api.http.get("/tasks", params={"limit": 10, "cursor": page["next_cursor"]}).json()
    assert [t["id"] for t in rest["data"]] == ids[::-1][2:] and not rest["has_more"]
    assert api.http.get("/tasks", params={"cursor": "x"}).status_code == 400


def test_files_belong_to_their_owner(api: Api) -> None:
    uploaded = api.http.post(
        "/files", files={"file": ("../../etc/p.png", png(64, 64), "image/png")}
    ).json()
    assert uploaded["filename"] == "p.png" and uploaded["content_type"] == "image/png"
    assert api.http.get(uploaded["uri"]).content == png(64, 64)
    other = api.http.app.state.services.store.create_key("other")  # type: ignore[attr-defined]
    headers = {"Authorization": f"Bearer {other}"}
    assert api.http.get(uploaded["uri"], headers=headers).status_code == 404
    task = api.run({"prompt": "x"}).json()
    assert api.http.get(f"/tasks/{task['id']}", headers=headers).status_code == 404
    assert api.http.post(f"/tasks/{task['id']}/cancel", headers=headers).status_code == 404
    assert api.http.get(f"/tasks/{task['id']}/stream", headers=headers).status_code == 404
    stolen = api.run(
        {"prompt": "x", "images": [uploaded["uri"]]},
    )
    assert stolen.status_code == 202
    as_other = api.http.post(
        "/apps/run",
        headers=headers,
        json={"app": "brushwork/studio", "input": {"prompt": "x", "images": [uploaded["uri"]]}},
    )
    assert as_other.status_code == 404


def test_upload_limits(api: Api) -> None:
    assert api.http.post("/files", files={"file": ("e.png", b"", "image/png")}).status_code == 400
    assert api.http.post("/files").status_code == 400


def test_metrics_and_health(api: Api) -> None:
    api.run({"prompt": "x"})
    text = api.http.get("/metrics").text
    assert 'brushwork_tasks{status="QUEUED"} 1' in text
    assert 'brushwork_queue_depth{app="brushwork/studio"} 1' in text


def test_moderation_refuses_before_a_task_exists(api: Api) -> None:
    blocked = api.run({"prompt": "explicit porn scene", "moderation": "low"})
    assert blocked.status_code == 400 and envelope(blocked)["code"] == "moderation_blocked"
    relaxed = api.run({"prompt": "a classical nude painting in a museum", "moderation": "low"})
    assert relaxed.status_code == 202
    assert tasks_count(api) == 1


def test_a_refused_request_stores_no_file(api: Api) -> None:
    files_dir = api.settings.files_dir
    before = sorted(p.name for p in files_dir.rglob("*") if p.is_file())
    response = api.run({"prompt": "x", "images": [b64(png(1024, 768)), b64(png(1024, 768)[:500])]})
    assert response.status_code == 422
    mismatch = api.run({"prompt": "x", "images": [b64(png(1024, 768))], "mask": b64(png(512, 512))})
    assert mismatch.status_code == 400
    assert sorted(p.name for p in files_dir.rglob("*") if p.is_file()) == before


def test_studio_lists_its_asset_licences_and_images_carry_the_attribution(api: Api) -> None:
    detail = api.http.get("/apps/brushwork/studio").json()
    assert detail["assets"]["twemoji"]["license"] == "CC-BY-4.0"
    assert detail["assets"]["tabler"]["license"] == "MIT"
    task = api.complete({"prompt": "two penguins next to a snowman", "seed": 3})
    assert task["status"] == 9, task["error"]
    meta = task["output"]["output_meta"]
    assert any("Twemoji" in a for a in meta["attributions"])
    assert [s["phrase"] for s in meta["subjects"]] == ["penguin", "snowman"]
    png = Image.open(io.BytesIO(api.download(task["output"]["images"][0]["uri"])))
    assert "CC-BY 4.0" in png.info["Copyright"]
