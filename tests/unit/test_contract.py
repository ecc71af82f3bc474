"""SPEC §1, §3 and §5 rules as code: both sides of every boundary, exact messages."""

from __future__ import annotations

import math

import pytest

from brushwork.contract import (
    TaskStatus,
    check_size,
    fit_size,
    image_output_tokens,
    is_valid_size,
    output_meta,
    parse_input,
    parse_size,
)
from brushwork.errors import InvalidInput

OK = {"prompt": "a red fox"}

# (field overrides, param that must be named, words the message must contain) — or None when valid.
CASES = [
    # 256 passes the edge rule (the error is about area, not range); 240 does not.
    ({"width": 256, "height": 768}, "width", "got 256x768 = 196,608"),
    ({"width": 240, "height": 720}, "width", "between 256 and 3840, got 240"),
    ({"width": 3840, "height": 2160}, None, None),
    ({"width": 3856, "height": 2160}, "width", "between 256 and 3840, got 3856"),
    ({"height": 3856, "width": 2160}, "height", "between 256 and 3840, got 3856"),
    ({"width": 1008}, None, None),
    ({"width": 1000}, "width", "multiple of 16, got 1000"),
    ({"height": 1000}, "height", "multiple of 16, got 1000"),
    ({"width": 3072, "height": 1024}, None, None),
    ({"width": 3088, "height": 1024}, "width", "ratio must be at most 3"),
    ({"width": 1024, "height": 3088}, "height", "ratio must be at most 3"),
    ({"width": 1024, "height": 640}, None, None),
    ({"width": 1008, "height": 640}, "width", "655,360 and 8,294,400"),
    ({"width": 3840, "height": 2176}, "width", "got 3840x2176 = 8,355,840"),
    ({"prompt": "a"}, None, None),
    ({"prompt": ""}, "prompt", "must not be empty"),
    ({"prompt": "  \n\t "}, "prompt", "must not be empty"),
    ({"prompt": "x" * 32000}, None, None),
    ({"prompt": "  " + "x" * 32000 + "  "}, None, None),
    ({"prompt": "x" * 32001}, "prompt", "at most 32000 characters, got 32001"),
    ({"prompt": "tab\tand\nnew line\r\n"}, None, None),
    ({"prompt": "bell\x07"}, "prompt", "control character U+0007 at position 4"),
    ({"prompt": "nul\x00x"}, "prompt", "U+0000"),
    ({"prompt": "c1\x85x"}, "prompt", "U+0085"),
    ({"n": 1}, None, None),
    ({"n": 10}, None, None),
    ({"n": 0}, "n", "between 1 and 10, got 0"),
    ({"n": 11}, "n", "between 1 and 10, got 11"),
    ({"quality": "high"}, None, None),
    ({"quality": "ultra"}, "quality", "must be one of"),
    ({"output_format": "webp"}, None, None),
    ({"output_format": "gif"}, "output_format", "must be one of"),
    ({"output_compression": 0}, None, None),
    ({"output_compression": 100}, None, None),
    ({"output_compression": -1}, "output_compression", "between 0 and 100, got -1"),
    ({"output_compression": 101}, "output_compression", "between 0 and 100, got 101"),
    ({"moderation": "low"}, None, None),
    ({"moderation": "off"}, "moderation", "must be one of"),
    ({"seed": 0}, None, None),
    ({"seed": -1}, "seed", "seed"),
    ({"images": ["x"] * 16}, None, None),
    ({"images": ["x"] * 17}, "images", "at most 16 files, got 17"),
    ({"mask": "abc"}, "mask", "requires at least one image"),
    ({"colour": "red"}, "colour", "unknown field"),
    ({"width": "wide"}, "width", "width"),
]


@pytest.mark.parametrize(("fields", "param", "words"), CASES)
def test_every_rule_on_both_sides(fields, param, words) -> None:
    raw = {**OK, **fields}
    if param is None:
        parse_input(raw)
        return
    with pytest.raises(InvalidInput) as info:
        parse_input(raw)
    assert info.value.param == param
    assert words in info.value.message
    assert info.value.http_status == 400


def test_missing_prompt_is_named() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_input({})
    assert (info.value.param, info.value.message) == ("prompt", "prompt is required")


def test_input_must_be_an_object() -> None:
    with pytest.raises(InvalidInput):
        parse_input(["prompt"])


def test_defaults_and_modes() -> None:
    inp = parse_input(OK)
    assert (inp.width, inp.height, inp.n, inp.quality, inp.output_format) == (
        None,
        None,
        1,
        "auto",
        "png",
    )
    assert inp.resolve_size(None) == ((1024, 1024), "")
    assert inp.resolved_quality == "medium"
    assert inp.mode == "generate"
    assert parse_input({**OK, "images": ["a"]}).mode == "edit"
    assert parse_input({**OK, "images": ["a"], "mask": "m"}).mode == "inpaint"


