"""The diffusers apps through the API: listing, refusals, and a real inpaint task whose
kept pixels come back bit-identical."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from brushwork.cli.serve import plan_slots
from brushwork.server import create_app
from brushwork.settings import Settings
from brushwork.tasks.worker import Worker
from tests.conftest import Api
from tests.helpers import encode, kept_equal, photo, rect_mask


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def api(tiny_models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    monkeypatch.setenv("BRUSHWORK_DIFFUSERS_MAX_EDGE", "64")  # tiny models, contract-sized output
    settings = Settings(data_dir=tmp_path / "data", workers=1)
    app = create_app(settings)
    key = app.state.services.store.create_key("test")
    with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as http:
        yield Api(http, Worker(settings), key, settings)


def test_apps_list_every_diffusers_app_with_modes_and_licence(api: Api) -> None:
    apps = {a["id"]: a for a in api.http.get("/apps").json()["data"]}
    for app_id in ("diffusers/qwen-image", "diffusers/flux-schnell", "diffusers/sdxl-inpaint"):
        assert apps[app_id]["available"], apps[app_id]["unavailable_reason"]
    detail = api.http.get("/apps/diffusers/qwen-image").json()
    assert detail["modes"] == ["generate", "inpaint"]
    assert detail["model"]["license"] == "Apache-2.0"
    assert detail["model"]["repo"] == "Qwen/Qwen-Image"
    klein = api.http.get("/apps/diffusers/flux2-klein").json()
    assert klein["modes"] == ["edit", "generate", "inpaint"]
    assert (klein["max_images"], klein["inpaint_images"]) == (4, 2)
    assert klein["model"] | {"weights": None} == {
        "name": "flux2-klein", "repo": "black-forest-labs/FLUX.2-klein-4B",
        "license": "Apache-2.0", "weights": None, "steps": {"low": 4, "medium": 4, "high": 8},
    }  # fmt: skip
    assert (
        api.http.get("/apps/diffusers/flux-kontext")
        .json()["model"]["license"]
        .startswith("FLUX.1 [dev] Non-Commercial")
    )


@pytest.mark.parametrize(
    ("app", "images", "mask", "param", "code"),
    [
        ("diffusers/flux-schnell", 1, False, "images", "unsupported_mode"),
        ("diffusers/qwen-image-edit", 0, False, "images", "unsupported_mode"),
        ("diffusers/flux-fill", 1, False, "images", "unsupported_mode"),
        ("diffusers/qwen-image-edit-plus", 1, True, "mask", "unsupported_mode"),
        ("diffusers/qwen-image-edit-plus", 4, False, "images", "invalid_value"),
        ("diffusers/flux-kontext", 2, False, "images", "invalid_value"),
        ("diffusers/flux-kontext", 3, True, "images", "invalid_value"),  # picture + 1 reference
        ("diffusers/flux2-klein", 5, False, "images", "invalid_value"),
        ("diffusers/flux2-klein", 3, True, "images", "invalid_value"),
    ],
)
def test_what_an_app_cannot_do_is_400_and_creates_nothing(
    api: Api, app: str, images: int, mask: bool, param: str, code: str
) -> None:
    body: dict[str, object] = {"prompt": "x", "images": [b64(encode(photo(1024, 640)))] * images}
    if mask:
        body["mask"] = b64(encode(rect_mask(1024, 640, (0, 0, 100, 100))))
    response = api.run(body, app)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["param"], error["code"]) == (param, code)
    assert api.http.get("/tasks").json()["data"] == []


def test_missing_weights_refuse_the_app_with_the_directory(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRUSHWORK_MODELS_DIR", str(tmp_path / "nothing"))
    response = api.http.post("/apps/run", json={"app": "diffusers/sdxl", "input": {"prompt": "x"}})
    # the registry caches engines per process: a fresh one sees the new directory
    assert response.status_code in (202, 400)
    fresh = create_app(Settings(data_dir=tmp_path / "other", dev=True))
    with TestClient(fresh) as http:
        refused = http.post("/apps/run", json={"app": "diffusers/sdxl", "input": {"prompt": "x"}})
        assert refused.status_code == 400
        error = refused.json()["error"]
        assert error["code"] == "app_unavailable"
        assert str(tmp_path / "nothing" / "sdxl") in error["message"]


def test_inpaint_task_keeps_pixels_bit_identical(api: Api) -> None:
    original = photo(1024, 640, seed=3)
    box = (200, 100, 600, 400)
    edit = np.zeros((640, 1024), np.float32)
    edit[100:400, 200:600] = 1
    task = api.complete(
        {
            "prompt": "a blue vase",
            "images": [b64(encode(original))],
            "mask": b64(encode(rect_mask(1024, 640, box))),
            "n": 2,
            "seed": 5,
            "quality": "low",
        },
        "diffusers/sdxl-inpaint",
    )
    assert task["status"] == 9, task["error"]
    meta = task["output"]["output_meta"]
    assert meta["model"] == "sdxl-inpaint" and meta["generated_size"] == "64x40"
    assert len(task["output"]["images"]) == 2
    for ref in task["output"]["images"]:
        result = Image.open(io.BytesIO(api.download(ref["uri"])))
        assert result.size == (1024, 640)
        assert kept_equal(original, result, edit)
    assert any("step 1/" in line for line in task["logs"].splitlines())


@pytest.mark.parametrize("app", ["diffusers/flux2-klein", "diffusers/flux-kontext"])
def test_inpaint_with_a_reference_keeps_pixels_bit_identical(api: Api, app: str) -> None:
    original, guide = photo(1024, 640, seed=4), photo(1024, 640, seed=9)
    edit = np.zeros((640, 1024), np.float32)
    edit[100:400, 200:600] = 1
    task = api.complete(
        {
            "prompt": "the vase from the second picture",
            "images": [b64(encode(original)), b64(encode(guide))],
            "mask": b64(encode(rect_mask(1024, 640, (200, 100, 600, 400)))),
            "seed": 2,
            "quality": "low",
        },
        app,
    )
    assert task["status"] == 9, task["error"]
    result = Image.open(io.BytesIO(api.download(task["output"]["images"][0]["uri"])))
    assert result.size == (1024, 640) and kept_equal(original, result, edit)


def test_generate_task_through_the_api(api: Api) -> None:
    task = api.complete(
        {"prompt": "a lighthouse", "width": 1024, "height": 640, "seed": 1},
        "diffusers/flux-schnell",
    )
    assert task["status"] == 9, task["error"]
    image = Image.open(io.BytesIO(api.download(task["output"]["images"][0]["uri"])))
    assert image.size == (1024, 640)


def test_each_device_gets_one_worker_for_the_large_models(
    tiny_models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tmp_path, workers=2)
    slots = plan_slots(settings, None)
    shared = [s for s in slots if s.name.startswith("worker-")]
    devices = [s for s in slots if s.name.startswith("device-")]
    assert len(shared) == 2 and "brushwork/studio" in shared[0].apps
    assert len(devices) == 1 and "diffusers/qwen-image" in devices[0].apps
    assert not any(a.startswith("diffusers/") for a in shared[0].apps)
    monkeypatch.setenv("BRUSHWORK_DIFFUSERS_DEVICE", "auto")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    monkeypatch.setattr("brushwork.engines.diffusion.loading._gpu_count", lambda: 2)
    settings = Settings(data_dir=tmp_path, workers=2)  # settings are read once, at start
    pinned = [s for s in plan_slots(settings, ["diffusers/sdxl"]) if s.name.startswith("device-")]
    assert [s.env for s in pinned] == [{"CUDA_VISIBLE_DEVICES": "0"}, {"CUDA_VISIBLE_DEVICES": "1"}]
