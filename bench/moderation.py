"""Moderation quality on a labelled prompt set: precision and recall per category, both levels.

    python bench/moderation.py [--rules-only]

The set (tests/data/moderation_eval.jsonl) is separate from the descriptions the
embedding stage compares with (src/brushwork/apps/data/moderation_anchors.json).
Then the embedding pass over the same prompts on ONNX Runtime and on numpy, side by side.
Last, the quick (int8) pass against the exact one, on two sets: the labelled prompts with every
prompt of bench/data/subjects*.tsv (what QUICK_MARGIN was set from), and
bench/data/moderation_fresh.txt (written after it was set): the largest gap in similarity, the
share of prompts the quick pass clears, decisions that differ, and CPU ms a prompt.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from brushwork import embedding
from brushwork.apps import moderation

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "tests" / "data" / "moderation_eval.jsonl"
CATEGORIES = ["sexual", "sexual/minors", "violence/graphic", "hate", "self-harm", "illegal"]


def counts(rows: list[dict], predicted: list[set[str]], cat: str) -> tuple[int, int, int]:
    pairs = list(zip((set(r["categories"]) for r in rows), predicted, strict=True))
    tp = sum(1 for truth, got in pairs if cat in got and cat in truth)
    fp = sum(1 for truth, got in pairs if cat in got and cat not in truth)
    fn = sum(1 for truth, got in pairs if cat not in got and cat in truth)
    return tp, fp, fn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules-only", action="store_true", help="switch the embedding stage off")
    args = parser.parse_args()
    rows = [json.loads(line) for line in EVAL.read_text().splitlines() if line.strip()]
    embeddings = not args.rules_only and moderation.model_available()
    benign = sum(1 for r in rows if not r["categories"])
    stage = "rules + embeddings" if embeddings else "rules only"
    print(f"{len(rows)} labelled prompts ({benign} benign); {stage}\n")
    head = ("category", "level", "precision", "recall", "tp", "fp", "fn")
    print("{:<18} {:<5} {:>9} {:>7} {:>4} {:>4} {:>4}".format(*head))
    for level in ("auto", "low"):
        moderation.similarities.cache_clear()  # time the model, not the cache
        started = time.perf_counter()
        predicted = [set(moderation.categories(r["prompt"], level, embeddings)) for r in rows]
        ms = (time.perf_counter() - started) / len(rows) * 1000
        for cat in CATEGORIES:
            tp, fp, fn = counts(rows, predicted, cat)
            precision = tp / (tp + fp) if tp + fp else 1.0
            recall = tp / (tp + fn) if tp + fn else 1.0
            print(f"{cat:<18} {level:<5} {precision:9.2f} {recall:7.2f} {tp:4} {fp:4} {fn:4}")
        flagged = sum(1 for r, p in zip(rows, predicted, strict=True) if p and not r["categories"])
        print(f"{'benign flagged':<18} {level:<5} {flagged:>4} of {benign}; {ms:.1f} ms a prompt\n")
    if embeddings:
        runtimes([r["prompt"] for r in rows])
        tuned = [r["prompt"] for r in rows]
        for path in sorted((ROOT / "bench" / "data").glob("subjects*.tsv")):
            tuned += [line.split("\t")[0] for line in lines(path)]
        fresh = lines(ROOT / "bench" / "data" / "moderation_fresh.txt")
        print()
        print(f"{'quick pass':<34} {'prompts':>7} {'max gap':>8} {'cleared':>8} {'differ':>6} "
              f"{'exact ms':>8} {'quick ms':>8} {'both ms':>8}")  # fmt: skip
        for label, prompts in (("set QUICK_MARGIN from", tuned), ("written after (fresh)", fresh)):
            quick_pass(label, list(dict.fromkeys(prompts)))


def lines(path: Path) -> list[str]:
    return [s for s in path.read_text().splitlines() if s.strip() and not s.startswith("#")]


def quick_pass(label: str, prompts: list[str]) -> None:
    """The quick pass against the exact one, one prompt at a time as the API runs them: the
    largest |difference| of a similarity, how many prompts the quick pass clears at ``auto``,
    decisions (both levels) that differ from the exact pass alone, and the CPU ms a prompt of
    the exact pass, the quick pass, and moderation as it runs (quick, then exact if needed)."""
    from threadpoolctl import threadpool_limits

    spent: dict[str, list[float]] = {"exact": [], "quick": [], "both": []}
    gap, cleared, differ = 0.0, 0, 0
    with threadpool_limits(1):
        for prompt in prompts:
            found = {}
            for name, quick in (("exact", False), ("quick", True)):
                moderation.similarities.cache_clear()
                started = time.process_time()
                found[name] = moderation.similarities(prompt, quick)
                spent[name].append(time.process_time() - started)
            gap = max(gap, *(abs(found["exact"][k] - found["quick"][k]) for k in found["exact"]))
            moderation.similarities.cache_clear()
            started = time.process_time()
            used = moderation.deciding_similarities(prompt, "auto")
            spent["both"].append(time.process_time() - started)
            cleared += used == found["quick"]
            for level in ("auto", "low"):
                differ += moderation.categories(prompt, level) != exact_categories(prompt, level)
    ms = {k: statistics.fmean(v) * 1000 for k, v in spent.items()}
    print(f"{label:<34} {len(prompts):7} {gap:8.3f} {cleared / len(prompts):8.0%} {differ:6} "
          f"{ms['exact']:8.2f} {ms['quick']:8.2f} {ms['both']:8.2f}")  # fmt: skip


def exact_categories(prompt: str, level: str) -> list[str]:
    """moderation.categories with the exact pass alone, as before the quick pass."""
    cascade = moderation.deciding_similarities
    moderation.deciding_similarities = lambda p, _level: moderation.similarities(p)
    try:
        return moderation.categories(prompt, level)
    finally:
        moderation.deciding_similarities = cascade


def runtimes(prompts: list[str]) -> None:
    """The embedding pass on ONNX Runtime and on numpy, one prompt at a time as the API sees
    them, in this run: CPU ms a prompt (median, one thread) and how far the answers differ."""
    from threadpoolctl import threadpool_limits

    path = embedding.model_dir()
    assert path is not None
    models = {name: embedding.MiniLM(path, name) for name in ("onnx", "numpy")}
    with threadpool_limits(1):
        spent: dict[str, list[float]] = {name: [] for name in models}
        vectors: dict[str, list[np.ndarray]] = {name: [] for name in models}
        for prompt in prompts:
            for name, model in models.items():
                started = time.process_time()
                vectors[name].append(model.encode([prompt])[0])
                spent[name].append(time.process_time() - started)
    gap = float(np.abs(np.array(vectors["onnx"]) - np.array(vectors["numpy"])).max())
    onnx, plain = (statistics.median(spent[n]) * 1000 for n in ("onnx", "numpy"))
    print(f"embedding pass, CPU a prompt: ONNX Runtime {onnx:.2f} ms, numpy {plain:.2f} ms "
          f"({plain / onnx:.2f}x); largest difference in the vectors {gap:.1e}")  # fmt: skip


if __name__ == "__main__":
    main()
