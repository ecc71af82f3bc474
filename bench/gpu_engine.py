"""Seconds per 1024x1024 image on a GPU: plain diffusers vs brushwork's diffusers engine.

    python bench/gpu_engine.py [--models flux-schnell,sdxl,qwen-image] [--steps qwen-image=10]
                               [--repeat 2] [--budget 540] [--json results.json]

Builds the full-size architectures with random weights (FLUX.1-schnell: 12B
transformer + T5-XXL + CLIP-L; Qwen-Image: 20B transformer + Qwen2.5-VL-7B;
SDXL: 2.6B UNet + both CLIP towers), in bf16 on the GPU: nothing is downloaded,
and random weights cost exactly as much time as trained ones. For each model it
times, in one process on one card:

  plain          diffusers as its docs show it: pipe(prompt, 1024x1024), bf16
  engine         brushwork's engine (same pipeline, its callbacks, resizing, n=1)
  engine+cache   the same with the first-block cache (transformers only)
  engine+chlast  channels-last memory format for the conv nets (UNet, 2D VAEs)
  engine+compile torch.compile of the repeated block (the engine's default on CUDA)
  compile, n=4   four images per call (``num_images_per_prompt``), per image

Each row is the median of ``--repeat`` runs after a warm-up run (the warm-up of the
compiled rows includes the compilation, reported apart). Peak memory is
``torch.cuda.max_memory_allocated`` over the row. ``--steps`` overrides every
model's medium tier (4 / 30 / 30 steps) so a short device lease fits; the table
says which steps ran. With random weights the cache's skip decisions are not
those of trained weights: its row shows the mechanism's cost and speed-up as
measured here, not a quality-checked setting. Results are printed as a table and
written row by row to ``--json`` (so a cut-off run still reports).

With no GPU it refuses to start; ``--scale tiny`` runs the same code on the CPU with
tiny random models (a check that the script works, not a benchmark).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]  # the package, and tests/ for random pipelines

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from tests.diffusers.synthetic import build  # noqa: E402

from brushwork.engines.base import Request  # noqa: E402
from brushwork.engines.diffusion import MODELS, DiffusersEngine  # noqa: E402
from brushwork.engines.diffusion.loading import WARM, block_cache_works, speed_up  # noqa: E402
from brushwork.settings import DiffusersSettings as Options  # noqa: E402

PROMPT = "a lighthouse on a rocky coast at dawn, a sign that says OPEN"
APP_OF = {"flux-schnell": "diffusers/flux-schnell", "qwen-image": "diffusers/qwen-image"}
APP_OF["sdxl"] = "diffusers/sdxl"
APP_OF["flux2-klein"] = "diffusers/flux2-klein"


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(fn: Any, repeat: int) -> tuple[float, float, list[float]]:
    """(warm-up seconds, median seconds, all timed seconds)."""
    sync()
    start = time.perf_counter()
    fn()
    sync()
    warm = time.perf_counter() - start
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return warm, statistics.median(times), times


def peak_reset() -> None:
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()


def peak_gib() -> float:
    return torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else 0.0


def steps_for(model: str, spec: str) -> int:
    """``--steps``: "8" for every model, or "qwen-image=10,sdxl=20"; 0 = the medium tier."""
    if "=" not in spec:
        return int(spec or 0)
    pairs = dict(part.split("=", 1) for part in spec.split(",") if part)
    return int(pairs.get(model, 0))


def plain_kwargs(model: str, steps: int, size: int) -> dict[str, Any]:
    tier = MODELS[model].tiers["medium"]
    kwargs: dict[str, Any] = {
        "prompt": PROMPT,
        "height": size,
        "width": size,
        "num_inference_steps": steps or tier.steps,
    }
    if tier.guidance is not None:
        kwargs["guidance_scale"] = tier.guidance
    if tier.true_cfg is not None:
        kwargs.update(true_cfg_scale=tier.true_cfg, negative_prompt=" ")
    return kwargs


def keep(
    row: dict[str, Any], rows: list[dict[str, Any]], args: argparse.Namespace, line: str
) -> None:
    """A measured row: kept, printed, and written to ``--json`` at once (a cut-off run still
    reports)."""
    rows.append(row)
    print(line, flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


def bench_model(model: str, args: argparse.Namespace, rows: list[dict[str, Any]]) -> None:
    device = "cuda" if args.scale == "full" else "cpu"
    size = 1024 if args.scale == "full" else 64
    deadline = args.started + args.budget
    started = time.perf_counter()
    torch.set_default_dtype(torch.bfloat16 if device == "cuda" else torch.float32)
    with torch.device(device):
        pipe = build(model, args.scale)
    torch.set_default_dtype(torch.float32)
    pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    params = sum(p.numel() for p in pipe.components[_denoiser_name(pipe)].parameters()) / 1e9
    print(
        f"\n{model}: built in {time.perf_counter() - started:.0f} s; denoiser {params:.1f}B params"
    )
    kwargs = plain_kwargs(model, steps_for(model, args.steps), size)
    steps = kwargs["num_inference_steps"]

    def record(variant: str, warm: float, median: float, times: list[float], images: int) -> None:
        row = {
            "model": model,
            "variant": variant,
            "steps": steps,
            "s_per_image": median / images,
            "warmup_s": warm,
            "runs_s": times,
            "peak_gib": peak_gib(),
            "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        }
        keep(row, rows, args, f"  {variant:<16} {median / images:8.3f} s/image  (warm-up "
             f"{warm:6.1f} s, peak {row['peak_gib']:.1f} GiB, {steps} steps)")  # fmt: skip

    def out_of_time() -> bool:
        if time.perf_counter() > deadline:
            print("  (budget spent: the remaining rows of this model are skipped)")
            return True
        return False

    peak_reset()
    with torch.inference_mode():
        record("plain", *timed(lambda: pipe(**kwargs, generator=_gen(device)), args.repeat), 1)
    if out_of_time():
        return

    engine = DiffusersEngine(APP_OF[model])
    engine.options = Options(
        device=device, steps=steps, compile=False, channels_last=False, max_batch=4
    )
    WARM.pipelines, WARM.model, WARM.device = {MODELS[model].pipeline: pipe}, model, device

    def run_engine(n: int) -> None:
        req = Request(
            mode="generate",
            prompt=PROMPT,
            width=size,
            height=size,
            n=n,
            quality="medium",
            seed=1,
        )
        engine.run(req, lambda *a, **k: None, lambda: False)

    peak_reset()
    record("engine", *timed(lambda: run_engine(1), args.repeat), 1)
    net = pipe.components[_denoiser_name(pipe)]
    if block_cache_works(net) and not out_of_time():
        speed_up(pipe, Options(device=device, cache_threshold=args.cache, compile=False), device)
        peak_reset()
        record(f"engine+cache {args.cache}", *timed(lambda: run_engine(1), args.repeat), 1)
        net.disable_cache()
    if out_of_time() or device != "cuda":
        return
    applied = speed_up(pipe, Options(device=device, compile=False, channels_last=True), device)
    if applied:
        peak_reset()
        record("engine+chlast", *timed(lambda: run_engine(1), args.repeat), 1)
        for module in (pipe.components.get("unet"), pipe.vae):  # back, as the engine runs
            if module is not None:
                module.to(memory_format=torch.contiguous_format)
        if out_of_time():
            return
    applied = speed_up(pipe, Options(device=device, compile=True), device)
    print(f"  applied: {', '.join(applied)}")
    peak_reset()
    record("engine+compile", *timed(lambda: run_engine(1), args.repeat), 1)
    if out_of_time():
        return
    peak_reset()
    record("compile, n=4", *timed(lambda: run_engine(4), max(1, args.repeat - 1)), 4)


def bench_masks(model: str, args: argparse.Namespace, rows: list[dict[str, Any]]) -> None:
    """The masks app on the device: SAM 2 (hiera-large layout) for a click and a box, OWLv2
    (base, 960 px) + SAM 2 for words, each on a 1024x1024 picture, random weights."""
    from tests.diffusers.synthetic import clip_tokenizer
    from transformers import (
        Owlv2Config,
        Owlv2ForObjectDetection,
        Sam2Config,
        Sam2HieraDetConfig,
        Sam2Model,
        Sam2VisionConfig,
    )

    from brushwork.contract import MaskInput
    from brushwork.engines.masks import MaskEngine, Owlv2, Sam2

    device = "cuda" if args.scale == "full" else "cpu"
    size = 1024 if args.scale == "full" else 256
    if args.scale == "full":
        hiera = Sam2HieraDetConfig(
            hidden_size=144,
            blocks_per_stage=[2, 6, 36, 4],
            embed_dim_per_stage=[144, 288, 576, 1152],
            global_attention_blocks=[23, 33, 43],
            window_positional_embedding_background_size=[7, 7],
        )
        sam_config = Sam2Config(
            vision_config=Sam2VisionConfig(
                backbone_config=hiera, backbone_channel_list=[1152, 576, 288, 144]
            )
        )
        owl_config = Owlv2Config(vision_config={"image_size": 960})
    else:
        from tests.diffusers.synthetic import tiny_owlv2, tiny_sam2

        sam_config, owl_config = tiny_sam2().config, tiny_owlv2()[0].config
    sam = Sam2(Sam2Model(sam_config), device)
    owl = Owlv2(Owlv2ForObjectDetection(owl_config), clip_tokenizer(), device)
    engine = MaskEngine()
    engine._looked, engine._sam2, engine._owlv2 = True, sam, owl  # the models built here
    rng = np.random.default_rng(0)
    picture = Image.fromarray((rng.random((size, size, 3)) * 255).astype("uint8"))
    params = sum(p.numel() for p in sam.model.parameters()) / 1e6
    print(
        f"\nmasks: SAM 2 {params:.0f}M params, OWLv2 "
        f"{sum(p.numel() for p in owl.model.parameters()) / 1e6:.0f}M, {size}² picture"
    )
    for mode, given in (
        ("point", {"points": [[size // 2, size // 2]], "labels": [1]}),
        ("box", {"box": [size // 4, size // 4, size * 3 // 4, size * 3 // 4]}),
        ("text", {"text": "the cat"}),
    ):
        inp = MaskInput(image="x", mode=mode, **given)
        peak_reset()
        warm, median, times = timed(lambda inp=inp: engine.select(picture, inp), args.repeat)
        row = {
            "model": "masks",
            "variant": mode,
            "steps": 1,
            "s_per_image": median,
            "warmup_s": warm,
            "runs_s": times,
            "peak_gib": peak_gib(),
            "device": device,
        }
        keep(row, rows, args, f"  {mode:<16} {median:8.3f} s/mask   (warm-up {warm:6.1f} s, "
             f"peak {row['peak_gib']:.1f} GiB)")  # fmt: skip


def _denoiser_name(pipe: Any) -> str:
    return "transformer" if "transformer" in pipe.components else "unet"


def _gen(device: str) -> torch.Generator:
    return torch.Generator(device).manual_seed(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="flux2-klein,flux-schnell,sdxl,qwen-image,masks")
    parser.add_argument(
        "--steps", default="0", help="N, or model=N,...; 0 = each model's medium tier"
    )
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--cache", type=float, default=0.12, help="first-block cache threshold")
    parser.add_argument("--budget", type=float, default=540, help="seconds for the whole run")
    parser.add_argument("--scale", choices=["full", "tiny"], default="full")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    args.started = time.perf_counter()
    if args.scale == "full" and not torch.cuda.is_available():
        sys.exit("no CUDA GPU here: run this on a GPU machine (or --scale tiny to check it)")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    rows: list[dict[str, Any]] = []
    name = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    print(f"device: {name}; torch {torch.__version__}")
    for model in args.models.split(","):
        if time.perf_counter() > args.started + args.budget:
            print(f"\n{model}: skipped (budget spent)")
            continue
        try:
            (bench_masks if model == "masks" else bench_model)(model, args, rows)
        except Exception as exc:  # report and go on: one model's failure is a row, not the run
            print(f"\n{model}: failed: {type(exc).__name__}: {exc}")
            rows.append({"model": model, "variant": "failed", "error": repr(exc)})
        WARM.drop()
        torch.cuda.empty_cache() if torch.cuda.is_available() else None
    print(f"\n| model | variant | steps | s/image | vs plain | warm-up s | peak GiB |  ({name})")
    print("|---|---|---|---|---|---|---|")
    plain = {r["model"]: r["s_per_image"] for r in rows if r.get("variant") == "plain"}
    for r in rows:
        if r.get("variant") == "failed":
            print(f"| {r['model']} | failed | | | | | |")
            continue
        ratio = f"{plain[r['model']] / r['s_per_image']:.2f}x" if r["model"] in plain else ""
        print(
            f"| {r['model']} | {r['variant']} | {r['steps']} | {r['s_per_image']:.3f} | "
            f"{ratio} | {r['warmup_s']:.1f} | {r['peak_gib']:.1f} |"
        )


if __name__ == "__main__":
    main()
