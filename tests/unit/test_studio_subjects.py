"""The studio's subjects: what the parser reads, which art it picks, where the layout puts it,
and what happens without the assets."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from brushwork.engines.base import Request
from brushwork.engines.studio import StudioEngine, art, assets, layout, lettering
from brushwork.engines.studio.prompt import STYLES
from brushwork.engines.studio.subjects import composition, match, match_all, parse_subjects

PARSES = [
    ("A cat wearing a tiny top hat, oil painting style",
     [("cat", 1, None, "wearing", 1), ("top hat", 1, None, None, None)]),
    ("three red balloons above a house",
     [("balloon", 3, "red", "above", 1), ("house", 1, None, None, None)]),
    ("a dog to the left of a bicycle in a park",
     [("dog", 1, None, "left_of", 1), ("bicycle", 1, None, None, None)]),
    # an iceberg is the place they stand on (painted), not a thing (it drew a giant ice cube)
    ("two penguins on an iceberg at night", [("penguin", 2, None, None, None)]),
    ("5 yellow ducks", [("duck", 5, "yellow", None, None)]),
    ("puppies", [("puppy", 3, None, None, None)]),
    ("a pair of blue shoes next to a chair",
     [("shoe", 2, "blue", "beside", 1), ("chair", 1, None, None, None)]),
    ('A storefront sign reading "OPEN 24 HOURS"', []),
    ('a poster that says "Summer Sale" with a sailboat', [("sailboat", 1, None, None, None)]),
    ("a laptop and a coffee cup", [("laptop", 1, None, None, None),
                                   ("coffee cup", 1, None, None, None)]),
    ("a watercolor painting of a fox in the snow", [("fox", 1, None, None, None)]),
    ("several mice under a table", [("mouse", 3, None, None, None)]),  # a table is a place
    ("four stars around a crescent moon in space",
     [("star", 4, None, "around", 1), ("crescent moon", 1, None, None, None)]),
    ("a cup of coffee and a slice of pizza on a wooden table",
     [("coffee", 1, None, None, None), ("pizza", 1, None, None, None)]),
    ("an ice cream cone", [("ice cream cone", 1, None, None, None)]),
    ("a peach", [("peach", 1, None, None, None)]),  # a fruit, not a colour
    ("a cat sleeping on a sofa", [("cat", 1, None, "on", 1), ("sofa", 1, None, None, None)]),
    ("a rainy day", []),  # the weather is painted over the scene, not drawn (issue 18)
    # issue 18's held-out prompts: the scene and its surface are places, not things to draw
    ("A red bicycle leaning against a brick wall", [("bicycle", 1, "red", None, None)]),
    ("A lighthouse on a cliff during a storm", [("lighthouse", 1, None, None, None)]),
    ("a kitten on a wooden desk", [("kitten", 1, None, None, None)]),
    # what a subject does ends its noun phrase; what it acts on stands beside it, and a
    # place it moves through is painted, not drawn
    ("a dog chasing a ball across the park",
     [("dog", 1, None, "beside", 1), ("ball", 1, None, None, None)]),
    ("a raccoon digging through a trash can at night",
     [("raccoon", 1, None, "beside", 1), ("trash can", 1, None, None, None)]),
    ("a penguin sliding across the ice", [("penguin", 1, None, None, None)]),
    # words in -ing that are things stay things
    ("a diamond ring", [("diamond ring", 1, None, None, None)]),
    ("an office building at dusk", [("office building", 1, None, None, None)]),
    # an art name is one noun, read whole: its number, colour or "of" is part of the name
    ("a four leaf clover on the grass", [("four leaf clover", 1, None, None, None)]),
    ("an ear of corn in a field", [("ear of corn", 1, None, None, None)]),
    ("a green apple", [("green apple", 1, None, None, None)]),
    # an -ing word before the noun describes it, and a colour word ending the phrase is a noun
    ("a glowing light bulb, flat design", [("glowing light bulb", 1, None, None, None)]),
    ("a flying saucer", [("flying saucer", 1, None, None, None)]),
    ("a mug of hot chocolate", [("hot chocolate", 1, None, None, None)]),
    # a word the art names as written is not a plural ("scissor", "rhinocero" found nothing
    # by name), and a pair of such a thing is one thing; a pair of shoes is two
    ("a pair of scissors", [("scissors", 1, None, None, None)]),
    ("a pair of sunglasses", [("sunglasses", 1, None, None, None)]),
    ("a pair of shoes", [("shoe", 2, None, None, None)]),
    ("three pancakes", [("pancakes", 3, None, None, None)]),
    ("a rhinoceros", [("rhinoceros", 1, None, None, None)]),
    # a measure of a thing is the thing ("ball" drew a soccer ball, "bar" a chocolate bar)
    ("a ball of yarn with knitting needles", [("yarn", 1, None, None, None),
                                              ("knitting needle", 3, None, None, None)]),
    ("a bar of soap", [("soap", 1, None, None, None)]),
    # what a thing is or has had done to it, said after it, ends its noun phrase
    ("a sword stuck in a stone", [("sword", 1, None, None, None)]),
    ("a wheelbarrow full of pumpkins", [("wheelbarrow", 1, None, None, None)]),
    ("a bunch of balloons tied to a bench", [("balloon", 3, None, None, None)]),
    ("a garden shed", [("garden shed", 1, None, None, None)]),  # a noun in -ed stays
    # a branch is where a bird sits (an empty nest, tagged "branch", was drawn for it)
    ("a pencil sketch of an owl on a branch", [("owl", 1, None, None, None)]),
    # a container of a place's stuff is the container
    ("a bucket of water", [("bucket", 1, None, None, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("prompt", "expected"), PARSES, ids=[p for p, _ in PARSES])
def test_parser_reads_subjects_counts_colours_and_relations(prompt: str, expected: list) -> None:
    got = [(s.phrase, s.count, s.colour_name, s.relation, s.target) for s in parse_subjects(prompt)]
    assert got == expected


def test_corners_and_compositions() -> None:
    (rocket,) = parse_subjects("a rocket in the top right corner over a city")
    assert rocket.corner == "top right"
    assert composition("a book cover with a dragon") == "book"
    assert composition('a storefront sign reading "OPEN"') == "sign"
    assert composition("a product shot of a watch") == "product"
    assert composition("an infographic with three labelled steps") == "infographic"
    assert composition("a cat") is None
    # a card is its layout, not a card-index box drawn beside the cake
    assert composition('a birthday card that says "Hi" with a cake') == "poster"
    assert [s.phrase for s in parse_subjects('a birthday card that says "Hi" with a cake')] == [
        "cake"
    ]


MATCHES = {
    "cat": "cat",
    "top hat": "top hat",
    "balloon": "balloon",
    "house": "house",
    "dog": "dog",
    "bicycle": "bicycle",
    "penguin": "penguin",
    "laptop": "laptop",
    "car": "automobile",
    "lighthouse": "building lighthouse",  # no emoji: the icon
    "kitten": "cat",  # not a name: the nearest concept
    "smartphone": "mobile phone",  # a synonym the icons' tags give
    "padlock": "lock",  # the plain icon, not a badged variant ("lock square")
    "wristwatch": "watch",
    "hot air balloon": "air balloon",  # more of the phrase named than by "balloon"
    "christmas tree": "Christmas tree",  # names match whatever their case
    "glowing light bulb": "light bulb",
    # a word that tags a person and names no thing is that person, not what it also tags
    # (a hospital, a crown, a magic wand were drawn)
    "doctor": "health worker",
    "king": "prince",
    "queen": "princess",
    "wizard": "mage",
    # a thing word that also tags a person doing something is the thing (a fencer was drawn)
    "sword": "sword",
    "ball": "ball",
    # a word beside the head connects nothing ("orange" tags the tangerine), and a synonym
    # from the icons' tags must be near in meaning too (Tabler's garden cart, a wheelbarrow,
    # shares the tag "construction" with the roadworks barrier emoji, which was drawn)
    "orange juice": "beverage box",
    "wheelbarrow": "garden cart",
}


@pytest.mark.parametrize(("phrase", "label"), MATCHES.items())
def test_subjects_map_to_the_art_a_person_would_pick(phrase: str, label: str) -> None:
    (subject,) = parse_subjects(f"a {phrase}")
    match(subject, assets.library())
    assert subject.asset is not None
    assert subject.asset["label"].endswith(label) or subject.asset["label"].startswith(label)


def test_what_comes_to_the_same_art_as_an_earlier_subject_is_not_a_second_one() -> None:
    """ "A wizard casting a spell": "spell" tags the mage too, and a second wizard was drawn."""
    found = parse_subjects("a wizard casting a spell")
    assert [s.phrase for s in found] == ["wizard", "spell"]
    match_all(found, assets.library())
    assert found[0].asset is not None and found[1].asset is None
    two = parse_subjects("two cats and a dog")
    match_all(two, assets.library())
    assert all(s.asset is not None for s in two)


@pytest.mark.parametrize(
    ("prompt", "label"),
    [("a cup of tea", "teacup without handle"), ("a cup of coffee", "hot beverage"),
     ("a glass of wine", "wine glass"), ("a bowl of strawberries", "strawberry")],
)  # fmt: skip
def test_what_a_container_holds_is_drawn_in_it_where_the_art_shows_it(
    prompt: str, label: str
) -> None:
    """ "A cup of tea" drew the teapot (tagged "tea", nearer in meaning) over the teacup
    (tagged "tea" and "cup"); the container leans, nothing more: a bowl of strawberries is
    still strawberries, and a line icon does not overtake colour art by it."""
    (subject,) = parse_subjects(prompt)
    assert subject.container is not None
    match(subject, assets.library())
    assert subject.asset is not None and subject.asset["label"] == label


def test_a_tag_far_in_meaning_connects_nothing() -> None:
    """Emoji tags hold interjections: "well" tags clapping hands (similarity 0.12)."""
    (subject,) = parse_subjects("a well")
    match(subject, assets.library())
    assert subject.asset is None or "hand" not in subject.asset["label"]


def test_a_thing_word_on_a_person_is_not_the_person() -> None:
    for phrase in ("sword", "ball"):
        (subject,) = parse_subjects(f"a {phrase}")
        match(subject, assets.library())
        assert subject.asset is not None and subject.asset.get("group") != 1, phrase


@pytest.mark.parametrize(
    "prompt",
    ["a cabin in the mountains", "a pufferfish", "a sewing machine", "a chess board"],
)
def test_art_that_only_meaning_connects_needs_to_be_near(prompt: str) -> None:
    """No name or tag connects "cabin" to any art, and the nearest by meaning (a passenger
    ship, 0.53) is another thing: nothing is drawn rather than a wrong object. A word beside
    the head that tags an asset does not connect it ("sewing" on thread)."""
    (subject,) = parse_subjects(prompt)
    match(subject, assets.library())
    assert subject.asset is None


def test_an_unknown_word_gets_no_art_and_the_picture_says_so() -> None:
    """Issue 18: never a wrong object. A phrase no asset genuinely matches is not drawn, and
    output_meta names it; where art is required (an infographic's step) it still gets one."""
    (subject,) = parse_subjects("a florbnax")
    match(subject, assets.library())
    assert subject.asset is None
    match(subject, assets.library(), floor=False)
    assert subject.asset is not None
    engine = StudioEngine()
    request = Request(mode="generate", prompt="a florbnax next to a red bicycle", width=512,
                      height=512, n=1, quality="low", seed=3)  # fmt: skip
    engine.run(request, lambda *a, **k: None, lambda: False)
    assert request.meta["not_drawn"] == ["florbnax"]
    assert [d["phrase"] for d in request.meta["drawn"]] == ["bicycle"]


LAYOUT_PROMPTS = [p for p, _ in PARSES] + [
    "a rocket in the top left corner",
    "four stars around a moon",
    "a robot holding a flower",
    "a tree behind a bench",
    "ten apples and six oranges and five bananas",
]


@pytest.mark.parametrize("size", [(1024, 1024), (1536, 640), (640, 1536)])
@pytest.mark.parametrize("seed", [0, 1])
def test_layout_keeps_subjects_inside_and_apart_unless_asked(size, seed) -> None:
    for prompt in LAYOUT_PROMPTS:
        subjects = parse_subjects(prompt)
        placed = layout.plan(subjects, size, np.random.default_rng(seed), "meadow", None)
        for p in placed:
            x0, y0, x1, y1 = p.box
            assert 0 <= x0 < x1 <= size[0] + 1e-6 and 0 <= y0 < y1 <= size[1] + 1e-6, prompt
        for a, b in itertools.combinations(placed, 2):
            related = {subjects[a.subject].relation, subjects[b.subject].relation}
            if a.subject == b.subject or related & layout.OVERLAPPING or "around" in related:
                continue
            assert not layout.overlaps(a.box, b.box), (prompt, a, b)


@pytest.mark.parametrize("size", [(1024, 1024), (1536, 640), (640, 1536)])
def test_subjects_stay_below_the_title(size) -> None:
    strings = ["Summer Sale", "50% off"]
    bottom = lettering.text_extent(strings, size[1], 0.05)
    assert bottom is not None and bottom < size[1]
    subjects = parse_subjects("three sailboats and a lighthouse")
    for p in layout.plan(subjects, size, np.random.default_rng(0), "ocean", bottom):
        assert p.box[1] >= bottom


def render_one(prompt: str, seed: int = 1, quality: str = "low", n: int = 1) -> list[Image.Image]:
    request = Request(
        mode="generate", prompt=prompt, width=512, height=512, n=n, quality=quality, seed=seed
    )
    return StudioEngine().run(request, lambda *a, **k: None, lambda: False)


def test_subjects_render_deterministically_and_variations_differ() -> None:
    prompt = "three red balloons above a house in a meadow"
    first, second = render_one(prompt, n=2)
    again = render_one(prompt, n=2)
    assert first.tobytes() == again[0].tobytes() and second.tobytes() == again[1].tobytes()
    assert np.abs(np.asarray(first, float) - np.asarray(second, float)).mean() > 5


@pytest.mark.parametrize("style", sorted(STYLES))
def test_every_style_renders_subjects_at_low_tier(style: str) -> None:
    word = STYLES[style][0]
    plain, styled = render_one("a fox and a tree")[0], render_one(f"a fox and a tree, {word}")[0]
    assert styled.size == (512, 512)
    assert np.abs(np.asarray(plain, float) - np.asarray(styled, float)).mean() > 2


def test_missing_assets_make_the_studio_unavailable_with_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRUSHWORK_ASSETS", str(tmp_path / "none"))
    reason = StudioEngine().unavailable_reason()
    assert reason is not None and "brushwork assets install" in reason
    assert str(tmp_path / "none") in reason
    with pytest.raises(RuntimeError, match="brushwork assets install"):
        assets.library()


def test_a_half_written_install_counts_as_missing(tmp_path: Path) -> None:
    (tmp_path / "index.json").write_text("[]")  # no manifest: the install did not finish
    assert assets.missing_reason(tmp_path) is not None


def test_attributions_travel_with_the_image() -> None:
    request = Request(
        mode="generate", prompt="a penguin", width=256, height=256, n=1, quality="low", seed=1
    )
    StudioEngine().run(request, lambda *a, **k: None, lambda: False)
    assert any("Twemoji" in a and "CC-BY" in a for a in request.meta["attributions"])
    from brushwork.imaging import codecs

    data = codecs.encode(Image.new("RGB", (8, 8)), "png", None, request.meta["attributions"][0])
    assert "Twemoji" in Image.open(io.BytesIO(data)).info["Copyright"]


@pytest.mark.parametrize(
    ("prompt", "drawn"),
    [
        ("A robot watering plants in a greenhouse, pencil sketch", False),
        ("a charcoal drawing of a horse", False),
        ("a pencil sketch of a lighthouse", False),
        ("a pencil on a desk", True),
        ("a box of charcoal and a lighter", True),
    ],
)
def test_style_words_that_are_also_things_are_drawn_only_as_things(
    prompt: str, drawn: bool
) -> None:
    phrases = " ".join(s.phrase for s in parse_subjects(prompt))
    assert (("pencil" in phrases) or ("charcoal" in phrases)) is drawn, phrases


def test_a_hat_goes_on_the_head_not_on_a_tail_that_rises_higher() -> None:
    """The crown of a side-view animal: the body's top, not the thin tail above it."""
    from brushwork.engines.studio.art import crown

    alpha = np.zeros((200, 200), np.float32)
    alpha[90:170, 40:160] = 1  # the body
    alpha[50:100, 30:90] = 1  # the head, at the left, its top at y=50
    alpha[20:90, 150:158] = 1  # a thin tail at the right, rising to y=20
    x, y, width = crown(alpha)
    assert 30 <= x <= 90 and 45 <= y <= 60 and 30 <= width <= 70


@pytest.mark.parametrize(("prompt", "scene"), [("a bird on a car", None),
                                               ("a cat sitting on a sofa", "room")])  # fmt: skip
def test_what_sits_on_a_thing_rests_on_its_art_not_on_its_square(
    prompt: str, scene: str | None
) -> None:
    """A car's art is wider than tall, so the top of its square is empty: the bird sat in
    the air over the roof (and the cat over a sofa twice its height away) until the art
    itself was read."""
    from brushwork.engines.studio import art, layout

    library = assets.library()
    found = parse_subjects(prompt)
    for s in found:
        match(s, library)
    size = (512, 512)
    placed = layout.plan(found, size, np.random.default_rng(1), scene)
    canvas = np.full((512, 512, 3), 0.5, np.float32)
    art.draw(canvas, found, placed, library, scene, "low")
    mover, anchor = (next(p for p in placed if p.subject == i) for i in (0, 1))

    def solid_rows(p: layout.Placed, columns: slice = slice(None)) -> np.ndarray:
        px = max(4, int(round(p.box[2] - p.box[0])))
        alpha = art.sprite(found[p.subject], library, px, 0.5)[:, :, 3] > 0.5
        alpha = alpha[:, ::-1] if p.flip else alpha
        return p.box[1] + np.nonzero(alpha[:, columns].any(axis=1))[0]

    side = int(anchor.box[2] - anchor.box[0])
    roof = solid_rows(anchor, slice(side // 3, 2 * side // 3))[0]
    feet = solid_rows(mover)[-1]
    assert abs(feet - roof) < 0.03 * 512, (feet, roof)


def test_art_names_are_read_from_the_engines_own_assets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A studio configured with its assets elsewhere than BRUSHWORK_ASSETS reads the art names
    of its own assets whole; with none installed there, only the fixed compounds are known."""
    root = assets.assets_dir()
    monkeypatch.setenv("BRUSHWORK_ASSETS", str(tmp_path))  # nothing installed there
    assert [s.phrase for s in parse_subjects("a four leaf clover", root)] == ["four leaf clover"]
    assert [s.phrase for s in parse_subjects("a four leaf clover")] == ["leaf clover"]
    assert [s.phrase for s in parse_subjects("an ice cream cone")] == ["ice cream cone"]


def test_a_line_icon_is_drawn_as_a_solid_thing() -> None:
    """Issue 18: a lighthouse or a perfume bottle had only Tabler's thin outline; its closed
    shapes are filled now (the outline over the fill), and an open stroke stays a line."""
    ring = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" '
    ring += 'stroke="currentColor" stroke-width="2"><rect x="4" y="4" width="16" height="16"/>'
    line = ring.split("<rect")[0] + '<path d="M4 12 L20 12"/>'
    closed = art.rasterise(art._icon_svg((ring + "</svg>").encode(), art.INK), 96)
    solid = art.filled(closed, (200, 40, 40))
    assert solid[48, 48, 3] == 1.0 and closed[48, 48, 3] == 0.0  # the middle is filled
    assert np.allclose(solid[48, 48, :3], np.array([200, 40, 40]) / 255)
    assert solid[2, 2, 3] == 0.0  # the outside stays clear
    stroke = closed[:, :, 3] > 0.99
    assert stroke.any() and np.allclose(solid[stroke], closed[stroke], atol=0.02)  # lines kept
    opened = art.rasterise(art._icon_svg((line + "</svg>").encode(), art.INK), 96)
    assert art.filled(opened, (200, 40, 40)) is opened

    class Library:  # an open icon asked for in red stays a red line
        def svg(self, asset: dict) -> bytes:
            return (line + "</svg>").encode()

    (red,) = parse_subjects("a red line")
    red.asset = {"kind": "icon"}
    drawn = art.sprite(red, Library(), 96, 0.8)
    stroke = drawn[:, :, 3] > 0.99
    assert stroke.any() and (drawn[stroke][:, 0] > drawn[stroke][:, 2] + 0.3).all()


def test_the_first_picture_draws_the_best_art_whatever_the_seed() -> None:
    """A near-tie (jack-o'-lantern, 0.01 behind the red paper lantern) was drawn for "red
    lanterns" on some seeds: the first picture takes what bench/subjects.py measures, and
    only further variations may take a near-tie."""
    engine = StudioEngine()
    engine.load()
    drawn = set()
    for seed in range(8):
        request = Request(mode="generate", prompt="three red lanterns", width=128, height=128,
                          n=1, quality="low", seed=seed)  # fmt: skip
        engine.run(request, lambda *a, **k: None, lambda: False)
        drawn |= {d["asset"] for d in request.meta["drawn"]}
    (best,) = drawn
    assert assets.library().by_id[best]["label"] == "red paper lantern"
