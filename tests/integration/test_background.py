"""``background`` (SPEC §1): real alpha where an engine can make it, refused where it cannot
(never faked), auto resolved from the prompt; on both backends, and through /v1."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.conftest import Api
from tests.helpers import encode, photo, rect_mask


def alpha_of(api: Api, task: dict[str, Any]) -> np.ndarray | None:
    image = Image.open(io.BytesIO(api.download(task["output"]["images"][0]["uri"])))
    return np.asarray(image)[..., 3] if image.mode == "RGBA" else None


@pytest.mark.parametrize("fmt", ["png", "webp"])
def test_transparent_pictures_have_real_alpha(api: Api, fmt: str) -> None:
    task = api.complete({"prompt": "a cat in a top hat", "background": "transparent",
                         "output_format": fmt, "quality": "low"})  # fmt: skip
    assert task["status"] == 9, task
    alpha = alpha_of(api, task)
    assert alpha is not None
    assert (alpha == 0).mean() > 0.3 and (alpha == 255).mean() > 0.02  # nothing, and art


def test_auto_is_opaque_unless_the_prompt_asks(api: Api) -> None:
    sticker = api.complete({"prompt": "a fox sticker", "quality": "low"})
    assert alpha_of(api, sticker) is not None
    plain = api.complete({"prompt": "a fox in a forest", "quality": "low"})
    assert alpha_of(api, plain) is None
    jpeg = api.complete({"prompt": "a fox sticker", "output_format": "jpeg", "quality": "low"})
    assert jpeg["status"] == 9  # auto never asks a jpeg for alpha


def test_a_reference_edit_cuts_the_subject_out(api: Api) -> None:
    product = photo(1024, 1024, seed=6)
    task = api.complete({"prompt": "place this on marble", "background": "transparent",
                         "images": [base64.b64encode(encode(product)).decode()],
                         "quality": "low"})  # fmt: skip
    assert task["status"] == 9, task
    alpha = alpha_of(api, task)
    assert alpha is not None and (alpha == 0).any() and (alpha == 255).any()


@pytest.mark.parametrize(
    ("input", "app", "code"),
    [
        ({"output_format": "jpeg"}, "brushwork/studio", "invalid_value"),
        ({"images": ["PHOTO"], "mask": "MASK"}, "brushwork/studio", "unsupported_background"),
        ({}, "test/slow", "unsupported_background"),
    ],
)
def test_what_cannot_be_transparent_is_refused_and_stores_nothing(
    api: Api, input: dict[str, Any], app: str, code: str
) -> None:
    mask = rect_mask(1024, 1024, (100, 100, 400, 400))
    refs = {"PHOTO": base64.b64encode(encode(photo(1024, 1024))).decode(),
            "MASK": base64.b64encode(encode(mask)).decode()}  # fmt: skip
    body = {k: [refs[x] for x in v] if isinstance(v, list) else refs.get(v, v)
            for k, v in input.items()}  # fmt: skip
    before = api.http.get("/tasks").json()["data"]
    answer = api.run({"prompt": "x", "background": "transparent", **body}, app=app)
    assert answer.status_code == 400, answer.text
    assert (answer.json()["error"]["param"], answer.json()["error"]["code"]) == (
        "background", code,
    )  # fmt: skip
    assert api.http.get("/tasks").json()["data"] == before


def test_the_openai_endpoint_passes_it_through_and_reports_it(api: Api) -> None:
    import threading

    def work() -> None:
        import time

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not api.drain():
            time.sleep(0.02)

    worker = threading.Thread(target=work)
    worker.start()
    answer = api.http.post(
        "/v1/images/generations",
        json={
            "model": "gpt-image-2",
            "prompt": "a robot",
            "background": "transparent",
            "quality": "low",
        },  # fmt: skip
    )
    worker.join()
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["background"] == "transparent"
    image = Image.open(io.BytesIO(base64.b64decode(body["data"][0]["b64_json"])))
    assert image.mode == "RGBA" and (np.asarray(image)[..., 3] == 0).any()
