"""Is the quoted text set exactly? Rendered, then read back by Tesseract, per script.

    python bench/text_accuracy.py [--show-worst 10]

Needs Debian's tesseract-ocr with its eng, chi-sim, hin, ben and ara data:
    apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim \\
        tesseract-ocr-hin tesseract-ocr-ben tesseract-ocr-ara

60 prompts with quoted text (12 per script: Latin, Chinese, Hindi, Bengali, Arabic) as
titles, posters, signs, book covers and social posts, each rendered in two of several sizes
and styles. The text boxes the engine draws are recorded; each is cut out, separated from
the scene by the text's own fill colour, and read by Tesseract in that script's language.
Character accuracy = 1 - edit distance / length (spaces ignored), best of three
readings. Prints a table per script
and overall. Target (issue 3): at least 99% in every script.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from brushwork.engines.base import Request
from brushwork.engines.studio import StudioEngine
from brushwork.engines.studio import text as typo

STRINGS = {
    "latin": (
        "eng",
        [
            "OPEN 24 HOURS", "Summer Sale", "Fresh Coffee", "The Last Lighthouse",
            "Grand Opening", "Hello World", "Midnight Jazz Club", "Welcome Home",
            "Bakery and Cafe", "Big Ideas Start Small", "Autumn Festival", "Keep Going",
        ],
    ),
    "cjk": (
        "chi_sim",
        [
            "春节快乐", "欢迎光临", "新年快乐", "咖啡店", "开业大吉", "你好世界",
            "夏季促销", "中秋节快乐", "书店", "早上好", "生日快乐", "谢谢光临",
        ],
    ),
    "devanagari": (
        "hin",
        [
            "नमस्ते दुनिया", "दीपावली की शुभकामनाएं", "स्वागत है", "चाय की दुकान", "होली मुबारक",
            "नया साल मुबारक", "धन्यवाद", "सुप्रभात", "खुला है", "मेरा भारत", "पुस्तकालय",
            "गर्मी की छुट्टी",
        ],
    ),
    "bengali": (
        "ben",
        [
            "শুভ নববর্ষ", "স্বাগতম", "চায়ের দোকান", "ধন্যবাদ", "শুভ সকাল", "আমার সোনার বাংলা",
            "বইমেলা", "শুভ জন্মদিন", "খোলা আছে", "পূজার শুভেচ্ছা", "মিষ্টির দোকান", "ভালোবাসা",
        ],
    ),
    "arabic": (
        "ara",
        [
            "مرحبا بالعالم", "أهلا وسهلا", "رمضان كريم", "عيد مبارك", "مقهى", "شكرا",
            "صباح الخير", "مكتبة", "السلام عليكم", "مفتوح", "حلويات", "سنة سعيدة",
        ],
    ),
}  # fmt: skip
TEMPLATES = [
    'a poster that says "{}"',
    'a storefront sign reading "{}"',
    'a book cover for "{}"',
    'a social post that says "{}"',
    'the words "{}" over a sunset',
    'a title "{}" with a cat',
]
CONFIGS = [
    ((1024, 1024), ""),
    ((1536, 1024), ", oil painting"),
    ((1024, 1536), ", vintage"),
    ((1024, 1024), ", neon"),
    ((1536, 1024), ", watercolor"),
    ((1024, 1024), ", pixel art"),
]


def distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            row.append(min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = row
    return prev[-1]


def normal(s: str, keep: str = "") -> str:
    """NFC, no spaces; stray marks Tesseract reads in the margin (punctuation or symbols that
    the expected text does not contain) are dropped."""
    text = "".join(unicodedata.normalize("NFC", s).split())
    return "".join(
        c for c in text if c in keep or not unicodedata.category(c).startswith(("P", "S"))
    )


def render_with_boxes(
    prompt: str, size: tuple[int, int], seed: int
) -> tuple[Image.Image, list[Any]]:
    """The image and every text box the engine drew, with the fill colour it used."""
    drawn: list[Any] = []
    original = typo.draw_layout

    def spy(image, layout, centre_x, top, fill, outline):  # type: ignore[no-untyped-def]
        box = original(image, layout, centre_x, top, fill, outline)
        if image.size == size:
            drawn.append((box, fill, layout))
        return box

    typo.draw_layout = spy  # type: ignore[assignment]
    try:
        request = Request(
            mode="generate", prompt=prompt, width=size[0], height=size[1], n=1,
            quality="medium", seed=seed,
        )  # fmt: skip
        (image,) = StudioEngine().run(request, lambda *a, **k: None, lambda: False)
    finally:
        typo.draw_layout = original  # type: ignore[assignment]
    return image, drawn


def readings(
    image: Image.Image, box: Any, fill: Any, lang: str, work: Path, lines: int
) -> list[str]:
    """Tesseract's readings of one text box, at a few letter sizes and page modes.

    The box is separated from the scene by the text's fill colour. Tesseract's Arabic model
    in particular misses short bold words at some sizes and reads them at others; a wrong
    rendering cannot be read back exactly by chance, so the best reading is what counts.
    """
    x0, y0, x1, y1 = box
    pad = max(4, (y1 - y0) // 6)
    crop = image.crop((max(0, x0 - pad), max(0, y0 - pad), x1 + pad, y1 + pad))
    rgb = np.asarray(crop, np.float32)
    near = np.linalg.norm(rgb - np.asarray(fill, np.float32), axis=2) < 70
    ink = Image.fromarray(np.where(near, 0, 255).astype(np.uint8))
    out = []
    for height, psm in ((56, "6" if lines > 1 else "7"), (80, "8" if lines == 1 else "6"),
                        (120, "8" if lines == 1 else "6")):  # fmt: skip
        scale = height * lines / max(1, crop.height)
        sized = ink.resize(
            (max(1, int(ink.width * scale)), max(1, int(ink.height * scale))),
            Image.Resampling.LANCZOS,
        )
        framed = Image.new("L", (sized.width + 60, sized.height + 60), 255)  # a quiet margin
        framed.paste(sized, (30, 30))
        path = work / "crop.png"
        framed.save(path)
        result = subprocess.run(
            ["tesseract", str(path), "-", "-l", lang, "--psm", psm],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        out.append(result.stdout.strip())
    return out


def is_title(drawn: Any, s: str) -> bool:
    lines = drawn[2].lines
    return bool(" ".join(lines) == s or "".join(lines) == s.replace(" ", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-worst", type=int, default=8)
    args = parser.parse_args()
    if shutil.which("tesseract") is None:
        sys.exit("tesseract is not installed: see this script's docstring")
    results: dict[str, list[float]] = {s: [] for s in STRINGS}
    worst: list[tuple[float, str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        k = 0
        for script, (lang, strings) in STRINGS.items():
            for i, s in enumerate(strings):
                prompt = TEMPLATES[i % len(TEMPLATES)].format(s)
                for c in range(2):
                    size, style = CONFIGS[(k + c * 3) % len(CONFIGS)]
                    image, drawn = render_with_boxes(prompt + style, size, seed=k)
                    title = next((d for d in drawn if is_title(d, s)), drawn[0] if drawn else None)
                    if title is None:
                        results[script].append(0.0)
                        continue
                    want = normal(s)
                    scored = [
                        (max(0.0, 1 - distance(want, normal(g, want)) / len(want)), g)
                        for g in readings(image, title[0], title[1], lang, Path(tmp),
                                          len(title[2].lines))
                    ]  # fmt: skip
                    accuracy, got = max(scored)
                    results[script].append(accuracy)
                    worst.append((accuracy, script, f"{prompt}{style} {size}", got))
                k += 1
    print("| script | renders | mean character accuracy | all exact |")
    print("|---|---|---|---|")
    everything: list[float] = []
    for script, values in results.items():
        everything += values
        exact = sum(v == 1.0 for v in values)
        print(
            f"| {script} | {len(values)} | {statistics.mean(values):.2%} | {exact}/{len(values)} |"
        )
    print(f"| overall | {len(everything)} | {statistics.mean(everything):.2%} | "
          f"{sum(v == 1.0 for v in everything)}/{len(everything)} |")  # fmt: skip
    if args.show_worst:
        print("\nlowest:")
        for accuracy, script, where, got in sorted(worst)[: args.show_worst]:
            print(f"  {accuracy:.0%} {script}: {where!r} read as {got!r}")


if __name__ == "__main__":
    main()
