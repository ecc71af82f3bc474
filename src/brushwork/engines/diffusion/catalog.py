"""Which open-weight models the diffusers engine serves, and how the contract maps onto each.

Pure data: nothing here imports torch or diffusers, so listing apps stays cheap.
Weights are looked up on disk only (``BRUSHWORK_MODELS_DIR/<name>`` or the
Hugging Face cache); ``brushwork models pull NAME`` is the one thing that downloads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from brushwork.contract import Mode, ResolvedQuality


@dataclass(frozen=True)
class Tier:
    """What one quality tier means for a model: denoising steps and guidance."""

    steps: int
    guidance: float | None = None  # guidance_scale (distilled guidance for FLUX, CFG for SDXL)
    true_cfg: float | None = None  # true_cfg_scale with a negative prompt (Qwen-Image)
    strength: float | None = None  # how much of an edited/inpainted image is redrawn


@dataclass(frozen=True)
class Model:
    name: str  # the directory under BRUSHWORK_MODELS_DIR
    repo: str  # its Hugging Face repository, for the cache and `brushwork models pull`
    family: str  # flux | flux2 | qwen | sdxl: how tiny test pipelines and previews are built
    pipeline: str  # the diffusers class the weights are saved as
    license: str
    native_max_edge: int  # the largest edge rendered directly; larger requests are upscaled
    tiers: dict[ResolvedQuality, Tier]
    multiple: int = 16  # sizes are rounded to this
    max_sequence_length: int | None = None


@dataclass(frozen=True)
class App:
    id: str
    model: str
    pipelines: dict[Mode, str]  # mode → diffusers class, all sharing the model's weights
    description: str
    max_images: int = 1  # reference images an edit takes
    inpaint_images: int = 1  # images an inpaint takes: the picture, then references for the fill
    negative_prompt: str = " "  # with true CFG (Qwen-Image); SDXL runs without one


def tiers(low: int, medium: int, high: int, **common: float) -> dict[ResolvedQuality, Tier]:
    """Steps per tier; guidance and strength the same for all three."""
    return {q: Tier(steps, **common) for q, steps in zip(TIERS, (low, medium, high), strict=True)}


TIERS: tuple[ResolvedQuality, ...] = ("low", "medium", "high")
FLUX_SCHNELL_LICENSE = "Apache-2.0"
FLUX_DEV_LICENSE = "FLUX.1 [dev] Non-Commercial License (weights)"
SDXL_LICENSE = "CreativeML Open RAIL++-M"
QWEN_LICENSE = "Apache-2.0"
FLUX2_KLEIN_LICENSE = "Apache-2.0"

MODELS: dict[str, Model] = {
    m.name: m
    for m in (
        Model(
            "qwen-image",
            "Qwen/Qwen-Image",
            "qwen",
            "QwenImagePipeline",
            QWEN_LICENSE,
            native_max_edge=1664,
            tiers=tiers(20, 30, 50, true_cfg=4.0, strength=0.9),
            max_sequence_length=512,
        ),
        Model(
            "qwen-image-edit",
            "Qwen/Qwen-Image-Edit",
            "qwen",
            "QwenImageEditPipeline",
            QWEN_LICENSE,
            native_max_edge=1664,
            tiers=tiers(20, 30, 50, true_cfg=4.0),
        ),
        Model(
            "qwen-image-edit-plus",
            "Qwen/Qwen-Image-Edit-2509",
            "qwen",
            "QwenImageEditPlusPipeline",
            QWEN_LICENSE,
            native_max_edge=1664,
            tiers=tiers(20, 30, 40, true_cfg=4.0),
        ),
        Model(
            "flux-schnell",
            "black-forest-labs/FLUX.1-schnell",
            "flux",
            "FluxPipeline",
            FLUX_SCHNELL_LICENSE,
            native_max_edge=1440,
            tiers=tiers(2, 4, 4, guidance=0.0),
            max_sequence_length=256,
        ),
        Model(
            "flux2-klein",
            "black-forest-labs/FLUX.2-klein-4B",
            "flux2",
            "Flux2KleinPipeline",
            FLUX2_KLEIN_LICENSE,
            native_max_edge=1536,
            tiers=tiers(4, 4, 8, guidance=1.0, strength=1.0),  # step-distilled: no CFG
            max_sequence_length=512,
        ),
        Model(
            "flux-fill",
            "black-forest-labs/FLUX.1-Fill-dev",
            "flux",
            "FluxFillPipeline",
            FLUX_DEV_LICENSE,
            native_max_edge=1440,
            tiers=tiers(20, 28, 50, guidance=30.0, strength=1.0),
            max_sequence_length=512,
        ),
        Model(
            "flux-kontext",
            "black-forest-labs/FLUX.1-Kontext-dev",
            "flux",
            "FluxKontextPipeline",
            FLUX_DEV_LICENSE,
            native_max_edge=1440,
            tiers=tiers(16, 28, 40, guidance=2.5),
            max_sequence_length=512,
        ),
        Model(
            "sdxl",
            "stabilityai/stable-diffusion-xl-base-1.0",
            "sdxl",
            "StableDiffusionXLPipeline",
            SDXL_LICENSE,
            native_max_edge=1024,
            multiple=8,
            tiers=tiers(15, 30, 50, guidance=6.0, strength=0.6),
        ),
        Model(
            "sdxl-inpaint",
            "diffusers/stable-diffusion-xl-1.0-inpainting-0.1",
            "sdxl",
            "StableDiffusionXLInpaintPipeline",
            SDXL_LICENSE,
            native_max_edge=1024,
            multiple=8,
            tiers=tiers(15, 25, 40, guidance=8.0, strength=0.99),
        ),
    )
}

APPS: dict[str, App] = {
    a.id: a
    for a in (
        App(
            "diffusers/qwen-image",
            "qwen-image",
            {"generate": "QwenImagePipeline", "inpaint": "QwenImageInpaintPipeline"},
            "Qwen-Image (20B, Apache-2.0): text-to-image with the strongest open text "
            "rendering; inpainting with the same weights.",
        ),
        App(
            "diffusers/qwen-image-edit",
            "qwen-image-edit",
            {"edit": "QwenImageEditPipeline"},
            "Qwen-Image-Edit: instruction editing of one reference image.",
        ),
        App(
            "diffusers/qwen-image-edit-plus",
            "qwen-image-edit-plus",
            {"edit": "QwenImageEditPlusPipeline"},
            "Qwen-Image-Edit-2509 (Edit-Plus): editing and composing up to three references.",
            max_images=3,
        ),
        App(
            "diffusers/flux-schnell",
            "flux-schnell",
            {"generate": "FluxPipeline"},
            "FLUX.1 [schnell] (Apache-2.0): fast text-to-image in 4 steps.",
        ),
        App(
            "diffusers/flux-fill",
            "flux-fill",
            {"inpaint": "FluxFillPipeline"},
            "FLUX.1 Fill [dev] (non-commercial weights): mask inpainting and outpainting.",
        ),
        App(
            "diffusers/flux-kontext",
            "flux-kontext",
            {"edit": "FluxKontextPipeline", "inpaint": "FluxKontextInpaintPipeline"},
            "FLUX.1 Kontext [dev] (non-commercial weights): instruction editing of one image, "
            "and inpainting it inside a mask (with one more image as the fill's reference).",
            inpaint_images=2,
        ),
        App(
            "diffusers/flux2-klein",
            "flux2-klein",
            {
                "generate": "Flux2KleinPipeline",
                "edit": "Flux2KleinPipeline",
                "inpaint": "Flux2KleinInpaintPipeline",
            },
            "FLUX.2 [klein] 4B (Apache-2.0): text-to-image in 4 steps, editing with up to four "
            "references, and inpainting (with one more image as the fill's reference).",
            max_images=4,
            inpaint_images=2,
        ),
        App(
            "diffusers/sdxl",
            "sdxl",
            {"generate": "StableDiffusionXLPipeline", "edit": "StableDiffusionXLImg2ImgPipeline"},
            "SDXL base 1.0: text-to-image and image-to-image for small GPUs (8 GB).",
            negative_prompt="",
        ),
        App(
            "diffusers/sdxl-inpaint",
            "sdxl-inpaint",
            {"inpaint": "StableDiffusionXLInpaintPipeline"},
            "SDXL inpainting 0.1: mask inpainting for small GPUs (8 GB).",
            negative_prompt="",
        ),
    )
}


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache, found the way huggingface_hub finds it."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or str(Path.home() / ".cache" / "huggingface")
    return Path(home) / "hub"


def cached_snapshot(repo: str, marker: str = "model_index.json") -> Path | None:
    """The newest snapshot of ``repo`` in the Hugging Face cache that holds ``marker``."""
    root = hf_cache_dir() / f"models--{repo.replace('/', '--')}"
    ref = root / "refs" / "main"
    if ref.is_file():
        snapshot = root / "snapshots" / ref.read_text().strip()
        if (snapshot / marker).is_file():
            return snapshot
    snapshots = sorted(
        (p for p in (root / "snapshots").glob("*") if (p / marker).is_file()),
        key=lambda p: p.stat().st_mtime,
    )
    return snapshots[-1] if snapshots else None


def find_weights(model: Model, models_dir: Path) -> Path | None:
    """Where ``model``'s weights are on this machine: the models directory, then the HF cache."""
    local = models_dir / model.name
    if (local / "model_index.json").is_file():
        return local
    return cached_snapshot(model.repo)


def missing_weights_reason(model: Model, models_dir: Path) -> str:
    return (
        f"no weights for {model.name} ({model.repo}): expected {models_dir / model.name}"
        f"/model_index.json or the Hugging Face cache in {hf_cache_dir()}; "
        f"run `brushwork models pull {model.name}` to download them"
    )
