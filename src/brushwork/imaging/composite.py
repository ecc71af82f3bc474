"""The keep-pixels composite: after every engine, kept pixels are the original bytes.

Where the edit map is 0 the original pixel comes back unchanged (bit for bit in
png), where it is 1 the generated pixel does, and in between the two blend.
Run after the engine, for every engine, so no engine can break the guarantee.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def keep_composite(original: Image.Image, generated: Image.Image, edit: np.ndarray) -> Image.Image:
    """Blend ``generated`` into ``original`` by ``edit`` (H x W floats, 1 = edit)."""
    if original.size != generated.size or (edit.shape[1], edit.shape[0]) != original.size:
        raise ValueError("original, generated and edit map must share one size")
    mode = original.mode
    orig = np.asarray(original)
    gen = np.asarray(generated.convert(mode))
    if mode == "RGBA":
        gen = gen.copy()
        gen[:, :, 3] = 255  # regenerated pixels are opaque
    weight = edit[:, :, None].astype(np.float32)
    blended = orig.astype(np.float32) * (1.0 - weight) + gen.astype(np.float32) * weight
    out = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    keep = edit <= 0.0
    out[keep] = orig[keep]  # exact, whatever float rounding did
    full = edit >= 1.0
    out[full] = gen[full]
    return Image.fromarray(out, mode)
