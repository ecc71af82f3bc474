"""The ``openai`` engine: forwards generate and edit to OpenAI's Images API (gpt-image-2).

Configured by ``Settings.openai``: ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL`` (plus
``BRUSHWORK_OPENAI_MODEL``, ``BRUSHWORK_OPENAI_TIMEOUT`` seconds and
``BRUSHWORK_OPENAI_RETRIES``). It sends what
gpt-image-2 accepts: size as ``WxH``, quality, n, output_format,
output_compression, moderation, several images and a mask (alpha convention) on
edits. OpenAI's errors map onto SPEC §4; rate limits are retried with backoff by
the SDK (honouring Retry-After). The real usage replaces the estimate in
``output_meta``. OpenAI treats masks as guidance only: the keep-pixels composite
after every engine makes them exact. Imports ``openai`` only when used.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
from PIL import Image

from brushwork.contract import USD_PER_OUTPUT_TOKEN, USD_PER_TEXT_INPUT_TOKEN
from brushwork.engines.base import Cancelled, Capabilities, Progress, Request, TaskCancelled
from brushwork.errors import (
    BrushworkError,
    EngineFailed,
    InvalidInput,
    ModerationBlocked,
    RateLimited,
)
from brushwork.imaging import codecs
from brushwork.settings import OpenAISettings

NATIVE_MAX_EDGE = 3840  # gpt-image-2 takes any valid size directly


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def mask_png(edit: np.ndarray) -> bytes:
    """The edit map in OpenAI's convention: transparent where the model may paint."""
    alpha = np.clip(np.rint((1.0 - edit) * 255), 0, 255).astype(np.uint8)
    rgba = np.zeros((*edit.shape, 4), np.uint8)
    rgba[:, :, 3] = alpha
    return _png(Image.fromarray(rgba, "RGBA"))


class OpenAIEngine:
    name = "openai"

    def __init__(self, config: OpenAISettings | None = None) -> None:
        config = config or OpenAISettings.from_env()
        self.api_key = config.api_key
        self.base_url = config.base_url
        self.model = config.model
        self.timeout = config.timeout
        self.retries = config.retries
        self._client: Any = None

    def unavailable_reason(self) -> str | None:
        if not self.api_key:
            return "set OPENAI_API_KEY (and OPENAI_BASE_URL for a compatible server) to use it"
        try:
            import openai  # noqa: F401
        except ImportError:
            return "the openai package is not installed: pip install 'brushwork[openai]'"
        return None

    def capabilities(self) -> Capabilities:
        return Capabilities(
            native_max_edge=NATIVE_MAX_EDGE,
            device="remote",
            transparent=frozenset({"generate", "edit", "inpaint"}),  # OpenAI's own alpha
        )

    def load(self) -> None:
        reason = self.unavailable_reason()
        if reason is not None:
            raise RuntimeError(f"the openai engine cannot start: {reason}")
        import openai

        self._client = openai.OpenAI(
            api_key=self.api_key,
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=self.retries,
        )

    def run(self, request: Request, progress: Progress, cancelled: Cancelled) -> list[Image.Image]:
        if self._client is None:
            self.load()
        progress(0.05, f"sending to {self.model}")
        response = self._call(request)
        if cancelled():
            raise TaskCancelled
        images = [self._decode(item.b64_json, request) for item in response.data or []]
        self._usage(response, request)
        progress(1.0, f"{self.model} answered with {len(images)} image(s)")
        return images

    def _params(self, request: Request) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.model,
            "prompt": request.prompt,
            "n": request.n,
            "size": f"{request.width}x{request.height}",
            "quality": request.quality,
            "output_format": request.output_format,
            "moderation": request.moderation,
            "background": request.background,
        }
        if request.output_compression is not None and request.output_format != "png":
            params["output_compression"] = request.output_compression
        return params

    def _call(self, request: Request) -> Any:
        import openai

        params = self._params(request)
        try:
            if request.mode == "generate":
                return self._client.images.generate(**params)
            params.pop("moderation")  # compat: the edits endpoint takes no moderation setting
            files = [
                (f"image-{i}.png", _png(im), "image/png") for i, im in enumerate(request.images)
            ]
            if request.mask is not None:
                params["mask"] = ("mask.png", mask_png(request.mask), "image/png")
            return self._client.images.edit(image=files, **params)
        except openai.APIStatusError as exc:
            raise _map_status(exc) from None
        except openai.APITimeoutError:
            raise EngineFailed(
                f"{self.model} did not answer within {self.timeout:g} s", code="upstream_timeout"
            ) from None
        except openai.APIConnectionError as exc:
            raise EngineFailed(
                f"cannot reach the OpenAI API at {self._client.base_url}: {exc}",
                code="upstream_unreachable",
            ) from None

    def _decode(self, b64: str | None, request: Request) -> Image.Image:
        if not b64:
            raise EngineFailed(
                f"{self.model} returned an image without data", code="upstream_error"
            )
        alpha = request.background == "transparent"
        image = codecs.decode(base64.b64decode(b64), param="output").image
        image = image.convert("RGBA" if alpha else "RGB")
        if image.size != request.size:  # a model may answer at another size; the contract may not
            image = image.resize(request.size, Image.Resampling.LANCZOS)
        return image

    def _usage(self, response: Any, request: Request) -> None:
        usage = getattr(response, "usage", None)
        if usage is None:
            return
        details = getattr(usage, "input_tokens_details", None)
        text = int(getattr(details, "text_tokens", 0) or 0)
        image_in = int(getattr(details, "image_tokens", 0) or 0)
        out = int(usage.output_tokens)
        request.meta["usage"] = {
            "input_tokens": int(usage.input_tokens),
            "output_tokens": out,
            "total_tokens": int(usage.total_tokens),
            "input_tokens_details": {"text_tokens": text, "image_tokens": image_in},
            "source": "upstream",
        }
        usd = out * USD_PER_OUTPUT_TOKEN + text * USD_PER_TEXT_INPUT_TOKEN
        request.meta["cost"] = {
            "currency": "USD",
            "estimated": round(usd, 6),
            "basis": "upstream usage; image input tokens not priced",
        }


def _map_status(exc: Any) -> BrushworkError:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error", body) if isinstance(body, dict) else {}
    message = str(error.get("message") or exc.message)
    code = error.get("code") or getattr(exc, "code", None)
    status = exc.status_code
    if code == "moderation_blocked":
        return ModerationBlocked(f"OpenAI refused the prompt: {message}", param="prompt")
    if status == 429:
        return RateLimited(f"OpenAI is rate limiting this key: {message}")
    if status in (401, 403):
        return EngineFailed(f"OpenAI rejected the API key: {message}", code="upstream_auth")
    if 400 <= status < 500:
        return InvalidInput(
            f"OpenAI refused the request: {message}",
            param=error.get("param"),
            code=code or "upstream_invalid",
        )
    return EngineFailed(f"OpenAI answered HTTP {status}: {message}", code="upstream_error")
