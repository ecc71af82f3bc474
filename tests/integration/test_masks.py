"""The brushwork/masks app (SPEC §10) as a task like every other, on both backends: each mode
through the API, its outputs in both conventions, its refusals (400 naming the field, nothing
stored), and a mask from it driving an inpaint whose kept pixels stay bit-identical."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

from brushwork.imaging.masks import edit_map
from tests.conftest import Api
from tests.helpers import encode, kept_equal, png_bomb
from tests.unit.test_selection import iou, scene

APP = "brushwork/masks"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def select(api: Api, **input: Any) -> Any:
    return api.http.post("/apps/run", json={"app": APP, "input": input})


def finished(api: Api, **input: Any) -> dict[str, Any]:
    answer = select(api, **input)
    assert answer.status_code == 202, answer.text
    api.drain()
    task: dict[str, Any] = api.http.get(f"/tasks/{answer.json()['id']}").json()
    assert task["status"] == 9, task
    return task


def picture_of(api: Api, ref: dict[str, Any]) -> Image.Image:
    return Image.open(io.BytesIO(api.download(ref["uri"])))


def stored(api: Api) -> tuple[int, int]:
    store = api.worker.store
    owner = store.owner_of_key(api.key)
    assert owner is not None
    return len(api.http.get("/tasks", params={"limit": 100}).json()["data"]), store.bytes_of(owner)


@pytest.mark.parametrize(
    "input",
    [
        {"mode": "subject"},
        {"mode": "box", "box": [240, 110, 520, 330]},
        {"mode": "point", "points": [[380, 220]]},
        {"mode": "colour", "text": "the red object"},
    ],
)
def test_each_mode_as_a_task(api: Api, input: dict[str, Any]) -> None:
    picture, truth = scene()
    task = finished(api, image=b64(encode(picture)), **input)
    out = task["output"]
    mask = picture_of(api, out["mask"])
    assert mask.mode == "L" and mask.size == picture.size
    assert iou(np.asarray(mask), truth) > 0.9
    alpha = picture_of(api, out["alpha_mask"])
    assert alpha.mode == "RGBA" and (np.asarray(alpha)[..., 3] == 255 - np.asarray(mask)).all()
    assert picture_of(api, out["preview"]).size == picture.size
    assert 0.1 < out["area"] < 0.3 and out["box"][0] < 380 < out["box"][2]
    assert out["output_meta"]["mode"] == input["mode"]
    assert task["input"]["image"].startswith("http://testserver/files/")


def test_background_inverts_and_the_adjustments_apply(api: Api) -> None:
    picture, truth = scene()
    image = b64(encode(picture))
    plain = finished(api, image=image, mode="box", box=[240, 110, 520, 330])["output"]
    grown = finished(api, image=image, mode="box", box=[240, 110, 520, 330], grow=12)["output"]
    assert grown["area"] > plain["area"]
    inverted = finished(api, image=image, mode="box", box=[240, 110, 520, 330], invert=True)
    assert inverted["output"]["area"] == pytest.approx(1 - plain["area"], abs=0.002)
    soft = picture_of(api, finished(api, image=image, mode="subject", feather=8)["output"]["mask"])
    assert len(np.unique(np.asarray(soft))) > 10  # a feathered edge has many levels
    back = finished(api, image=image, mode="background")["output"]
    assert iou(np.asarray(picture_of(api, back["mask"])), ~truth) > 0.9


PHOTO = b64(encode(scene()[0]))


@pytest.mark.parametrize(
    ("input", "param"),
    [
        ({"mode": "point", "points": [[700, 10]]}, "points"),
        ({"mode": "point", "points": [[10, 10]], "labels": [0]}, "labels"),
        ({"mode": "point"}, "points"),
        ({"mode": "box", "box": [400, 300, 100, 100]}, "box"),
        ({"mode": "box", "box": [0, 0, 641, 100]}, "box"),
        ({"mode": "box"}, "box"),
        ({"mode": "colour", "text": ""}, "text"),
        ({"mode": "colour", "text": "the mauve one"}, "text"),
        ({"mode": "text", "text": "the person"}, "text"),
        ({"mode": "lasso"}, "mode"),
        ({"mode": "subject", "grow": 9999}, "grow"),
        ({"mode": "subject", "feather": -2}, "feather"),
        ({"mode": "subject", "colour": "red"}, "colour"),
        ({}, "image"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(
    api: Api, input: dict[str, Any], param: str
) -> None:
    before = stored(api)
    answer = select(api, **({"image": PHOTO} | input if input else {}))
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["param"] == param
    assert stored(api) == before


@pytest.mark.parametrize(
    ("image", "status"),
    [(b64(png_bomb()), 422), (b64(b"not a picture at all, only words"), 422), ("", 400)],
)
def test_bad_pictures_are_refused(api: Api, image: str, status: int) -> None:
    before = stored(api)
    answer = select(api, image=image, mode="subject")
    assert answer.status_code in (400, 413, 422), answer.text
    assert answer.json()["error"]["param"] == "image"
    assert stored(api) == before


def test_masks_do_not_take_sessions_or_openai_calls(api: Api) -> None:
    answer = api.http.post(
        "/apps/run",
        json={"app": APP, "input": {"image": PHOTO, "mode": "subject"}, "session": "new"},
    )
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "session"
    refused = api.http.post("/v1/images/generations", json={"model": APP, "prompt": "x"})
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "model"
    models = [m["id"] for m in api.http.get("/v1/models").json()["data"]]
    assert APP not in models and "brushwork/studio" in models
    described = api.http.get(f"/apps/{APP}").json()
    assert described["input_schema"]["title"] == "MaskInput" and described["available"]
    assert set(described["output_schema"]["properties"]) >= {"mask", "alpha_mask", "box"}


def test_a_mask_from_the_app_drives_an_inpaint_with_kept_pixels_bit_identical(
    api: Api,
) -> None:
    picture = scene()[0].resize((1280, 960), Image.Resampling.NEAREST)  # a size edits keep
    upload = api.http.post("/files", files={"file": ("scene.png", encode(picture))}).json()
    selected = finished(api, image=upload["uri"], mode="box", box=[480, 220, 1040, 660])
    alpha_uri = selected["output"]["alpha_mask"]["uri"]
    edited = api.complete(
        {"prompt": "remove it", "images": [upload["uri"]], "mask": alpha_uri, "quality": "low"}
    )
    assert edited["status"] == 9, edited
    after = picture_of(api, edited["output"]["images"][0]).convert("RGB")
    edit = edit_map(picture_of(api, selected["output"]["alpha_mask"]))
    assert kept_equal(picture.convert("RGB"), after, edit)
    assert (edit > 0).mean() == pytest.approx(selected["output"]["area"], abs=0.002)


def test_deleting_a_masks_task_removes_its_files(api: Api) -> None:
    task = finished(api, image=PHOTO, mode="subject")
    uris = [task["output"][k]["uri"] for k in ("mask", "alpha_mask", "preview")]
    assert api.http.delete(f"/tasks/{task['id']}").status_code == 204
    for uri in uris:
        assert api.http.get(uri).status_code == 404


def test_the_infsh_root_signs_every_masks_file(api: Api) -> None:
    from fastapi.testclient import TestClient

    answer = api.http.post(
        "/infsh/apps/run", json={"app": APP, "input": {"image": PHOTO, "mode": "subject"}}
    )
    assert answer.status_code == 200, answer.text
    api.drain()
    task = api.http.get(f"/infsh/tasks/{answer.json()['data']['id']}").json()["data"]
    anonymous = TestClient(api.http.app)
    for key in ("mask", "alpha_mask", "preview"):
        assert anonymous.get(task["output"][key]["uri"]).status_code == 200
