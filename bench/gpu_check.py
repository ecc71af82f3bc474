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

            def request(mode: str = mode, refs: int = min(2, app.max_images)) -> Request:
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
    print("ALL OK" if ok else "SOME BAD")


if __name__ == "__main__":
    main()
