"""OpenAI-compatible Images API (SPEC §6): the official ``openai`` SDK works by changing
only ``base_url``.

``POST /v1/images/generations`` (JSON) and ``POST /v1/images/edits`` (multipart
with ``image``/``image[]``/``mask``, or JSON with ``images: [{image_url}]``)
become ordinary brushwork tasks; ``model`` picks the app (``gpt-image-2`` →
the configured default app). Answers in OpenAI's shape, errors in OpenAI's
envelope (which is ours), streaming as ``image_generation.*`` / ``image_edit.*``
server-sent events with real partial renders from the engine.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.datastructures import UploadFile

from brushwork.contract import TaskStatus, image_input_tokens, parse_size
from brushwork.errors import BrushworkError, EngineFailed, InvalidInput, NotFound, PayloadTooLarge
from brushwork.imaging.limits import MAX_IMAGE_BYTES
from brushwork.server.runs import submit, wait_until_done
from brushwork.server.services import Services, owner, poll_interval, services
from brushwork.tasks.events import woken

router = APIRouter(prefix="/v1", tags=["openai"])

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


def _app_for(model: Any, svc: Services) -> str:
    if model is None or model in GPT_IMAGE_ALIASES:
        return svc.settings.openai_default_app
    if isinstance(model, str) and model in svc.registry.apps:
        return model
    raise NotFound(
        f"the model {model!r} does not exist; GET /v1/models lists them",
        param="model",
        code="model_not_found",  # compat: OpenAI's code
    )


def _int(body: dict[str, Any], name: str, default: int | None) -> int | None:
    value = body.get(name, default)
    if value is None or isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)  # compat: multipart sends numbers as text
    raise InvalidInput(f"{name} must be an integer, got {value!r}", param=name)


def _bool(body: dict[str, Any], name: str) -> bool:
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
        value = _int(body, name, None)
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
    for name in ("output_format", "moderation"):
        if body.get(name) is not None:
            inp[name] = body[name]
    if body.get("background") == "transparent":
        raise InvalidInput(
            "this server cannot make transparent backgrounds; use opaque or auto",
            param="background",
            code="unsupported_value",
        )
    if body.get("response_format") not in (None, "b64_json", "url"):
        raise InvalidInput("response_format must be b64_json or url", param="response_format")
    partials = _int(body, "partial_images", 0) or 0
    if not 0 <= partials <= 3:
        raise InvalidInput(
            f"partial_images must be between 0 and 3, got {partials}", param="partial_images"
        )
    return inp, partials


def _size_param(exc: InvalidInput) -> InvalidInput:
    """Size rules name ``width``/``height`` in brushwork; OpenAI clients sent ``size``."""
    if exc.param in ("width", "height"):
        exc.param = "size"
    return exc


async def _edit_body(request: Request) -> dict[str, Any]:
    """Multipart (image, image[], mask as files) or JSON (images: [{image_url|file_id}])."""
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await _json(request)
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


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object")
    return body


async def _run(request: Request, who: str, body: dict[str, Any], kind: str) -> Any:
    svc = services(request)
    app = _app_for(body.get("model"), svc)
    inp, partials = to_app_input(body)
    stream = _bool(body, "stream")
    if not stream:
        partials = 0
    if "images" in body:
        inp["images"] = body["images"]
    if body.get("mask") is not None:
        inp["mask"] = body["mask"]
    base = svc.files_base(request)
    try:
        task = await run_in_threadpool(
            partial(
                submit,
                svc,
                who,
                base,
                app=app,
                raw_input=inp,
                options={"previews": partials},
                session_id=body.get("user") or body.get("safety_identifier"),
            )
        )
    except InvalidInput as exc:
        raise _size_param(exc) from None
    shape = _Shape(body, inp)
    if stream:
        events = _stream(svc, request, task["id"], kind, shape)
        return StreamingResponse(
            events, media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )
    row = await wait_until_done(svc, task["id"], request)
    return JSONResponse(await run_in_threadpool(_response, svc, row, shape, base))


class _Shape:
    """What an answer echoes back, resolved from the request."""

    def __init__(self, body: dict[str, Any], inp: dict[str, Any]):
        self.quality = inp["quality"]
        self.output_format = inp.get("output_format", "png")
        self.background = "opaque"
        self.response_format = body.get("response_format") or "b64_json"


def _finished(row: dict[str, Any]) -> dict[str, Any]:
    status = TaskStatus(row["status"])
    if status == TaskStatus.COMPLETED:
        output: dict[str, Any] = row["output"]
        return output
    if status == TaskStatus.FAILED and row["error"]:
        error = row["error"]
        raise BrushworkError(error["message"], code=error.get("code"), http_status=500)
    if status == TaskStatus.CANCELLED:
        raise BrushworkError("the image task was cancelled", code="cancelled", http_status=500)
    raise EngineFailed("the image task did not finish in time", code="timeout")


def _usage(meta: dict[str, Any]) -> dict[str, Any]:
    text = sum(i["tokens"] for i in meta["inputs"] if i["type"] == "text")
    images = sum(
        image_input_tokens(i["width"], i["height"]) * i["count"]
        for i in meta["inputs"]
        if i["type"] == "image"
    )
    output = int(meta["usage"]["output_tokens"])
    return {
        "input_tokens": text + images,
        "output_tokens": output,
        "total_tokens": text + images + output,
        "input_tokens_details": {"text_tokens": text, "image_tokens": images},
    }


def _size_of(meta: dict[str, Any]) -> str:
    out = meta["outputs"][0]
    return f"{out['width']}x{out['height']}"


def _b64(svc: Services, uri: str) -> str:
    return base64.b64encode(svc.files.read(uri.rsplit("/", 1)[-1])).decode()


def _response(svc: Services, row: dict[str, Any], shape: _Shape, base: str) -> dict[str, Any]:
    output = _finished(row)
    meta = output["output_meta"]
    if shape.response_format == "url":
        data = [{"url": base.rstrip("/") + ref["uri"]} for ref in output["images"]]
    else:
        data = [{"b64_json": _b64(svc, ref["uri"])} for ref in output["images"]]
    return {
        "created": int(row["created_at"]),
        "data": data,
        "size": _size_of(meta),
        "quality": meta["outputs"][0]["extra"]["quality"],
        "output_format": shape.output_format,
        "background": shape.background,
        "usage": _usage(meta),
    }


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def _stream(
    svc: Services, request: Request, task_id: str, kind: str, shape: _Shape
) -> AsyncIterator[str]:
    prefix = "image_generation" if kind == "generations" else "image_edit"
    after, started = 0, time.monotonic()
    with svc.events.watch(task_id) as changed:
        while True:
            events = await run_in_threadpool(svc.store.events_after, task_id, after)
            for seq, payload in events:
                after = seq
                preview = payload.get("preview")
                if preview is not None:
                    yield _sse(
                        f"{prefix}.partial_image",
                        {
                            "type": f"{prefix}.partial_image",
                            "b64_json": await run_in_threadpool(_b64, svc, preview["uri"]),
                            "partial_image_index": preview["partial_image_index"],
                            "created_at": int(time.time()),
                            "size": "auto",
                            "quality": shape.quality,
                            "background": shape.background,
                            "output_format": shape.output_format,
                        },
                    )
            row = await run_in_threadpool(svc.store.get_task, task_id)
            assert row is not None
            if TaskStatus(row["status"]).is_terminal():
                async for chunk in _stream_end(svc, row, prefix, shape):
                    yield chunk
                return
            if await request.is_disconnected():
                return
            await woken(changed, poll_interval(time.monotonic() - started))


async def _stream_end(
    svc: Services, row: dict[str, Any], prefix: str, shape: _Shape
) -> AsyncIterator[str]:
    try:
        output = _finished(row)
    except BrushworkError as exc:
        yield _sse("error", exc.envelope())
        return
    meta = output["output_meta"]
    for ref in output["images"]:
        yield _sse(
            f"{prefix}.completed",
            {
                "type": f"{prefix}.completed",
                "b64_json": await run_in_threadpool(_b64, svc, ref["uri"]),
                "created_at": int(row["created_at"]),
                "size": _size_of(meta),
                "quality": meta["outputs"][0]["extra"]["quality"],
                "background": shape.background,
                "output_format": shape.output_format,
                "usage": _usage(meta),
            },
        )


@router.post("/images/generations", operation_id="openai_images_generations")
async def generations(request: Request, who: str = Depends(owner)) -> Any:
    body = await _json(request)
    for name in ("images", "mask"):
        if name in body:
            raise InvalidInput(f"{name} belongs to /v1/images/edits", param=name)
    return await _run(request, who, body, "generations")


@router.post("/images/edits", operation_id="openai_images_edits")
async def edits(request: Request, who: str = Depends(owner)) -> Any:
    body = await _edit_body(request)
    if not body.get("images"):
        raise InvalidInput("image is required: send at least one image", param="image")
    return await _run(request, who, body, "edits")


@router.get("/models", operation_id="openai_models")
def models(request: Request, _: str = Depends(owner)) -> dict[str, Any]:
    svc = services(request)
    ids = [*GPT_IMAGE_ALIASES[:1], *svc.registry.apps]
    return {
        "object": "list",
        "data": [{"id": i, "object": "model", "created": 0, "owned_by": "brushwork"} for i in ids],
    }
