"""The diffusers engine: the contract mapped onto local open-weight pipelines.

Sizes: rendered at the model's native ceiling (rounded to the model's multiple)
and resized to the requested size. ``n``: ``num_images_per_prompt`` in batches of
at most ``BRUSHWORK_DIFFUSERS_MAX_BATCH``, one generator per image seeded
``seed + i`` so image ``i`` is the same whatever ``n``. ``quality``: the model's
tier table (steps, guidance, strength) in catalog.py. Masks go in as white =
repaint; the keep-pixels composite happens after the engine, for every engine.
Progress is reported from ``callback_on_step_end`` with the pipeline's real step
count, and raising there stops a cancelled task between steps.
"""

from __future__ import annotations

import importlib.util
import inspect
from typing import Any

import numpy as np
from PIL import Image

from brushwork.engines.base import Cancelled, Capabilities, Progress, Request, fit_native
from brushwork.engines.diffusion.catalog import APPS, MODELS, find_weights, missing_weights_reason
from brushwork.engines.diffusion.loading import WARM, gpu_present
from brushwork.settings import DiffusersSettings

TILING_PIXELS = 2_000_000  # decode above this many pixels with a tiled VAE


def generation_size(size: tuple[int, int], native_max_edge: int, multiple: int) -> tuple[int, int]:
    """What the pipeline renders for a requested ``size``: scaled to the ceiling, rounded."""
    w, h = fit_native(size, native_max_edge)
    return (
        max(multiple, round(w / multiple) * multiple),
        max(multiple, round(h / multiple) * multiple),
    )


def mask_image(edit: np.ndarray, size: tuple[int, int]) -> Image.Image:
    """The edit map (1 = repaint) as the pipelines take it: white = repaint."""
    grey = Image.fromarray(np.clip(np.rint(edit * 255), 0, 255).astype(np.uint8), "L")
    return grey.resize(size, Image.Resampling.BILINEAR)


