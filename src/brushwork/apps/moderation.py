"""Prompt moderation (``moderation: auto | low``): offline rules per category.

A prompt is refused with 400 ``moderation_blocked`` naming the categories it
hit. ``auto`` applies every rule; ``low`` relaxes the graphic and suggestive
rules but keeps the hard limits, and sexual content involving minors is
refused at every setting. Pure text processing; runs in the API before a task
exists, so a refused prompt never reaches an engine.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

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


def categories(prompt: str, level: str) -> list[str]:
    """The categories a prompt breaks at ``level`` (``auto`` or ``low``)."""
    text = normalise(prompt)
    hits = [r.category for r in RULES if (r.hard or level == "auto") and r.pattern.search(text)]
    if _SEXUAL.search(text) and _MINOR.search(text):
        hits.append("sexual/minors")
    return sorted(set(hits))


def check(prompt: str, level: str) -> None:
    found = categories(prompt, level)
    if found:
        raise ModerationBlocked(
            "the prompt was refused by moderation (" + ", ".join(found) + ")",
            param="prompt",
        )
