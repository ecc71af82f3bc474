"""OpenAI's Images API as a protocol (SPEC §6): what its requests may hold and how they map to
a brushwork app input. No services, no tasks: ``serving`` does that, ``router`` has the routes.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile

from brushwork.contract import parse_size
from brushwork.errors import InvalidInput, PayloadTooLarge
from brushwork.imaging.limits import MAX_IMAGE_BYTES

# compat: OpenAI's model names that mean "the configured gpt-image-2 app".
GPT_IMAGE_ALIASES = (
    "gpt-image-2",
    "gpt-image-1",
    "gpt-image-1.5",
    "gpt-image-1-mini",
    "chatgpt-image-latest",
)
QUALITY = {
    "auto": "auto",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "standard": "medium",
    "hd": "high",
    "xhigh": "high",
    "max": "high",
}
FIELDS = {
    "model",
    "prompt",
    "n",
    "size",
    "quality",
    "background",
    "output_format",
    "output_compression",
    "moderation",
    "stream",
    "partial_images",
    "user",
    "response_format",
    "input_fidelity",
    "images",
    "mask",
    "seed",
    "safety_identifier",
}


def int_field(body: dict[str, Any], name: str, default: int | None) -> int | None:
    value = body.get(name, default)
    if value is None or isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)  # compat: multipart sends numbers as text
    raise InvalidInput(f"{name} must be an integer, got {value!r}", param=name)


def bool_field(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def to_app_input(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """An OpenAI request body → a brushwork app input, and the partial images wanted."""
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise InvalidInput(f"unknown parameter {unknown[0]!r}", param=unknown[0])
    inp: dict[str, Any] = {"prompt": body.get("prompt")}
    if inp["prompt"] is None:
        raise InvalidInput("prompt is required", param="prompt")
    for name in ("n", "output_compression", "seed"):
        value = int_field(body, name, None)
        if value is not None:
            inp[name] = value
    size = body.get("size") or "auto"
    if size != "auto":
        inp["width"], inp["height"] = parse_size(str(size))
    quality = body.get("quality") or "auto"
    if quality not in QUALITY:
        raise InvalidInput(
            f"quality must be one of {', '.join(QUALITY)}, got {quality!r}", param="quality"
        )
    inp["quality"] = QUALITY[quality]
    for name in ("output_format", "moderation", "background"):
        if body.get(name) is not None:
            inp[name] = body[name]
    if body.get("response_format") not in (None, "b64_json", "url"):
        raise InvalidInput("response_format must be b64_json or url", param="response_format")
    partials = int_field(body, "partial_images", 0) or 0
    if not 0 <= partials <= 3:
        raise InvalidInput(
            f"partial_images must be between 0 and 3, got {partials}", param="partial_images"
        )
    return inp, partials


def size_param(exc: InvalidInput) -> InvalidInput:
    """Size rules name ``width``/``height`` in brushwork; OpenAI clients sent ``size``."""
    if exc.param in ("width", "height"):
        exc.param = "size"
    return exc


async def edit_body(request: Request) -> dict[str, Any]:
    """Multipart (image, image[], mask as files) or JSON (images: [{image_url|file_id}])."""
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await json_body(request)
        refs = [_ref(item, "images") for item in body.get("images") or []]
        if body.get("mask") is not None:
            body["mask"] = _ref(body["mask"], "mask")
        body["images"] = refs
        return body
    form = await request.form(max_files=32, max_part_size=1024 * 1024)
    body = {
        k: v
        for k, v in form.items()
        if not isinstance(v, UploadFile) and k not in ("image", "image[]")
    }
    files = [
        f for key in ("image", "image[]") for f in form.getlist(key) if isinstance(f, UploadFile)
    ]
    body["images"] = [await _upload_b64(f, "image") for f in files]
    mask = form.get("mask")
    if isinstance(mask, UploadFile):
        body["mask"] = await _upload_b64(mask, "mask")
    return body


async def _upload_b64(upload: UploadFile, param: str) -> str:
    data = await upload.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise PayloadTooLarge(f"{param} is over {MAX_IMAGE_BYTES:,} bytes", param=param)
    return base64.b64encode(data).decode()


def _ref(item: Any, param: str) -> str:
    if isinstance(item, dict) and isinstance(item.get("image_url"), str):
        return str(item["image_url"])
    if isinstance(item, dict) and isinstance(item.get("file_id"), str):
        return f"/files/{item['file_id']}"
    raise InvalidInput(
        f"each of {param} must be {{'image_url': ...}} or {{'file_id': ...}}", param=param
    )


async def json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object")
    return body