class DiffusersEngine:
    """One app of the catalog (``app_id``, e.g. ``diffusers/qwen-image``)."""

    name = "diffusers"

    def __init__(self, app_id: str, config: DiffusersSettings | None = None) -> None:
        self.app = APPS[app_id]
        self.model = MODELS[self.app.model]
        self.options = config or DiffusersSettings.from_env()

    def unavailable_reason(self) -> str | None:
        missing = [m for m in ("torch", "diffusers", "transformers") if not _installed(m)]
        if missing:
            return (
                f"{', '.join(missing)} not installed: pip install 'brushwork[diffusers]' "
                "(see the README's 'Using a GPU')"
            )
        if find_weights(self.model, self.options.models_dir) is None:
            return missing_weights_reason(self.model, self.options.models_dir)
        if self.options.device == "auto" and not gpu_present():
            return (
                "no NVIDIA GPU found; set BRUSHWORK_DIFFUSERS_DEVICE=cpu (slow) or =mps to run "
                "it anyway"
            )
        return None

    def capabilities(self) -> Capabilities:
        device = "cuda" if self.options.device == "auto" else self.options.device
        return Capabilities(
            modes=frozenset(self.app.pipelines),
            native_max_edge=self.model.native_max_edge,
            device=device,
            max_images=self.app.max_images,
            inpaint_images=self.app.inpaint_images,
            exclusive=True,
        )

    def details(self) -> dict[str, Any]:
        """What GET /apps/{id} adds: the model, where its weights are, their licence."""
        path = find_weights(self.model, self.options.models_dir)
        return {
            "model": {
                "name": self.model.name,
                "repo": self.model.repo,
                "license": self.model.license,
                "weights": str(path) if path else None,
                "steps": {q: t.steps for q, t in self.model.tiers.items()},
            }
        }

    def load(self) -> None:
        WARM.pipeline(self.model, self.model.pipeline, self.options)

    def run(self, request: Request, progress: Progress, cancelled: Cancelled) -> list[Image.Image]:
        pipe = WARM.pipeline(self.model, self.app.pipelines[request.mode], self.options)
        ceiling = min(
            self.model.native_max_edge, self.options.max_edge or self.model.native_max_edge
        )
        gen = generation_size(request.size, ceiling, self.model.multiple)
        if gen[0] * gen[1] > TILING_PIXELS:
            pipe.vae.enable_tiling()
        else:
            pipe.vae.disable_tiling()
        kwargs = self._arguments(pipe, request, gen)
        request.meta.update(
            model=self.model.name,
            steps=kwargs["num_inference_steps"],
            generated_size=f"{gen[0]}x{gen[1]}",
            device=WARM.device,
        )
        batches = [
            list(range(start, min(start + self.options.max_batch, request.n)))
            for start in range(0, request.n, self.options.max_batch)
        ]
        images: list[Image.Image] = []
        for b, batch in enumerate(batches):
            position = (b, len(batches))
            images += self._call(pipe, kwargs, request, gen, batch, position, progress)
        progress(1.0, f"{self.model.name}: {len(images)} image(s) at {gen[0]}x{gen[1]}")
        return [im if im.size == request.size else _resize(im, request.size) for im in images]

    def _arguments(self, pipe: Any, request: Request, gen: tuple[int, int]) -> dict[str, Any]:
        tier = self.model.tiers[request.quality]
        accepted = inspect.signature(pipe.__call__).parameters
        kwargs: dict[str, Any] = {
            "prompt": request.prompt,
            "num_inference_steps": self.options.steps or tier.steps,
            "width": gen[0],
            "height": gen[1],
        }
        if tier.guidance is not None:
            kwargs["guidance_scale"] = tier.guidance
        if tier.true_cfg is not None and "true_cfg_scale" in accepted:
            kwargs["true_cfg_scale"] = tier.true_cfg
            kwargs["negative_prompt"] = self.app.negative_prompt
        elif "negative_prompt" in accepted and self.app.negative_prompt:
            kwargs["negative_prompt"] = self.app.negative_prompt
        if self.model.max_sequence_length and "max_sequence_length" in accepted:
            kwargs["max_sequence_length"] = self.model.max_sequence_length
        if request.mode != "generate":
            refs = [
                im.convert("RGB").resize(gen, Image.Resampling.LANCZOS) for im in request.images
            ]
            if request.mode == "inpaint":  # the picture; a second image guides the fill
                kwargs["image"] = refs[0]
                if len(refs) > 1 and "image_reference" in accepted:
                    kwargs["image_reference"] = refs[1]
            else:  # every reference, where the pipeline takes several
                kwargs["image"] = refs if self.app.max_images > 1 else refs[0]
            if tier.strength is not None and "strength" in accepted:
                kwargs["strength"] = tier.strength
        if request.mode == "inpaint":
            assert request.mask is not None
            kwargs["mask_image"] = mask_image(request.mask, gen)
        if "max_area" in accepted:  # Kontext picks its own size from an area: keep ours
            kwargs["max_area"] = gen[0] * gen[1]
            kwargs["_auto_resize"] = False
        return kwargs

    @staticmethod
    def _preview_steps(previews: int, steps: int) -> set[int]:
        if previews <= 0:
            return set()
        return {max(0, round(steps * k / (previews + 1)) - 1) for k in range(1, previews + 1)}

    def _call(
        self,
        pipe: Any,
        kwargs: dict[str, Any],
        request: Request,
        gen: tuple[int, int],
        batch: list[int],
        position: tuple[int, int],
        progress: Progress,
    ) -> list[Image.Image]:
        import torch

        from brushwork.engines.diffusion import previews

        device = "cpu" if WARM.device == "mps" else WARM.device
        generators = [torch.Generator(device).manual_seed(request.seed + i) for i in batch]
        done, count = position

        def on_step(p: Any, step: int, _t: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            total = max(1, int(getattr(p, "num_timesteps", 0) or kwargs["num_inference_steps"]))
            fraction = (done + (step + 1) / total) / count * 0.97
            image = None
            preview_at = self._preview_steps(request.previews, total)  # the real step count
            if done == 0 and step in preview_at and "latents" in tensors:
                if WARM.preview is None:  # fitted once per loaded model
                    WARM.preview = previews.LatentPreview(p)
                latents = previews.spatial(p, tensors["latents"], gen[1], gen[0])
                image = WARM.preview.image(latents, request.size)
            progress(fraction, f"step {step + 1}/{total}", image)
            return tensors

        with torch.inference_mode():
            out = pipe(
                **kwargs,
                num_images_per_prompt=len(batch),
                generator=generators,
                callback_on_step_end=on_step,
                callback_on_step_end_tensor_inputs=["latents"],
                output_type="pil",
            )
        result: list[Image.Image] = [im.convert("RGB") for im in out.images]
        return result


def _resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    return image.resize(size, Image.Resampling.LANCZOS)


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None
