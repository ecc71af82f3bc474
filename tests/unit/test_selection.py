"""One-click selections (SPEC §10) and the expanded canvas, on generated pictures whose truth
is known: every mode finds the object, every bad argument is a 400 naming its field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from brushwork.errors import InvalidInput
from brushwork.imaging import selection
from brushwork.imaging.canvas import expand_canvas, plan
from brushwork.imaging.masks import edit_map
from tests.helpers import photo


def scene(colour: tuple[int, int, int] = (200, 30, 35)) -> tuple[Image.Image, np.ndarray]:
    """A textured backdrop with a coloured, shaded disc-like object: (picture, truth)."""
    back = np.asarray(photo(640, 480, seed=4)).astype(np.float32) * 0.5 + 60
    yy, xx = np.mgrid[0:480, 0:640]
    truth = ((xx - 380) / 120.0) ** 2 + ((yy - 220) / 90.0) ** 2 < 1
    shade = 0.75 + 0.25 * np.cos((xx - 380) / 90.0)[..., None]
    picture = np.where(truth[..., None], np.array(colour) * shade, back)
    return Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8)), truth


def iou(mask: np.ndarray, truth: np.ndarray) -> float:
    found = mask > 127
    return float((found & truth).sum() / (found | truth).sum())


@pytest.mark.parametrize(
    ("mode", "options"),
    [
        ("subject", {}),
        ("box", {"box": [240, 110, 520, 330]}),
        ("point", {"points": [[380, 220]], "labels": [1]}),
        ("point", {"points": [[380, 220], [60, 60]], "labels": [1, 0]}),
        ("colour", {"text": "the red object"}),
    ],
)
def test_each_mode_finds_the_object(mode: str, options: dict[str, object]) -> None:
    picture, truth = scene()
    mask = selection.select(picture, mode, **options)  # type: ignore[arg-type]
    assert mask.dtype == np.uint8 and mask.shape == truth.shape
    assert set(np.unique(mask)) <= {0, 255}
    assert iou(mask, truth) > 0.9, mode


def test_the_same_picture_gives_the_same_mask_whatever_ran_before() -> None:
    """GrabCut starts from k-means on OpenCV's RNG: without a fixed seed, a mask depended on
    what the process had cut before it."""
    picture = photo(320, 240, seed=9)
    first = selection.select(picture, "subject")
    selection.select(picture, "box", box=[20, 20, 200, 180])
    selection.select(photo(200, 200, seed=3), "subject")
    assert np.array_equal(selection.select(picture, "subject"), first)


def test_the_subject_is_what_is_in_focus_when_the_backdrop_is_not() -> None:
    """A shallow depth of field: the same colours inside and out, only the sharpness differs.
    Without the focus cue the cut found nothing of it (IoU 0.0)."""
    sharp = np.asarray(photo(640, 480, seed=4)).astype(np.float32)
    soft = cv2.GaussianBlur(sharp, (0, 0), 6)
    yy, xx = np.mgrid[0:480, 0:640]
    truth = ((xx - 420) / 110.0) ** 2 + ((yy - 200) / 80.0) ** 2 < 1
    picture = Image.fromarray(np.where(truth[..., None], sharp, soft).astype(np.uint8))
    assert iou(selection.select(picture, "subject"), truth) > 0.75


def test_a_click_does_not_leak_into_a_soft_backdrop_of_its_colour() -> None:
    """A sharp, grainy object beside an out-of-focus ball of the same colour (a shallow depth
    of field): the click's cut took the ball too (IoU 0.49, twice the object's area) until
    the parts out of focus with a soft outline were dropped."""
    yy, xx = np.mgrid[0:480, 0:640]
    colour = np.array((150, 80, 40), np.float32)
    back = np.asarray(photo(640, 480, seed=7)).astype(np.float32) * 0.4 + 90
    ball = ((xx - 470) / 90.0) ** 2 + ((yy - 240) / 90.0) ** 2 < 1
    shade = (0.8 + 0.2 * np.cos((yy - 240) / 60.0))[..., None]
    back = cv2.GaussianBlur(np.where(ball[..., None], colour * shade, back), (0, 0), 8)
    truth = ((xx - 330) / 90.0) ** 2 + ((yy - 240) / 80.0) ** 2 < 1
    noise = np.random.default_rng(1).uniform(0, 1, (480, 640)).astype(np.float32)
    grain = cv2.GaussianBlur(noise, (0, 0), 1.2)
    grain = (grain - grain.mean()) / grain.std()
    picture = np.where(truth[..., None], colour * (1 + 0.12 * grain[..., None]), back)
    image = Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8))
    mask = selection.select(image, "point", points=[[330, 240]], labels=[1])
    assert iou(mask, truth) > 0.9


def test_a_subject_on_a_soft_backdrop_ends_on_its_own_edge() -> None:
    """The cat's face pasted, with a soft shadow, onto the coffee photo thrown out of focus:
    the focus cue bounds the cut but is blurred to span the object, so the cut kept a rim of
    the backdrop and the shadow (IoU 0.73, 1.37 times the area) until it was cut once more
    within that rim, ending on the face's crisp edge."""
    size = (640, 480)
    back = cv2.GaussianBlur(cv2.resize(data.coffee(), size).astype(np.float32), (0, 0), 6)
    face = cv2.resize(data.chelsea(), size).astype(np.float32)
    yy, xx = np.mgrid[0:480, 0:640]
    truth = ((xx - 330) / 130.0) ** 2 + ((yy - 250) / 100.0) ** 2 < 1
    shadow = np.roll(cv2.GaussianBlur(truth.astype(np.float32), (0, 0), 9), (12, 16), (0, 1))
    picture = np.where(truth[..., None], face, back * (1 - 0.45 * shadow[..., None]))
    image = Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8))
    assert iou(selection.select(image, "subject"), truth) > 0.9


