"""Does the studio draw the thing the prompt names? Share of prompts whose subject is the art
a person would pick.

    python bench/subjects.py [--show-misses]

``bench/data/subjects.tsv`` lists prompts naming concrete things (animals, food, vehicles,
buildings, objects, people, weather) with the asset labels a person would accept. For each
prompt the first parsed subject is matched twice in one run: by embedding similarity alone
(the baseline) and by brushwork's matcher (names and tags first, colour emoji before line
icons). Prints the share of hits for both; target (issue 3): at least 90%.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from brushwork.engines.studio import assets
from brushwork.engines.studio.subjects import _vector, match, parse_subjects

DATA = Path(__file__).parent / "data" / "subjects.tsv"


def cases() -> list[tuple[str, set[str]]]:
    out = []
    for line in DATA.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            prompt, labels = line.split("\t")
            out.append((prompt, set(labels.split("|"))))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()
    reason = assets.missing_reason()
    if reason:
        sys.exit(reason)
    library = assets.library()
    rows = cases()
    hits = {"embedding only": 0, "brushwork": 0}
    misses: list[str] = []
    started = time.perf_counter()
    for prompt, accepted in rows:
        found = parse_subjects(prompt)
        if not found:
            misses.append(f"{prompt!r}: no subject parsed")
            continue
        subject = found[0]
        nearest = library.entries[int(np.argmax(library.vectors @ _vector(subject.phrase)))]
        hits["embedding only"] += nearest["label"] in accepted
        match(subject, library)
        assert subject.asset is not None
        if subject.asset["label"] in accepted:
            hits["brushwork"] += 1
        else:
            misses.append(f"{prompt!r}: {subject.phrase!r} -> {subject.asset['label']!r}")
    per_prompt = (time.perf_counter() - started) / len(rows) * 1000
    print(f"{len(rows)} prompts, {per_prompt:.1f} ms a prompt (parse + both matches)\n")
    print("| matcher | hits | share |")
    print("|---|---|---|")
    for name, count in hits.items():
        print(f"| {name} | {count}/{len(rows)} | {count / len(rows):.1%} |")
    if args.show_misses:
        print("\nmisses:\n  " + "\n  ".join(misses))


if __name__ == "__main__":
    main()
