"""Apps: list, describe (with input/output JSON schema) and run."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from brushwork.apps.registry import AppSpec
from brushwork.contract import (
    AppInfo,
    AppInput,
    AppList,
    AppOutput,
    MaskInput,
    MaskOutput,
    Task,
    TaskStatus,
)
from brushwork.server.routes.tasks import task_response
from brushwork.server.runs import as_answered, start
from brushwork.server.services import Services, owner, services

router = APIRouter(tags=["apps"])


INPUT_SCHEMA = {
    "anyOf": [
        {"$ref": "#/components/schemas/AppInput"},
        {"$ref": "#/components/schemas/MaskInput"},
    ],
    "description": "The app's input: AppInput (SPEC §1) for the picture apps, MaskInput "
    "(SPEC §10) for brushwork/masks; GET /apps/{ns}/{name} gives each app's schema",
}


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    app: str = Field(description="App id, e.g. brushwork/studio")
    # checked by the app's own input model when the task is submitted (its messages)
    input: Annotated[dict[str, Any], WithJsonSchema(INPUT_SCHEMA)]
    session: str | None = Field(
        None,
        description='"new" or a session id (SPEC §8); without images, a call edits the '
        "session's latest output",
    )
    session_timeout: int | None = Field(
        None, description="idle seconds before the session expires (1..3600, default 60)"
    )
    webhook: str | None = Field(None, description="Called when the task ends (9, 10, 11)")
    wait: bool = Field(False, description="Answer with the finished task")
    session_id: str | None = Field(
        None, max_length=200, description="a label for the task (not a session: see session)"
    )
    previews: int = Field(
        0, ge=0, le=3, description="partial renders to publish on the task's stream (0..3)"
    )


def describe(spec: AppSpec, svc: Services, *, schemas: bool) -> AppInfo:
    reason = svc.registry.unavailable_reason(spec.id)
    engine = svc.registry.importable(spec.id)  # capabilities show even when unavailable
    caps = engine.capabilities() if engine is not None else None
    info: dict[str, Any] = {
        "id": spec.id,
        "namespace": spec.namespace,
        "name": spec.name,
        "description": spec.description,
        "engine": spec.engine.rsplit(":", 1)[-1],
        "available": reason is None,
        "unavailable_reason": reason,
    }
    if caps is not None:
        inpaint = caps.max_images if caps.inpaint_images is None else caps.inpaint_images
        info |= {"modes": sorted(caps.modes), "max_images": caps.max_images,
                 "inpaint_images": inpaint, "device": caps.device}  # fmt: skip
    details = getattr(engine, "details", None)
    if schemas and callable(details):  # the full description only: listing stays cheap
        info.update(details())
    if schemas:
        masks = spec.kind == "masks"
        info["input_schema"] = (MaskInput if masks else AppInput).model_json_schema()
        info["output_schema"] = (MaskOutput if masks else AppOutput).model_json_schema()
    return AppInfo.model_validate(info)


def _json(info: AppInfo) -> dict[str, Any]:
    return info.model_dump(mode="json", exclude_unset=True)


@router.get("/apps", operation_id="list_apps", response_model=AppList)
def list_apps(request: Request, _: str = Depends(owner)) -> JSONResponse:
    svc = services(request)
    apps = [_json(describe(s, svc, schemas=False)) for s in svc.registry.apps.values()]
    return JSONResponse({"data": apps})


@router.get("/apps/{namespace}/{name}", operation_id="get_app", response_model=AppInfo)
def get_app(namespace: str, name: str, request: Request, _: str = Depends(owner)) -> JSONResponse:
    svc = services(request)
    return JSONResponse(
        _json(describe(svc.registry.spec(f"{namespace}/{name}"), svc, schemas=True))
    )


@router.post(
    "/apps/run",
    operation_id="run_app",
    status_code=202,
    response_model=Task,
    responses={200: {"model": Task, "description": "the finished task (wait: true)"}},
)
async def run_app(body: RunRequest, request: Request, who: str = Depends(owner)) -> JSONResponse:
    svc = services(request)
    base = svc.files_base(request)
    task = await start(
        svc,
        who,
        base,
        app=body.app,
        raw_input=body.input,
        webhook=body.webhook,
        session_id=body.session_id,
        session=body.session,
        session_timeout=body.session_timeout,
        options={"previews": body.previews},
    )
    row = await as_answered(svc, request, task["id"], body.wait)
    done = TaskStatus(row["status"]).is_terminal()
    return task_response(row, base, 200 if body.wait and done else 202)
