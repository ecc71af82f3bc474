"""Prompt moderation (``moderation: auto | low``): offline rules plus an offline embedding model.

A prompt is refused with 400 ``moderation_blocked`` naming the categories it
hit. Two stages, per category: word rules, and the cosine similarity of the
prompt's embedding (all-MiniLM-L6-v2, ``embedding.py``) to short descriptions of
the category (``data/moderation_anchors.json``), counted only when it beats the
similarity to benign descriptions. ``low`` relaxes the thresholds and drops the
softer word rules but keeps the hard limits; sexual content involving minors is
refused at every setting. Runs in the API before a task exists. Without the
embedding package installed the rules alone decide (``model_available()``).
"""

from __future__ import annotations

import functools
import json
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brushwork import embedding
from brushwork.errors import ModerationBlocked


@dataclass(frozen=True)
class Rule:
    category: str
    pattern: re.Pattern[str]
    hard: bool  # refused even with moderation=low


def _words(*terms: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(terms) + r")\b")


_MINOR = _words(
    r"child(?:ren)?",
    "kids?",
    "minors?",
    "underage",
    "preteens?",
    "toddlers?",
    "infants?",
    r"(?:little|young) (?:girls?|boys?)",
    r"school ?(?:girls?|boys?)",
    r"\d{1,2}[- ]?y(?:ear)?[- ]?o(?:ld)?",
    "teens?",
    "teenagers?",
    "loli",
    "shota",
)
_SEXUAL = _words(
    "nude",
    "naked",
    "nsfw",
    "porn(?:ographic)?",
    "sex(?:ual)?",
    "explicit",
    "erotic",
    "topless",
    "genitals?",
    "lewd",
    "xxx",
)

RULES = (
    Rule(
        "sexual",
        _words("porn(?:ographic)?", "xxx", "hardcore sex", "sex act", "genitals?"),
        hard=True,
    ),
    Rule("sexual", _SEXUAL, hard=False),
    Rule(
        "violence/graphic",
        _words(
            "gore",
            "gory",
            "dismember(?:ed|ment)?",
            "decapitat(?:ed|ion)",
            "disembowel(?:ed)?",
            "mutilat(?:ed|ion)",
            "entrails",
        ),
        hard=False,
    ),
    Rule(
        "hate",
        _words(
            "nazi propaganda",
            "ethnic cleansing",
            "white power",
            "genocide is good",
            "subhuman (?:race|people)",
        ),
        hard=True,
    ),
    Rule(
        "self-harm",
        _words(
            "suicide instructions?",
            "how to (?:kill|hurt) myself",
            "self[- ]harm guide",
            "cutting myself",
        ),
        hard=True,
    ),
    Rule(
        "illegal",
        _words(
            "child abuse",
            "counterfeit (?:money|banknotes?|passports?)",
            "fake (?:passport|id card|driver'?s licen[cs]e)",
            "how to make a bomb",
            "pipe bomb",
            "meth lab",
        ),
        hard=True,
    ),
)


_SPACED = re.compile(r"\b(?:\w[\s.*_-]+){2,}\w\b")


def normalise(prompt: str) -> str:
    """Lower case, compatibility forms folded, and spaced-out words ("n.u.d.e") joined."""
    text = unicodedata.normalize("NFKC", prompt).lower()
    text = _SPACED.sub(lambda m: re.sub(r"[\s.*_-]+", "", m.group()), text)
    return re.sub(r"[\s_*.]+", " ", text)


# Similarity above which an embedding counts as a hit, by level (measured: bench/moderation.py).
THRESHOLDS = {"auto": 0.45, "low": 0.60}
MINOR_THRESHOLD = 0.45
CATEGORIES = ("sexual", "violence/graphic", "hate", "self-harm", "illegal")
ANCHORS = Path(__file__).resolve().parent / "data" / "moderation_anchors.json"


_ANCHORING = threading.Lock()


def _anchor_vectors() -> dict[str, Any] | None:
    """The categories' description embeddings, computed once: concurrent first requests wait
    for the one computation instead of each doing it."""
    with _ANCHORING:
        return _anchors()


def warm() -> None:
    """Load the model and the anchors now (the API does it at start, in the background)."""
    _anchor_vectors()


@functools.cache
def _anchors() -> dict[str, Any] | None:
    model = embedding.load()
    if model is None:
        return None
    anchors = {k: v for k, v in json.loads(ANCHORS.read_text()).items() if not k.startswith("_")}
    return {name: model.encode(texts) for name, texts in anchors.items()}


def model_available() -> bool:
    return _anchor_vectors() is not None


@functools.lru_cache(maxsize=4096)  # repeated prompts (seeds, retries, n runs) cost nothing
def similarities(prompt: str, quick: bool = False) -> dict[str, float]:
    """Highest cosine similarity of the prompt to each category's descriptions (empty: no
    model); ``quick``: the prompt embedded by the model's int8 pass, within QUICK_MARGIN."""
    anchors = _anchor_vectors()
    model = embedding.load()
    if anchors is None or model is None:
        return {}
    vector = model.encode_one(prompt, quick)  # with the prompts other requests check meanwhile
    return {name: float((vectors @ vector).max()) for name, vectors in anchors.items()}


# The quick pass's similarities were within 0.04 of the exact ones on every prompt of
# bench/moderation.py; one that leaves every threshold at least this far behind cannot
# reach one exactly, so the exact pass runs only for the prompts it does not clear.
QUICK_MARGIN = 0.08


def deciding_similarities(prompt: str, level: str) -> dict[str, float]:
    """The similarities :func:`categories` decides on: the quick pass's when they clear every
    threshold the level compares with by QUICK_MARGIN (the exact ones would decide the same),
    else the exact ones."""
    model = embedding.load()
    if model is None or not model.has_quick:
        return similarities(prompt)
    rough = similarities(prompt, quick=True)
    limits = [(name, THRESHOLDS[level]) for name in CATEGORIES]
    limits += [("sexual", THRESHOLDS["auto"]), ("minors", MINOR_THRESHOLD)]
    if all(rough.get(name, 0.0) < limit - QUICK_MARGIN for name, limit in limits):
        return rough
    return similarities(prompt)


def categories(prompt: str, level: str, embeddings: bool = True) -> list[str]:
    """The categories a prompt breaks at ``level`` (``auto`` or ``low``)."""
    text = normalise(prompt)
    hits = {r.category for r in RULES if (r.hard or level == "auto") and r.pattern.search(text)}
    sims = deciding_similarities(prompt, level) if embeddings else {}
    benign = sims.get("benign", 1.0)
    for name in CATEGORIES:
        if sims.get(name, 0.0) >= THRESHOLDS[level] and sims[name] > benign:
            hits.add(name)
    sexual = bool(_SEXUAL.search(text)) or sims.get("sexual", 0.0) >= THRESHOLDS["auto"]
    minor = bool(_MINOR.search(text)) or sims.get("minors", 0.0) >= MINOR_THRESHOLD
    if sexual and minor:  # a hard limit at every level
        hits.update({"sexual", "sexual/minors"})
    return sorted(hits)


def check(prompt: str, level: str, embeddings: bool = True) -> None:
    found = categories(prompt, level, embeddings)
    if found:
        raise ModerationBlocked(
            "the prompt was refused by moderation (" + ", ".join(found) + ")",
            param="prompt",
        )
