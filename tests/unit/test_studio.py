"""Studio v0: honours the prompt (text, colours, scene, style), exact sizes, seeded determinism."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from brushwork.engines.base import Request, TaskCancelled
from brushwork.engines.studio import StudioEngine, text
from brushwork.engines.studio.prompt import COLOURS, parse, quoted_strings
from tests.helpers import photo, rect_mask


def no_progress(
    fraction: float, message: str | None = None, preview: Image.Image | None = None
) -> None:
    return None


def render(
    prompt: str,
    width: int = 512,
    height: int = 512,
    n: int = 1,
    seed: int = 1,
    quality: str = "low",
    **kw,
) -> list[Image.Image]:
    engine = StudioEngine()
    engine.load()
    request = Request(
        mode=kw.pop("mode", "generate"),
        prompt=prompt,
        width=width,
        height=height,
        n=n,
        quality=quality,
        seed=seed,
        **kw,
    )
    return engine.run(request, no_progress, lambda: False)


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ('a sign that says "OPEN 24 HOURS"', ["OPEN 24 HOURS"]),
        ("“Grand Opening” and «Soldes»", ["Grand Opening", "Soldes"]),
        ("a banner reading 「新年快乐」", ["新年快乐"]),
        ("it's the cat's hat", []),
        ("the word 'Bonjour' on a wall", ["Bonjour"]),
        ('mixed "नमस्ते world" ', ["नमस्ते world"]),
    ],
)
def test_quoted_strings_are_taken_exactly(prompt: str, expected: list[str]) -> None:
    assert quoted_strings(prompt) == expected


def test_parse_reads_colour_scene_style_and_text_colour() -> None:
    parsed = parse('a red kite over the ocean at sunset, watercolor, "FLY" in gold letters')
    assert parsed.colours[0] == COLOURS["red"]
    assert parsed.scene == "sunset"
    assert "watercolour" in parsed.styles
    assert parsed.text_colour == COLOURS["gold"]
    assert parse('a poster "Blue Night"').colours == []  # quoted words are text, not wishes
    assert parse("a storefront in a city at night").scene == "storefront"  # a place (issue 18)
    assert parse("a storefront in a city at night").light == "night"
    assert parse("stars over the desert").scene == "night"


@pytest.mark.parametrize("size", [(512, 512), (1536, 512), (480, 1440), (3840, 2160)])
def test_every_image_has_exactly_the_requested_size(size: tuple[int, int]) -> None:
    (image,) = render('a poster "Size"', *size)
    assert image.size == size and image.mode == "RGB"


def test_same_seed_same_pixels_and_n_distinct_variations() -> None:
    first = render('a forest "Hello"', n=3, seed=42)
    again = render('a forest "Hello"', n=3, seed=42)
    assert all(
        np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(first, again, strict=True)
    )
    arrays = [np.asarray(im, dtype=np.int16) for im in first]
    for i in range(3):
        for j in range(i + 1, 3):
            assert np.abs(arrays[i] - arrays[j]).mean() > 2.0


def test_quoted_text_is_drawn() -> None:
    (with_text,) = render('a night sky "Hello"', seed=3)
    (without,) = render("a night sky", seed=3)
    diff = np.abs(np.asarray(with_text, dtype=np.int16) - np.asarray(without, dtype=np.int16))
    assert (diff.max(axis=2) > 60).mean() > 0.01


def test_prompt_colour_changes_the_picture() -> None:
    (red,) = render("a red abstract background", seed=5)
    (blue,) = render("a blue abstract background", seed=5)
    r = np.asarray(red, dtype=np.float32).mean(axis=(0, 1))
    b = np.asarray(blue, dtype=np.float32).mean(axis=(0, 1))
    assert r[0] > r[2] and b[2] > b[0]


@pytest.mark.parametrize(
    "style",
    [
        "pixel art",
        "neon",
        "vintage",
        "black and white",
        "watercolor",
        "pencil sketch",
        "oil painting",
        "flat illustration",
        "photograph",
    ],
)
def test_every_style_renders_at_low_tier(style: str) -> None:
    (plain,) = render("mountains", seed=9)
    (styled,) = render(f"mountains, {style}", seed=9)
    assert styled.size == plain.size
    assert np.abs(np.asarray(styled, np.int16) - np.asarray(plain, np.int16)).mean() > 3


@pytest.mark.parametrize("quality", ["low", "medium", "high"])
@pytest.mark.parametrize("style", ["oil painting style", "watercolour", "pixel art"])
def test_painterly_styles_change_the_picture_visibly_at_every_tier(
    style: str, quality: str
) -> None:
    """Issue 18: a style paints (mean |difference| ≥ 12/255 against the unstyled render), it
    does not tint. Strokes, washes and a pixel grid in a small palette, not a 3/255 blur."""
    prompt = "A cat wearing a tiny top hat"
    (plain,) = render(prompt, 1024, 1024, seed=5, quality=quality)
    (styled,) = render(f"{prompt}, {style}", 1024, 1024, seed=5, quality=quality)
    assert np.abs(np.asarray(styled, np.int16) - np.asarray(plain, np.int16)).mean() >= 12


@pytest.mark.parametrize(
    ("script_text", "font"),
    [
        ("नमस्ते", "Devanagari"),
        ("স্বাগতম", "Bengali"),
        ("مرحبا", "Arabic"),
        ("新年快乐", "CJK"),
        ("Ünïcødé", "NotoSans-"),
    ],
)
def test_scripts_get_a_font_that_covers_them(script_text: str, font: str) -> None:
    script = text.char_script(script_text[0])
    assert script is not None
    path = text.font_for(script)
    assert path is not None and path.exists() and font in path.name
    face = text.load_font(path, 48)
    notdef = face.getmask("\U0010fffd").getbbox()  # a code point no font draws
    for ch in script_text.replace(" ", ""):
        assert face.getmask(ch).getbbox() not in (None, notdef), ch


def test_inpaint_fills_only_the_mask_region_and_varies_by_seed() -> None:
    source = photo(256, 256, seed=2)
    edit = np.asarray(rect_mask(256, 256, (80, 80, 160, 160)), np.float32) / 255
    a, b = render("clean up", 256, 256, n=2, mode="inpaint", images=[source], mask=edit)
    assert a.size == (256, 256)
    assert not np.array_equal(np.asarray(a)[90:150, 90:150], np.asarray(b)[90:150, 90:150])


def test_reference_edit_uses_the_reference() -> None:
    ref = photo(400, 300, seed=4)
    (out,) = render('make it blue "SALE"', 512, 512, mode="edit", images=[ref])
    assert out.size == (512, 512)


def test_progress_can_stop_the_engine() -> None:
    def cancelling(
        fraction: float, message: str | None = None, preview: Image.Image | None = None
    ) -> None:
        raise TaskCancelled

    engine = StudioEngine()
    request = Request(
        mode="generate", prompt="x", width=512, height=512, n=3, quality="low", seed=1
    )
    with pytest.raises(TaskCancelled):
        engine.run(request, cancelling, lambda: True)


def test_missing_fonts_are_named(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(text, "FONT_DIRS", ())
    monkeypatch.setenv("BRUSHWORK_FONTS_DIR", str(tmp_path))
    text.find_font.cache_clear()
    try:
        reason = StudioEngine().unavailable_reason()
        assert reason is not None and "fonts-noto-core" in reason
        with pytest.raises(RuntimeError, match="fonts-noto-core"):
            StudioEngine().load()
    finally:
        text.find_font.cache_clear()


def test_missing_raqm_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text.features, "check", lambda name: False)
    reason = text.missing_requirements()
    assert reason is not None and "libfribidi0" in reason


MIXED = ["Hello नमस्ते 你好 مرحبا", "চা ☕ Tea শপ", "Sale 50% — 春节快乐!", "مرحبا Hello 🎉"]


@pytest.mark.parametrize("line", MIXED)
def test_mixed_scripts_take_each_run_in_a_font_that_covers_it(line: str) -> None:
    layout = text.fit_text(line, 2000, 200)
    for piece, script in text.runs(line):
        if script == text.EMOJI:
            continue
        face = layout.fonts[script]
        notdef = face.getmask("\U0010fffd").getbbox()
        for ch in piece.replace(" ", ""):
            if text.char_script(ch) is not None:
                assert face.getmask(ch).getbbox() not in (None, notdef), (line, ch)


@pytest.mark.parametrize("size", [(512, 512), (1536, 640), (640, 1536)])
@pytest.mark.parametrize(
    "prompt",
    [
        'a poster that says "An extraordinarily long headline that must wrap onto lines"',
        'a storefront sign reading "OPEN 24 HOURS 7 DAYS A WEEK"',
        'a book cover for "नमस्ते दुनिया" by "মারা কুইন"',
        'a social post that says "春节快乐 Happy New Year 🎉"',
    ],
)
def test_text_is_never_clipped(prompt: str, size: tuple[int, int]) -> None:
    """The exact text lands inside the picture: nothing of it is cut at an edge."""
    from brushwork.engines.studio.compositions import frame
    from brushwork.engines.studio.prompt import parse
    from brushwork.engines.studio.subjects import composition

    parsed = parse(prompt)
    boxes: list[tuple[int, int, int, int]] = []
    original = text.draw_layout

    def spy(*args, **kwargs):
        box = original(*args, **kwargs)
        boxes.append(box)
        return box

    import brushwork.engines.studio.compositions as comp_module
    import brushwork.engines.studio.lettering as lettering_module

    with pytest.MonkeyPatch.context() as m:
        m.setattr(text, "draw_layout", spy)
        m.setattr(comp_module.typo, "draw_layout", spy)
        m.setattr(lettering_module.typo, "draw_layout", spy)
        (image,) = render(prompt, width=size[0], height=size[1])
    assert frame(composition(prompt), parsed) is not None
    assert boxes, "no text was drawn"
    for x0, y0, x1, y1 in boxes:
        assert x0 >= 0 and y0 >= 0 and x1 <= size[0] and y1 <= size[1], (
            prompt,
            size,
            (x0, y0, x1, y1),
        )