def test_background_is_the_rest() -> None:
    picture, truth = scene()
    assert iou(selection.select(picture, "background"), ~truth) > 0.9


def test_colour_words_pick_their_colour_only() -> None:
    picture, truth = scene((35, 70, 200))
    assert iou(selection.select(picture, "colour", text="blue"), truth) > 0.9
    assert (selection.select(picture, "colour", text="the yellow one") > 127).mean() < 0.02


@pytest.mark.parametrize(
    ("mode", "options", "param"),
    [
        ("lasso", {}, "mode"),
        ("box", {}, "box"),
        ("box", {"box": [300, 300, 100, 100]}, "box"),  # inverted
        ("box", {"box": [0, 0, 700, 100]}, "box"),  # outside
        ("box", {"box": [0, 0, 10]}, "box"),
        ("point", {}, "points"),
        ("point", {"points": [[640, 10]]}, "points"),  # x == width is outside
        ("point", {"points": [[-1, 10]]}, "points"),
        ("point", {"points": [[10, 10]], "labels": [2]}, "labels"),
        ("point", {"points": [[10, 10]], "labels": [0]}, "labels"),  # nothing to include
        ("point", {"points": [[10, 10]], "labels": [1, 1]}, "labels"),
        ("colour", {}, "text"),
        ("colour", {"text": "  "}, "text"),
        ("colour", {"text": "the mauve-ish one"}, "text"),
        ("text", {"text": "the person"}, "text"),
    ],
)
def test_bad_arguments_are_400s_naming_the_field(
    mode: str, options: dict[str, object], param: str
) -> None:
    picture, _ = scene()
    with pytest.raises(InvalidInput) as refused:
        selection.select(picture, mode, **options)  # type: ignore[arg-type]
    assert refused.value.param == param and refused.value.http_status == 400


def test_words_without_a_model_name_the_gpu_engine() -> None:
    with pytest.raises(InvalidInput) as refused:
        selection.select(scene()[0], "text", text="the person")
    assert refused.value.code == "unsupported_text" and "GPU" in refused.value.message


def test_adjust_grows_inverts_and_feathers() -> None:
    mask = np.zeros((100, 100), np.uint8)
    mask[40:60, 40:60] = 255
    grown = selection.adjust(mask, grow=5)
    assert (grown > 127).sum() > (mask > 127).sum() and grown[37, 50] == 255
    assert (selection.adjust(mask, grow=-5) > 127).sum() < (mask > 127).sum()
    assert (selection.adjust(mask, invert=True) == 255 - mask).all()
    soft = selection.adjust(mask, feather=6)
    assert 0 < soft[40, 50] < 255 and soft[50, 50] == 255 and soft[0, 0] == 0
    for bad in ({"grow": 1000}, {"feather": -1}, {"grow": 1.5}):
        with pytest.raises(InvalidInput) as refused:
            selection.adjust(mask, **bad)  # type: ignore[arg-type]
        assert refused.value.param == next(iter(bad))


