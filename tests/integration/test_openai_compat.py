"""The /v1 endpoints' refusals, in-process: OpenAI's envelope, the right param, nothing queued."""

from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import Api
from tests.helpers import png


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"prompt": "x", "size": "1000x1000"}, "size"),
        ({"prompt": "x", "size": "4096x4096"}, "size"),
        ({"prompt": "x", "size": "wide"}, "size"),
        ({"prompt": "x", "n": 11}, "n"),
        ({"prompt": "x", "quality": "ultra"}, "quality"),
        ({"prompt": "x", "background": "transparent", "output_format": "jpeg"}, "background"),
        ({"prompt": "x", "background": "clear"}, "background"),
        ({"prompt": "x", "partial_images": 4}, "partial_images"),
        ({"prompt": "x", "output_format": "gif"}, "output_format"),
        ({"prompt": "x", "response_format": "svg"}, "response_format"),
        ({"prompt": "x", "style": "vivid"}, "style"),
        ({"prompt": ""}, "prompt"),
        ({"n": 1}, "prompt"),
        ({"prompt": "x", "images": [{"image_url": "x"}]}, "images"),
        ({"prompt": "x", "model": "dall-e-9"}, "model"),
    ],
)
def test_generation_refusals(api: Api, body, param) -> None:
    response = api.http.post("/v1/images/generations", json={"model": "gpt-image-2", **body})
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"]["param"] == param
    assert api.http.get("/tasks").json()["data"] == []


def test_edit_refusals(api: Api) -> None:
    no_image = api.http.post("/v1/images/edits", data={"prompt": "x", "model": "gpt-image-2"})
    assert no_image.status_code == 400 and no_image.json()["error"]["param"] == "image"
    bad_json = api.http.post("/v1/images/edits", json={"prompt": "x", "images": ["not-an-object"]})
    assert bad_json.status_code == 400 and bad_json.json()["error"]["param"] == "images"
    garbage = api.http.post(
        "/v1/images/edits",
        data={"prompt": "x"},
        files={"image": ("a.png", b"garbage" * 20, "image/png")},
    )
    assert garbage.status_code == 422
    mismatch = api.http.post(
        "/v1/images/edits",
        data={"prompt": "x"},
        files=[
            ("image[]", ("a.png", png(1024, 768), "image/png")),
            ("mask", ("m.png", png(512, 512), "image/png")),
        ],
    )
    assert mismatch.status_code == 400 and mismatch.json()["error"]["param"] == "mask"
    assert api.http.get("/tasks").json()["data"] == []


def test_multipart_numbers_and_repeated_images_are_understood(api: Api) -> None:
    stop = threading.Event()

    def work() -> None:  # a worker beside the request, as `brushwork serve` has
        while not stop.is_set():
            if not api.drain():
                time.sleep(0.01)

    thread = threading.Thread(target=work)
    thread.start()
    try:
        response = api.http.post(
            "/v1/images/edits",
            data={
                "prompt": "x",
                "n": "2",
                "size": "1024x1024",
                "quality": "low",
                "response_format": "url",
            },
            files=[
                ("image[]", ("a.png", png(640, 480, 1), "image/png")),
                ("image[]", ("b.png", png(640, 480, 2), "image/png")),
            ],
        )
    finally:
        stop.set()
        thread.join()
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["size"] == "1024x1024" and body["quality"] == "low" and len(body["data"]) == 2
    assert api.http.get(body["data"][0]["url"]).status_code == 200
    task = api.http.get("/tasks").json()["data"][0]
    assert task["input"]["n"] == 2 and len(task["input"]["images"]) == 2
