"""The masks app's SAM 2 path on a tiny random-weight SAM 2 saved to a models directory, on
the CPU, offline: clicks and boxes go to it, the other modes stay classical, and without its
weights everything stays classical. Random weights: the plumbing is tested, not the masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from brushwork.contract import MaskInput
from brushwork.engines.masks import MaskEngine
from brushwork.server import create_app
from brushwork.settings import DiffusersSettings, Settings
from brushwork.tasks.worker import Worker
from tests.helpers import encode, photo


@pytest.fixture(scope="module")
def sam2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.diffusers.synthetic import tiny_sam2

    root = tmp_path_factory.mktemp("models")
    tiny_sam2().save_pretrained(str(root / "sam2"))
    return root


@pytest.fixture(scope="module")
def both_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.diffusers.synthetic import tiny_owlv2, tiny_sam2

    root = tmp_path_factory.mktemp("models")
    tiny_sam2().save_pretrained(str(root / "sam2"))
    model, tokenizer = tiny_owlv2()
    model.save_pretrained(str(root / "owlv2"))
    tokenizer.save_pretrained(str(root / "owlv2"))
    return root


def engine(models_dir: Path) -> MaskEngine:
    return MaskEngine(DiffusersSettings(models_dir=models_dir, device="cpu"))


@pytest.mark.parametrize(
    "input",
    [
        {"mode": "point", "points": [[300, 200], [20, 20]], "labels": [1, 0]},
        {"mode": "box", "box": [100, 80, 500, 330]},
    ],
)
def test_clicks_and_boxes_go_to_sam2(sam2_dir: Path, input: dict[str, object]) -> None:
    picture = photo(640, 480, seed=2)
    mask, made_by = engine(sam2_dir).select(picture, MaskInput(image="x", **input))
    assert made_by == "sam2"
    assert mask.shape == (480, 640) and mask.dtype == np.uint8
    assert set(np.unique(mask)) <= {0, 255}


def test_the_other_modes_and_no_weights_stay_classical(sam2_dir: Path, tmp_path: Path) -> None:
    picture = photo(640, 480, seed=2)
    _, made_by = engine(sam2_dir).select(picture, MaskInput(image="x", mode="subject"))
    assert made_by == "masks-cpu"
    point = MaskInput(image="x", mode="point", points=[[300, 200]])
    assert engine(tmp_path).select(picture, point)[1] == "masks-cpu"
    assert engine(sam2_dir).details()["sam2"] == str(sam2_dir / "sam2")


def test_a_masks_task_says_sam2_made_it(sam2_dir: Path, tmp_path: Path) -> None:
    import base64

    settings = Settings(
        data_dir=tmp_path, diffusers=DiffusersSettings(models_dir=sam2_dir, device="cpu")
    )
    app = create_app(settings)
    key = app.state.services.store.create_key("sam")
    with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as http:
        image = base64.b64encode(encode(photo(640, 480))).decode()
        task = http.post(
            "/apps/run",
            json={"app": "brushwork/masks",
                  "input": {"image": image, "mode": "box", "box": [10, 10, 300, 300]}},
        ).json()  # fmt: skip
        worker = Worker(settings)
        while (task_id := worker.queue.try_take()) is not None:
            worker.run_task(task_id)
        done = http.get(f"/tasks/{task['id']}").json()
    assert done["status"] == 9, done
    assert done["output"]["output_meta"]["engine"] == "sam2"
    # a bad box is refused before SAM 2 is asked, as on the CPU
    with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as http:
        bad = http.post(
            "/apps/run",
            json={"app": "brushwork/masks",
                  "input": {"image": image, "mode": "box", "box": [300, 300, 10, 10]}},
        )  # fmt: skip
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "box"


def test_words_go_to_owlv2_then_sam2_where_both_are(both_dir: Path, sam2_dir: Path) -> None:
    picture = photo(640, 480, seed=2)
    words = MaskInput(image="x", mode="text", text="the person")
    mask, made_by = engine(both_dir).select(picture, words)
    assert made_by == "owlv2+sam2" and mask.shape == (480, 640)
    assert "text" in engine(both_dir).details()["selection_modes"]
    assert engine(both_dir).understands_text() and not engine(sam2_dir).understands_text()
    from brushwork.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused:  # SAM 2 alone cannot read words
        engine(sam2_dir).select(picture, words)
    assert refused.value.code == "unsupported_text"


@pytest.mark.parametrize(("where", "status"), [("both_dir", 202), ("sam2_dir", 400)])
def test_the_api_takes_words_only_where_they_can_be_read(
    where: str, status: int, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    import base64

    models = request.getfixturevalue(where)
    settings = Settings(data_dir=tmp_path, diffusers=DiffusersSettings(models_dir=models))
    app = create_app(settings)
    key = app.state.services.store.create_key("words")
    image = base64.b64encode(encode(photo(640, 480))).decode()
    with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as http:
        answer = http.post(
            "/apps/run",
            json={"app": "brushwork/masks",
                  "input": {"image": image, "mode": "text", "text": "the person"}},
        )  # fmt: skip
    assert answer.status_code == status, answer.text