def test_the_alpha_mask_is_openais_convention_exactly() -> None:
    mask = np.zeros((8, 8), np.uint8)
    mask[2:5, 2:5] = 255
    alpha = selection.alpha_mask(mask)
    assert alpha.mode == "RGBA"
    assert (np.asarray(alpha)[..., 3] == 255 - mask).all()
    # and the contract reads it back as the same selection: 1.0 = edit
    assert (edit_map(alpha) == mask / 255).all()
    assert selection.extent(mask) == ([2, 2, 5, 5], round(9 / 64, 4))
    assert selection.extent(np.zeros((4, 4), np.uint8)) == (None, 0.0)


def test_expand_keeps_the_original_pixels_exactly() -> None:
    source = photo(700, 500, seed=2)
    canvas, mask = expand_canvas(source, 100, 20, 60, 0)
    borders, note = plan(700, 500, 100, 20, 60, 0)
    assert canvas.size == mask.size == borders.size_around(700, 500)
    assert canvas.width % 16 == 0 and canvas.height % 16 == 0
    assert borders.left >= 100 and borders.top >= 20 and borders.right >= 60
    assert note is not None and "grew" in note
    kept = np.asarray(canvas)[borders.top : borders.top + 500, borders.left : borders.left + 700]
    assert (kept == np.asarray(source)).all()
    m = np.asarray(mask)
    assert (m[borders.top : borders.top + 500, borders.left : borders.left + 700] == 0).all()
    assert (m == 255).sum() == canvas.width * canvas.height - 700 * 500


def test_expand_refuses_what_no_size_allows() -> None:
    for borders, param in (((0, 0, 0, 0), "expand"), ((-1, 0, 0, 0), "expand"),
                           ((4000, 0, 0, 0), "expand")):  # fmt: skip
        with pytest.raises(InvalidInput) as refused:
            plan(1024, 1024, *borders)
        assert refused.value.param == param


def test_the_cli_makes_masks_offline(tmp_path: Path) -> None:
    picture, truth = scene()
    source = tmp_path / "scene.png"
    picture.save(source)

    def mask(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "brushwork.cli", "mask", str(source), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    done = mask("--point", "380,220", "-o", str(tmp_path / "m.png"))
    assert done.returncode == 0, done.stderr
    assert iou(np.asarray(Image.open(tmp_path / "m.png")), truth) > 0.9
    done = mask("--box", "240,110,520,330", "--alpha", "-o", str(tmp_path / "a.png"), "--json")
    assert done.returncode == 0 and '"area"' in done.stdout
    alpha = Image.open(tmp_path / "a.png")
    assert alpha.mode == "RGBA" and iou(255 - np.asarray(alpha)[..., 3], truth) > 0.9
    bad = mask("--box", "300,300,100,100")
    assert bad.returncode != 0 and "param: box" in bad.stdout + bad.stderr
    both = mask("--subject", "--background")
    assert both.returncode != 0


def test_the_sky_and_the_ground_by_words_on_the_cpu() -> None:
    yy, xx = np.mgrid[0:480, 0:640]
    horizon = 200 + (20 * np.sin(xx / 90.0)).astype(int)
    sky = yy < horizon
    rng = np.random.default_rng(1)
    ground = np.stack([90 + 40 * rng.random((480, 640)), 120 + 50 * rng.random((480, 640)),
                       60 + 30 * rng.random((480, 640))], -1)  # fmt: skip
    blue = np.stack([120 + 0 * xx, 170 + 0 * xx, 235 - yy * 0.1], -1)
    picture = Image.fromarray(np.where(sky[..., None], blue, ground).astype(np.uint8))
    assert iou(selection.select(picture, "text", text="the sky"), sky) > 0.9
    assert iou(selection.select(picture, "text", text="select the grass"), ~sky) > 0.9
