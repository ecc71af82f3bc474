"""Cheap previews from intermediate latents: a linear map from latent channels to RGB.

The map is fitted once per loaded model by encoding a few synthetic colour images
with the model's own VAE and solving least squares between the latents (in the
space the denoiser works in) and the colours at latent resolution. Decoding a
preview is then one small matrix product, not a VAE decode.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

FIT_LATENT = 32  # the fit images are 32x32 latents (256x256 pixels for an 8x VAE)


def _fit_images(rng: np.random.Generator, size: int, count: int = 6) -> np.ndarray:
    """Blocks and gradients of random colours, (count, 3, size, size) in 0..1."""
    out = np.empty((count, 3, size, size), np.float32)
    ramp = np.linspace(0, 1, size, dtype=np.float32)
    for k in range(count):
        a, b = rng.random(3, dtype=np.float32), rng.random(3, dtype=np.float32)
        t = ramp[None, :] if k % 2 else ramp[:, None]
        img = a[:, None, None] * (1 - t) + b[:, None, None] * t
        for _ in range(6):
            x, y = rng.integers(0, size * 7 // 8, 2)
            w, h = rng.integers(size // 16 + 1, size // 3 + 2, 2)
            img[:, y : y + h, x : x + w] = rng.random(3, dtype=np.float32)[:, None, None]
        out[k] = img
    return out


def _normalise(pipe: Any, z: Any) -> Any:
    """VAE latents → the space the denoiser works in (as each pipeline does before decoding)."""
    import torch

    cfg = pipe.vae.config
    if getattr(cfg, "latents_mean", None) is not None and z.ndim == 5:  # Qwen-Image (3D VAE)
        mean = torch.tensor(cfg.latents_mean, device=z.device, dtype=z.dtype).view(1, -1, 1, 1, 1)
        std = torch.tensor(cfg.latents_std, device=z.device, dtype=z.dtype).view(1, -1, 1, 1, 1)
        return ((z - mean) / std)[:, :, 0]
    bn = getattr(pipe.vae, "bn", None)
    if bn is not None and hasattr(pipe, "_patchify_latents"):  # FLUX.2: 2x2 patches, batch-norm
        z = pipe._patchify_latents(z)
        mean = bn.running_mean.view(1, -1, 1, 1).to(z.device, z.dtype)
        std = torch.sqrt(bn.running_var.view(1, -1, 1, 1) + cfg.batch_norm_eps)
        std = std.to(z.device, z.dtype)
        return (z - mean) / std
    shift = getattr(cfg, "shift_factor", None) or 0.0
    return (z - shift) * cfg.scaling_factor


class LatentPreview:
    def __init__(self, pipe: Any):
        import torch

        vae = pipe.vae
        pixels = _fit_images(np.random.default_rng(0), FIT_LATENT * pipe.vae_scale_factor)
        x = torch.from_numpy(pixels * 2 - 1).to(vae.device, vae.dtype)
        if getattr(vae.config, "latents_mean", None) is not None:
            x = x[:, :, None]  # the Qwen-Image VAE takes (B, C, T, H, W)
        with torch.no_grad():
            z = _normalise(pipe, vae.encode(x).latent_dist.mean).float().cpu().numpy()
        n, c, h, w = z.shape
        small = np.stack(
            [
                np.asarray(
                    Image.fromarray((p.transpose(1, 2, 0) * 255).astype(np.uint8)).resize(
                        (w, h), Image.Resampling.BOX
                    ),
                    np.float32,
                )
                / 255
                for p in pixels
            ]
        )
        features = np.concatenate(
            [z.transpose(0, 2, 3, 1).reshape(-1, c), np.ones((n * h * w, 1))], 1
        )
        self.matrix, *_ = np.linalg.lstsq(features, small.reshape(-1, 3), rcond=None)

    def image(self, latents: np.ndarray, size: tuple[int, int]) -> Image.Image:
        """(C, h, w) latents in the denoiser's space → an RGB preview of ``size``."""
        c, h, w = latents.shape
        flat = np.concatenate([latents.reshape(c, -1).T, np.ones((h * w, 1))], 1)
        rgb = np.clip(flat @ self.matrix, 0, 1).reshape(h, w, 3)
        return Image.fromarray((rgb * 255).astype(np.uint8)).resize(size, Image.Resampling.BILINEAR)


def spatial(pipe: Any, latents: Any, height: int, width: int) -> np.ndarray:
    """The first image's latents from a step callback, unpacked to (C, h, w)."""
    if latents.ndim == 3 and hasattr(pipe, "_unpack_latents_with_ids"):  # FLUX.2: row-major
        rows, cols = height // (pipe.vae_scale_factor * 2), width // (pipe.vae_scale_factor * 2)
        latents = latents[:, : rows * cols].reshape(len(latents), rows, cols, -1)
        latents = latents.permute(0, 3, 1, 2)
    elif latents.ndim == 3:  # packed 2x2 patches (FLUX, Qwen-Image)
        latents = type(pipe)._unpack_latents(latents, height, width, pipe.vae_scale_factor)
    if latents.ndim == 5:
        latents = latents[:, :, 0]
    out: np.ndarray = latents[0].float().cpu().numpy()
    return out
