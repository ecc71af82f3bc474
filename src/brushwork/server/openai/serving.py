"""OpenAI image calls served as brushwork tasks (SPEC §6): ``model`` picks the app, the task is
submitted like any other, and its result or its event log is rendered in OpenAI's shape
(:class:`~brushwork.contract.ImagesResponse`, :class:`~brushwork.contract.ImageStreamEvent`).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse

from brushwork.contract import (
    ImageData,
    ImagesResponse,
    ImageStreamEvent,
    ImagesUsage,
    InputTokensDetails,
    TaskStatus,
    image_input_tokens,
    resolve_background,
)
from brushwork.errors import BrushworkError, EngineFailed, InvalidInput, NotFound
from brushwork.server.openai.protocol import (
    GPT_IMAGE_ALIASES,
    bool_field,
    size_param,
    to_app_input,
)
from brushwork.server.runs import Ended, Update, follow_task, start, wait_until_done
from brushwork.server.services import Services, services


def app_for(model: Any, svc: Services) -> str:
    if model is None or model in GPT_IMAGE_ALIASES:
        return svc.settings.openai_default_app
    if isinstance(model, str) and model in svc.registry.apps:
        if svc.registry.apps[model].kind != "images":
            raise InvalidInput(
                f"{model!r} is not an image model: it makes masks (POST /apps/run)",
                param="model",
            )
        return model
    raise NotFound(
        f"the model {model!r} does not exist; GET /v1/models lists them",
        param="model",
        code="model_not_found",  # compat: OpenAI's code
    )


async def run(request: Request, who: str, body: dict[str, Any], kind: str) -> Response:
    svc = services(request)
    app = app_for(body.get("model"), svc)
    inp, partials = to_app_input(body)
    stream = bool_field(body, "stream")
    if not stream:
        partials = 0
    if "images" in body:
        inp["images"] = body["images"]
    if body.get("mask") is not None:
        inp["mask"] = body["mask"]
    base = svc.files_base(request)
    try:
        task = await start(
            svc,
            who,
            base,
            app=app,
            raw_input=inp,
            options={"previews": partials},
            session_id=body.get("user") or body.get("safety_identifier"),
        )
    except InvalidInput as exc:
        raise size_param(exc) from None
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
        self.background = resolve_background(
            str(inp.get("background", "auto")), str(inp.get("prompt") or ""), self.output_format
        )
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


def _usage(meta: dict[str, Any]) -> ImagesUsage:
    text = sum(i["tokens"] for i in meta["inputs"] if i["type"] == "text")
    images = sum(
        image_input_tokens(i["width"], i["height"]) * i["count"]
        for i in meta["inputs"]
        if i["type"] == "image"
    )
    output = int(meta["usage"]["output_tokens"])
    return ImagesUsage(
        input_tokens=text + images,
        output_tokens=output,
        total_tokens=text + images + output,
        input_tokens_details=InputTokensDetails(text_tokens=text, image_tokens=images),
    )


def _size_of(meta: dict[str, Any]) -> str:
    out = meta["outputs"][0]
    return f"{out['width']}x{out['height']}"


def _b64(svc: Services, uri: str) -> str:
    return base64.b64encode(svc.files.read(uri.rsplit("/", 1)[-1])).decode()


def _response(svc: Services, row: dict[str, Any], shape: _Shape, base: str) -> dict[str, Any]:
    output = _finished(row)
    meta = output["output_meta"]
    if shape.response_format == "url":
        data = [ImageData(url=base.rstrip("/") + ref["uri"]) for ref in output["images"]]
    else:
        data = [ImageData(b64_json=_b64(svc, ref["uri"])) for ref in output["images"]]
    answer = ImagesResponse(
        created=int(row["created_at"]),
        data=data,
        size=_size_of(meta),
        quality=meta["outputs"][0]["extra"]["quality"],
        output_format=shape.output_format,
        background=shape.background,
        usage=_usage(meta),
    )
    return answer.model_dump(mode="json", exclude_none=True)


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _event(event: ImageStreamEvent) -> str:
    return _sse(event.type, event.model_dump(mode="json", exclude_none=True))


async def _stream(
    svc: Services, request: Request, task_id: str, kind: str, shape: _Shape
) -> AsyncIterator[str]:
    prefix = "image_generation" if kind == "generations" else "image_edit"
    async for item in follow_task(svc, request, task_id):
        if isinstance(item, Ended):
            async for chunk in _stream_end(svc, item.row, prefix, shape):
                yield chunk
        elif isinstance(item, Update) and (preview := item.payload.get("preview")) is not None:
            yield _event(
                ImageStreamEvent(
                    type=f"{prefix}.partial_image",
                    b64_json=await run_in_threadpool(_b64, svc, preview["uri"]),
                    partial_image_index=preview["partial_image_index"],
                    created_at=int(time.time()),
                    size="auto",
                    quality=shape.quality,
                    background=shape.background,
                    output_format=shape.output_format,
                )
            )


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
        yield _event(
            ImageStreamEvent(
                type=f"{prefix}.completed",
                b64_json=await run_in_threadpool(_b64, svc, ref["uri"]),
                created_at=int(row["created_at"]),
                size=_size_of(meta),
                quality=meta["outputs"][0]["extra"]["quality"],
                background=shape.background,
                output_format=shape.output_format,
                usage=_usage(meta),
            )
        )
