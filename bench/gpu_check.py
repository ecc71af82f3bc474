"""Every diffusers app and mode through the engine on a GPU (bf16, compiled), tiny pipelines.

    BRUSHWORK_DIFFUSERS_DEVICE=cuda python bench/gpu_check.py

The CPU tests cover the same behaviour in fp32; this is the device check for what only a
GPU runs: CUDA generators, bf16 previews, torch.compile of the repeated blocks, and (where
torchvision is installed) transformers' full Qwen2-VL processor. Prints one line per app and
mode (sizes, same pixels for the same seed, previews, kept pixels), then ALL OK or SOME BAD.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]  # the package, and tests/ for random pipelines

from tests.diffusers.synthetic import build, save  # noqa: E402

from brushwork.engines.base import Request  # noqa: E402
from brushwork.engines.diffusion import APPS, MODELS, DiffusersEngine  # noqa: E402
from brushwork.imaging.composite import keep_composite  # noqa: E402

SIZE = (96, 72)


def main() -> None:
    root = tempfile.mkdtemp()
    os.environ.update(BRUSHWORK_MODELS_DIR=root, BRUSHWORK_DIFFUSERS_STEPS="3", HF_HUB_OFFLINE="1")
    for name in MODELS:
        save(build(name), f"{root}/{name}")
    rng = np.random.default_rng(0)
    photo = Image.fromarray((rng.random((SIZE[1], SIZE[0], 3)) * 255).astype("uint8"))
    edit = np.zeros((SIZE[1], SIZE[0]), np.float32)
    edit[16:56, 24:72] = 1
    keep = edit == 0
    ok = True
    for app_id, app in APPS.items():
        engine = DiffusersEngine(app_id)
        for mode in app.pipelines:
            limit = app.inpaint_images if mode == "inpaint" else app.max_images

            def request(mode: str = mode, refs: int = min(2, limit)) -> Request:
                return Request(
                    mode=mode,  # type: ignore[arg-type]
                    prompt="a red cat",
                    width=SIZE[0],
                    height=SIZE[1],
                    n=2,
                    quality="low",
                    seed=3,
                    images=[photo] * refs if mode != "generate" else [],
                    mask=edit if mode == "inpaint" else None,
                    previews=1,
                )

            shots: list[Image.Image] = []
            started = time.perf_counter()
            first = engine.run(
                request(),
                lambda f, m=None, p=None, s=shots: s.append(p) if p else None,
                lambda: False,
            )
            again = engine.run(request(), lambda *a, **k: None, lambda: False)
            same = all(a.tobytes() == b.tobytes() for a, b in zip(first, again, strict=True))
            sizes = {im.size for im in first}
            kept = True
            if mode == "inpaint":
                final = np.asarray(keep_composite(photo, first[0], edit))
                kept = bool(np.array_equal(final[keep], np.asarray(photo)[keep]))
            good = same and sizes == {SIZE} and bool(shots) and kept
            ok &= good
            print(
                f"{app_id:32} {mode:8} sizes={sorted(sizes)} same-seed-same-pixels={same} "
                f"previews={len(shots)} kept={kept} {time.perf_counter() - started:5.1f} s "
                f"{'OK' if good else 'BAD'}",
                flush=True,
            )
    ok &= check_masks(Path(root), photo)
    print("ALL OK" if ok else "SOME BAD")


def check_masks(root: Path, photo: Image.Image) -> bool:
    """The masks app's GPU path on tiny random SAM 2 and OWLv2: clicks, boxes and words reach
    the models on the device, the same input gives the same mask, the mask is binary."""
    from tests.diffusers.synthetic import tiny_owlv2, tiny_sam2

    from brushwork.contract import MaskInput
    from brushwork.engines.masks import MaskEngine
    from brushwork.settings import DiffusersSettings

    tiny_sam2().save_pretrained(str(root / "sam2"))
    model, tokenizer = tiny_owlv2()
    model.save_pretrained(str(root / "owlv2"))
    tokenizer.save_pretrained(str(root / "owlv2"))
    wanted = os.environ.get("BRUSHWORK_DIFFUSERS_DEVICE", "cuda")  # cpu: a check of the script
    engine = MaskEngine(DiffusersSettings(models_dir=root, device=wanted))
    ok = True
    for given in (
        {"mode": "point", "points": [[40, 30], [5, 5]], "labels": [1, 0]},
        {"mode": "box", "box": [10, 10, 80, 60]},
        {"mode": "text", "text": "the red cat"},
    ):
        started = time.perf_counter()
        first, made_by = engine.select(photo, MaskInput(image="x", **given))
        again, _ = engine.select(photo, MaskInput(image="x", **given))
        device = str(engine.sam2().model.device) if engine.sam2() else "none"  # type: ignore[union-attr]
        good = (
            first.shape == (SIZE[1], SIZE[0])
            and set(np.unique(first)) <= {0, 255}
            and np.array_equal(first, again)
            and made_by != engine.name
            and device.startswith(wanted)
        )
        ok &= good
        print(
            f"{'brushwork/masks':32} {given['mode']:8} made_by={made_by} device={device} "
            f"same-input-same-mask={np.array_equal(first, again)} "
            f"{time.perf_counter() - started:5.1f} s {'OK' if good else 'BAD'}",
            flush=True,
        )
    return ok


if __name__ == "__main__":
    main()
