"""The engine protocol: what every engine gets, returns and must honour.

An engine receives a validated :class:`Request` with decoded images (and, for
inpainting, the edit map already at the output size) and returns ``n`` images
of exactly the requested size. It reports progress through a callback that
raises :class:`TaskCancelled` when the task was cancelled, so a loop that calls
``progress`` stops by itself. Engines never touch HTTP, the task store, the
queue or encoding; mask semantics and the keep-pixels composite happen outside.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
from PIL import Image

from brushwork.contract import Mode, OutputFormat, ResolvedQuality

DEFAULT_NATIVE_MAX_EDGE = 2048


class TaskCancelled(Exception):  # noqa: N818 - a signal, not an error
    """Raised from the progress callback to stop an engine whose task was cancelled."""


@dataclass(frozen=True)
class Capabilities:
    modes: frozenset[Mode] = frozenset({"generate", "edit", "inpaint"})
    native_max_edge: int = DEFAULT_NATIVE_MAX_EDGE
    device: str = "cpu"
    max_images: int = 16  # reference images an edit takes
    inpaint_images: int | None = None  # images an inpaint takes (None: as many as an edit)
    exclusive: bool = False  # holds a large model: one dedicated worker process per device
    transparent: frozenset[Mode] = frozenset()  # the modes it makes real alpha in


@dataclass
class Request:
    """One engine call. Sizes are validated; ``mask`` is the edit map (1 = edit) at output size."""

    mode: Mode
    prompt: str
    width: int
    height: int
    n: int
    quality: ResolvedQuality
    seed: int
    images: Sequence[Image.Image] = field(default_factory=list)
    mask: np.ndarray | None = None
    output_format: OutputFormat = (
        "png"  # how the images will be encoded (remote engines forward it)
    )
    output_compression: int | None = None
    moderation: str = "auto"
    previews: int = 0  # how many partial renders the caller wants (0..3), sent via progress()
    background: Literal["opaque", "transparent"] = "opaque"  # transparent: RGBA, real alpha
    meta: dict[str, Any] = field(default_factory=dict)  # engine facts for output_meta (usage)

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)


class Progress(Protocol):
    def __call__(
        self, fraction: float, message: str | None = None, preview: Image.Image | None = None
    ) -> None:
        """Report ``fraction`` (0..1) of the work done; raises TaskCancelled when cancelled."""


Cancelled = Callable[[], bool]


class Engine(Protocol):
    name: str

    def unavailable_reason(self) -> str | None:
        """Why the engine cannot run here (missing library, weights, key), or None."""

    def capabilities(self) -> Capabilities: ...

    def load(self) -> None:
        """Load what ``run`` needs; called once per worker process, before the first task."""

    def run(self, request: Request, progress: Progress, cancelled: Cancelled) -> list[Image.Image]:
        """Return ``request.n`` images of exactly ``request.size``."""


def fit_native(size: tuple[int, int], native_max_edge: int) -> tuple[int, int]:
    """The size to render at: the requested size, scaled down to the native ceiling."""
    w, h = size
    scale = min(1.0, native_max_edge / max(w, h))
    return max(1, round(w * scale)), max(1, round(h * scale))
