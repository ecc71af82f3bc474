"""The diffusers engine: local open-weight models (Qwen-Image, FLUX.1, SDXL) on a GPU.

Importing this package is cheap: torch and diffusers load in the worker that
runs a task, never in the API process.
"""

from brushwork.engines.diffusion.catalog import APPS, MODELS
from brushwork.engines.diffusion.engine import DiffusersEngine

__all__ = ["APPS", "MODELS", "DiffusersEngine"]