def test_edit_size_comes_from_first_image_or_its_nearest_valid_size() -> None:
    inp = parse_input({**OK, "images": ["a"]})
    assert inp.resolve_size((1536, 1024)) == (
        (1536, 1024),
        "output size 1536x1024 taken from the first image",
    )
    size, note = inp.resolve_size((1000, 700))
    assert is_valid_size(*size) and "nearest valid size" in note
    explicit = parse_input({**OK, "images": ["a"], "width": 512, "height": 1536})
    assert explicit.resolve_size((1000, 700)) == ((512, 1536), "")


def test_an_edit_with_an_invalid_explicit_size_is_refused() -> None:
    with pytest.raises(InvalidInput):
        parse_input({**OK, "images": ["a"], "width": 4096, "height": 1024})


@pytest.mark.parametrize(
    ("w", "h"),
    [
        (1000, 1000),
        (100, 100),
        (5000, 5000),
        (10000, 1000),
        (1023, 767),
        (4000, 3000),
        (1, 1),
        (300, 2000),
    ],
)
def test_fit_size_returns_a_valid_size_near_the_request(w: int, h: int) -> None:
    fw, fh = fit_size(w, h)
    assert is_valid_size(fw, fh)
    wanted = min(max(w / h, 1 / 3), 3)
    assert abs(math.log(fw / fh) - math.log(wanted)) < 0.08


def test_fit_size_keeps_valid_sizes() -> None:
    assert fit_size(1536, 1024) == (1536, 1024)
    assert fit_size(1000, 1000) in {(992, 992), (1008, 1008)}
    with pytest.raises(InvalidInput):
        fit_size(0, 100)


def test_check_size_never_rounds() -> None:
    with pytest.raises(InvalidInput, match="multiple of 16, got 1025"):
        check_size(1025, 1024)


def test_parse_size() -> None:
    assert parse_size("1536x1024") == (1536, 1024)
    assert parse_size(" 512 X 768 ") == (512, 768)
    with pytest.raises(InvalidInput) as info:
        parse_size("big")
    assert info.value.param == "size"


@pytest.mark.parametrize(
    ("w", "h", "quality", "tokens"),
    [
        (1024, 1024, "high", 7024),
        (1024, 1024, "medium", math.ceil(48 * 48 * 3_048_576 / 4_000_000)),
        (1024, 1024, "low", math.ceil(16 * 16 * 3_048_576 / 4_000_000)),
        (1536, 1024, "high", math.ceil(96 * 64 * (2_000_000 + 1536 * 1024) / 4_000_000)),
        (1024, 1536, "low", math.ceil(11 * 16 * (2_000_000 + 1536 * 1024) / 4_000_000)),
    ],
)
def test_gpt_image_2_output_tokens(w: int, h: int, quality: str, tokens: int) -> None:
    assert image_output_tokens(w, h, quality) == tokens  # type: ignore[arg-type]


def test_output_meta_counts_inputs_and_prices() -> None:
    meta = output_meta(
        prompt="a cat",
        input_sizes=[(512, 512), (512, 512), (640, 480)],
        width=1024,
        height=1024,
        n=2,
        mode="edit",
        quality="high",
        engine="studio",
        priced=True,
    )
    images = [i for i in meta["inputs"] if i["type"] == "image"]
    assert {(i["width"], i["height"], i["count"]) for i in images} == {(512, 512, 2), (640, 480, 1)}
    out = meta["outputs"][0]
    assert (out["width"], out["height"], out["count"]) == (1024, 1024, 2)
    assert out["extra"] == {"mode": "edit", "quality": "high", "engine": "studio"}
    assert meta["usage"]["output_tokens"] == 2 * 7024
    text = meta["inputs"][0]["tokens"]
    assert meta["cost"]["estimated"] == pytest.approx(2 * 7024 * 30e-6 + text * 5e-6)
    unpriced = output_meta(
        prompt="a",
        input_sizes=[],
        width=1024,
        height=1024,
        n=1,
        mode="generate",
        quality="low",
        engine="studio",
        priced=False,
    )
    assert "cost" not in unpriced


def test_status_numbers_and_names() -> None:
    assert [s.value for s in TaskStatus] == list(range(1, 12))
    assert TaskStatus.parse("completed") is TaskStatus.COMPLETED
    assert TaskStatus.parse("7") is TaskStatus.RUNNING
    assert TaskStatus.parse(11) is TaskStatus.CANCELLED
    assert {s for s in TaskStatus if s.is_terminal()} == {
        TaskStatus.COMPLETED,
        TaskStatus.FAILED,
        TaskStatus.CANCELLED,
    }
    with pytest.raises(InvalidInput):
        TaskStatus.parse("DONE")
