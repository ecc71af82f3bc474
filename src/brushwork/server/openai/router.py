"""The routes of the OpenAI-compatible Images API (SPEC §6): the official ``openai`` SDK works
by changing only ``base_url``. Thin: parse (``protocol``), then serve (``serving``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from brushwork.contract import ImagesResponse, ModelCard, ModelList
from brushwork.errors import InvalidInput
from brushwork.server.openai import serving
from brushwork.server.openai.protocol import GPT_IMAGE_ALIASES, edit_body, json_body
from brushwork.server.services import owner, services

router = APIRouter(prefix="/v1", tags=["openai"])

# with stream: true the answer is server-sent events, one ImageStreamEvent each
EVENTS = {"$ref": "#/components/schemas/ImageStreamEvent"}  # documented by create_app
ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/event-stream": {"schema": EVENTS}},
        "description": "the images (JSON), or with stream: true their events (SSE)",
    }
}


@router.post(
    "/images/generations",
    operation_id="openai_images_generations",
    response_model=ImagesResponse,
    responses=ANSWERS,
)
async def generations(request: Request, who: str = Depends(owner)) -> Response:
    body = await json_body(request)
    for name in ("images", "mask"):
        if name in body:
            raise InvalidInput(f"{name} belongs to /v1/images/edits", param=name)
    return await serving.run(request, who, body, "generations")


@router.post(
    "/images/edits",
    operation_id="openai_images_edits",
    response_model=ImagesResponse,
    responses=ANSWERS,
)
async def edits(request: Request, who: str = Depends(owner)) -> Response:
    body = await edit_body(request)
    if not body.get("images"):
        raise InvalidInput("image is required: send at least one image", param="image")
    return await serving.run(request, who, body, "edits")


@router.get("/models", operation_id="openai_models")
def models(request: Request, _: str = Depends(owner)) -> ModelList:
    svc = services(request)
    pictures = [a for a, spec in svc.registry.apps.items() if spec.kind == "images"]
    ids = [*GPT_IMAGE_ALIASES[:1], *pictures]
    return ModelList(data=[ModelCard(id=i) for i in ids])
