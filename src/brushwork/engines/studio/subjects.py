"""Subjects: the things a prompt names, with counts, colours, sizes and relations, each
matched to the asset a person would pick by meaning (names and tags, embedded)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from brushwork.engines.studio.prompt import COLOURS, RGB, SCENES, STYLES, instructions
from brushwork.engines.studio.prompt import WEATHER as WEATHER_WORDS

NUMBERS = {
    "a": 1, "an": 1, "one": 1, "single": 1, "lone": 1, "two": 2, "pair": 2, "couple": 2,
    "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "few": 3, "several": 3, "some": 3, "many": 6, "lots": 6, "dozen": 12,
}  # fmt: skip
SIZES = {"tiny": 0.55, "small": 0.75, "little": 0.75, "mini": 0.6, "big": 1.3, "large": 1.3,
         "huge": 1.5, "giant": 1.6, "enormous": 1.6}  # fmt: skip

# Relation phrases, longest first; the subject before relates to the subject after.
RELATIONS = [
    ("to the left of", "left_of"),
    ("left of", "left_of"),
    ("to the right of", "right_of"),
    ("right of", "right_of"),
    ("on top of", "on"),
    ("leaning against", "beside"),
    ("leaning on", "beside"),
    ("in front of", "front"),
    ("sitting on", "on"),
    ("standing on", "on"),
    ("next to", "beside"),
    ("beside", "beside"),
    ("above", "above"),
    ("over", "above"),
    ("below", "below"),
    ("under", "below"),
    ("beneath", "below"),
    ("behind", "behind"),
    ("around", "around"),
    ("against", "beside"),
    ("wearing", "wearing"),
    ("holding", "holding"),
    ("riding", "on"),
    ("on", "on"),
]
CORNER = re.compile(r"\bin (?:the )?(top |bottom |upper |lower )?(left|right)? ?corner\b")

# a card is laid out like a poster: its words on top, what it shows below
CARDS = ("birthday card", "greeting card", "postcard", "christmas card", "thank you card",
         "invitation card", "invitation")  # fmt: skip
COMPOSITIONS = {
    "poster": ("poster", "flyer", "banner", *CARDS),
    "book": ("book cover", "cover of a book", "novel cover"),
    "sign": ("storefront sign", "shop sign", "sign", "signboard", "neon sign"),
    "product": ("product shot", "product photo", "packshot", "on a countertop"),
    "infographic": ("infographic", "diagram", "steps", "step-by-step", "chart"),
    "social": ("social post", "instagram post", "social media", "post for"),
    "label": ("label", "sticker", "badge"),
}


def _wordset(text: str) -> set[str]:
    return set(text.split())


# Words that describe the picture rather than a thing in it (and languages, scenery adjectives).
FILLER = _wordset(
    """
    the of in at with by for from into onto to as and or but very really its it is are be
    across through along up down off out toward towards past near inside outside upon via
    style styled painting photo photograph picture image illustration drawing render
    rendering art artwork scene view shot closeup close-up portrait background backdrop
    foreground detailed realistic beautiful cute lovely nice cinematic dramatic soft bright
    dark light lights lighting morning evening afternoon day daytime golden hour sunlight sunny
    title text words letters lettering caption reading says saying that which who whose
    made featuring showing shows depicting design minimal minimalist flat vector simple
    clean modern vintage retro pixel neon watercolor watercolour oil sketch mono
    monochrome noir cover poster sign storefront product infographic social post label
    flyer banner steps step labelled labeled three-step
    english hindi chinese mandarin arabic bengali bangla spanish french german japanese
    korean language script written rocky sandy snowy grassy foggy misty cloudy stormy rainy
    starry windy calm quiet busy old new young ancient tall wide narrow empty crowded
    lonely distant
    """
)
# Scene words that are also things one draws: "four stars around a crescent moon".
DRAWABLE_SCENE_WORDS = {"moon", "star", "stars", "planet", "sun", "flower", "flowers", "tree"}
PLACES = {w for words in SCENES.values() for w in words} - DRAWABLE_SCENE_WORDS | {
    "countertop", "table", "wall", "floor", "ground", "horizon", "room", "kitchen",
    "marble", "wooden", "wood", "oak", "walnut",
    # scenes and surfaces (issue 18): a place to paint, never an object to draw
    "alley", "alleyway", "street", "greenhouse", "cliff", "cliffs", "harbour", "harbor",
    "brick", "bricks", "stone", "concrete", "pavement", "sidewalk", "storefront", "desk",
    # weather is painted over the scene (weather.py), never drawn as a thing
    *(w for words in WEATHER_WORDS.values() for w in words), "weather", "shower", "showers",
}  # fmt: skip
IRREGULAR = {
    "mice": "mouse", "geese": "goose", "people": "person", "children": "child", "men": "man",
    "women": "woman", "feet": "foot", "teeth": "tooth", "leaves": "leaf", "knives": "knife",
    "wolves": "wolf", "loaves": "loaf", "fish": "fish", "sheep": "sheep", "deer": "deer",
    "glasses": "glasses", "sunglasses": "sunglasses", "cactus": "cactus", "octopus": "octopus",
    "bus": "bus",
}  # fmt: skip


@dataclass
class Subject:
    phrase: str  # the noun phrase, singular ("top hat")
    count: int = 1
    colour: RGB | None = None
    colour_name: str | None = None
    scale: float = 1.0
    relation: str | None = None  # how this subject relates to ``target``
    target: int | None = None  # index of the subject it relates to
    corner: str | None = None  # "top left" … when asked to sit in a corner
    container: str | None = None  # "cup" in "a cup of tea": the phrase is what it holds
    asset: dict[str, Any] | None = field(default=None, repr=False)
    score: float = 0.0


def singular(word: str) -> str:
    if word in IRREGULAR:
        return IRREGULAR[word]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith(("ches", "shes", "xes", "sses", "zes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _relation_split(text: str) -> list[tuple[str | None, str]]:
    """Split at relation phrases: [(None, first), (rel, second), …]; then at what a subject
    does ("a dog chasing a ball": the dog, beside a ball)."""
    names = "|".join(re.escape(p) for p, _ in RELATIONS)
    parts = re.split(rf"\b({names})\b", text)
    out: list[tuple[str | None, str]] = []
    lookup = dict(RELATIONS)
    for relation, chunk in [(None, parts[0])] + [
        (lookup[parts[i]], parts[i + 1]) for i in range(1, len(parts) - 1, 2)
    ]:
        doer, done = _verb_split(chunk)
        out.append((relation, doer))
        if done is not None:
            out.append(("beside", done))
    return out


# Words in -ing that name things, not what a thing does ("a diamond ring", "a kite string").
NOUNS_IN_ING = _wordset(
    """
    building buildings ceiling pudding wedding earring earrings swing swings spring springs
    sling string strings evening morning icing dumpling dumplings sibling siblings duckling
    ducklings seedling sapling lightning clothing frosting filling awning railing railings
    herring stocking stockings sterling shilling painting paintings drawing drawings wings
    thing things nothing something everything topping toppings
    """
)


def _is_verb(word: str) -> bool:
    """An -ing word that says what a thing does ("chasing"), not a thing ("ring", "string")."""
    return len(word) > 4 and word.endswith("ing") and word not in NOUNS_IN_ING and " " not in word


def _verb_split(chunk: str) -> tuple[str, str | None]:
    """``chunk`` cut at the first -ing verb after a noun ("a raccoon digging through a trash
    can" → "a raccoon", "through a trash can"); what follows is what the subject acts on or
    where (a place there is no thing). ``(chunk, None)`` when no verb follows a noun."""
    words = chunk.split()
    seen_noun = False
    for i, w in enumerate(words):
        bare = w.strip("'\"")
        if seen_noun and _is_verb(bare):
            rest = " ".join(words[i + 1 :])
            return " ".join(words[:i]), rest or None
        if bare not in FILLER and bare not in NUMBERS and bare not in COLOURS and bare not in SIZES:
            seen_noun = seen_noun or not bare.endswith("ing")
    return chunk, None


# What a thing is or has had done to it, said after it ("a sword stuck in a stone", "a
# wheelbarrow full of pumpkins", "a cat curled up"): the noun phrase ends before it.
AFTER_NOUN = _wordset(
    """
    stuck built made left held caught hung frozen broken worn torn drawn sunk spun woven
    lit laid set full half covered filled shaped sized tied dyed used
    """
)


def _after_noun(word: str) -> bool:
    """A participle or an adjective that follows a noun, not a noun ("seabed", "hundred")."""
    if word in AFTER_NOUN:
        return True
    return len(word) > 4 and word.endswith("ed") and not word.endswith(("eed", "bed", "dred"))


# "a cup of coffee", "a slice of pizza", "a ball of yarn": the thing is what comes after "of".
CONTAINERS = _wordset(
    """
    slice slices piece pieces bowl bowls plate plates cup cups glass glasses bottle bottles
    bunch bunches loaf loaves pile stack box bag basket jar can mug pot bucket handful
    group herd flock school pack swarm family bouquet ball balls bar bars roll rolls sheet
    sheets spool skein tube tubes carton tin jug pitcher scoop scoops wedge chunk block
    bundle heap crate sack
    """
)
THING_STYLES = {"pencil", "charcoal"}  # style words that are also things to draw
# the order they are taken out of a prompt: "pencil" and "charcoal" (only when a style word
# follows) first, since once "sketch" is gone "pencil" would be a subject; then longest first
STYLE_WORDS = sorted({w for ws in STYLES.values() for w in ws},
                     key=lambda w: (w not in THING_STYLES, -len(w), w))  # fmt: skip


# Nouns whose first word would otherwise read as a colour, a place or a size.
COMPOUNDS = (
    "ice cream", "hot dog", "hot air balloon", "orange juice", "golden retriever",
    "snow globe", "sea turtle", "city bus", "water bottle", "rose bud", "cream cheese",
    "gold medal", "silver medal", "big ben", "night owl", "space shuttle", "sand castle",
)  # fmt: skip


@functools.cache
def _compounds(root: str | None) -> tuple[frozenset[str], dict[str, int]]:
    """Nouns of several words, by first word, longest first: COMPOUNDS and every emoji's name
    ("four leaf clover", "ear of corn", "light bulb"), read whole before any of their words
    can be taken for a number, a colour, a filler word or an "of"."""
    names = set(COMPOUNDS)
    if root is not None:
        from brushwork.engines.studio import assets

        library = assets.library(Path(root))
        names |= {
            str(e["label"]).lower() for e in library.entries
            if e["kind"] == "emoji" and re.fullmatch(r"[a-z'-]+(?: [a-z'-]+){1,3}", e["label"])
        }  # fmt: skip
    longest: dict[str, int] = {}
    for name in names:
        first = name.split()[0]
        longest[first] = max(longest.get(first, 0), len(name.split()))
    return frozenset(names), longest


def _installed(assets_root: Path | None) -> str | None:
    """The art's root as a cache key, None where no art is installed."""
    from brushwork.engines.studio import assets

    root = assets_root or assets.assets_dir()
    return str(root) if assets.missing_reason(root) is None else None


@functools.cache
def _emoji_names(root: str | None) -> frozenset[str]:
    """Every emoji's name, lower case: a word the art names as written ("scissors",
    "rhinoceros", "pancakes") is not a plural to take an s off."""
    if root is None:
        return frozenset()
    from brushwork.engines.studio import assets

    library = assets.library(Path(root))
    return frozenset(str(e["label"]).lower() for e in library.entries if e["kind"] == "emoji")


def _join_compounds(words: list[str], assets_root: Path | None) -> list[str]:
    known, longest = _compounds(_installed(assets_root))
    out, i = [], 0
    while i < len(words):
        for n in range(min(longest.get(words[i], 0), len(words) - i), 1, -1):
            name = " ".join(words[i : i + n])
            if name in known:
                out.append(name)
                i += n
                break
        else:
            out.append(words[i])
            i += 1
    return out


def _phrase(chunk: str, assets_root: Path | None = None) -> Subject | None:
    words = _join_compounds(re.findall(r"[a-z][a-z'-]*|\d+", chunk), assets_root)
    container = None
    if "of" in words:
        at = words.index("of")
        held = [w for w in words[at + 1 :] if w != "the"][:1]
        if at > 0 and words[at - 1] in CONTAINERS and not set(held) & PLACES:
            container = singular(words[at - 1])
            words = words[: at - 1] + words[at + 1 :]  # not "a bucket of water": a bucket
    count, colour, colour_name, scale = 1, None, None, 1.0
    kept: list[str] = []
    read = words  # the words of the noun phrase, up to where it ends
    for i, w in enumerate(words):
        last = i == len(words) - 1 or words[i + 1] in FILLER
        if w.isdigit():
            count = max(1, min(int(w), 12))
        elif w in NUMBERS:
            count = NUMBERS[w] if w not in ("a", "an") or count == 1 else count
        elif w in COLOURS and not last:  # "a peach", "hot chocolate": the noun, not a colour
            colour, colour_name = COLOURS[w], w
        elif w in SIZES:
            scale = SIZES[w]
        elif kept and last and (_is_verb(w) or _after_noun(w)):
            read = words[:i]
            break  # "a cat sleeping", "a sword stuck": what it does or is, not a second thing
        elif w not in FILLER and (w not in PLACES or not last and words[i + 1] not in PLACES):
            kept.append(w)  # a place word names a thing when a noun follows ("ice cream")
        elif kept and w in FILLER and not all(map(_is_verb, kept)):
            read = words[:i]
            break  # "an iceberg at night": the noun phrase ended ("a glowing light bulb": not yet)
    if not kept:
        return None  # "a rainy day": the weather is painted over the scene, not drawn
    content = [w for w in read if w not in FILLER and not w.isdigit() and w not in NUMBERS]
    if content and content[-1] in PLACES and content[-1] not in kept:
        return None  # "a brick wall", "a rainy alley": the scene and its surface, not a thing
    head = [w for w in kept[-3:] if len(w) > 2] or kept[-1:]
    phrase = " ".join(head[:-1] + [singular(head[-1])])
    plural = singular(head[-1]) != head[-1]
    if plural and " ".join(head) in _emoji_names(_installed(assets_root)):
        phrase, plural = " ".join(head), False  # "scissors", "pancakes": one thing, so named
    if "pair" in words and phrase.split()[-1] == head[-1]:
        count = 1  # "a pair of scissors" (or glasses, jeans) is one thing; of shoes, two
    if plural and count == 1:
        count = 3  # "balloons" with no number: a few
    return Subject(phrase, count, colour, colour_name, scale, container=container)


def composition(prompt: str) -> str | None:
    text = instructions(prompt)
    for name, words in COMPOSITIONS.items():
        if any(re.search(rf"\b{re.escape(w)}\b", text) for w in words):
            return name
    return None


def parse_subjects(prompt: str, assets_root: Path | None = None) -> list[Subject]:
    """The subjects in order of mention, with count, colour, size and relations; the art
    names of ``assets_root`` (the engine's assets, BRUSHWORK_ASSETS when None) read whole."""
    text = instructions(prompt, gap=" , ")  # a quoted string ends a clause
    for w in STYLE_WORDS:  # style words are never subjects
        after = r"(?= (?:sketch|drawing|style|art))" if w in THING_STYLES else ""
        text = re.sub(rf"\b{re.escape(w)}\b{after}( style)?", " ", text)
    text = re.sub(r"\bin the style of\b[^,.;]*", " ", text)
    for words in COMPOSITIONS.values():
        for w in words:
            text = re.sub(rf"\b{re.escape(w)}\b", " , ", text)
    subjects: list[Subject] = []
    for clause in re.split(r"[,;.:!?]| and | with | while | during ", text):
        corner = CORNER.search(clause)
        clause = CORNER.sub(" ", clause)
        previous: int | None = None
        for relation, chunk in _relation_split(clause):
            subject = _phrase(chunk, assets_root)
            if subject is None:
                continue
            if relation is not None and previous is not None:
                # "A on B": A relates to B, which is mentioned after it
                subjects[previous].relation = relation
                subjects[previous].target = len(subjects)
            if corner is not None:
                where = " ".join(p.strip() for p in corner.groups() if p)
                subject.corner = where or "bottom right"
            subjects.append(subject)
            previous = len(subjects) - 1
    return subjects[:6]


@functools.lru_cache(maxsize=2048)
def _vector(phrase: str) -> np.ndarray:
    from brushwork import embedding

    model = embedding.load()
    assert model is not None
    vector: np.ndarray = model.encode([phrase])[0]
    return vector


# What each scene holds, for a prompt that names no place: its subjects' meaning picks where
# they are painted ("a camel" in the desert, "a laptop" on a desk) instead of an abstract
# field of colour. Only a clear choice counts: SCENE_FLOOR and a margin over the runner-up,
# read off a few dozen phrases ("a diamond ring" or "a dragon" fit nowhere and stay abstract).
SCENE_MEANINGS = {
    "room": "a cosy room indoors at home with a sofa, a rug, a bookshelf, toys and a pet",
    "kitchen": "a kitchen with food and drink, cooking, a teapot, cups and plates",
    "desk": "a desk in an office with a laptop, a phone, books and a lamp",
    "meadow": "a green meadow with grass and flowers in the countryside, farm animals, bees",
    "forest": "a forest of trees with woodland animals, a fox, a deer, an owl",
    "ocean": "the sea with waves, a boat, a ship, fish and whales",
    "beach": "a sunny beach with sand, shells and a surfboard",
    "snow": "a snowy winter landscape with ice, a penguin and a snowman",
    "desert": "a hot sandy desert with dunes, a camel and a cactus",
    "city": "a city street with buildings, cars, buses and people",
    "space": "outer space with planets, stars, a rocket and an astronaut",
    "sky": "the open sky with clouds, birds, planes, balloons and kites",
}
SCENE_FLOOR, SCENE_MARGIN = 0.30, 0.03


@functools.cache
def _scene_vectors() -> tuple[list[str], np.ndarray]:
    from brushwork import embedding

    model = embedding.load()
    assert model is not None
    return list(SCENE_MEANINGS), model.encode(list(SCENE_MEANINGS.values()))


def scene_by_meaning(found: list[Subject]) -> str | None:
    """The scene the subjects belong in, when one clearly fits (None otherwise)."""
    if not found:
        return None
    mean = np.mean([_vector(s.phrase) for s in found], axis=0)
    names, vectors = _scene_vectors()
    fit = vectors @ (mean / max(float(np.linalg.norm(mean)), 1e-9))
    best, second = np.argsort(-fit)[:2]
    if fit[best] < SCENE_FLOOR or fit[best] - fit[second] < SCENE_MARGIN:
        return None
    return names[int(best)]


EMOJI_PREFERENCE = 0.06  # colour art reads better than a line icon of nearly the same match


VARIATION_MARGIN = 0.04  # variations may take another asset this close to the best


# Below this score (similarity + name and tag bonuses) the best asset is not a genuine match
# and nothing is drawn for the phrase. Calibrated on bench/subjects.py: the right asset scored
# at least 0.58 on every labelled prompt, while "alley" → a hole (0.49) and "greenhouse" → a
# house icon (0.51) were wrong objects.
MATCH_FLOOR = 0.55
# An asset that neither its name nor its tags connect to the phrase is its match by meaning
# alone, and needs this similarity: "cabin" came nearest a passenger ship (0.53), "sewing
# machine" thread (0.65), "chess board" the chess icon (0.69), while the only right answers
# by meaning alone on bench/subjects.py's tuned and first four fresh sets scored 0.55
# ("pufferfish" -> blowfish, now not drawn) and 0.83 ("rhinoceros"). A word of the phrase
# that tags an asset connects it only when it is the head ("orange" tags the tangerine, which
# is not orange juice).
MEANING_FLOOR = 0.7


def match(
    subject: Subject, library: Any, rng: np.random.Generator | None = None, floor: bool = True
) -> None:
    """Pick the asset nearest in meaning; an exact name or tag match wins outright. With
    ``rng`` (a variation), a near-tie may go to another asset. With ``floor``, a phrase no
    asset genuinely matches gets none (``subject.asset`` stays None): never a wrong object."""
    ranked = _ranked(subject.phrase, library, subject.container)
    best, total, similarity, named = ranked[0]
    if floor and (total < MATCH_FLOOR or not named and similarity < MEANING_FLOOR):
        subject.asset, subject.score = None, similarity
        return
    if rng is not None:
        close = [r for r in ranked if r[1] >= total - VARIATION_MARGIN]
        best, total, similarity, named = close[int(rng.integers(len(close)))]
    subject.asset, subject.score = library.entries[best], similarity


def match_all(found: list[Subject], library: Any, rng: np.random.Generator | None = None) -> None:
    """:func:`match` each subject; a later phrase that comes to the same art as an earlier,
    other phrase is that thing's part, not a second one ("a wizard casting a spell": "spell"
    tags the mage, and drew a second wizard), and is not drawn."""
    seen: dict[str, str] = {}
    for subject in found:
        match(subject, library, rng)
        if subject.asset is None:
            continue
        first = seen.setdefault(subject.asset["id"], subject.phrase)
        if first != subject.phrase:
            subject.asset = None


VARIANT_PENALTY = 0.15  # "device mobile question" is a phone with a badge: the plain one first
# A word that tags a person ("doctor", "king", "wizard") and names no thing is a person: the
# emoji of one (health worker, prince, mage) comes before the things the word also tags
# (hospital, crown, magic wand), which drew an object for a person.
PEOPLE = 1  # emojibase's group "people-body"
WHO = {23, 25, 26}  # its subgroups "person", "person-role" and "person-fantasy"
PERSON_PREFERENCE = 0.2
# An icon's other tags are its synonyms only where they are near in meaning too: Tabler tags
# its garden cart "wheelbarrow" and "construction", and the roadworks barrier emoji named
# "construction" (similarity 0.14) was drawn for a wheelbarrow.
SYNONYM_FLOOR = 0.35
# A name or tag connects an asset only where it is not far in meaning either: emoji tags hold
# interjections ("well", "good" tag clapping hands), and "a bucket of water by a well" drew
# clapping hands (similarity 0.12). The right assets of bench/subjects.py score 0.4 and up.
TAG_FLOOR = 0.3
# Among the art a name or tag connects to what a container holds, the art that also names
# the container: "a cup of tea" drew the teapot (tagged "tea", 0.12 nearer in meaning) over
# the teacup (tagged "tea" and "cup").
CONTAINER_BONUS = 0.15


@dataclass
class _Names:
    """Per library: each asset's label and tags in lower case (tag hyphens as spaces), the
    words that make an icon a badged variant of another ("square" in "lock square", "question"
    in "device mobile question"), a thesaurus from the icons' tags (every tag to the other
    tags of the icons that carry it: Tabler tags the icon "device mobile" with smartphone,
    cellphone and mobile-phone, so "smartphone" finds the emoji named "mobile phone"), and
    every emoji name and tag; and the words that name a person: tags of the emoji of a person,
    a role or a fantasy being that are not a word of their name ("doctor" on health worker),
    of any emoji's name outside People & Body ("lamp": diya lamp) or any asset's name (those
    are the thing words)."""

    labels: list[str]
    tags: list[set[str]]
    badges: list[set[str]]
    thesaurus: dict[str, set[str]]
    emoji_names: set[str]
    people_words: set[str]
    thing_words: set[str]


def _is_who(entry: dict[str, Any]) -> bool:
    """An emoji of a person, a role or a fantasy being (not a gesture, a hand or a sport)."""
    return entry["kind"] == "emoji" and entry.get("subgroup") in WHO


@functools.lru_cache(maxsize=8)
def _names(library: Any) -> _Names:
    labels = [str(e["label"]).lower() for e in library.entries]
    tags = [{str(t).replace("-", " ").lower() for t in e["tags"]} for e in library.entries]
    icons = {label for label, e in zip(labels, library.entries, strict=True) if e["kind"] == "icon"}
    badges = []
    for label, e in zip(labels, library.entries, strict=True):
        words = label.split()
        bases = [k for k in range(1, len(words)) if " ".join(words[:k]) in icons]
        badges.append(set(words[bases[-1] :]) if e["kind"] == "icon" and bases else set())
    thesaurus: dict[str, set[str]] = {}
    for e, own, badge in zip(library.entries, tags, badges, strict=True):
        if e["kind"] == "icon" and not badge:
            for tag in own:
                thesaurus.setdefault(tag, set()).update(own - {tag})
    emoji_names = {
        name for label, own, e in zip(labels, tags, library.entries, strict=True)
        if e["kind"] == "emoji" for name in [*own, label]
    }  # fmt: skip
    who = [_is_who(e) for e in library.entries]
    things = {
        word for label, e in zip(labels, library.entries, strict=True)
        if e["kind"] == "emoji" and e.get("group") != PEOPLE for word in label.split()
    }  # fmt: skip
    things |= set(labels)
    people_words = {
        tag for label, own, person in zip(labels, tags, who, strict=True) if person
        for tag in own if tag not in label.split()
    } - things  # fmt: skip
    return _Names(labels, tags, badges, thesaurus, emoji_names, people_words, things)


@functools.lru_cache(maxsize=1024)
def _ranked(
    phrase: str, library: Any, container: str | None = None
) -> list[tuple[int, float, float, bool]]:
    """The five best assets for ``phrase`` (held in ``container``, if named): (index, total
    score, similarity, whether a name or tag connects it to the phrase), best first."""
    scores = library.vectors @ _vector(phrase)
    words = set(phrase.split())
    head = phrase.split()[-1]
    names = _names(library)
    # only when no emoji is named or tagged with the phrase: the names its synonyms give
    synonyms = set() if phrase in names.emoji_names else names.thesaurus.get(phrase, set())
    person = phrase in names.people_words
    thing = phrase in names.thing_words

    def bonus(entry: dict[str, Any], label: str, tags: set[str], similarity: float) -> float:
        """Names beat meaning, and colour emoji beat line icons that name the same thing."""
        emoji = entry["kind"] == "emoji"
        if similarity < TAG_FLOOR and label != phrase:
            return 0.0  # "well" tags clapping hands (0.12): a tag without the meaning
        label_words = set(label.split())
        if label == phrase:
            return 1.0 if emoji else 0.4
        if len(label_words) > 1 and label.endswith(" " + head) and label_words <= words:
            # "hot air balloon" → "air balloon", more of the phrase than "balloon" names
            return 0.45 + 0.1 * (len(label_words) - 1)
        if phrase in tags or (label == head and emoji):
            named = 0.45 if emoji else 0.1
            if person and _is_who(entry):
                named += PERSON_PREFERENCE
            elif thing and emoji and entry.get("group") == PEOPLE and not _is_who(entry):
                named = 0.1  # "sword" on person fencing, "ball" on person bouncing ball: a prop
            return named + (0.05 if head in label_words else 0.0)
        if emoji and label_words <= words:  # "tennis racket" → the emoji named "tennis"
            return 0.35
        if emoji and label in synonyms and similarity >= SYNONYM_FLOOR:
            # "smartphone" → "mobile phone"
            return 0.45
        named = (0.3 if emoji else 0.15) if label == head else 0.0
        if head not in tags:
            return named  # "sewing" tags thread and "orange" tangerine: neither is the machine
        return named + 0.1 * min(2, len(words & tags))

    def held(entry: dict[str, Any], label: str, tags: set[str]) -> float:
        """Colour art of the thing in the container named ("a cup of tea": the teacup, not
        the teapot); a line icon does not overtake colour art by it."""
        shown = container is not None and (container in label.split() or container in tags)
        return CONTAINER_BONUS * (shown and entry["kind"] == "emoji")

    total_bonus = np.array(
        [
            (named := bonus(e, label, tags, sim))
            + held(e, label, tags) * (named > 0)
            - VARIANT_PENALTY * bool(badge and not badge & words)
            for e, label, tags, badge, sim in zip(
                library.entries, names.labels, names.tags, names.badges, scores, strict=True
            )
        ]
    )
    emoji = np.array([e["kind"] == "emoji" for e in library.entries])
    total = scores + total_bonus + EMOJI_PREFERENCE * emoji
    top = np.argsort(-total)[:5]
    return [(int(t), float(total[t]), float(scores[t]), bool(total_bonus[t] > 0)) for t in top]


def drawable(found: list[Subject]) -> list[Subject]:
    """The subjects that have art, their relations renumbered; a relation to a subject that
    has none is dropped (the thing is placed on its own)."""
    kept = [i for i, s in enumerate(found) if s.asset is not None]
    index = {old: new for new, old in enumerate(kept)}
    out = []
    for i in kept:
        s = found[i]
        if s.target is not None and s.target not in index:
            s.relation, s.target = None, None
        elif s.target is not None:
            s.target = index[s.target]
        out.append(s)
    return out
