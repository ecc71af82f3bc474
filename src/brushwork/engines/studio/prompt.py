"""Read what a prompt asks for: exact strings, colours, scene, style.

Pure text processing, no pixels: the renderer decides how each wish looks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

RGB = tuple[int, int, int]

COLOURS: dict[str, RGB] = {
    "red": (210, 40, 45),
    "crimson": (180, 20, 60),
    "scarlet": (230, 40, 20),
    "orange": (245, 140, 30),
    "amber": (255, 190, 0),
    "gold": (230, 185, 50),
    "golden": (230, 185, 50),
    "yellow": (250, 215, 50),
    "lime": (170, 220, 50),
    "green": (60, 160, 70),
    "emerald": (20, 150, 100),
    "olive": (120, 130, 50),
    "mint": (150, 230, 190),
    "teal": (20, 140, 140),
    "turquoise": (60, 210, 200),
    "cyan": (40, 200, 230),
    "aqua": (80, 220, 230),
    "blue": (40, 90, 210),
    "navy": (20, 35, 90),
    "indigo": (75, 40, 140),
    "purple": (130, 60, 170),
    "violet": (150, 90, 210),
    "lavender": (190, 170, 230),
    "magenta": (210, 40, 170),
    "pink": (240, 130, 180),
    "rose": (230, 90, 120),
    "brown": (120, 75, 40),
    "chocolate": (90, 50, 25),
    "beige": (225, 205, 170),
    "tan": (200, 165, 120),
    "cream": (245, 235, 210),
    "white": (245, 245, 245),
    "ivory": (250, 245, 230),
    "silver": (190, 195, 200),
    "gray": (128, 128, 128),
    "grey": (128, 128, 128),
    "charcoal": (50, 52, 56),
    "black": (18, 18, 20),
    "coral": (250, 125, 95),
    "peach": (250, 190, 150),
    "salmon": (240, 130, 110),
    "maroon": (110, 20, 35),
    "burgundy": (120, 20, 45),
    "pastel": (230, 200, 230),
}

# Scene words → the scene the renderer paints. The first entry that matches wins, so the
# more specific scenes come first ("a city at night" is a city scene, which has its own dusk).
SCENES: dict[str, tuple[str, ...]] = {
    "bokeh": ("bokeh", "fairy lights", "string lights", "blurred lights"),
    # places (issue 18) before the broad scenes whose words they share ("a rainy alley in
    # the city" is an alley; "a mountain lake" is a lake under hills)
    "alley": ("alley", "alleyway", "alleys", "back street", "backstreet", "side street"),
    "wall": (
        "brick wall",
        "brick walls",
        "stone wall",
        "graffiti wall",
        "concrete wall",
        "wall of bricks",
        "bricks",
        "brickwork",
    ),
    "storefront": ("storefront", "shopfront", "shop front", "shop window", "bakery front"),
    "greenhouse": ("greenhouse", "glasshouse", "conservatory", "hothouse"),
    "kitchen": ("kitchen", "kitchen counter", "kitchen table"),
    "desk": ("desk", "office desk", "workspace", "workbench"),
    "room": (
        "room",
        "bedroom",
        "living room",
        "interior",
        "indoors",
        "library",
        "attic",
        "bathroom",
        "corridor",
        "hallway",
        "classroom",
        "throne room",
        "ballroom",
        "museum",
        "lobby",
    ),
    "cliff": ("cliff", "cliffs", "clifftop", "sea cliff", "headland", "cliffside"),
    "lake": ("lake", "lakeside", "pond", "loch", "reservoir", "still water"),
    "beach": ("beach", "seaside", "shore", "shoreline", "sandy beach", "tropical beach"),
    # a bird's perch, before "forest" ("an owl on a branch in the forest": the branch, close)
    "branch": ("branch", "branches", "tree branch", "twig", "bough"),
    # ice to stand on at sea ("penguins on an iceberg"); a glacier or the tundra is snow
    "ice": (
        "iceberg",
        "icebergs",
        "ice floe",
        "ice floes",
        "floe",
        "pack ice",
        "ice shelf",
        "sea ice",
        "antarctic",
        "antarctica",
    ),
    "sunset": ("sunset", "sunrise", "dusk", "dawn", "golden hour", "twilight"),
    "city": ("city", "skyline", "urban", "downtown", "street", "buildings"),
    "night": ("night", "starry", "stars", "moon", "midnight", "nocturnal"),
    "space": ("space", "galaxy", "nebula", "cosmos", "planet", "outer space"),
    "ocean": ("ocean", "sea", "waves", "coast", "water", "harbour", "harbor"),
    "snow": (
        "snow",
        "winter",
        "snowy",
        "ice",
        "frozen",
        "arctic",
        "glacier",
        "glaciers",
        "tundra",
    ),
    "forest": ("forest", "woods", "jungle", "trees", "tree"),
    "mountain": ("mountain", "mountains", "hills", "peak", "alps", "valley"),
    "desert": ("desert", "dunes", "sand", "sahara"),
    "meadow": ("meadow", "field", "grass", "garden", "park", "countryside", "flowers"),
    "studio": ("studio", "product", "countertop", "marble", "backdrop", "portrait"),
    "sky": ("sky", "clouds", "cloudy", "cloud", "blue sky", "daylight"),
}

# Weather painted as layers over the scene (weather.py), never drawn as an icon.
WEATHER: dict[str, tuple[str, ...]] = {
    "storm": ("storm", "stormy", "thunderstorm", "thunder", "lightning", "tempest"),
    "rain": ("rain", "rainy", "raining", "drizzle", "downpour", "rainfall", "rainstorm"),
    "snow": ("snowing", "snowfall", "falling snow", "blizzard", "snowflakes", "snowstorm"),
    "fog": ("fog", "foggy", "mist", "misty", "haze", "hazy"),
}

STYLES: dict[str, tuple[str, ...]] = {
    "pixel": ("pixel art", "pixel", "8-bit", "8 bit", "retro game"),
    "neon": ("neon", "cyberpunk", "synthwave", "glow"),
    "vintage": ("vintage", "retro", "sepia", "old photo", "antique"),
    "mono": ("black and white", "monochrome", "noir", "grayscale", "greyscale"),
    "watercolour": ("watercolor", "watercolour"),
    "sketch": ("sketch", "pencil", "drawing", "charcoal drawing"),
    "oil": ("oil painting", "painting", "impressionist"),
    "flat": ("flat illustration", "flat design", "flat", "vector art", "minimalist"),
    "photo": ("photograph", "photographic", "photorealistic", "photo", "depth of field", "dslr"),
}

# Surfaces a subject can stand on, and the light of the scene.
SURFACES: dict[str, tuple[str, ...]] = {
    "marble": ("marble",),
    "wood": ("wooden", "wood", "oak", "walnut"),
}
LIGHTS: dict[str, tuple[str, ...]] = {
    "morning": ("morning light", "morning", "sunrise", "dawn"),
    "golden": ("golden hour", "sunset", "warm light", "evening light"),
    "night": ("night", "moonlight", "midnight"),
    "studio": ("studio light", "softbox", "soft light"),
}

_QUOTES = re.compile(
    r'"([^"]+)"|“([^”]+)”|„([^“”]+)[“”]|«([^»]+)»|「([^」]+)」|『([^』]+)』|‘([^’]+)’'
    r"|(?<![\w])'([^']+)'(?![\w])"
)


@dataclass(frozen=True)
class Parsed:
    text: str
    quoted: list[str] = field(default_factory=list)
    colours: list[RGB] = field(default_factory=list)
    scene: str | None = None
    styles: list[str] = field(default_factory=list)
    text_colour: RGB | None = None
    surface: str | None = None
    light: str | None = None
    weather: list[str] = field(default_factory=list)
    variation: int = 0  # which of n pictures: later ones vary the light and the viewpoint


def quoted_strings(prompt: str) -> list[str]:
    """Every quoted string, exactly as written (quotes stripped, inner spaces kept)."""
    out = []
    for match in _QUOTES.finditer(prompt):
        value = next(g for g in match.groups() if g is not None)
        if value.strip():
            out.append(value.strip())
    return out


def instructions(prompt: str, gap: str = " ") -> str:
    """The prompt without its quoted strings (content, not instructions), lower-case."""
    return _QUOTES.sub(gap, prompt).lower()


def _contains(words: str, phrase: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", words) is not None


def parse(prompt: str) -> Parsed:
    quoted = quoted_strings(prompt)
    # Quoted text is content, not instructions: colours and scene come from the rest.
    rest = instructions(prompt)
    colours = [rgb for _, name, rgb in sorted(_find_colours(rest))]
    scenes = [name for name, words in SCENES.items() if any(_contains(rest, w) for w in words)]
    styles = [name for name, words in STYLES.items() if any(_contains(rest, w) for w in words)]
    surface = _surface(rest)
    light = _first(LIGHTS, rest)
    weather = [name for name, words in WEATHER.items() if any(_contains(rest, w) for w in words)]
    if scenes[:1] == ["night"] and len(scenes) > 1 and light == "night":
        # "penguins on an iceberg at night": the place, in the night's light (colour.light)
        scenes = scenes[1:]
    # winter named beside a place that comes first: not "a snow globe", "a snowman"
    wintry = re.search(r"\b(?:snowy|winter|wintry|snow(?! ?(?:globe|m[ae]n|board|mobile|ball|"
                       r"cone|shoe|boot|suit|plough|plow)))\b", rest) is not None  # fmt: skip
    if scenes[:1] == ["snow"] and len(scenes) > 1:
        # "a snowy forest", "mountains in winter": the place, with snow falling over it
        scenes = scenes[1:]
        weather = weather if "snow" in weather else [*weather, "snow"]
    elif scenes[:1] not in (["snow"], ["ice"]) and wintry and "snow" not in weather:
        weather = [*weather, "snow"]  # "a robin on a branch in winter": the branch, snowing
    scene = scenes[0] if scenes else None
    return Parsed(
        prompt, quoted, colours, scene, styles, _text_colour(rest), surface, light, weather
    )


# what a surface word must qualify to be the ground the subject stands on: "a wooden table",
# "on marble"; "a wooden canoe" is a canoe made of wood, not a table under the lake
_SURFACE_NOUNS = (
    r"table|tables|tabletop|countertop|counter|worktop|desk|floor|floorboards|surface|board|"
    r"shelf|bench|slab|deck|top|plank|planks|background|backdrop"
)


def _surface(text: str) -> str | None:
    for name, words in SURFACES.items():
        for word in words:
            w = re.escape(word)
            if re.search(rf"\b{w}\s+(?:[a-z]+\s+)?(?:{_SURFACE_NOUNS})\b|\bon\s+(?:the\s+)?{w}\b",
                         text):  # fmt: skip
                return name
    return None


def _first(table: dict[str, tuple[str, ...]], text: str) -> str | None:
    return next(
        (name for name, words in table.items() if any(_contains(text, w) for w in words)), None
    )


_TEXT_WORDS = r"(?:text|letters|lettering|letter|font|title|words|type|typography|caption)"


def _text_colour(text: str) -> RGB | None:
    """A colour that qualifies the text ("in gold letters", "red text"), not the scene."""
    names = "|".join(sorted(COLOURS, key=len, reverse=True))
    match = re.search(rf"\b({names})(?:\s+\w+)?\s+{_TEXT_WORDS}\b", text)
    return COLOURS[match.group(1)] if match else None


def _find_colours(text: str) -> list[tuple[int, str, RGB]]:
    found = []
    for name, rgb in COLOURS.items():
        match = re.search(rf"(?<![\w-]){name}(?![\w-])", text)
        if match:
            found.append((match.start(), name, rgb))
    return found
