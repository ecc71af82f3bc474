"""Loading pipelines from disk, offline, once per worker process, and making them fast.

One pipeline is warm per process (a worker serves one device): asking for another
model's weights frees the current one first. Modes that share weights (Qwen-Image's
text-to-image and inpainting, SDXL's text-to-image and image-to-image) share the
loaded modules through ``from_pipe``.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from pathlib import Path
from typing import Any

from brushwork.engines.diffusion.catalog import Model, find_weights, missing_weights_reason
from brushwork.settings import DiffusersSettings

log = logging.getLogger(__name__)


def _gpu_count() -> int:
    """NVIDIA GPUs the driver reports, known without importing torch."""
    listed = len(list(Path("/proc/driver/nvidia/gpus").glob("*")))
    return listed or int(Path("/dev/nvidia0").exists())


def visible_gpus() -> list[str]:
    """The GPU ids this process may use: those in CUDA_VISIBLE_DEVICES, else every GPU found
    (none when the machine has none). The API process asks this and never imports torch."""
    count = _gpu_count()
    if count == 0:
        return []
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return [str(i) for i in range(count)]
    return [d.strip() for d in visible.split(",") if d.strip() and d.strip() != "-1"]


def gpu_present() -> bool:
    return bool(visible_gpus())


def resolve_device(options: DiffusersSettings) -> str:
    if options.device != "auto":
        return options.device
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def resolve_dtype(options: DiffusersSettings, device: str) -> Any:
    import torch

    if options.dtype != "auto":
        return getattr(torch, options.dtype)
    return torch.bfloat16 if device.startswith("cuda") else torch.float32


def qwen_processor_parts(path: Path) -> dict[str, Any]:
    """The edit pipelines' processor, loaded without torchvision (see :func:`qwen_processor`)."""
    try:
        import torchvision  # noqa: F401

        return {}
    except ImportError:
        from transformers import Qwen2Tokenizer, Qwen2VLImageProcessor

        tokenizer = Qwen2Tokenizer.from_pretrained(path / "tokenizer", local_files_only=True)
        images = Qwen2VLImageProcessor.from_pretrained(path / "processor", local_files_only=True)
        return {"processor": qwen_processor(tokenizer, images)}


def qwen_processor(tokenizer: Any, image_processor: Any = None) -> Any:
    """Qwen2-VL's processor for the edit pipelines, which send it images and text only.

    transformers 5 cannot construct the processor's video half without torchvision
    (a 5 GB install for a part no image pipeline calls), so without torchvision the
    processor is assembled with that half left empty.
    """
    from transformers import Qwen2VLImageProcessor, Qwen2VLProcessor

    image_processor = image_processor or Qwen2VLImageProcessor()
    try:
        import torchvision  # noqa: F401
    except ImportError:
        processor = Qwen2VLProcessor.__new__(Qwen2VLProcessor)
        processor.image_processor = image_processor
        processor.tokenizer = tokenizer
        processor.video_processor = None
        processor.chat_template = None
        processor.image_token = "<|image_pad|>"  # noqa: S105 - a vocabulary token
        processor.video_token = "<|video_pad|>"  # noqa: S105
        processor.image_token_id = tokenizer.convert_tokens_to_ids(processor.image_token)
        processor.video_token_id = tokenizer.convert_tokens_to_ids(processor.video_token)
        return processor
    from transformers import Qwen2VLVideoProcessor

    return Qwen2VLProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(),
    )


def denoiser(pipe: Any) -> Any:
    return getattr(pipe, "transformer", None) or pipe.unet


# diffusers 0.42's first-block cache subtracts a block's output from the cached one, and
# FLUX.2's blocks hand back a list there: it fails on the first step, so it is not applied
NO_BLOCK_CACHE = frozenset({"Flux2Transformer2DModel"})


def block_cache_works(net: Any) -> bool:
    return hasattr(net, "enable_cache") and type(net).__name__ not in NO_BLOCK_CACHE


def speed_up(pipe: Any, options: DiffusersSettings, device: str) -> list[str]:
    """Apply the speed settings; returns what was applied (for the log and the benchmark)."""
    import torch

    on_cuda = device.startswith("cuda")
    applied = []
    net = denoiser(pipe)
    if options.channels_last:
        convnets = [m for m in (getattr(pipe, "unet", None), pipe.vae) if m is not None]
        for module in convnets:
            if all(p.dim() != 5 for p in module.parameters()):  # 2D convolutions only
                module.to(memory_format=torch.channels_last)
                applied.append(f"channels-last {type(module).__name__}")
    if options.cache_threshold > 0 and not block_cache_works(net):
        applied.append(f"no first-block cache ({type(net).__name__} does not take it)")
    elif options.cache_threshold > 0:
        from diffusers.hooks import FirstBlockCacheConfig

        net.enable_cache(FirstBlockCacheConfig(threshold=options.cache_threshold))
        applied.append(f"first-block cache {options.cache_threshold}")
    if options.compile if options.compile is not None else on_cuda:
        if getattr(net, "_repeated_blocks", None):
            net.compile_repeated_blocks(fullgraph=True)
            applied.append("compiled repeated blocks")
        else:
            net.compile(fullgraph=True)
            applied.append("compiled denoiser")
    return applied


class Warm:
    """This process's one loaded model, and the pipelines of each mode over its modules."""

    def __init__(self) -> None:
        self.model: str | None = None
        self.pipelines: dict[str, Any] = {}
        self.device = "cpu"
        self.preview: Any = None  # previews.LatentPreview for this model's VAE

    def pipeline(self, model: Model, cls_name: str, options: DiffusersSettings) -> Any:
        if self.model != model.name:
            self._load(model, options)
        if cls_name not in self.pipelines:
            import diffusers

            base = self.pipelines[model.pipeline]
            self.pipelines[cls_name] = getattr(diffusers, cls_name).from_pipe(base)
            self.pipelines[cls_name].set_progress_bar_config(disable=True)
        return self.pipelines[cls_name]

    def drop(self) -> None:
        self.pipelines.clear()
        self.model = None
        self.preview = None
        gc.collect()
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()

    def _load(self, model: Model, options: DiffusersSettings) -> None:
        path = find_weights(model, options.models_dir)
        if path is None:
            raise FileNotFoundError(missing_weights_reason(model, options.models_dir))
        self.drop()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach a hub from a worker
        import transformers

        import diffusers

        diffusers.utils.logging.set_verbosity_error()
        diffusers.utils.logging.disable_progress_bar()
        transformers.utils.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()

        started = time.perf_counter()
        self.device = resolve_device(options)
        extra = qwen_processor_parts(path) if "QwenImageEdit" in model.pipeline else {}
        pipe = getattr(diffusers, model.pipeline).from_pretrained(
            path,
            dtype=resolve_dtype(options, self.device),
            local_files_only=True,
            **extra,
        )
        pipe.to(self.device)
        pipe.set_progress_bar_config(disable=True)
        applied = speed_up(pipe, options, self.device)
        self.pipelines = {model.pipeline: pipe}
        self.model = model.name
        log.info(
            "loaded %s from %s on %s in %.1f s (%s)",
            model.name,
            path,
            self.device,
            time.perf_counter() - started,
            ", ".join(applied) or "no speed-ups",
        )


WARM = Warm()
