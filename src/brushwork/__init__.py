"""brushwork: self-hosted image generation and editing behind the gpt-image-2 app contract.

The public SDK surface. ``inference()`` and ``async_inference()`` return clients
with the hosted platform's call shape; errors come from one tree (``errors.py``).
Importing this package never imports the server, the engines or torch.
"""

from typing import Any

from brushwork.client._async import AsyncClient, async_inference
from brushwork.client._sync import Client, inference
from brushwork.contract import TaskStatus, fit_size
from brushwork.errors import (
    APIConnectionError,
    BrushworkError,
    Conflict,
    Forbidden,
    Gone,
    InvalidInput,
    ModerationBlocked,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    StorageFull,
    TaskError,
    Unauthorized,
    UnprocessableImage,
)
from brushwork.signing import WebhookVerificationError, verify_webhook

__version__ = "0.1.0"

__all__ = [
    "APIConnectionError",
    "AsyncClient",
    "BrushworkError",
    "Client",
    "Conflict",
    "Forbidden",
    "Gone",
    "InvalidInput",
    "ModerationBlocked",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "StorageFull",
    "TaskError",
    "TaskStatus",
    "Unauthorized",
    "UnprocessableImage",
    "WebhookVerificationError",
    "__version__",
    "async_inference",
    "expand_canvas",
    "fit_size",
    "inference",
    "verify_webhook",
]


def __getattr__(name: str) -> Any:
    """``expand_canvas`` needs Pillow, which the SDK-only install does not have: imported
    when first used."""
    if name == "expand_canvas":
        from brushwork.imaging.canvas import expand_canvas

        return expand_canvas
    raise AttributeError(f"module 'brushwork' has no attribute {name!r}")
