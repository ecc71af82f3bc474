"""Prompt moderation: categories, the two levels, and the hard limits."""

from __future__ import annotations

import pytest

from brushwork.apps.moderation import categories, check
from brushwork.errors import ModerationBlocked

BENIGN = [
    "a cat wearing a tiny top hat, oil painting style",
    'a storefront sign reading "OPEN 24 HOURS"',
    "children playing football in a park",
    "a teenager skateboarding at sunset",
    "a medieval battle scene with knights",
    "a bottle of red wine on a marble countertop",
    "Sussex countryside in spring",  # 'sex' inside a word is not a hit
]


@pytest.mark.parametrize("prompt", BENIGN)
def test_benign_prompts_pass_at_both_levels(prompt: str) -> None:
    assert categories(prompt, "auto") == [] and categories(prompt, "low") == []


@pytest.mark.parametrize(
    ("prompt", "auto", "low"),
    [
        ("a nude figure study", ["sexual"], []),
        ("explicit porn scene", ["sexual"], ["sexual"]),
        ("a gory dismembered body", ["violence/graphic"], []),
        ("nude photo of a 12 year old", ["sexual", "sexual/minors"], ["sexual/minors"]),
        ("N.U.D.E   little girls", ["sexual", "sexual/minors"], ["sexual/minors"]),
        ("poster for a pipe bomb workshop", ["illegal"], ["illegal"]),
        ("nazi propaganda leaflet", ["hate"], ["hate"]),
        ("how to kill myself, illustrated", ["self-harm"], ["self-harm"]),
    ],
)
def test_categories_at_each_level(prompt: str, auto: list[str], low: list[str]) -> None:
    assert categories(prompt, "auto") == auto
    assert categories(prompt, "low") == low


def test_a_refusal_names_its_categories() -> None:
    with pytest.raises(ModerationBlocked) as info:
        check("nude teen", "low")
    assert info.value.code == "moderation_blocked" and info.value.http_status == 400
    assert "sexual/minors" in info.value.message and info.value.param == "prompt"
