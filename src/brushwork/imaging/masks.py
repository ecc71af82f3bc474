"""SPEC §2 mask semantics: which pixels to edit, as a float map in [0, 1] (1 = edit).

A mask with an alpha channel that has any pixel not fully opaque speaks in
alpha (0 = edit, 255 = keep, OpenAI's convention); otherwise its luminance
speaks (white = edit, black = keep). Values in between are a soft blend.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from brushwork.errors import InvalidInput


def edit_map(mask: Image.Image) -> np.ndarray:
    """The mask as float32 H x W, 1.0 where the engine must regenerate."""
    alpha = _alpha(mask)
    if alpha is not None and alpha.min() < 255:
        return 1.0 - alpha.astype(np.float32) / 255.0
    luminance = np.asarray(mask.convert("L"), dtype=np.float32)
    return luminance / 255.0


def _alpha(mask: Image.Image) -> np.ndarray | None:
    if mask.mode in ("RGBA", "LA", "PA") or "transparency" in mask.info:
        return np.asarray(mask.convert("RGBA"))[:, :, 3]
    return None


def check_mask_size(mask_size: tuple[int, int], image_size: tuple[int, int]) -> None:
    """The mask must have exactly the first image's size: never resized, never cropped."""
    if mask_size != image_size:
        raise InvalidInput(
            f"mask must have the same size as the first image "
            f"({image_size[0]}x{image_size[1]}), got {mask_size[0]}x{mask_size[1]}",
            param="mask",
        )


def resize_edit_map(edit: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a mask by area averaging (SPEC §2), so soft values stay honest."""
    if (edit.shape[1], edit.shape[0]) == size:
        return edit
    grow = size[0] > edit.shape[1]
    method = cv2.INTER_LINEAR if grow else cv2.INTER_AREA
    return np.clip(cv2.resize(edit, size, interpolation=method), 0.0, 1.0)
