"""The ``brushwork/masks`` app's engine: classical selections on the CPU, offline
(``imaging/selection.py``). It selects, it does not draw: the worker calls :meth:`select`
for its tasks, never ``run``."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from brushwork.contract import MaskInput
from brushwork.engines.base import Cancelled, Capabilities, Progress, Request
from brushwork.errors import EngineFailed
from brushwork.imaging import selection


class MaskEngine:
    name = "masks-cpu"

    def unavailable_reason(self) -> str | None:
        return None

    def capabilities(self) -> Capabilities:
        return Capabilities(modes=frozenset(), max_images=1)

    def details(self) -> dict[str, Any]:
        return {"selection_modes": list(selection.MODES[:-1])}  # words need a GPU engine

    def load(self) -> None:
        return None

    def run(self, request: Request, progress: Progress, cancelled: Cancelled) -> list[Image.Image]:
        raise EngineFailed("brushwork/masks selects; it does not draw pictures")

    def select(self, image: Image.Image, inp: MaskInput) -> np.ndarray:
        """The selection, grown, inverted and feathered as asked: uint8, 255 = selected."""
        found = selection.select(
            image, inp.mode, points=inp.points, labels=inp.labels, box=inp.box, text=inp.text
        )
        return selection.adjust(found, grow=inp.grow, feather=inp.feather, invert=inp.invert)
