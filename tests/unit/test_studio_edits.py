"""The studio's edits on real photos: every inpainting intent keeps the kept pixels through
ten successive edits, the odd masks behave, and reference edits stage or restyle."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from skimage import data

from brushwork.engines.base import Request
from brushwork.engines.studio import StudioEngine
from brushwork.engines.studio.inpaint import intent
from brushwork.engines.studio.prompt import parse
from brushwork.imaging import codecs
from brushwork.imaging.cluster import kmeans
from brushwork.imaging.composite import keep_composite


def coffee() -> Image.Image:
    return Image.fromarray(data.coffee()).resize((320, 208))


def run(mode: str, prompt: str, images, mask=None, n=1, seed=1, quality="low", size=None):
    w, h = size or images[0].size
    request = Request(
        mode=mode, prompt=prompt, width=w, height=h, n=n, quality=quality, seed=seed,
        images=images, mask=mask,
    )  # fmt: skip
    notes: list[str] = []
    out = StudioEngine().run(
        request, lambda f, m=None, p=None: notes.append(m or ""), lambda: False
    )
    return out, request, notes


INTENTS = [
    ("remove the cup", "remove"),
    ('a sign that says "OPEN"', "text"),
    ("a red apple", "subject"),
    ("make it blue", "recolour"),
    ("wooden", "recolour"),
]


@pytest.mark.parametrize(("prompt", "expected"), INTENTS)
def test_the_prompt_decides_the_intent(prompt: str, expected: str) -> None:
    assert intent(prompt, parse(prompt)) == expected


@pytest.mark.parametrize(("prompt", "expected"), INTENTS)
def test_ten_successive_edits_keep_the_kept_pixels_bit_identical(
    prompt: str, expected: str
) -> None:
    original = coffee()
    w, h = original.size
    edit = np.zeros((h, w), np.float32)
    edit[50:150, 100:220] = 1.0
    edit[48:50, 100:220] = 0.5  # a soft edge blends
    current = original
    for i in range(10):
        (out,), _, _ = run("inpaint", prompt, [current], edit, seed=i)
        composed = keep_composite(current, out, edit)
        current = Image.open(io.BytesIO(codecs.encode(composed, "png")))
        kept = edit == 0
        assert np.array_equal(np.asarray(current)[kept], np.asarray(original)[kept]), (prompt, i)
    inside = np.asarray(current)[edit == 1].astype(int)
    assert np.abs(inside - np.asarray(original)[edit == 1].astype(int)).mean() > 3


def test_n_gives_different_fills() -> None:
    edit = np.zeros((208, 320), np.float32)
    edit[40:160, 80:240] = 1
    images, _, _ = run("inpaint", "remove it", [coffee()], edit, n=2)
    assert images[0].tobytes() != images[1].tobytes()


def test_a_mask_that_keeps_everything_returns_the_image_with_a_note() -> None:
    photo = coffee()
    (out,), request, notes = run("inpaint", "a dog", [photo], np.zeros((208, 320), np.float32))
    assert out.tobytes() == photo.tobytes()
    assert any("unchanged" in n for n in notes) and "unchanged" in request.meta["note"]


def test_a_mask_that_edits_everything_paints_in_the_photos_colours() -> None:
    photo = coffee()
    (out,), _, _ = run("inpaint", "a sailboat", [photo], np.ones((208, 320), np.float32))
    assert out.size == photo.size and out.tobytes() != photo.tobytes()


@pytest.mark.parametrize("size", [(16, 16), (30, 20), (960, 320), (320, 960)])
def test_tiny_images_and_panoramas_work(size: tuple[int, int]) -> None:
    photo = Image.fromarray(data.astronaut()).resize(size)
    edit = np.zeros((size[1], size[0]), np.float32)
    edit[size[1] // 4 : size[1] // 2, size[0] // 4 : size[0] // 2] = 1
    for prompt in ("remove it", '"HI"', "a star", "make it red"):
        (out,), _, _ = run("inpaint", prompt, [photo], edit)
        assert out.size == size


def test_reference_subject_is_staged_in_a_new_scene() -> None:
    photo = coffee()
    (out,), _, _ = run(
        "edit", "on a marble countertop with morning light", [photo], size=(512, 512)
    )
    pixels = np.asarray(out, np.float32)
    assert out.size == (512, 512)
    floor = pixels[-60:, :40].reshape(-1, 3)  # beside the subject: the countertop
    assert floor.mean() > 100 and np.abs(floor.mean(0) - floor.mean()).max() < 20  # pale marble
    assert (
        np.abs(pixels[:100].mean(axis=(0, 1)) - pixels[200:300, 200:300].mean(axis=(0, 1))).max()
        > 10
    )


def test_restyle_keeps_the_reference_and_changes_its_look() -> None:
    photo = Image.fromarray(data.chelsea()).resize((300, 200))
    (out,), _, _ = run("edit", "as a watercolour", [photo])
    diff = np.abs(np.asarray(out, np.float32) - np.asarray(photo, np.float32)).mean()
    assert 3 < diff < 60  # restyled, still the same picture


def test_further_references_lend_their_palette() -> None:
    photo, blue = coffee(), Image.new("RGB", (64, 64), (30, 60, 200))
    (plain,), _, _ = run("edit", "in a studio", [photo], size=(256, 256))
    (styled,), _, _ = run("edit", "in a studio", [photo, blue], size=(256, 256))
    assert (
        np.asarray(styled, np.float32)[:, :, 2].mean()
        > np.asarray(plain, np.float32)[:, :, 2].mean() + 10
    )


def _foreign(image: np.ndarray, hole: np.ndarray) -> float:
    """The share of the hole unlike every colour of the ring around it (as bench/
    inpaint_quality.py measures a clone of a neighbouring object)."""
    import cv2

    lab = cv2.cvtColor(cv2.GaussianBlur(image, (0, 0), 2), cv2.COLOR_RGB2LAB).astype(np.float32)
    ring = (cv2.dilate(hole.astype(np.uint8), np.ones((39, 39), np.uint8)) > 0) & ~hole
    cv2.setRNGSeed(0)
    _, centres = kmeans(lab[ring], 8, iterations=20, eps=0.5, attempts=3)
    nearest = np.min(np.linalg.norm(lab[hole][:, None] - centres[None], axis=2), axis=1)
    return float((nearest > 20).mean())


@pytest.mark.parametrize(
    ("photo", "centre", "axes"),
    [("china.jpg", (448, 273), (140, 72)), ("flower.jpg", (435, 222), (57, 85))],
    ids=["lake-beside-the-pagoda", "edge-of-the-flower"],
)
def test_removal_beside_an_object_does_not_clone_it(photo, centre, axes) -> None:
    """A hole in the lake beside the pagoda was filled with a second pagoda roof, a hole at
    the flower's edge with the dark leaves behind it: the fill is no more foreign to the
    hole's surroundings than the truth is (issue 18)."""
    import cv2
    from sklearn.datasets import load_sample_image

    image = np.ascontiguousarray(load_sample_image(photo))
    hole = np.zeros(image.shape[:2], np.uint8)
    cv2.ellipse(hole, centre, axes, 0, 0, 360, 1, -1)
    edit = hole.astype(np.float32)
    (out,), _, _ = run("inpaint", "remove it", [Image.fromarray(image)], edit, quality="medium")
    result = np.asarray(keep_composite(Image.fromarray(image), out, edit))
    truth = _foreign(image, hole > 0)
    assert _foreign(result, hole > 0) <= truth + 0.03, truth
